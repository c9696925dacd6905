-- scripts/bench-orders.lua: wrk request generator for POST /api/orders.
-- Each request orders 1..3 random products (ids 1..PRODUCTS, env, default
-- 10000) with quantities 1..3 for a per-thread email address.  No
-- Idempotency-Key: every request is a new order.
local products = tonumber(os.getenv("BENCH_PRODUCTS") or "10000")
local counter = 0

function setup(thread)
	thread:set("tid", tostring(thread))
end

function init(args)
	math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
	counter = counter + 1
	local n = math.random(1, 3)
	local items = {}
	for i = 1, n do
		items[i] = string.format('{"product_id":%d,"quantity":%d}',
		    math.random(1, products), math.random(1, 3))
	end
	local body = string.format('{"email":"bench%d@example.com","items":[%s]}',
	    counter, table.concat(items, ","))
	return wrk.format("POST", "/api/orders",
	    { ["Content-Type"] = "application/json" }, body)
end

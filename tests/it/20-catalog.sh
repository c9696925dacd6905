# 20-catalog.sh: the cached read path through nginx: cache-aside, canonical
# keys, ETags, validation, stampede protection and memcached failures.

metric() {	# metric NAME_WITH_LABELS -> value from /metrics
	curl -sS --max-time 10 "$CATALOG_URL/metrics" | awk -v n="$1" '$1 == n { print $2 }' ||
	    fail "GET /metrics failed"
}

t_miss_then_hit() {
	http GET "/api/products?category=garden-tools&per_page=7"
	expect_eq status "$STATUS" 200
	expect_eq first "$(header x-cache)" MISS
	local etag; etag=$(header etag) body=$BODY
	http GET "/api/products?category=garden-tools&per_page=7"
	expect_eq second "$(header x-cache)" HIT
	expect_eq etag "$(header etag)" "$etag"
	expect_eq body "$BODY" "$body"
	expect_eq per_page "$(json 'j["per_page"]')" 7
	expect_eq items "$(json 'len(j["items"])')" 7
	expect_eq total "$(json 'j["total"]')" \
	    "$(sql "SELECT COUNT(*) FROM products p JOIN categories c ON c.id=p.category_id WHERE c.slug='garden-tools'")"
}
it_case "list: miss, then hit with the same bytes and ETag" t_miss_then_hit

t_canonical_keys() {
	http GET "/api/products?category=kitchen-dining"
	expect_eq first "$(header x-cache)" MISS
	http GET "/api/products?page=1&category=kitchen-dining&per_page=20"
	expect_eq "spelled-out defaults" "$(header x-cache)" HIT
	http GET "/api/products?category=kitchen-dining&utm=y&sort=id"
	expect_eq "unknown parameter" "$(header x-cache)" HIT
	http GET "/api/products?%63ategory=kitchen%2Ddining"
	expect_eq "percent-encoded" "$(header x-cache)" HIT
}
it_case "equivalent queries share one cache entry" t_canonical_keys

t_etag_304() {
	http GET /api/products/3
	local etag; etag=$(header etag)
	[ -n "$etag" ] || fail "no ETag"
	http GET /api/products/3 -H "If-None-Match: $etag"
	expect_eq status "$STATUS" 304
	expect_eq body "$BODY" ""
	http GET /api/products/3 -H 'If-None-Match: "nope", W/'"$etag"
	expect_eq "list with weak tag" "$STATUS" 304
	http GET /api/products/3 -H 'If-None-Match: "other"'
	expect_eq "other tag" "$STATUS" 200
}
it_case "If-None-Match answers 304 without a body" t_etag_304

t_single_product() {
	http GET /api/products/1
	expect_eq status "$STATUS" 200
	expect_eq sku "$(json 'j["sku"]')" "$(sql 'SELECT sku FROM products WHERE id=1')"
	expect_eq price "$(json 'j["price_cents"]')" "$(sql 'SELECT price_cents FROM products WHERE id=1')"
	expect_eq keys "$(json '",".join(sorted(j))')" "category,id,name,price_cents,sku,stock"
}
it_case "single product matches the database" t_single_product

t_categories() {
	http GET /api/categories
	expect_eq status "$STATUS" 200
	expect_eq count "$(json 'len(j["items"])')" "$(sql 'SELECT COUNT(*) FROM categories')"
	expect_eq sum "$(json 'sum(i["product_count"] for i in j["items"])')" "$(sql 'SELECT COUNT(*) FROM products')"
}
it_case "categories with product counts" t_categories

t_sorts() {
	http GET "/api/products?sort=price&per_page=100"
	json 'all(a["price_cents"] <= b["price_cents"] for a, b in zip(j["items"], j["items"][1:]))' | grep -q True || fail "price not ascending"
	http GET "/api/products?sort=-price&per_page=100"
	json 'all(a["price_cents"] >= b["price_cents"] for a, b in zip(j["items"], j["items"][1:]))' | grep -q True || fail "-price not descending"
	http GET "/api/products?sort=name&per_page=100&category=automotive"
	json 'all(i["category"] == "automotive" for i in j["items"])' | grep -q True || fail "filter"
	http GET "/api/products?page=1000000&per_page=100"
	expect_eq "past the end" "$STATUS" 200
	expect_eq "no items" "$(json 'len(j["items"])')" 0
}
it_case "sorts, filter and a page past the end" t_sorts

# query string -> expected status
bad_queries=(
	"page=0 400" "page=-1 400" "page=abc 400" "page=1000001 400" "page= 400"
	"page=1.5 400" "page=%201 400" "page 400" "per_page=0 400"
	"per_page=101 400" "per_page=99999999999999999999999 400" "sort=foo 400"
	"sort=PRICE 400" "category=Garden-Tools 400" "category= 400"
	"category=a%00b 400" "category=%zz 400" "page=1&page=2 400"
	"category=-x 400" "category=$(printf 'a%.0s' $(seq 1 65)) 400"
	"category=no-such-category 404" "category=x%20y 400"
	"utm_source=%zz 200" "$(printf 'x%.0s' $(seq 1 300))=1 200"
)
t_bad_queries() {
	local row q want bad=0
	for row in "${bad_queries[@]}"; do
		q=${row% *} want=${row##* }
		http GET "/api/products?$q"
		if [ "$STATUS" != "$want" ]; then
			echo "?$q: got $STATUS, want $want"; bad=1; continue
		fi
		if [ "$want" != 200 ]; then
			[ "$(header content-type)" = application/problem+json ] ||
			    { echo "?$q: not a problem"; bad=1; }
			[ "$(json_try 'j["status"]' 2>/dev/null)" = "$want" ] ||
			    { echo "?$q: status member"; bad=1; }
		fi
	done
	[ "$bad" = 0 ] || fail "bad queries answered wrongly (above)"
}
it_case "bad query strings: exact 4xx problems" t_bad_queries

t_bad_paths() {
	local p
	for p in /api/products/0 /api/products/abc /api/products/-1 \
	    /api/products/99999999999999999999 /api/products/1/x /api/product; do
		http GET "$p"
		expect_eq "$p" "$STATUS" 404
	done
	http PUT /api/products/1
	expect_eq "PUT" "$STATUS" 405
}
it_case "bad product paths are 404, wrong methods 405" t_bad_paths

t_stampede() {
	local before after urls=() i
	before=$(metric catalog_cache_db_loads_total)
	for i in $(seq 1 200); do urls+=(-o /dev/null "$CATALOG_URL/api/products?category=toys-games&per_page=93"); done
	curl -s --parallel --parallel-immediate --parallel-max 200 "${urls[@]}" || fail "curl failed"
	after=$(metric catalog_cache_db_loads_total)
	echo "database loads for 200 cold concurrent requests: $((after - before))"
	[ $((after - before)) -ge 1 ] && [ $((after - before)) -le 2 ] ||
	    fail "loads: $((after - before)), want 1..2"
}
it_case "stampede: 200 concurrent cold requests, at most 2 loads" t_stampede

memcached_pid() { cat "$FIX_DIR/run/memcached.pid"; }

t_memcached_down() {
	local start end pid
	pid=$(memcached_pid)
	it_defer fixture_restart	# whatever happens below
	kill "$pid" || fail "kill memcached"
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "memcached did not stop"
	start=$(date +%s%N)
	http GET "/api/products?category=automotive"
	end=$(date +%s%N)
	expect_eq status "$STATUS" 200
	expect_eq x-cache "$(header x-cache)" BYPASS
	[ $(((end - start) / 1000000)) -lt 1000 ] || fail "took $(((end - start) / 1000000)) ms"
	http GET /healthz
	expect_eq "healthz" "$BODY" '{"status":"ok","db":"ok","cache":"down"}'
	fixture_restart
	# the breaker retries after cache.retry_seconds
	for _ in $(seq 1 40); do
		http GET "/api/products?category=automotive"
		[ "$(header x-cache)" = HIT ] && return 0
		sleep 0.2
	done
	fail "never back to HIT (last: $(header x-cache))"
}
it_case "memcached stopped: BYPASS fast, HIT again after restart" t_memcached_down

t_memcached_frozen() {
	local pid start end slow=0
	http GET "/api/products?category=bedding"
	pid=$(memcached_pid)
	it_defer "kill -CONT $pid"
	kill -STOP "$pid" || fail "kill -STOP memcached"
	for _ in $(seq 1 10); do
		start=$(date +%s%N)
		http GET "/api/products?category=bedding"
		end=$(date +%s%N)
		[ "$STATUS" = 200 ] || fail "status $STATUS"
		[ $(((end - start) / 1000000)) -lt 500 ] || slow=$((slow + 1))
	done
	kill -CONT "$pid" || fail "kill -CONT memcached"
	[ "$slow" -le 4 ] || fail "$slow of 10 requests took 500 ms or more"
	for _ in $(seq 1 40); do
		http GET "/api/products?category=bedding"
		[ "$(header x-cache)" = HIT ] && return 0
		sleep 0.2
	done
	fail "never back to HIT after SIGCONT"
}
it_case "memcached frozen (SIGSTOP): bounded answers, HIT after SIGCONT" t_memcached_frozen

t_interleave() {
	"$top_builddir/tests/it/test-cache-interleave" "$CATALOG_CONF" "$(memcached_pid)" ||
	    fail "test-cache-interleave exited $?"
}
it_case "stale-set interleavings on real servers (C driver)" t_interleave

t_db_down() {
	local pid
	http GET "/api/products?category=pet-supplies"	# cache it
	http GET "/api/products?category=pet-supplies"
	expect_eq "cached" "$(header x-cache)" HIT
	it_defer fixture_restart	# whatever happens below
	mariadb-admin -uroot --socket="$MYSQL_UNIX_PORT" shutdown || fail "shutdown"
	http GET /healthz
	expect_eq "healthz down" "$STATUS" 503
	http GET "/api/products?category=pet-supplies"
	expect_eq "hit while db down" "$STATUS" 200
	http GET "/api/products?category=pet-supplies&per_page=3"
	expect_eq "miss while db down" "$STATUS" 503
	expect_eq "problem" "$(header content-type)" application/problem+json
	fixture_restart
	http GET "/api/products?category=pet-supplies&per_page=3"
	expect_eq "reconnected" "$STATUS" 200
}
it_case "database down: hits served, misses 503, reconnects by itself" t_db_down

# An answer larger than memcached's item limit (cache.item_size_max, 1 MiB
# by default): 2,600 categories of 100 four-byte characters make a list of
# about 1.2 MB.  It is served uncached, 200 every time, counted; the set
# memcached would refuse is never sent, so no breaker opens.
# oversized_cleanup STOCK: the big categories gone again, and the list's
# namespace moved on (product 1's stock written back as STOCK).
oversized_cleanup() {
	sql "DELETE FROM categories WHERE slug LIKE 'big-%'"
	http PATCH /api/products/1 -H "Authorization: Bearer $CATALOG_ADMIN_TOKEN" \
	    -H 'Content-Type: application/json' --data-binary "{\"stock\":$1}"
	expect_eq "patch after" "$STATUS" 200
}

# mc_stat NAME: the fixture's memcached's statistic NAME.
mc_stat() {
	local port
	port=$(sed -n 's/^cache\.servers *= *[^:]*://p' "$CATALOG_CONF")
	(exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'stats\r\nquit\r\n' >&3 &&
	    cat <&3) | tr -d '\r' | awk -v n="$1" '$1 == "STAT" && $2 == n { print $3 }'
}

t_oversized_uncached() {
	local before errors stock len sent
	stock=$(sql "SELECT stock FROM products WHERE id = 1")
	it_defer "oversized_cleanup $stock"
	sql "INSERT INTO categories (slug, name)
	  SELECT CONCAT('big-', seq),
	  REPEAT(CONVERT(X'F09D849E' USING utf8mb4), 100) FROM seq_1_to_2600"
	# the list's namespace moves on (the rows above bypassed the API)
	http PATCH /api/products/1 -H "Authorization: Bearer $CATALOG_ADMIN_TOKEN" \
	    -H 'Content-Type: application/json' --data-binary "{\"stock\":$stock}"
	expect_eq patch "$STATUS" 200
	before=$(metric catalog_cache_oversized_total)
	errors=$(metric catalog_cache_errors_total)
	sent=$(mc_stat bytes_read)
	[ -n "$sent" ] || fail "no bytes_read from memcached's stats"
	for _ in 1 2; do
		http GET /api/categories
		expect_eq status "$STATUS" 200
		expect_eq x-cache "$(header x-cache)" MISS
		len=$(printf '%s' "$BODY" | wc -c)
		[ "$len" -gt 1048576 ] || fail "the list is only $len bytes"
		expect_eq count "$(json 'len([c for c in j["items"] if c["slug"].startswith("big-")])')" 2600
	done
	expect_eq "counted" "$(metric catalog_cache_oversized_total)" $((before + 2))
	sent=$(( $(mc_stat bytes_read) - sent ))
	[ "$sent" -lt 1048576 ] ||
	    fail "memcached read $sent bytes: the set it would refuse was sent"
	expect_eq "no cache error" "$(metric catalog_cache_errors_total)" "$errors"
	http GET /healthz
	expect_eq healthz "$BODY" '{"status":"ok","db":"ok","cache":"ok"}'
}
it_case "an answer over memcached's item limit: 200 uncached every time, counted, no breaker" t_oversized_uncached

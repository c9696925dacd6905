# 95-api-statuses.sh: GET /api/openapi.json, and the answers of
# docs/openapi.yaml that no case before produces: 304 on every cached
# route, 415 on PATCH, nginx's own 400, 502 and 504, the 503 of every route
# that reads the database, and requests at the very bounds the
# description allows (they must be accepted).  99-openapi.sh then checks
# every answer against the description and that each listed status
# happened.  Products 400..450 are this file's.

API_J='Content-Type: application/json'
API_RUN=$$$RANDOM

api_auth() { echo "Authorization: Bearer $CATALOG_ADMIN_TOKEN"; }

# api_is_problem STATUS: the last answer is that status, as a problem.
api_is_problem() {
	expect_eq status "$STATUS" "$1"
	expect_eq type "$(header content-type)" application/problem+json
	expect_eq "problem status" "$(json 'j["status"]')" "$1"
}

t_api_openapi_served() {
	local etag same version
	http GET /api/openapi.json
	expect_eq status "$STATUS" 200
	expect_eq type "$(header content-type)" application/json
	expect_eq cache-control "$(header cache-control)" "public, max-age=300"
	etag=$(header etag)
	[[ $etag =~ ^\"[0-9a-f]{16}\"$ ]] || fail "ETag: '$etag'"
	# the same document as the YAML, member for member
	same=$(printf '%s' "$BODY" | "${PYTHON3:-python3}" -c '
import json, sys, yaml
served = json.load(sys.stdin)
print(served == yaml.safe_load(open(sys.argv[1], encoding="utf-8")))' \
	    "$top_srcdir/docs/openapi.yaml") || fail "not JSON: ${BODY:0:80}"
	expect_eq "served == docs/openapi.yaml" "$same" True
	version=$("$APP" --version | awk '{ print $2 }')
	expect_eq "info.version" "$(json 'j["info"]["version"]')" "$version"
	http GET /api/openapi.json -H "If-None-Match: $etag"
	expect_eq revalidated "$STATUS" 304
	expect_eq "no body" "$BODY" ""
	expect_eq "same ETag" "$(header etag)" "$etag"
	http GET /api/openapi.json -H 'If-None-Match: "0000000000000000"'
	expect_eq "other tag" "$STATUS" 200
}
it_case "GET /api/openapi.json: docs/openapi.yaml as JSON, its version, ETag and 304" t_api_openapi_served

t_api_lists_304() {
	local u etag
	for u in /api/categories /api/categories/lighting \
	    "/api/products?category=lighting&sort=name"; do
		http GET "$u"
		expect_eq "$u" "$STATUS" 200
		etag=$(header etag)
		http GET "$u" -H "If-None-Match: $etag"
		expect_eq "$u revalidated" "$STATUS" 304
		expect_eq "$u no body" "$BODY" ""
		expect_eq "$u ETag" "$(header etag)" "$etag"
		[ -n "$(header x-cache)" ] || fail "$u: 304 without X-Cache"
	done
}
it_case "the cached lists answer 304 to a matching If-None-Match" t_api_lists_304

t_api_patch_415() {
	local before
	before=$(sql "SELECT price_cents FROM products WHERE id = 400")
	http PATCH /api/products/400 -H "$(api_auth)" -H 'Content-Type: text/plain' \
	    --data-binary '{"price_cents":1}'
	api_is_problem 415
	expect_eq unchanged "$(sql "SELECT price_cents FROM products WHERE id = 400")" "$before"
}
it_case "PATCH with a body that is not application/json is a 415 problem" t_api_patch_415

# The largest requests the description allows are accepted.
t_api_bounds_accepted() {
	local items="" i sku name id
	sql "UPDATE products SET stock = GREATEST(stock, 10) WHERE id BETWEEN 400 AND 449;
	    UPDATE products SET stock = stock + 1000 WHERE id = 450"
	for i in $(seq 400 449); do items="$items${items:+,}{\"product_id\":$i,\"quantity\":1}"; done
	http POST /api/orders -H "$API_J" --data-binary \
	    "{\"email\":\"bounds-$API_RUN@example.com\",\"items\":[$items]}"
	expect_eq "50 items" "$STATUS" 201
	expect_eq "50 lines" "$(json 'len(j["items"])')" 50
	http POST /api/orders -H "$API_J" --data-binary \
	    '{"email":"o'"'"'brien.x+tag@mail-1.example.co","items":[{"product_id":450,"quantity":1000}]}'
	expect_eq "quantity 1000, unusual email" "$STATUS" 201
	sku=$(printf 'B%s%s' "$API_RUN" "$(printf '%.0sx' $(seq 1 64))" | cut -c1-64)
	name="$(printf '%.0sn' $(seq 1 199))é"
	http POST /api/products -H "$(api_auth)" -H "$API_J" --data-binary \
	    "{\"sku\":\"$sku\",\"name\":\"$name\",\"category\":\"lighting\",\"price_cents\":100000000,\"stock\":1000000}"
	expect_eq "largest product" "$STATUS" 201
	id=$(json 'j["id"]')
	http PATCH "/api/products/$id" -H "$(api_auth)" -H "$API_J" --data-binary \
	    '{"price_cents":0,"stock":0}'
	expect_eq "zero price and stock" "$STATUS" 200
	http DELETE "/api/products/$id" -H "$(api_auth)"
	expect_eq cleanup "$STATUS" 204
}
it_case "requests at the bounds of docs/openapi.yaml are accepted (50 items, quantity 1000, 64-char sku, 200-char name)" t_api_bounds_accepted

t_api_nginx_400() {
	http GET /healthz -H "X-Long: $(head -c 9000 /dev/zero | tr '\0' a)"
	api_is_problem 400
}
it_case "nginx: a header line over 8 KiB on /healthz is a 400 problem" t_api_nginx_400

t_api_nginx_404() {
	http GET /index.html
	api_is_problem 404
}
it_case "nginx: a path outside the API is a 404 problem" t_api_nginx_404

t_api_app_down_502() {
	local pid
	pid=$(cat "$FIX_DIR/run/app.pid")
	kill -TERM "$pid"
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	http GET /api/products/1
	fixture_restart
	api_is_problem 502
	http GET /api/products/1
	expect_eq "after the restart" "$STATUS" 200
}
it_case "the app stopped: nginx answers a 502 problem; served again after a restart" t_api_app_down_502

# nginx's 504, through the shipped locations snippet and its timeouts: a
# second nginx whose upstream is a TCP port that never accepts (its listen
# queue is full, so the kernel drops nginx's SYN) gives up connecting
# after fastcgi_connect_timeout (2 s) and answers from its error_page.
t_api_gateway_timeout_504() {
	local dir up port ng _
	dir=$(mktemp -d "$FIX_DIR/gw504.XXXXXX") || fail "mktemp"
	up=$(fixture_free_port) && port=$(fixture_free_port) || fail "no free port"
	cat >"$dir/hold.py" <<-'EOF'
	import socket, sys, time
	port = int(sys.argv[1])
	s = socket.socket()
	s.bind(("127.0.0.1", port))
	s.listen(0)
	held = []
	for _ in range(3):  # fill the queue: later SYNs are dropped
	    c = socket.socket()
	    c.setblocking(False)
	    try:
	        c.connect(("127.0.0.1", port))
	    except BlockingIOError:
	        pass
	    held.append(c)
	print("ready", flush=True)
	time.sleep(600)
	EOF
	"$PYTHON3" "$dir/hold.py" "$up" >"$dir/hold.out" 2>&1 &
	fixture_nginx_conf "$dir" "$port" "127.0.0.1:$up" ||
	    fail "cannot write the nginx configuration"
	nginx -c "$dir/nginx.conf" -p "$dir/" -e "$dir/error.log" 2>>"$dir/error.log" &
	ng=$!
	for _ in $(seq 1 50); do
		grep -q ready "$dir/hold.out" && ss -Hltn "sport = :$port" | grep -q . && break
		sleep 0.1
	done
	grep -q ready "$dir/hold.out" || fail "the silent upstream did not start: $(cat "$dir/hold.out")"
	ss -Hltn "sport = :$port" | grep -q . ||
	    fail "the second nginx did not listen: $(tail -3 "$dir/error.log")"
	CATALOG_URL=http://127.0.0.1:$port http GET /api/products/1
	kill "$ng"
	api_is_problem 504
	grep -q 'upstream timed out .* while connecting to upstream' "$dir/error.log" ||
	    fail "nginx did not log a connect timeout: $(tail -3 "$dir/error.log")"
}
it_case "the app unreachable for fastcgi_connect_timeout: nginx answers a 504 problem" t_api_gateway_timeout_504

# MariaDB and memcached stopped (so no cached copy can be answered): every
# route that needs the database answers its 503 problem, and nothing else.
t_api_db_down_503() {
	local r m p a b auth
	auth=$(api_auth)
	it_defer fixture_restart	# however the case ends
	kill "$(cat "$FIX_DIR/run/memcached.pid")"
	mariadb-admin -uroot --socket="$MYSQL_UNIX_PORT" shutdown ||
	    fail "mariadb-admin shutdown failed"
	for _ in $(seq 1 100); do [ -S "$MYSQL_UNIX_PORT" ] || break; sleep 0.1; done
	for r in "GET /api/categories" "GET /api/products?per_page=11" \
	    "GET /api/products/401" "GET /api/orders/1 A" \
	    "POST /api/orders - {\"email\":\"d@example.com\",\"items\":[{\"product_id\":401,\"quantity\":1}]}" \
	    "POST /api/products A {\"sku\":\"D-$API_RUN\",\"name\":\"n\",\"category\":\"lighting\",\"price_cents\":1,\"stock\":1}" \
	    "PATCH /api/products/401 A {\"stock\":5}" "DELETE /api/products/401 A" \
	    "GET /api/admin/jobs A" "GET /api/admin/jobs/1 A" \
	    "POST /api/admin/jobs/1/replay A" "GET /api/admin/stats A" \
	    "GET /api/categories/lighting" \
	    "POST /api/categories A {\"slug\":\"d-$API_RUN\",\"name\":\"n\"}" \
	    "PATCH /api/categories/lighting A {\"name\":\"n\"}" \
	    "DELETE /api/categories/lighting A"; do
		read -r m p a b <<<"$r"
		set -- -H "$API_J"
		[ "$a" = A ] && set -- "$@" -H "$auth"
		[ -n "$b" ] && set -- "$@" --data-binary "$b"
		http "$m" "$p" "$@"
		if [ "$STATUS" != 503 ] || [ "$(header content-type)" != application/problem+json ]; then
			fail "$m $p with the database down: $STATUS ${BODY:0:100}"
		fi
	done
	fixture_restart
	for _ in $(seq 1 25); do
		http GET /api/products/401
		[ "$STATUS" = 200 ] && break
		sleep 0.2
	done
	expect_eq "served again" "$STATUS" 200
}
it_case "database and memcached down: every route that reads the database is a 503 problem" t_api_db_down_503

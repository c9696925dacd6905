# 31-admin.sh: admin product writes through nginx: bearer token (401s),
# create/patch/delete, invalidation of every list a write touches, and
# read-your-writes while other clients refill the cache.

ADM_J='Content-Type: application/json'
ADM_RUN=$$$RANDOM	# skus unique per run: the stack may be reused
ADM_C1=$(sql "SELECT slug FROM categories ORDER BY id LIMIT 1")
ADM_C2=$(sql "SELECT slug FROM categories ORDER BY id LIMIT 1 OFFSET 1")

adm_auth() { echo "Authorization: Bearer $CATALOG_ADMIN_TOKEN"; }

# adm_create SKU CATEGORY PRICE: POST /api/products; sets ADM_ID.
adm_create() {
	http POST /api/products -H "$(adm_auth)" -H "$ADM_J" --data-binary \
	    "{\"sku\":\"$1\",\"name\":\"Test product $1\",\"category\":\"$2\",\"price_cents\":$3,\"stock\":7}"
	ADM_ID=$(json_try 'j["id"]' 2>/dev/null)	# none when refused
}

# adm_count SLUG: product_count of one category in GET /api/categories.
adm_count() {
	http GET /api/categories
	json "[c['product_count'] for c in j['items'] if c['slug'] == '$1'][0]"
}

# adm_in_list SLUG ID: "yes" when the category's list shows product ID.
adm_in_list() {
	http GET "/api/products?category=$1&per_page=100"
	json "'yes' if any(p['id'] == $2 for p in j['items']) else 'no'"
}

t_adm_401() {
	local h m p before
	before=$(sql "SELECT COUNT(*), SUM(price_cents) FROM products")
	for h in "" "Authorization: Bearer wrong" \
	    "Authorization: Basic $CATALOG_ADMIN_TOKEN" \
	    "Authorization: Bearer ${CATALOG_ADMIN_TOKEN}x" \
	    "Authorization: Bearer ${CATALOG_ADMIN_TOKEN:1}" \
	    "Authorization: $CATALOG_ADMIN_TOKEN"; do
		for m in "POST /api/products" "PATCH /api/products/1" \
		    "DELETE /api/products/1" "GET /api/orders/1"; do
			p=${m#* }
			http "${m%% *}" "$p" ${h:+-H "$h"} -H "$ADM_J" \
			    --data-binary '{"price_cents":1}'
			if [ "$STATUS" != 401 ] ||
			    [ "$(header www-authenticate | cut -d' ' -f1)" != Bearer ] ||
			    [ "$(header content-type)" != application/problem+json ]; then
				fail "$m with '${h:0:30}': $STATUS $(header www-authenticate)"
			fi
		done
	done
	expect_eq "nothing changed" \
	    "$(sql "SELECT COUNT(*), SUM(price_cents) FROM products")" "$before"
}
it_case "admin: no, wrong, Basic or extended token is 401 + WWW-Authenticate" t_adm_401

t_adm_create() {
	local body
	adm_create "T-$ADM_RUN-a" "$ADM_C1" 1234
	expect_eq status "$STATUS" 201
	expect_eq location "$(header location)" "/api/products/$ADM_ID"
	body=$BODY
	expect_eq body "$body" "{\"id\":$ADM_ID,\"sku\":\"T-$ADM_RUN-a\",\"name\":\"Test product T-$ADM_RUN-a\",\"category\":\"$ADM_C1\",\"price_cents\":1234,\"stock\":7}"
	http GET "/api/products/$ADM_ID"
	expect_eq "GET shows the same" "$BODY" "$body"
	adm_create "T-$ADM_RUN-a" "$ADM_C1" 1
	expect_eq "duplicate sku" "$STATUS" 409
	adm_create "T-$ADM_RUN-b" no-such-category 1
	expect_eq "unknown category" "$STATUS" 422
}
it_case "admin: create is 201 with the product; dup sku 409; bad category 422" t_adm_create

# STATUS|BODY for POST /api/products (printf formats).
ADM_BAD=(
	'400|{"sku":"a b","name":"n","category":"CAT","price_cents":1,"stock":1}'
	'400|{"sku":"","name":"n","category":"CAT","price_cents":1,"stock":1}'
	'400|{"sku":"SKU65","name":"n","category":"CAT","price_cents":1,"stock":1}'
	'400|{"sku":"ok-1","name":"","category":"CAT","price_cents":1,"stock":1}'
	'400|{"sku":"ok-1","name":"NAME201","category":"CAT","price_cents":1,"stock":1}'
	'400|{"sku":"ok-1","name":"a\\u0001b","category":"CAT","price_cents":1,"stock":1}'
	'400|{"sku":"ok-1","name":"a\xffb","category":"CAT","price_cents":1,"stock":1}'
	'400|{"sku":"ok-1","name":"n","category":"Not A Slug","price_cents":1,"stock":1}'
	'400|{"sku":"ok-1","name":"n","category":"CAT","price_cents":-1,"stock":1}'
	'400|{"sku":"ok-1","name":"n","category":"CAT","price_cents":100000001,"stock":1}'
	'400|{"sku":"ok-1","name":"n","category":"CAT","price_cents":1.5,"stock":1}'
	'400|{"sku":"ok-1","name":"n","category":"CAT","price_cents":"1","stock":1}'
	'400|{"sku":"ok-1","name":"n","category":"CAT","price_cents":1,"stock":1000001}'
	'400|{"sku":"ok-1","name":"n","category":"CAT","price_cents":1}'
	'400|{"sku":"ok-1","name":"n","category":"CAT","price_cents":1,"stock":1,"color":"red"}'
	'400|[]'
	'400|{"sku":"ok-1"'
)

t_adm_create_bad() {
	local row want spec before file bad=0
	before=$(sql "SELECT COUNT(*) FROM products")
	file=$(mktemp)
	for row in "${ADM_BAD[@]}"; do
		want=${row%%|*}
		spec=${row#*|}
		spec=${spec//CAT/$ADM_C1}
		spec=${spec//SKU65/$(printf '%.0ss' $(seq 1 65))}
		spec=${spec//NAME201/$(printf '%.0sn' $(seq 1 201))}
		printf "$spec" >"$file"
		http POST /api/products -H "$(adm_auth)" -H "$ADM_J" \
		    --data-binary "@$file"
		if [ "$STATUS" != "$want" ] ||
		    [ "$(header content-type)" != application/problem+json ]; then
			echo "row ${row:0:80}: got $STATUS ${BODY:0:120}"
			bad=1
		fi
	done
	http POST /api/products -H "$(adm_auth)" -H 'Content-Type: text/plain' \
	    --data-binary '{}'
	[ "$STATUS" = 415 ] || { echo "wrong type: got $STATUS, want 415"; bad=1; }
	rm -f "$file"
	expect_eq "nothing created" "$(sql "SELECT COUNT(*) FROM products")" "$before"
	[ "$bad" = 0 ] || fail "bad bodies answered wrongly (above)"
}
it_case "admin: every bad product body is a 4xx problem, nothing created" t_adm_create_bad

t_adm_patch() {
	local id
	adm_create "T-$ADM_RUN-p" "$ADM_C1" 500
	id=$ADM_ID
	http GET "/api/products/$id"
	http GET "/api/products/$id"
	expect_eq cached "$(header x-cache)" HIT
	http PATCH "/api/products/$id" -H "$(adm_auth)" -H "$ADM_J" \
	    --data-binary '{"name":"Renamed é","price_cents":777,"stock":3}'
	expect_eq status "$STATUS" 200
	expect_eq answer "$(json '(j["name"], j["price_cents"], j["stock"], j["sku"])')" \
	    "('Renamed é', 777, 3, 'T-$ADM_RUN-p')"
	http GET "/api/products/$id"
	expect_eq "GET sees it" "$(json '(j["name"], j["price_cents"], j["stock"])')" \
	    "('Renamed é', 777, 3)"
	http PATCH "/api/products/$id" -H "$(adm_auth)" -H "$ADM_J" --data-binary '{}'
	expect_eq "empty patch" "$STATUS" 400
	http PATCH "/api/products/$id" -H "$(adm_auth)" -H "$ADM_J" \
	    --data-binary '{"sku":"X-1"}'
	expect_eq "sku patch" "$STATUS" 400
	http PATCH "/api/products/$id" -H "$(adm_auth)" -H "$ADM_J" \
	    --data-binary '{"category":"no-such-category"}'
	expect_eq "unknown category" "$STATUS" 422
	http PATCH /api/products/999999999 -H "$(adm_auth)" -H "$ADM_J" \
	    --data-binary '{"stock":1}'
	expect_eq missing "$STATUS" 404
}
it_case "admin: patch is 200 and visible at once; {} 400, sku 400, 404, 422" t_adm_patch

t_adm_move() {
	local id n1 n2
	adm_create "T-$ADM_RUN-m" "$ADM_C1" 900
	id=$ADM_ID
	# read everything twice so it is cached before the move
	adm_in_list "$ADM_C1" "$id" >/dev/null; adm_in_list "$ADM_C2" "$id" >/dev/null
	expect_eq "old list before" "$(adm_in_list "$ADM_C1" "$id")" yes
	expect_eq "new list before" "$(adm_in_list "$ADM_C2" "$id")" no
	http GET "/api/products?category=$ADM_C1&per_page=100"
	expect_eq "old list cached" "$(header x-cache)" HIT
	http GET "/api/products?category=$ADM_C2&per_page=100"
	expect_eq "new list cached" "$(header x-cache)" HIT
	n1=$(adm_count "$ADM_C1") n2=$(adm_count "$ADM_C2")
	http GET /api/categories
	expect_eq "categories cached" "$(header x-cache)" HIT
	http PATCH "/api/products/$id" -H "$(adm_auth)" -H "$ADM_J" \
	    --data-binary "{\"category\":\"$ADM_C2\"}"
	expect_eq status "$STATUS" 200
	expect_eq "old list after" "$(adm_in_list "$ADM_C1" "$id")" no
	expect_eq "new list after" "$(adm_in_list "$ADM_C2" "$id")" yes
	expect_eq "old count" "$(adm_count "$ADM_C1")" $((n1 - 1))
	expect_eq "new count" "$(adm_count "$ADM_C2")" $((n2 + 1))
	http GET "/api/products/$id"
	expect_eq "product" "$(json 'j["category"]')" "$ADM_C2"
}
it_case "admin: a category move updates both lists and both counts at once" t_adm_move

t_adm_delete() {
	local id n
	adm_create "T-$ADM_RUN-d" "$ADM_C1" 100
	id=$ADM_ID
	http GET "/api/products/$id"; http GET "/api/products/$id"
	adm_in_list "$ADM_C1" "$id" >/dev/null
	n=$(adm_count "$ADM_C1")
	http DELETE "/api/products/$id" -H "$(adm_auth)"
	expect_eq status "$STATUS" 204
	[ -z "$BODY" ] || fail "204 with a body"
	http GET "/api/products/$id"
	expect_eq "GET after" "$STATUS" 404
	expect_eq "list after" "$(adm_in_list "$ADM_C1" "$id")" no
	expect_eq "count after" "$(adm_count "$ADM_C1")" $((n - 1))
	http DELETE "/api/products/$id" -H "$(adm_auth)"
	expect_eq "second delete" "$STATUS" 404
}
it_case "admin: delete is 204, then 404, gone from lists and counts" t_adm_delete

# Four readers keep missing and refilling the product and its category
# page while the writer changes the price; after every PATCH answer the
# writer's own GETs must show the new price: zero stale reads.
t_adm_read_your_writes() {
	local id dir i r out price stale=0 rounds=200
	adm_create "T-$ADM_RUN-r" "$ADM_C2" 1000
	id=$ADM_ID
	dir=$(mktemp -d)
	for r in 1 2 3 4; do
		( while [ ! -e "$dir/stop" ]; do
			curl -s -o /dev/null "$CATALOG_URL/api/products/$id" \
			    -o /dev/null \
			    "$CATALOG_URL/api/products?category=$ADM_C2&per_page=100"
		  done ) &
	done
	for i in $(seq 1 $rounds); do
		price=$((2000 + i))
		out=$(curl -s --max-time 10 -X PATCH -H "$(adm_auth)" -H "$ADM_J" \
		    --data-binary "{\"price_cents\":$price}" -w '\n' \
		    "$CATALOG_URL/api/products/$id" \
		    --next -s -w '\n' "$CATALOG_URL/api/products/$id" \
		    --next -s -w '\n' \
		    "$CATALOG_URL/api/products?category=$ADM_C2&per_page=100")
		# three lines: the PATCH answer, the product, the list
		if [ "$(printf '%s\n' "$out" | grep -o "{\"id\":$id,[^}]*\"price_cents\":$price," | wc -l)" != 3 ]; then
			stale=$((stale + 1))
			[ $stale -le 3 ] && echo "round $i: ${out:0:300}"
		fi
	done
	touch "$dir/stop"
	wait
	rm -rf "$dir"
	expect_eq "stale reads in $rounds rounds" "$stale" 0
}
it_case "admin: read-your-writes under concurrent refills (200 rounds)" t_adm_read_your_writes

# adm_relink: requests in parallel until every worker holds a live link
# again, so the cases after this one meet no killed connection.
adm_relink() {
	local workers i
	workers=$(sed -n 's/^app.workers *= *//p' "$CATALOG_CONF")
	for i in $(seq 1 50); do
		[ "$(sql "SELECT COUNT(*) FROM information_schema.processlist
		    WHERE user = 'catalog'")" -ge "${workers:-4}" ] && return 0
		for _ in 1 2 3 4 5 6 7 8; do
			curl -s -o /dev/null "$CATALOG_URL/healthz" &
		done
		wait
	done
	fail "the workers did not all reconnect"
}

# The workers' database links die (as in a database restart); the next
# writes must reconnect, never answer 503 for a link they never used.
adm_stale_link() {
	local c i
	for c in $(sql "SELECT id FROM information_schema.processlist
	    WHERE user = 'catalog'"); do
		sql_try "KILL CONNECTION $c" 2>/dev/null	# may have ended
	done
	for i in 1 2 3 4 5 6 7 8; do
		http PATCH /api/products/20 -H "$(adm_auth)" -H "$ADM_J" \
		    --data-binary "{\"stock\":$((50 + i))}"
		expect_eq "patch $i" "$STATUS" 200
	done
	for c in $(sql "SELECT id FROM information_schema.processlist
	    WHERE user = 'catalog'"); do
		sql_try "KILL CONNECTION $c" 2>/dev/null	# may have ended
	done
	for i in 1 2 3 4 5 6 7 8; do
		http POST /api/orders -H "$ADM_J" -H "Idempotency-Key: stale-$ADM_RUN-$i" \
		    --data-binary '{"email":"s@example.com","items":[{"product_id":20,"quantity":1}]}'
		expect_eq "order $i" "$STATUS" 201
	done
	adm_relink
}
t_adm_stale_link() { adm_stale_link; }
it_case "writes reconnect after the database dropped every link" t_adm_stale_link

# The same with the app on TCP (db.host): there a link the server dropped
# answers its first statement with 2013 (lost during query), not 2006, and
# START TRANSACTION must still be sent again on a new link.  The app goes
# back on the socket however the case ends.
t_adm_stale_link_tcp() {
	it_defer "fixture_restart; adm_relink"
	FIX_DB_VIA=tcp fixture_restart
	grep -q '^db.host = 127.0.0.1' "$CATALOG_CONF" || fail "catalog.conf not over TCP"
	adm_relink
	adm_stale_link
}
it_case "the same over TCP (db.host): 2013 on a dropped link is a new link too" t_adm_stale_link_tcp

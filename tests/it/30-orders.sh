# 30-orders.sh: POST /api/orders (one transaction, stock, job row, freshness),
# GET /api/orders/{id}, Idempotency-Key, and every bad input.
# Products 10..19 belong to these cases; their stock is set here.

ORD_J='Content-Type: application/json'
ORD_RUN=$$.$RANDOM	# keys unique per run: the stack may be reused

# ord_post BODY [curl args...]: POST /api/orders with a JSON body.
ord_post() {
	local body=$1
	shift
	http POST /api/orders -H "$ORD_J" --data-binary "$body" "$@"
}

# ord_state: one line with the row counts and the stock of products 10..19.
ord_state() {
	sql "SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM order_items),
	    (SELECT COUNT(*) FROM jobs), (SELECT COUNT(*) FROM idempotency_keys),
	    (SELECT GROUP_CONCAT(stock ORDER BY id) FROM products
	     WHERE id BETWEEN 10 AND 19)"
}

ord_admin() { echo "Authorization: Bearer $CATALOG_ADMIN_TOKEN"; }

ord_item() { echo "{\"product_id\":$1,\"quantity\":$2}"; }

sql "UPDATE products SET stock = 100 WHERE id BETWEEN 10 AND 19" >/dev/null

t_ord_created() {
	local before after id p10 p11 want
	before=$(sql "SELECT stock FROM products WHERE id = 10")
	p10=$(sql "SELECT price_cents FROM products WHERE id = 10")
	p11=$(sql "SELECT price_cents FROM products WHERE id = 11")
	want=$((2 * p10 + p11))
	# the client's prices and totals are ignored
	ord_post '{"email":"buyer@example.com","total_cents":1,"items":[
	    {"product_id":10,"quantity":2,"unit_price_cents":1},
	    {"product_id":11,"quantity":1}]}' \
	    -H 'Content-Type: application/json; charset=utf-8'
	expect_eq status "$STATUS" 201
	expect_eq type "$(header content-type)" application/json
	id=$(json 'j["id"]')
	expect_eq location "$(header location)" "/api/orders/$id"
	expect_eq body "$BODY" "{\"id\":$id,\"status\":\"created\",\"email\":\"buyer@example.com\",\"total_cents\":$want,\"items\":[{\"product_id\":10,\"quantity\":2,\"unit_price_cents\":$p10},{\"product_id\":11,\"quantity\":1,\"unit_price_cents\":$p11}]}"
	after=$(sql "SELECT stock FROM products WHERE id = 10")
	expect_eq stock "$after" $((before - 2))
	expect_eq "db total" "$(sql "SELECT total_cents FROM orders WHERE id = $id")" "$want"
	expect_eq items "$(sql "SELECT COUNT(*) FROM order_items WHERE order_id = $id")" 2
	expect_eq job "$(sql "SELECT type, payload, status, max_attempts FROM jobs
	    WHERE idempotency_key = 'order-confirmation-$id'")" \
	    "$(printf 'order_confirmation_email\t{"order_id":%s}\tpending\t5' "$id")"
}
it_case "order: 201, Location, DB prices, stock taken, one job row" t_ord_created

t_ord_get() {
	local id
	ord_post "{\"email\":\"get@example.com\",\"items\":[$(ord_item 12 3)]}"
	expect_eq status "$STATUS" 201
	id=$(json 'j["id"]')
	http GET "/api/orders/$id" -H "$(ord_admin)"
	expect_eq status "$STATUS" 200
	expect_eq fields "$(json '(j["id"], j["status"], j["email"], j["confirmation"], len(j["items"]), j["items"][0]["quantity"], j["created_at"][-1])')" \
	    "($id, 'created', 'get@example.com', 'pending', 1, 3, 'Z')"
	sql "UPDATE jobs SET status = 'dead' WHERE idempotency_key = 'order-confirmation-$id'"
	http GET "/api/orders/$id" -H "$(ord_admin)"
	expect_eq dead "$(json 'j["confirmation"]')" dead
	sql "UPDATE jobs SET status = 'done' WHERE idempotency_key = 'order-confirmation-$id'"
	http GET "/api/orders/$id" -H "$(ord_admin)"
	expect_eq sent "$(json 'j["confirmation"]')" sent
	http GET /api/orders/999999999 -H "$(ord_admin)"
	expect_eq missing "$STATUS" 404
	http GET "/api/orders/$id"
	expect_eq "no token" "$STATUS" 401
}
it_case "GET /api/orders/{id}: items and confirmation pending/dead/sent, 404" t_ord_get

t_ord_merge() {
	local id
	ord_post "{\"email\":\"m@example.com\",\"items\":[$(ord_item 13 2),$(ord_item 14 1),$(ord_item 13 3)]}"
	expect_eq status "$STATUS" 201
	expect_eq items "$(json '[(i["product_id"], i["quantity"]) for i in j["items"]]')" \
	    "[(13, 5), (14, 1)]"
	ord_post "{\"email\":\"m@example.com\",\"items\":[$(ord_item 13 600),$(ord_item 13 401)]}"
	expect_eq "sum over 1000" "$STATUS" 400
}
it_case "order: repeated products are merged (sum <= 1000)" t_ord_merge

t_ord_stock_conflict() {
	local before
	sql "UPDATE products SET stock = 1 WHERE id = 15"
	before=$(ord_state)
	ord_post "{\"email\":\"s@example.com\",\"items\":[$(ord_item 10 1),$(ord_item 15 2)]}"
	expect_eq status "$STATUS" 409
	expect_eq type "$(header content-type)" application/problem+json
	expect_eq "nothing changed" "$(ord_state)" "$before"
}
it_case "order: not enough stock is 409 and nothing changes" t_ord_stock_conflict

t_ord_unknown_product() {
	local before
	before=$(ord_state)
	ord_post "{\"email\":\"u@example.com\",\"items\":[$(ord_item 10 1),$(ord_item 987654321 1)]}"
	expect_eq status "$STATUS" 422
	expect_eq problem "$(json 'j["status"]')" 422
	expect_eq "nothing changed" "$(ord_state)" "$before"
}
it_case "order: unknown product is 422 and nothing changes" t_ord_unknown_product

# The writing host's own reads see the order at once, not one poll later:
# each round warms product 16 and its category page, orders one, and reads
# both back on the same connection a few ms after the 201 (the poller,
# every 100 ms, would rarely land in that gap, and never 20 times).
t_ord_fresh_stock() {
	local stock i out want slug stale=0 rounds=20
	slug=$(sql "SELECT c.slug FROM products p JOIN categories c
	    ON c.id = p.category_id WHERE p.id = 16")
	http GET /api/products/16
	http GET /api/products/16
	expect_eq cached "$(header x-cache)" HIT
	for i in $(seq 1 $rounds); do
		stock=$(sql "SELECT stock FROM products WHERE id = 16")
		want=$((stock - 1))
		out=$(curl -s --max-time 10 -o /dev/null \
		    "$CATALOG_URL/api/products/16" \
		    --next -s -o /dev/null \
		    "$CATALOG_URL/api/products?category=$slug&per_page=100" \
		    --next -s --max-time 10 -X POST -H "$ORD_J" -w '%{http_code}\n' \
		    --data-binary "{\"email\":\"f$i@example.com\",\"items\":[$(ord_item 16 1)]}" \
		    -o /dev/null "$CATALOG_URL/api/orders" \
		    --next -s -w '\n' "$CATALOG_URL/api/products/16" \
		    --next -s -w '\n' \
		    "$CATALOG_URL/api/products?category=$slug&per_page=100")
		# three lines: the status, the product, the list
		if [ "$(printf '%s\n' "$out" | head -1)" != 201 ] ||
		    [ "$(printf '%s\n' "$out" | grep -o '{"id":16,[^}]*"stock":'"$want"'[,}]' | wc -l)" != 2 ]; then
			stale=$((stale + 1))
			[ $stale -le 3 ] && echo "# round $i (want stock $want): ${out:0:400}"
		fi
	done
	expect_eq "stale reads in $rounds rounds" "$stale" 0
}
it_case "order: the stock is fresh right after the 201, product and list (20 rounds)" t_ord_fresh_stock

# Holds a row lock on product 17 from an admin session for 2 s and kills
# the app's connection while its transaction waits for it: the server rolled
# that transaction back, so db_tx runs the whole unit again on a new link,
# which waits out the lock: 201, and exactly one order, stock taken once.
t_ord_atomic_kill() {
	local before after conn="" tmp i locker client code email="k$ORD_RUN@example.com"
	before=$(sql "SELECT GROUP_CONCAT(stock ORDER BY id) FROM products
	    WHERE id IN (11, 17)")
	tmp=$(mktemp)
	it_defer "rm -f $tmp"
	mariadb -uroot --socket="$MYSQL_UNIX_PORT" "$MYSQL_DATABASE" -e \
	    "START TRANSACTION; SELECT id FROM products WHERE id = 17 FOR UPDATE;
	     SELECT SLEEP(2) AS locker_sleep; ROLLBACK;" >/dev/null 2>&1 &
	locker=$!
	sleep 0.3
	curl -s -o /dev/null -w '%{http_code}' --max-time 20 -X POST \
	    -H "$ORD_J" --data-binary \
	    "{\"email\":\"$email\",\"items\":[$(ord_item 11 1),$(ord_item 17 1)]}" \
	    "$CATALOG_URL/api/orders" >"$tmp" &
	client=$!
	for i in $(seq 1 40); do
		conn=$(sql "SELECT id FROM information_schema.processlist
		    WHERE user = 'catalog' AND info LIKE '%FOR UPDATE%' LIMIT 1")
		[ -n "$conn" ] && break
		sleep 0.05
	done
	[ -n "$conn" ] || fail "the app never waited on the lock"
	sql "KILL CONNECTION $conn"
	wait "$client" || fail "curl exited $?"
	wait "$locker" || fail "the locking session exited $?"
	code=$(cat "$tmp")
	expect_eq status "$code" 201
	grep -Eq 'event=tx_retry op=order try=1 errno=(2013|1927)' \
	    "$FIX_DIR/log/app.log" || fail "no rerun after the killed link logged"
	expect_eq "one order" "$(sql "SELECT COUNT(*) FROM orders
	    WHERE email = '$email'")" 1
	after=$(sql "SELECT GROUP_CONCAT(stock + 1 ORDER BY id) FROM products
	    WHERE id IN (11, 17)")
	expect_eq "stock taken once" "$after" "$before"
}
it_case "order: a link killed mid-transaction reruns the unit on a new link, one order" t_ord_atomic_kill

# A lock held past innodb_lock_wait_timeout (5 s): the app's first try
# times out (1205), the whole transaction runs again and succeeds.
t_ord_lock_timeout_retry() {
	local n locker
	n=$(sql "SELECT COUNT(*) FROM orders")
	mariadb -uroot --socket="$MYSQL_UNIX_PORT" "$MYSQL_DATABASE" -e \
	    "START TRANSACTION; SELECT id FROM products WHERE id = 18 FOR UPDATE;
	     SELECT SLEEP(6); ROLLBACK;" >/dev/null 2>&1 &
	locker=$!
	sleep 0.3
	ord_post "{\"email\":\"t@example.com\",\"items\":[$(ord_item 18 1)]}"
	wait "$locker" || fail "the locking session exited $?"
	expect_eq status "$STATUS" 201
	expect_eq "one order" "$(sql "SELECT COUNT(*) FROM orders")" $((n + 1))
	grep -q 'event=tx_retry op=order try=1 errno=1205' "$FIX_DIR/log/app.log" ||
	    fail "no retry logged"
}
it_case "order: a lock wait timeout retries the whole transaction" t_ord_lock_timeout_retry

t_ord_idem_replay() {
	local b first body loc n
	b="{\"email\":\"i@example.com\",\"items\":[$(ord_item 18 1)]}"
	n=$(sql "SELECT COUNT(*) FROM orders")
	ord_post "$b" -H "Idempotency-Key: replay-1-$ORD_RUN"
	expect_eq first "$STATUS" 201
	body=$BODY loc=$(header location)
	ord_post "$b" -H "Idempotency-Key: replay-1-$ORD_RUN"
	expect_eq replay "$STATUS" 201
	expect_eq "same bytes" "$BODY" "$body"
	expect_eq "same location" "$(header location)" "$loc"
	expect_eq "one order" "$(sql "SELECT COUNT(*) FROM orders")" $((n + 1))
	ord_post "{\"email\":\"i@example.com\",\"items\":[$(ord_item 18 2)]}" \
	    -H "Idempotency-Key: replay-1-$ORD_RUN"
	expect_eq "different body" "$STATUS" 422
	expect_eq "still one order" "$(sql "SELECT COUNT(*) FROM orders")" $((n + 1))
}
it_case "Idempotency-Key: replay byte for byte, different body 422" t_ord_idem_replay

t_ord_idem_refusal() {
	local b body
	sql "UPDATE products SET stock = 0 WHERE id = 19"
	b="{\"email\":\"r@example.com\",\"items\":[$(ord_item 19 1)]}"
	ord_post "$b" -H "Idempotency-Key: refusal-1-$ORD_RUN"
	expect_eq first "$STATUS" 409
	body=$BODY
	sql "UPDATE products SET stock = 100 WHERE id = 19"
	ord_post "$b" -H "Idempotency-Key: refusal-1-$ORD_RUN"
	expect_eq "replayed refusal" "$STATUS:$BODY" "409:$body"
	ord_post "$b" -H "Idempotency-Key: refusal-2-$ORD_RUN"
	expect_eq "new key" "$STATUS" 201
}
it_case "Idempotency-Key: a 409 is recorded and replayed too" t_ord_idem_refusal

t_ord_idem_expired() {
	local b
	b="{\"email\":\"e@example.com\",\"items\":[$(ord_item 18 1)]}"
	ord_post "$b" -H "Idempotency-Key: expiring-1-$ORD_RUN"
	expect_eq first "$STATUS" 201
	sql "UPDATE idempotency_keys SET expires_at = NOW(6) - INTERVAL 1 SECOND
	    WHERE idem_key = 'expiring-1-$ORD_RUN'"
	ord_post "{\"email\":\"e2@example.com\",\"items\":[$(ord_item 18 1)]}" \
	    -H "Idempotency-Key: expiring-1-$ORD_RUN"
	expect_eq "expired key is new" "$STATUS" 201
	expect_eq email "$(json 'j["email"]')" e2@example.com
}
it_case "Idempotency-Key: an expired key counts as absent" t_ord_idem_expired

t_ord_idem_concurrent() {
	local b n dir i codes
	b="{\"email\":\"c@example.com\",\"items\":[$(ord_item 12 1)]}"
	n=$(sql "SELECT COUNT(*) FROM orders")
	dir=$(mktemp -d)
	for i in $(seq 1 10); do
		curl -s -o "$dir/$i.body" -w '%{http_code}' --max-time 10 \
		    -X POST -H "$ORD_J" -H "Idempotency-Key: concurrent-1-$ORD_RUN" \
		    --data-binary "$b" "$CATALOG_URL/api/orders" >"$dir/$i.code" &
	done
	wait
	codes=$(cat "$dir"/*.code | tr -d '\n' | fold -w3 | sort | uniq -c | tr -s ' ')
	rm -rf "$dir"
	expect_eq "one order" "$(sql "SELECT COUNT(*) FROM orders")" $((n + 1))
	if echo "$codes" | grep -qv -e ' 201$' -e ' 409$'; then
		fail "answers: $codes"
	fi
	echo "$codes" | grep -q ' 201$' || fail "no 201 among: $codes"
}
it_case "Idempotency-Key: 10 concurrent posts make one order, 201 or 409" t_ord_idem_concurrent

# The bad-input table: STATUS|CONTENT-TYPE|IDEMPOTENCY-KEY|BODY.  BODY is a
# printf(1) format (so \xff and \x00 are raw bytes, \\r a JSON escape) or a
# generator: @DEEP (100 nested arrays), @ITEMS51, @BIG (70 KiB).
# CONTENT-TYPE "-" sends none; KEY "-" sends none, @EMPTY, @LONG (256
# characters), @NONASCII.
ORD_OK='{"email":"bad@example.com","items":[{"product_id":10,"quantity":1}]}'
ORD_BAD=(
	'400|application/json|-|not json'
	'415|text/plain|-|'"$ORD_OK"
	'415|-|-|'"$ORD_OK"
	'415|application/jsonx|-|'"$ORD_OK"
	'415|application/x-www-form-urlencoded|-|email=a'
	'400|application/json|-|'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":1,'
	'400|application/json|-|@DEEP'
	'400|application/json|-|[]'
	'400|application/json|-|"just a string"'
	'400|application/json|-|'"$ORD_OK"' x'
	'400|application/json|-|'"$ORD_OK$ORD_OK"
	'400|application/json|-|{"email":"b\xffd@example.com","items":[{"product_id":10,"quantity":1}]}'
	'400|application/json|-|{"email":"bad@example.com\x00","items":[{"product_id":10,"quantity":1}]}'
	'400|application/json|-|{"email":"bad@example.com\\u0000","items":[{"product_id":10,"quantity":1}]}'
	'400|application/json|-|{"email":"bad\\ud800@example.com","items":[{"product_id":10,"quantity":1}]}'
	'400|application/json|-|{"email":"bad@example.com\\r\\nBcc: x@example.com","items":[{"product_id":10,"quantity":1}]}'
	'400|application/json|-|{"email":"bad@example.com\r\n","items":[{"product_id":10,"quantity":1}]}'
	'400|application/json|-|{"email":"not an email","items":[{"product_id":10,"quantity":1}]}'
	'400|application/json|-|{"email":5,"items":[{"product_id":10,"quantity":1}]}'
	'400|application/json|-|{"items":[{"product_id":10,"quantity":1}]}'
	'400|application/json|-|{"email":"bad@example.com"}'
	'400|application/json|-|{"email":"bad@example.com","items":[]}'
	'400|application/json|-|{"email":"bad@example.com","items":{}}'
	'400|application/json|-|{"email":"bad@example.com","items":[1]}'
	'400|application/json|-|@ITEMS51'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":10}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":10,"quantity":0}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":10,"quantity":1001}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":10,"quantity":1.5}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":10,"quantity":1.0}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":10,"quantity":"2"}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":10,"quantity":-1}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":10,"quantity":true}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":10,"quantity":null}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":0,"quantity":1}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":-1,"quantity":1}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":9223372036854775808,"quantity":1}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":99999999999999999999999,"quantity":1}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":"10","quantity":1}]}'
	'400|application/json|-|{"email":"bad@example.com","items":[{"product_id":1e1,"quantity":1}]}'
	'413|application/json|-|@BIG'
	'400|application/json|@EMPTY|'"$ORD_OK"
	'400|application/json|@LONG|'"$ORD_OK"
	'400|application/json|@NONASCII|'"$ORD_OK"
	'400|application/json|two words|'"$ORD_OK"
)

# ord_bad_body SPEC FILE: writes the body a table row names.
ord_bad_body() {
	local i
	case $1 in
	@DEEP) printf '%.0s[' $(seq 1 100) >"$2"; printf '%.0s]' $(seq 1 100) >>"$2" ;;
	@ITEMS51)
		{ printf '{"email":"bad@example.com","items":['
		  for i in $(seq 1 51); do
			printf '%s{"product_id":%d,"quantity":1}' \
			    "$([ "$i" -gt 1 ] && echo ,)" "$i"
		  done
		  printf ']}'; } >"$2" ;;
	@BIG)
		{ printf '{"email":"bad@example.com","pad":"'
		  head -c 71680 /dev/zero | tr '\0' a
		  printf '","items":[{"product_id":10,"quantity":1}]}'; } >"$2" ;;
	*) printf "$1" >"$2" ;;
	esac
}

t_ord_bad_inputs() {
	local row want ct key spec file before args bad=0
	before=$(ord_state)
	file=$(mktemp)
	for row in "${ORD_BAD[@]}"; do
		IFS='|' read -r want ct key spec <<<"$row"
		ord_bad_body "$spec" "$file"
		args=(-X POST --data-binary "@$file")
		[ "$ct" = - ] && args+=(-H 'Content-Type:') ||
		    args+=(-H "Content-Type: $ct")
		case $key in
		-) ;;
		@EMPTY) args+=(-H 'Idempotency-Key;') ;;
		@LONG) args+=(-H "Idempotency-Key: $(printf '%.0sk' $(seq 1 256))") ;;
		@NONASCII) args+=(-H "$(printf 'Idempotency-Key: cl\xc3\xa9')") ;;
		*) args+=(-H "Idempotency-Key: $key") ;;
		esac
		http POST /api/orders "${args[@]}"
		if [ "$STATUS" != "$want" ] ||
		    [ "$(header content-type)" != application/problem+json ] ||
		    [ "$(json_try 'j["status"]' 2>/dev/null)" != "$want" ]; then
			echo "row ${row:0:90}: got $STATUS $(header content-type) ${BODY:0:120}"
			bad=1
		fi
	done
	rm -f "$file"
	expect_eq "nothing written" "$(ord_state)" "$before"
	[ "$bad" = 0 ] || fail "bad inputs answered wrongly (above)"
}
it_case "order: every bad input is its exact 4xx problem, nothing written" t_ord_bad_inputs

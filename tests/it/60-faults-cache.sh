# 60-faults-cache.sh: memcached fails under a load of reads and orders.
# Nothing may be lost: no 5xx (a cache failure is never the client's
# problem), every 201 order complete in the database, and no stale read
# once the cache is back, for a price written while it was away.
#
# Freshness is checked on a product P of one category (its page and its
# category's list); the load orders products of another category only, so
# no order's invalidation can hide a stale P.
# shellcheck source=../lib/faults.sh
. "$top_srcdir/tests/lib/faults.sh"

FC_CAT=lighting		# P's category
FC_ORDER_CAT=electronics	# the load orders from here

# fc_setup: P, its price history, the order products (stock topped up
# through the admin API, so the cache hears of it) and the load's URLs.
fc_setup() {
	local p
	FC_TOKEN=${CATALOG_ADMIN_TOKEN:-$(fl_admin_token)}
	FC_P=$(sql "SELECT MIN(p.id) FROM products p JOIN categories c
	  ON c.id = p.category_id WHERE c.slug = '$FC_CAT'")
	FC_PRODS=$(sql "SELECT p.id FROM products p JOIN categories c
	  ON c.id = p.category_id WHERE c.slug = '$FC_ORDER_CAT'
	  ORDER BY p.id LIMIT 4" | tr '\n' ' ')
	[ -n "$FC_P" ] && [ -n "$FC_PRODS" ] || fail "no products to work on"
	for p in $FC_PRODS; do
		fc_patch "$p" '{"stock":100000}'
	done
	FC_URLS="/api/products/$FC_P /api/products?category=$FC_CAT&per_page=100
	  /api/products?category=$FC_CAT&sort=price /api/categories
	  /api/products?category=$FC_ORDER_CAT /api/products?per_page=50
	  /api/products?page=2&sort=-price"
	for p in $(seq 1 12); do FC_URLS="$FC_URLS /api/products/$p"; done
}

# fc_patch ID JSON: an admin PATCH that must answer 200.
fc_patch() {
	http PATCH "/api/products/$1" -H "Authorization: Bearer $FC_TOKEN" \
	    -H 'Content-Type: application/json' --data-binary "$2"
	[ "$STATUS" = 200 ] || fail "PATCH $1 $2: $STATUS $BODY"
}

# fc_fresh WHEN: P's page and its category list show the database's price,
# several times each (the requests spread over the workers).  Prints the
# X-Cache values seen; fails on a stale answer.  (No python here: this
# runs under load on small machines.)
fc_fresh() {
	local want got u _ out seen=""
	want=$(sql "SELECT price_cents FROM products WHERE id = $FC_P")
	for _ in 1 2 3 4; do
		for u in "/api/products/$FC_P" "/api/products?category=$FC_CAT&per_page=100"; do
			out=$(curl -s --max-time 10 -w '\n%{http_code} %header{x-cache}' "$CATALOG_URL$u")
			got=$(printf '%s\n' "$out" | head -n -1 | grep -o "{\"id\":$FC_P,[^}]*}" |
			    grep -o '"price_cents":[0-9-]*' | cut -d: -f2)
			if [ "${out##*$'\n'}" = "${out##*$'\n'200 }" ] || [ "$got" != "$want" ]; then
				fail "$1: STALE or failed: GET $u -> ${out##*$'\n'}: price '$got', database $want"
			fi
			seen="$seen ${out##* }"
		done
	done
	echo "# $1: fresh ($want), X-Cache:$(echo "$seen" | tr ' ' '\n' | sort | uniq -c | tr -s ' \n' ' ')"
}

# fc_prime: P's page and list cached (a HIT) before the fault.
fc_prime() {
	local u
	for u in "/api/products/$FC_P" "/api/products?category=$FC_CAT&per_page=100"; do
		http GET "$u"; http GET "$u"
		[ "$(header x-cache)" = HIT ] || fail "not cached before the fault: $u ($(header x-cache))"
	done
}

# fc_wait_hit: until P's page is served from the cache again (breaker
# closed after cache.retry_seconds), at most ~8 s.
fc_wait_hit() {
	local _
	for _ in $(seq 1 40); do
		http GET "/api/products/$FC_P"
		[ "$(header x-cache)" = HIT ] && return 0
		sleep 0.2
	done
	fail "P never served from the cache again (last X-Cache: $(header x-cache))"
}

# fc_loss TAG: the exact-loss assertions over the load: every response 200
# (reads) or 201 (orders), and the database holds exactly the 201 orders,
# each complete.
fc_loss() {
	local bad n201 ndb
	echo "# load: $(fl_summary)"
	bad=$(fl_results | awk '$3 != 200 && $3 != 201')
	[ -z "$bad" ] || fail "responses other than 200/201:
$(echo "$bad" | head -20)"
	[ "$(fl_results | wc -l)" -ge 100 ] || fail "load too small to mean anything"
	n201=$(cat "$FL_DIR"/o.* | awk '$3 == 201' | wc -l)
	ndb=$(sql "SELECT COUNT(*) FROM orders WHERE email LIKE '$1-%'")
	expect_eq "orders in the database vs 201 answers" "$ndb" "$n201"
	[ "$n201" -ge 5 ] || fail "only $n201 orders"
	fl_check_orders "$1"
}

t_fc_killed() {
	local pid
	fl_init fc1
	fl_cleanup fc1
	fc_setup
	fc_patch "$FC_P" "{\"price_cents\":$((100000 + RANDOM))}"
	fc_prime
	fl_mark "load starts"
	fl_load 9 2 2 fc1 "$FC_PRODS" "$FC_URLS"
	sleep 1.5
	pid=$(cat "$FIX_DIR/run/memcached.pid")
	it_defer fixture_restart	# whatever happens below
	kill "$pid" || fail "kill memcached"
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "memcached did not stop"
	fl_mark "memcached gone"
	http GET /healthz
	expect_eq "healthz while memcached is gone" "$BODY" \
	    '{"status":"ok","db":"ok","cache":"down"}'
	# the write during the outage: its invalidation cannot reach memcached
	fc_patch "$FC_P" "{\"price_cents\":$((200000 + RANDOM))}"
	fc_fresh "during the outage"
	sleep 2
	fl_mark "restarting memcached"
	fixture_restart
	fl_mark "memcached restarted"
	fc_fresh "just after the restart"
	fc_wait_hit
	fc_fresh "cache back"
	# and a write after the return is seen at once
	fc_patch "$FC_P" "{\"price_cents\":$((300000 + RANDOM))}"
	fc_fresh "write after the return"
	fl_mark "waiting for the load"
	fl_wait
	fl_mark "load done"
	fc_loss fc1
	fl_cleanup fc1
	fl_healthy
}
it_case "memcached killed and restarted under load: no 5xx, no lost order, no stale price" t_fc_killed

# The frozen server keeps its entries: P's old price is still stored under
# the generation the outage's write could not bump.  Only the flush of a
# server with a lost bump (cache.h, LOST BUMPS) keeps it from coming back.
t_fc_frozen() {
	local pid
	fl_init fc2
	fl_cleanup fc2
	fc_setup
	fc_patch "$FC_P" "{\"price_cents\":$((400000 + RANDOM))}"
	fc_prime
	fl_mark "load starts"
	fl_load 7 2 2 fc2 "$FC_PRODS" "$FC_URLS"
	sleep 1.5
	pid=$(cat "$FIX_DIR/run/memcached.pid")
	it_defer "kill -CONT $pid"	# whatever happens below
	kill -STOP "$pid" || fail "kill -STOP memcached"
	fl_mark "memcached frozen"
	fc_patch "$FC_P" "{\"price_cents\":$((500000 + RANDOM))}"
	fc_fresh "memcached frozen"
	sleep 1.5
	kill -CONT "$pid" || fail "kill -CONT memcached"
	fl_mark "memcached continued"
	fc_fresh "just after SIGCONT"
	fc_wait_hit
	fc_fresh "cache back"
	fc_patch "$FC_P" "{\"price_cents\":$((600000 + RANDOM))}"
	fc_fresh "write after the return"
	fl_mark "waiting for the load"
	fl_wait
	fl_mark "load done"
	fc_loss fc2
	fl_cleanup fc2
	fl_healthy
}
it_case "memcached frozen (SIGSTOP) under load: no 5xx, no lost order, no stale price after SIGCONT" t_fc_frozen

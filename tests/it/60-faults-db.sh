# 60-faults-db.sh: MariaDB shut down and started again under a load of
# reads and orders.  While it is down the only failure is 503 (a cache hit
# is still a 200); no order is partial; every 201 order is in the database
# with its job; a 503 order retried with its Idempotency-Key is made
# exactly once (201); the app recovers by itself (same master, same
# workers).  Twice: with the app on the unix socket (db.socket, as the
# stack runs it) and over TCP (db.host), where a link that died with the
# server says 2013 on its first statement instead of 2006.
# shellcheck source=../lib/faults.sh
. "$top_srcdir/tests/lib/faults.sh"

FD_ORDER_CAT=kitchen-dining

# fd_worker_pids: the app's workers, sorted, on one line.
fd_worker_pids() {
	pgrep -P "$(cat "$FIX_DIR/run/app.pid")" | sort -n | tr '\n' ' '
}

# fd_restart TAG: the case, on whatever app runs now.
fd_restart() {
	local tag=$1 prods urls p master workers restarts stock0 stock1 sold
	local t_down0 t_down1 t_up0 t_up t_ok bad u n201 _
	fl_init "$tag"
	fl_cleanup "$tag"
	prods=$(sql "SELECT p.id FROM products p JOIN categories c
	  ON c.id = p.category_id WHERE c.slug = '$FD_ORDER_CAT'
	  ORDER BY p.id LIMIT 4" | tr '\n' ' ')
	[ -n "$prods" ] || fail "no products"
	# shellcheck disable=SC2086
	fl_restock $prods
	stock0=$(sql "SELECT SUM(stock) FROM products WHERE id IN (${prods// /,}0)")
	urls="/api/categories /api/products?category=bedding /api/products?category=lighting&sort=price"
	for p in 2 3 4 5 6 7 8 9; do urls="$urls /api/products/$p"; done
	for u in $urls; do curl -s -o /dev/null "$CATALOG_URL$u"; done	# cached: hits stay 200
	# and never asked before: misses, 503 while the database is down
	for p in $(seq 300 340); do urls="$urls /api/products/$p"; done
	master=$(cat "$FIX_DIR/run/app.pid")
	workers=$(fd_worker_pids)
	restarts=$(fl_metric catalog_worker_restarts_total)

	fl_load 12 2 2 "$tag" "$prods" "$urls"
	fl_mark "load starts"
	sleep 2
	t_down0=$(fl_now_ms)
	it_defer fixture_restart	# whatever happens below
	mariadb-admin -uroot --socket="$MYSQL_UNIX_PORT" shutdown 2>&1 ||
	    fail "mariadb-admin shutdown failed"
	for _ in $(seq 1 100); do [ -S "$MYSQL_UNIX_PORT" ] || break; sleep 0.1; done
	t_down1=$(fl_now_ms)
	fl_mark "database down"
	http GET /healthz
	[ "$STATUS" = 503 ] || fail "healthz while the database is down: $STATUS $BODY"
	sleep 2
	t_up0=$(fl_now_ms)
	fl_mark "restarting the database"
	fixture_restart
	t_up=$(fl_now_ms)
	fl_mark "database up"
	for _ in $(seq 1 25); do
		http GET /healthz
		[ "$STATUS" = 200 ] && break
		sleep 0.2
	done
	t_ok=$(fl_now_ms)
	[ "$STATUS" = 200 ] || fail "healthz not 200 within 5 s of the restart: $STATUS $BODY"
	fl_mark "healthz 200 again"
	fl_wait
	fl_mark "load done: $(fl_summary)"

	# 1. only 503s, and only while the database was away: a request that
	# ended before the shutdown began or started a second after /healthz
	# was 200 again must have succeeded
	bad=$(fl_results | awk '$3 != 200 && $3 != 201 && $3 != 503')
	[ -z "$bad" ] || fail "failures other than 503:
$(echo "$bad" | head)"
	bad=$(fl_results | awk -v a="$t_down0" -v b="$t_ok" \
	    '$3 == 503 && ($2 < a || $1 > b + 1000)')
	[ -z "$bad" ] || fail "503s outside the outage [$t_down0, $t_ok + 1 s]:
$(echo "$bad" | head)"
	[ "$(fl_results | awk '$3 == 503' | wc -l)" -ge 1 ] ||
	    fail "no 503 at all: the outage was not seen by the load"
	echo "# 503s: $(fl_results | awk -v a="$t_up0" -v b="$t_ok" '$3 == 503 {
	    n++; if ($1 >= a) r++; if ($1 > b) { l++; if ($1 - b > m) m = $1 - b } }
	    END { printf "%d, %d started after the restart began, %d after healthz 200 (latest +%d ms)", n, r, l, m }')"

	# 2. each 503 order again, same key and body: 201, made now or the
	# replay of a commit whose answer was lost (never a 409: the first
	# attempt's key claim died with its database session)
	cat "$FL_DIR"/o.* | awk '$3 == 503 { print $4, $5, $6 }' |
	    fl_retry_orders "$FL_DIR/retries"
	bad=$(awk '$2 != 201' "$FL_DIR/retries")
	[ -z "$bad" ] || fail "retries that failed (key status body):
$(echo "$bad" | head)"
	echo "# 503 orders retried: $(wc -l <"$FL_DIR/retries"), each 201"

	# 3. the database holds exactly the orders the answers name: key ->
	# order id from each 201 body (first answer or retry), and nothing
	# else with the tag
	{
		cat "$FL_DIR"/o.* | awk '$3 == 201 { print $4, $5 }'
		awk '$2 == 201 { print $1, $3 }' "$FL_DIR/retries"
	} | fl_order_ids >"$FL_DIR/expected"
	n201=$(cat "$FL_DIR"/o.* | awk '$3 == 201' | wc -l)
	[ "$n201" -ge 5 ] || fail "only $n201 orders made it"
	sql "SELECT SUBSTRING_INDEX(email, '@', 1), id FROM orders
	  WHERE email LIKE '$tag-%'" | tr '\t' ' ' | sort >"$FL_DIR/database"
	bad=$(diff "$FL_DIR/expected" "$FL_DIR/database")
	[ -z "$bad" ] || fail "answers (<) vs database (>), key order_id:
$(echo "$bad" | head -20)"
	echo "# $(wc -l <"$FL_DIR/database") orders in the database, each named by an answer"

	# 4. no partial order, no key made twice, the stock moved by exactly
	# what the orders hold
	fl_check_orders "$tag"
	stock1=$(sql "SELECT SUM(stock) FROM products WHERE id IN (${prods// /,}0)")
	sold=$(sql "SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i JOIN orders o
	  ON o.id = i.order_id WHERE o.email LIKE '$tag-%'")
	expect_eq "stock decrement vs items ordered" "$((stock0 - stock1))" "$sold"

	# 5. recovered without a restart
	expect_eq "app master pid" "$(cat "$FIX_DIR/run/app.pid")" "$master"
	expect_eq "worker pids" "$(fd_worker_pids)" "$workers"
	expect_eq "worker restarts" "$(fl_metric catalog_worker_restarts_total)" "$restarts"
	fl_cleanup "$tag"
	echo "# outage: shutdown took $((t_down1 - t_down0)) ms, restart $((t_up - t_up0)) ms, healthz 200 $((t_ok - t_up)) ms later"
	fl_healthy
}
t_fd_restart() { fd_restart fd; }
it_case "MariaDB restarted under load: only 503s while down, no partial or lost order, recovers by itself" t_fd_restart

# fd_back_on_socket: the app back on the unix socket, as the files after
# this one expect it.
fd_back_on_socket() {
	fixture_restart
	grep -q '^db.socket = ' "$CATALOG_CONF" || fail "catalog.conf not back on the socket"
	fl_healthy
}

# The stack's app restarted with db.host = 127.0.0.1, db.port (its
# catalog.conf regenerated), the case run, and the app back on the socket
# (deferred: however the case ends).  FIX_DB_VIA=tcp holds for the whole
# of fd_restart, so its restart of the database keeps the app on TCP.
t_fd_restart_tcp() {
	it_defer fd_back_on_socket
	FIX_DB_VIA=tcp fixture_restart
	grep -q '^db.host = 127.0.0.1' "$CATALOG_CONF" || fail "catalog.conf not over TCP"
	FIX_DB_VIA=tcp fd_restart fdt
}
it_case "the same over TCP (db.host): a link lost with the server is replaced, never a 503 after recovery" t_fd_restart_tcp

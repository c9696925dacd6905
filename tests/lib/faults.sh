# tests/lib/faults.sh: load generators and checks for the fault-injection
# cases (tests/it/60-faults-*.sh).  Sourced after fixture.sh.
#
# A fault case starts a background load for a fixed time (fl_load), injects
# its fault, waits for the load (fl_wait) and then asserts exactly what the
# load saw: every response is one line of a result file, so "no 5xx" or
# "every 201 order exists" is checked over all of them, not sampled.
#
# Result files under $FL_DIR (one directory per case, $FIX_DIR/faults-TAG):
#   r.N   readers:  start_ms end_ms status url
#   o.N   orderers: start_ms end_ms status key body_file request_file
# Every order has a distinct Idempotency-Key KEY and the email KEY@example.com,
# so the database rows of each request can be found again; the request
# body is kept (request_file) so a failed request can be retried verbatim.
#
# The checks here (fl_healthy, fl_check_orders, fl_metric, fl_wait) fail
# the case themselves (fixture.sh, THE RULE FOR CASES).  A case that ends
# before fl_wait has its load killed by it_case (background jobs).

# fl_now_ms: wall clock in milliseconds (bash 5 $EPOCHREALTIME, no fork).
fl_now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# fl_admin_token: the bearer token of the fixture.
fl_admin_token() {
	awk -F' *= *' '$1 == "http.admin_token" { print $2 }' "$CATALOG_CONF"
}

# fl_restock ID...: stock 100000 for each product, through the admin API
# (so every cached copy is invalidated): a load's orders must never run
# short, whatever earlier cases of the run have sold.
fl_restock() {
	local token=${CATALOG_ADMIN_TOKEN:-$(fl_admin_token)} p
	for p in "$@"; do
		http PATCH "/api/products/$p" -H "Authorization: Bearer $token" \
		    -H 'Content-Type: application/json' --data-binary '{"stock":100000}'
		[ "$STATUS" = 200 ] || fail "PATCH /api/products/$p stock: $STATUS"
	done
}

# fl_reader OUT END_MS URL...: GETs a random URL of the list until END_MS,
# over one kept connection (tests/lib/load.py).
fl_reader() {
	exec "$PYTHON3" "$top_srcdir/tests/lib/load.py" reader "$1" "$2" \
	    "$CATALOG_URL" "${@:3}"
}

# fl_orderer OUT END_MS TAG PRODUCT...: POSTs orders of 1 or 2 of the
# products (quantity 1..3 each), each with a fresh Idempotency-Key
# TAG-<client>-<n>, until END_MS (tests/lib/load.py).
fl_orderer() {
	exec "$PYTHON3" "$top_srcdir/tests/lib/load.py" orderer "$1" "$2" \
	    "$CATALOG_URL" "$FL_DIR" "$3" "${@:4}"
}

# fl_mark WHAT: a timestamped note (shown when a case fails).
fl_mark() {
	echo "# +$(( $(fl_now_ms) - FL_T0 )) ms: $*"
}

# fl_order_ids: reads "KEY BODY_FILE" lines, prints "KEY ORDER_ID" (the id
# of each 201 body), sorted; one process however many orders.
fl_order_ids() {
	awk '{ line = ""; getline line <$2; close($2)
	    id = ""; if (match(line, /^\{"id":[0-9]+/)) id = substr(line, 7, RLENGTH - 6)
	    print $1, id }' | sort
}

# fl_retry_orders OUT: reads "KEY BODY_FILE REQUEST_FILE" lines and posts each
# request again with its Idempotency-Key, 8 at a time; appends
# "KEY STATUS BODY_FILE.retry" lines to OUT.
fl_retry_orders() {
	: >>"$1"
	xargs -r -P 8 -L 1 sh -c 'printf "%s %s %s\n" "$0" "$(curl -s -o "$1.retry" \
	    -w "%{http_code}" --max-time 10 -X POST -H "Content-Type: application/json" \
	    -H "Idempotency-Key: $0" --data-binary "@$2" "$CATALOG_URL/api/orders")" "$1.retry"' \
	    >>"$1" || fail "fl_retry_orders: xargs exited $?"
}

# fl_init TAG: a fresh result directory $FL_DIR for one case.
fl_init() {
	FL_T0=$(fl_now_ms)
	FL_DIR="$FIX_DIR/faults-$1"
	rm -rf "$FL_DIR"
	mkdir -p "$FL_DIR/body" "$FL_DIR/req" || fail "fl_init: cannot make $FL_DIR"
	FL_PIDS=()
}

# fl_load SECONDS READERS ORDERERS TAG PRODUCTS URLS: starts the load in the
# background.  PRODUCTS and URLS are space-separated lists (one word each).
fl_load() {
	local secs=$1 nr=$2 no=$3 tag=$4 plist=$5 ulist=$6 end i
	end=$(( $(fl_now_ms) + secs * 1000 ))
	for i in $(seq 1 "$nr"); do
		# shellcheck disable=SC2086
		fl_reader "$FL_DIR/r.$i" "$end" $ulist &
		FL_PIDS+=($!)
	done
	for i in $(seq 1 "$no"); do
		# shellcheck disable=SC2086
		fl_orderer "$FL_DIR/o.$i" "$end" "$tag" $plist &
		FL_PIDS+=($!)
	done
}

# fl_wait: waits for every load process of the case; each must have
# ended well (a load that died proves nothing).
fl_wait() {
	local p
	for p in "${FL_PIDS[@]}"; do
		wait "$p" || fail "load process $p exited $?"
	done
	FL_PIDS=()
}

# fl_stop: ends the load early (a case that fails half-way).
fl_stop() {
	local p
	for p in "${FL_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	FL_PIDS=()
}

# fl_results: every response of the case (readers and orderers), one line
# each: start_ms end_ms status what.
fl_results() {
	cat "$FL_DIR"/r.* "$FL_DIR"/o.* 2>/dev/null | awk '{ print $1, $2, $3, $4 }'
}

# fl_summary: "N responses: STATUS xCOUNT ..." for the logs.
fl_summary() {
	fl_results | awk '{ n++; c[$3]++ } END {
	    printf "%d responses:", n; for (s in c) printf " %s x%d", s, c[s]; print "" }'
}

# fl_healthy: the stack is whole again for the files that follow: /healthz
# 200 with the cache up (waits up to ~10 s for the breaker to close).
fl_healthy() {
	local _
	for _ in $(seq 1 50); do
		http GET /healthz
		[ "$STATUS" = 200 ] && [ "$BODY" = '{"status":"ok","db":"ok","cache":"ok"}' ] &&
		    return 0
		sleep 0.2
	done
	fail "stack not healthy after the case: $STATUS $BODY"
}

# fl_metric NAME: the value of one series of /metrics (summed over labels
# when NAME is a family name without labels).
fl_metric() {
	curl -sS --max-time 10 "$CATALOG_URL/metrics" |
	    awk -v n="$1" '!/^#/ { s = $1; sub(/\{.*/, "", s) }
	    !/^#/ && ($1 == n || s == n) { t += $2 } END { printf "%d\n", t }' ||
	    fail "fl_metric $1: GET /metrics failed"
}

# fl_check_orders TAG: the database side of every order the load posted
# (email TAG-%): each order has at least one item, its total is the sum of
# its items, it has exactly one order_confirmation_email job keyed
# order-confirmation-<id> whose payload names it, and no Idempotency-Key
# (one email each) made more than one order.  Fails with the problems.
fl_check_orders() {
	local bad
	bad=$(sql "SELECT CONCAT('order ', id, ' (', email, '): ', ni, ' items, ',
	    nj, ' jobs, total ', total_cents, ' vs items ', s) FROM (
	  SELECT o.id, o.email, o.total_cents,
	    (SELECT COUNT(*) FROM order_items i WHERE i.order_id = o.id) ni,
	    (SELECT COUNT(*) FROM jobs j
	      WHERE j.idempotency_key = CONCAT('order-confirmation-', o.id)
	      AND j.type = 'order_confirmation_email'
	      AND JSON_VALUE(j.payload, '\$.order_id') = o.id) nj,
	    (SELECT COALESCE(SUM(i.quantity * i.unit_price_cents), 0)
	      FROM order_items i WHERE i.order_id = o.id) s
	  FROM orders o WHERE o.email LIKE '$1-%') x
	  WHERE ni = 0 OR nj <> 1 OR total_cents <> s
	  UNION ALL
	  SELECT CONCAT(email, ': ', COUNT(*), ' orders for one key') FROM orders
	  WHERE email LIKE '$1-%' GROUP BY email HAVING COUNT(*) > 1")
	[ -z "$bad" ] || fail "$bad"
}

# fl_cleanup TAG: removes the case's orders (items cascade), their jobs and
# Idempotency-Key rows, so later files (the runner's cases: `run --once`
# takes every due job) do not inherit hundreds of pending confirmations.
fl_cleanup() {
	sql "DELETE j FROM jobs j JOIN orders o
	  ON j.idempotency_key = CONCAT('order-confirmation-', o.id)
	  WHERE o.email LIKE '$1-%';
	DELETE FROM orders WHERE email LIKE '$1-%';
	DELETE FROM idempotency_keys WHERE idem_key LIKE '$1-%'"
}

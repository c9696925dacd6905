# 60-faults-worker.sh: a worker process killed with SIGKILL.  The master
# replaces it at once; the kill costs at most the requests that worker had
# in hand (one 502 from nginx each, at most app.threads), and each of those
# succeeds when retried.  An order is made certain to be in flight (its
# product row locked by an administrator session) and its worker is the
# one killed: without an Idempotency-Key (first case, under a read load)
# and with one (second case: the key's claim must die with the worker).
# shellcheck source=../lib/faults.sh
. "$top_srcdir/tests/lib/faults.sh"

FW_ORDER_CAT=home-decor		# a list the reads ask for
FW_LOCKED_CAT=toys-games	# the in-flight order's product comes from here

# fw_workers: the app's workers, one pid a line.
fw_workers() {
	pgrep -P "$(cat "$FIX_DIR/run/app.pid")" | sort -n
}

# fw_conf KEY: a value of the fixture's catalog.conf.
fw_conf() {
	awk -F' *= *' -v k="$1" '$1 == k { print $2 }' "$CATALOG_CONF"
}

# fw_replaced OLD_PID: waits (<= 5 s) until OLD_PID is gone and the master
# has app.workers children again, one of them new.
fw_replaced() {
	local want _ now
	want=$(fw_conf app.workers)
	for _ in $(seq 1 50); do
		now=$(fw_workers)
		if ! grep -qx "$1" <<<"$now" && [ "$(wc -l <<<"$now")" = "$want" ]; then
			return 0
		fi
		sleep 0.1
	done
	fail "workers after the kill: $(echo $now), want $want without $1"
}

# fw_blocked_worker: the worker with a thread waiting on the database
# (in poll on one fd with the db.timeout_ms timeout) in 3 samples in a
# row, 100 ms apart: the one holding the order blocked on our row lock.
fw_blocked_worker() {
	local to w t _ sc now keep="" n=0
	to=$(printf '%#x' "$(fw_conf db.timeout_ms | grep . || echo 5000)")
	for _ in $(seq 1 40); do
		now=""
		for w in $(fw_workers); do
			for t in /proc/"$w"/task/*; do
				read -r -a sc <"$t/syscall" 2>/dev/null || continue
				[ "${sc[0]}" = 7 ] && [ "${sc[2]}" = 0x1 ] && [ "${sc[3]}" = "$to" ] &&
				    now="$now $w/${t##*/} "
			done
		done
		# keep the threads seen in every sample of the current run
		if [ "$n" = 0 ]; then
			keep=$now
		else
			for t in $keep; do
				[[ $now == *" $t "* ]] || keep=${keep/" $t "/}
			done
		fi
		if [ -z "${keep// /}" ]; then
			n=0
		else
			n=$((n + 1))
		fi
		if [ "$n" -ge 3 ] && [ "$(wc -w <<<"$keep")" = 1 ]; then
			echo "${keep%/*}" | tr -d ' '
			return 0
		fi
		sleep 0.1
	done
	fail "no worker waiting on the locked row (last sample: $now)"
}

# fw_inflight_order NAME [KEY]: an order certain to be in flight when its
# worker dies: its product row is locked by an administrator session (for
# 3 s), so the worker waits inside the order transaction (after the
# Idempotency-Key claim, when there is a key).  Sets FW_VICTIM (that
# worker) and FW_LOCKPID; the order's answer goes to $FL_DIR/o.NAME.
fw_inflight_order() {
	local name=$1 key=${2:-} locked _ hdr=()
	locked=$(sql "SELECT MIN(p.id) FROM products p JOIN categories c
	  ON c.id = p.category_id WHERE c.slug = '$FW_LOCKED_CAT' AND p.stock > 0")
	mariadb -uroot --socket="$MYSQL_UNIX_PORT" -N -B "$MYSQL_DATABASE" -e \
	    "BEGIN; SELECT id FROM products WHERE id = $locked FOR UPDATE;
	    SELECT SLEEP(2.5); ROLLBACK;" >/dev/null 2>&1 &
	FW_LOCKPID=$!
	for _ in $(seq 1 50); do
		[ "$(sql "SELECT COUNT(*) FROM information_schema.processlist
		  WHERE info LIKE 'SELECT SLEEP(2.5)%'")" = 1 ] && break
		sleep 0.1
	done
	printf '{"email":"%s@example.com","items":[{"product_id":%s,"quantity":1}]}' \
	    "$name" "$locked" >"$FL_DIR/req/$name"
	[ -n "$key" ] && hdr=(-H "Idempotency-Key: $key")
	curl -s -o "$FL_DIR/body/$name" -w "0 0 %{http_code} $name\n" --max-time 10 \
	    -X POST -H 'Content-Type: application/json' "${hdr[@]}" \
	    --data-binary "@$FL_DIR/req/$name" "$CATALOG_URL/api/orders" >"$FL_DIR/o.$name" &
	FL_PIDS+=($!)
	FW_VICTIM=$(fw_blocked_worker)
	fl_mark "order $name waits in worker $FW_VICTIM"
}

# The load: N distinct reads, 16 at a time (the query string is ignored by
# the app but tells the answers apart), and one order without an
# Idempotency-Key in flight in the victim.
t_fw_kill_under_load() {
	local batch threads workers restarts n=6000 i failed bad rs u
	fl_init fw
	fl_cleanup fw
	threads=$(fw_conf app.threads)
	restarts=$(fl_metric catalog_worker_restarts_total)
	workers=$(fw_workers)
	[ "$(wc -l <<<"$workers")" = "$(fw_conf app.workers)" ] || fail "workers before: $workers"
	# the URLs go to a curl config file (url + output pairs), not argv
	for i in $(seq 1 $n); do
		case $((i % 4)) in
		0) u="/api/products/$((i % 200 + 1))?n=$i" ;;
		1) u="/api/products?per_page=100&sort=-price&page=$((i % 5 + 1))&n=$i" ;;
		2) u="/api/categories?n=$i" ;;
		3) u="/api/products?category=$FW_ORDER_CAT&sort=name&n=$i" ;;
		esac
		printf 'url = "%s%s"\noutput = "/dev/null"\n' "$CATALOG_URL" "$u"
	done >"$FL_DIR/curl.conf"
	fw_inflight_order fw-nokey
	curl -s --no-progress-meter --parallel --parallel-max 16 \
	    -K "$FL_DIR/curl.conf" --max-time 10 \
	    -w '0 0 %{http_code} %{url_effective}\n' >"$FL_DIR/r.1" &
	batch=$!
	FL_PIDS+=("$batch")
	sleep 0.15	# cached reads go fast: kill early in the batch
	kill -9 "$FW_VICTIM" || fail "worker $FW_VICTIM is gone before the kill"
	fl_mark "killed worker $FW_VICTIM"
	kill -0 "$batch" 2>/dev/null || fail "the read load was over before the kill"
	fw_replaced "$FW_VICTIM"
	fl_mark "replaced: $(fw_workers | tr '\n' ' ')"
	fl_wait
	wait "$FW_LOCKPID" || fail "the locking session exited $?"
	fl_mark "load done: $(fl_summary)"
	[ "$(wc -l <"$FL_DIR/r.1")" = "$n" ] || fail "curl --parallel answered $(wc -l <"$FL_DIR/r.1") of $n"

	failed=$(fl_results | awk '$3 !~ /^2/')
	echo "# failed by the kill: $(printf '%s' "$failed" | grep -c .) (app.threads = $threads)"
	[ "$(printf '%s' "$failed" | grep -c .)" -le "$threads" ] ||
	    fail "more failures than the worker had threads:
$failed"
	bad=$(printf '%s\n' "$failed" | awk 'NF && $3 != 502')
	[ -z "$bad" ] || fail "failures other than 502:
$bad"
	grep -q ' 502 fw-nokey$' "$FL_DIR/o.fw-nokey" ||
	    fail "the order in flight in the killed worker: $(cat "$FL_DIR/o.fw-nokey")"
	# the killed order left nothing behind (its transaction never
	# committed), so the retry makes the one and only order
	expect_eq "orders after the kill" \
	    "$(sql "SELECT COUNT(*) FROM orders WHERE email = 'fw-nokey@example.com'")" 0
	# each failed request, again: it succeeds
	while read -r _ _ _ u; do
		case $u in
		http*) rs=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$u")
			[ "$rs" = 200 ] || fail "retry of GET $u: $rs" ;;
		fw-nokey) rs=$(curl -s -o "$FL_DIR/body/$u.retry" -w '%{http_code}' --max-time 10 \
			    -X POST -H 'Content-Type: application/json' \
			    --data-binary "@$FL_DIR/req/$u" "$CATALOG_URL/api/orders")
			[ "$rs" = 201 ] || fail "retry of order $u: $rs $(cat "$FL_DIR/body/$u.retry")" ;;
		esac
	done <<<"$failed"
	expect_eq "orders after the retry" \
	    "$(sql "SELECT COUNT(*) FROM orders WHERE email = 'fw-nokey@example.com'")" 1
	fl_check_orders fw
	expect_eq "catalog_worker_restarts_total grew by" \
	    "$(( $(fl_metric catalog_worker_restarts_total) - restarts ))" 1
	fl_cleanup fw
	fl_healthy
}
it_case "a worker killed (SIGKILL) under load: replaced, at most app.threads failures, each retry succeeds" t_fw_kill_under_load

# The claim of an order's Idempotency-Key is held by the handling worker's
# database session (idempotency.c): when the worker dies mid-order the
# claim dies with its connection, and the client's retry with the same key
# is made at once.  (It used to be refused with 409 "still being processed"
# for five minutes: the request failed twice.)
t_fw_kill_keyed_order() {
	local rs n
	fl_init fwk
	fl_cleanup fwk
	fw_inflight_order fwk-1 fwk-1
	kill -9 "$FW_VICTIM" || fail "worker $FW_VICTIM is gone before the kill"
	fl_mark "killed worker $FW_VICTIM"
	fw_replaced "$FW_VICTIM"
	fl_wait
	wait "$FW_LOCKPID" || fail "the locking session exited $?"
	grep -q ' 502 fwk-1$' "$FL_DIR/o.fwk-1" || fail "the order in flight: $(cat "$FL_DIR/o.fwk-1")"
	rs=$(curl -s -o "$FL_DIR/body/fwk-1.retry" -w '%{http_code}' --max-time 10 \
	    -X POST -H 'Content-Type: application/json' -H 'Idempotency-Key: fwk-1' \
	    --data-binary "@$FL_DIR/req/fwk-1" "$CATALOG_URL/api/orders")
	n=$(sql "SELECT COUNT(*) FROM orders WHERE email = 'fwk-1@example.com'")
	fl_healthy
	[ "$rs" = 201 ] || fail "retry with the same Idempotency-Key: $rs $(cat "$FL_DIR/body/fwk-1.retry") ($n orders)"
	expect_eq "orders for the key" "$n" 1
	echo "fwk-1 $FL_DIR/body/fwk-1.retry" | fl_order_ids >"$FL_DIR/expected"
	expect_eq "the retry's order" "$(cat "$FL_DIR/expected")" \
	    "fwk-1 $(sql "SELECT id FROM orders WHERE email = 'fwk-1@example.com'")"
	# and once more: the recorded answer again, nothing new
	rs=$(curl -s -o "$FL_DIR/body/fwk-1.again" -w '%{http_code}' --max-time 10 \
	    -X POST -H 'Content-Type: application/json' -H 'Idempotency-Key: fwk-1' \
	    --data-binary "@$FL_DIR/req/fwk-1" "$CATALOG_URL/api/orders")
	expect_eq "replay" "$rs $(cat "$FL_DIR/body/fwk-1.again")" "201 $(cat "$FL_DIR/body/fwk-1.retry")"
	expect_eq "orders for the key after the replay" \
	    "$(sql "SELECT COUNT(*) FROM orders WHERE email = 'fwk-1@example.com'")" 1
	fl_check_orders fwk
	fl_cleanup fwk
}
it_case "an order in flight in a killed worker: its retry with the same Idempotency-Key is made, once" t_fw_kill_keyed_order

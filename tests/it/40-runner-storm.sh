# 40-runner-storm.sh: the queue under abuse: runners killed with SIGKILL
# at random instants must still deliver every confirmation exactly once,
# and many runners on one queue must never deadlock.
# shellcheck source=../lib/runner.sh
. "$top_srcdir/tests/lib/runner.sh"

# short leases so jobs of killed runners come back within seconds
RS_CONF=$(rt_conf storm runner.lease_seconds=5 \
    runner.handler_timeout_seconds=2 runner.poll_ms=20 runner.batch_size=5 \
    runner.backoff_base_ms=1 runner.backoff_cap_ms=10)
RS_CONF1=$(rt_conf storm1 runner.lease_seconds=5 \
    runner.handler_timeout_seconds=2 runner.poll_ms=20 runner.batch_size=1 \
    runner.backoff_base_ms=1 runner.backoff_cap_ms=10)

t_rs_kill_storm() {
	local log="$FIX_DIR/rs-storm.log" pids=() i k kills=0 end o dups
	rt_cleanup ks
	rt_orders 200 ks
	: >"$log"
	for i in 0 1 2 3; do
		"$RUNNER" --config "$([ $i -lt 2 ] && echo "$RS_CONF" || echo "$RS_CONF1")" \
		    run --loop 2>>"$log" & pids[i]=$!
	done
	end=$((SECONDS + 4))
	while [ $SECONDS -lt $end ]; do
		sleep "0.0$((RANDOM % 4 + 1))"
		k=$((RANDOM % 4))
		kill -9 "${pids[k]}" 2>/dev/null && kills=$((kills + 1))
		wait "${pids[k]}" 2>/dev/null
		"$RUNNER" --config "$([ $k -lt 2 ] && echo "$RS_CONF" || echo "$RS_CONF1")" \
		    run --loop 2>>"$log" & pids[k]=$!
		if [ $((kills % 10)) = 0 ] &&
		    [ "$(rt_count ks "j.status <> 'done'")" = 0 ]; then
			break
		fi
	done
	for i in 0 1 2 3; do
		kill -9 "${pids[i]}" 2>/dev/null
		wait "${pids[i]}" 2>/dev/null
	done
	echo "# $kills kills; $(rt_count ks "j.status = 'running'") jobs left running by the dead"
	rt_drain "$RS_CONF" "$log" ks
	expect_eq "done" "$(rt_count ks "j.status = 'done'")" 200
	expect_eq "stamped" "$(sql "SELECT COUNT(*) FROM orders WHERE email LIKE 'rtks-%'
	  AND confirmation_sent_at IS NOT NULL")" 200
	for o in $(rt_order_ids ks); do
		[ -f "$MAILDIR/new/order-confirmation-$o" ] || rt_fail "no message for order $o"
	done
	dups=$(cat "$MAILDIR"/new/* | grep '^Message-ID: ' | sort | uniq -d)
	[ -z "$dups" ] || rt_fail "duplicate messages: $dups"
	echo "# reclaimed after a kill: $(rt_count ks "j.attempts > 1") jobs"
	rt_cleanup ks
}
it_case "kill -9 storm against 4 runners: every order gets exactly one message" t_rs_kill_storm

t_rs_hammer() {
	local pids=() i bad
	rt_cleanup hm
	rt_orders 400 hm
	rm -f "$FIX_DIR"/rs-hammer-*.log
	for i in 1 2 3 4 5 6 7 8; do
		"$RUNNER" --config "$([ $((i % 2)) = 0 ] && echo "$RS_CONF" || echo "$RS_CONF1")" \
		    run --once --max-runtime 30 2>"$FIX_DIR/rs-hammer-$i.log" & pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || rt_fail "a runner failed"; done
	rt_drain "$RS_CONF" "$FIX_DIR/rs-hammer-drain.log" hm
	expect_eq "done once each" "$(rt_count hm "j.status = 'done' AND j.attempts = 1")" 400
	bad=$(grep -hE 'errno=(1213|1205)|tx_retry|[Dd]eadlock|lock wait|event=lease_lost' "$FIX_DIR"/rs-hammer-*.log)
	[ -z "$bad" ] || rt_fail "lock trouble: $bad"
	echo "# jobs per runner: $(grep -c 'outcome=done' "$FIX_DIR"/rs-hammer-[0-9].log | cut -d: -f2 | tr '\n' ' ')"
	rt_cleanup hm
}
it_case "8 runners hammering one queue: no deadlock, no lock wait, no double claim" t_rs_hammer

# 40-runner-queue.sh: the job queue on real MariaDB: claims, leases,
# fencing, dead letters, replay, prune, exit codes.
# shellcheck source=../lib/runner.sh
. "$top_srcdir/tests/lib/runner.sh"

RQ_CONF=$(rt_conf queue runner.batch_size=10 runner.backoff_base_ms=1 \
    runner.backoff_cap_ms=10)

t_rq_poison() {
	local log="$FIX_DIR/rq-poison.log" id
	rt_cleanup qp
	: >"$log"
	sql "INSERT INTO jobs (type, payload, idempotency_key) VALUES
	  ('no_such_type', '{}', 'rt-qp-unknown'),
	  ('order_confirmation_email', '{\"order_id\": ', 'rt-qp-json'),
	  ('order_confirmation_email', '{\"order_id\": \"7\"}', 'rt-qp-type'),
	  ('order_confirmation_email', '[1]', 'rt-qp-array'),
	  ('order_confirmation_email', '{\"order_id\": 999999999}', 'rt-qp-missing'),
	  ('order_confirmation_email', REPEAT('x', 70000), 'rt-qp-big')"
	rt_run "$RQ_CONF" "$log" run --once || rt_fail "run --once failed"
	expect_eq "dead poison jobs" "$(rt_count qp "j.status = 'dead' AND j.attempts = 1")" 6
	expect_eq "dead letters" "$(sql "SELECT COUNT(*) FROM dead_letter_jobs d
	  JOIN jobs j ON j.id = d.job_id WHERE $(rt_where qp) AND d.attempts = 1
	  AND d.replayed_at IS NULL AND d.payload = j.payload")" 6
	id=$(sql "SELECT id FROM jobs WHERE idempotency_key = 'rt-qp-unknown'")
	grep -q "job_id=$id type=no_such_type attempt=1/5 outcome=dead .*error=\"unknown job type\"" "$log" ||
	    rt_fail "no dead log line for job $id"
	id=$(sql "SELECT id FROM jobs WHERE idempotency_key = 'rt-qp-missing'")
	expect_eq error "$(sql "SELECT last_error FROM jobs WHERE id = $id")" \
	    "order 999999999 not found"
	"$RUNNER" --config "$RQ_CONF" dead list >"$FIX_DIR/rq-list.out" || rt_fail "dead list failed"
	grep -Eq "^$id +[0-9]+ +order_confirmation_email +1 +[0-9-]+ [0-9:]+ order 999999999 not found$" \
	    "$FIX_DIR/rq-list.out" || { cat "$FIX_DIR/rq-list.out"; rt_fail "dead list lacks job $id"; }
	"$RUNNER" --config "$RQ_CONF" dead show "$id" >"$FIX_DIR/rq-show.out" || rt_fail "dead show failed"
	grep -q '^{"order_id": 999999999}$' "$FIX_DIR/rq-show.out" || rt_fail "dead show lacks the payload"
	grep -q '^job_status: *dead$' "$FIX_DIR/rq-show.out" || rt_fail "dead show lacks the status"
	id=$(sql "SELECT id FROM jobs WHERE idempotency_key = 'rt-qp-big'")
	grep -q "job_id=$id .*outcome=dead .*over the 65536 byte limit" "$log" || rt_fail "big payload not dead"
	# --payload: every byte as stored, however broken or big
	"$RUNNER" --config "$RQ_CONF" dead show "$id" --payload >"$FIX_DIR/rq-big.payload" ||
	    rt_fail "dead show --payload of the big payload failed"
	expect_eq "big payload bytes" "$(wc -c <"$FIX_DIR/rq-big.payload")" 70000
	expect_eq "big payload content" "$(tr -d x <"$FIX_DIR/rq-big.payload" | wc -c)" 0
	id=$(sql "SELECT id FROM jobs WHERE idempotency_key = 'rt-qp-json'")
	"$RUNNER" --config "$RQ_CONF" dead show "$id" --payload | cmp -s - <(printf '{"order_id": ') ||
	    rt_fail "broken payload not printed as stored"
	rt_cleanup qp
}
it_case "poison payloads (unknown type, bad JSON, missing order, too big) are dead at once" t_rq_poison

t_rq_disjoint() {
	local a="$FIX_DIR/rq-a.log" b="$FIX_DIR/rq-b.log" pa pb
	rt_cleanup qd
	rt_orders 200 qd
	: >"$a"; : >"$b"
	rt_run "$RQ_CONF" "$a" run --once & pa=$!
	rt_run "$RQ_CONF" "$b" run --once & pb=$!
	wait "$pa" || rt_fail "runner a failed"
	wait "$pb" || rt_fail "runner b failed"
	rt_drain "$RQ_CONF" "$a" qd
	expect_eq "done once each" "$(rt_count qd "j.status = 'done' AND j.attempts = 1")" 200
	grep -o 'job_id=[0-9]* .*outcome=done' "$a" | cut -d' ' -f1 | sort >"$a.ids"
	grep -o 'job_id=[0-9]* .*outcome=done' "$b" | cut -d' ' -f1 | sort >"$b.ids"
	# the logs name every job done, else the overlap below proves nothing
	[ "$(cat "$a.ids" "$b.ids" | wc -l)" -ge 200 ] ||
	    rt_fail "the runners' logs name only $(cat "$a.ids" "$b.ids" | wc -l) jobs done"
	expect_eq "jobs run by both" "$(comm -12 "$a.ids" "$b.ids" | wc -l)" 0
	echo "# runner a: $(wc -l <"$a.ids") jobs, runner b: $(wc -l <"$b.ids") jobs"
	expect_eq messages "$(for id in $(rt_order_ids qd); do
	    ls "$MAILDIR/new/order-confirmation-$id"; done 2>/dev/null | wc -l)" 200
	rt_cleanup qd
}
it_case "two concurrent runners claim disjoint jobs, each job once" t_rq_disjoint

# A claim skips what another session holds locked instead of waiting for
# it (FOR UPDATE SKIP LOCKED): with the queue's first due job locked by a
# transaction held 6 s, run --once does the other four and returns while
# the lock is still held; the locked one is left pending for the next run.
t_rq_skip_locked() {
	local log="$FIX_DIR/rq-skip.log" first locker i held=""
	rt_cleanup qs
	rt_orders 5 qs
	: >"$log"
	first=$(sql "SELECT MIN(j.id) FROM jobs j WHERE $(rt_where qs)")
	# the first due job of the whole queue, so a claim must meet it
	sql "UPDATE jobs SET run_at = NOW(6) - INTERVAL 1 DAY WHERE id = $first"
	mariadb -uroot --socket="$MYSQL_UNIX_PORT" "$MYSQL_DATABASE" -e \
	    "START TRANSACTION; SELECT id FROM jobs WHERE id = $first FOR UPDATE;
	     SELECT SLEEP(6) AS rq_locker; ROLLBACK;" >/dev/null 2>&1 &
	locker=$!
	it_defer "kill $locker 2>/dev/null"
	for i in $(seq 1 60); do
		held=$(sql "SELECT id FROM information_schema.processlist
		    WHERE info LIKE 'SELECT SLEEP(6) AS rq_locker%' LIMIT 1")
		[ -n "$held" ] && break
		sleep 0.05
	done
	[ -n "$held" ] || rt_fail "the locking session never started"
	rt_run "$RQ_CONF" "$log" run --once || rt_fail "run --once failed"
	kill -0 "$locker" 2>/dev/null ||
	    rt_fail "run --once returned only after the lock was let go"
	expect_eq "the four others done" "$(rt_count qs "j.status = 'done'")" 4
	expect_eq "the locked one still pending" \
	    "$(sql "SELECT CONCAT(status, ' ', attempts) FROM jobs WHERE id = $first")" "pending 0"
	wait "$locker"
	rt_drain "$RQ_CONF" "$log" qs
	expect_eq "all done, once each" "$(rt_count qs "j.status = 'done' AND j.attempts = 1")" 5
	if grep -E 'errno=(1205|1213)|[Ll]ock wait' "$log"; then
		rt_fail "the runner waited on a lock (above)"
	fi
	rt_cleanup qs
}
it_case "a claim skips a job another session holds locked: no lock wait" t_rq_skip_locked

t_rq_lease_expiry() {
	local log="$FIX_DIR/rq-lease.log" ids o1 o2
	rt_cleanup ql
	: >"$log"
	rt_orders 2 ql
	ids=$(rt_order_ids ql)
	o1=$(echo "$ids" | sed -n 1p); o2=$(echo "$ids" | sed -n 2p)
	# o1's runner was killed: its lease ran out a second ago; o2's is alive
	sql "UPDATE jobs SET status = 'running', attempts = 1, locked_by = 'ghost:1',
	  lease_token = 42, locked_until = NOW(6) - INTERVAL 1 SECOND
	  WHERE idempotency_key = 'order-confirmation-$o1';
	UPDATE jobs SET status = 'running', attempts = 1, locked_by = 'alive:2',
	  lease_token = 43, locked_until = NOW(6) + INTERVAL 1 HOUR
	  WHERE idempotency_key = 'order-confirmation-$o2'"
	rt_run "$RQ_CONF" "$log" run --once || rt_fail "run --once failed"
	expect_eq "expired lease" "$(sql "SELECT status, attempts FROM jobs
	  WHERE idempotency_key = 'order-confirmation-$o1'")" "done	2"
	expect_eq "live lease" "$(sql "SELECT status, attempts, locked_by FROM jobs
	  WHERE idempotency_key = 'order-confirmation-$o2'")" "running	1	alive:2"
	[ -f "$MAILDIR/new/order-confirmation-$o1" ] || rt_fail "no message for $o1"
	[ ! -e "$MAILDIR/new/order-confirmation-$o2" ] || rt_fail "message for the live lease"
	rt_cleanup ql
}
it_case "an expired lease is reclaimed, a live one is left alone" t_rq_lease_expiry

t_rq_fencing() {
	local log="$FIX_DIR/rq-fence.log" conf o pid i
	rt_cleanup qf
	: >"$log"
	conf=$(rt_sendmail_conf fence 'cat >/dev/null; sleep 1.5')
	rt_orders 1 qf
	o=$(rt_order_ids qf)
	rt_run "$conf" "$log" run --once & pid=$!
	for i in $(seq 1 50); do
		[ "$(rt_count qf "j.status = 'running'")" = 1 ] && break
		sleep 0.05
	done
	# another runner reclaims it (as after an expired lease)
	sql "UPDATE jobs SET lease_token = 777, locked_by = 'other:9'
	  WHERE idempotency_key = 'order-confirmation-$o'"
	wait "$pid" || rt_fail "runner failed"
	grep -q 'event=lease_lost' "$log" || rt_fail "no lease lost line"
	grep -q 'lease lost' "$log" || rt_fail "no 'lease lost' text"
	expect_eq "new owner's row" "$(sql "SELECT status, lease_token, locked_by FROM jobs
	  WHERE idempotency_key = 'order-confirmation-$o'")" "running	777	other:9"
	expect_eq "order not stamped" "$(sql "SELECT confirmation_sent_at IS NULL
	  FROM orders WHERE id = $o")" 1
	rt_cleanup qf
}
it_case "fencing: a runner whose job was reclaimed cannot record its outcome" t_rq_fencing

t_rq_replay_and_prune() {
	local log="$FIX_DIR/rq-replay.log" a b rc=0 out
	rt_cleanup qr
	: >"$log"
	sql "INSERT INTO jobs (type, payload, idempotency_key) VALUES
	  ('no_such_type', '{}', 'rt-qr-a'), ('no_such_type', '{}', 'rt-qr-b')"
	rt_run "$RQ_CONF" "$log" run --once || rt_fail "run --once failed"
	a=$(sql "SELECT id FROM jobs WHERE idempotency_key = 'rt-qr-a'")
	b=$(sql "SELECT id FROM jobs WHERE idempotency_key = 'rt-qr-b'")
	expect_eq dead "$(rt_count qr "j.status = 'dead'")" 2
	# one id that is not dead: the whole command changes nothing
	"$RUNNER" --config "$RQ_CONF" dead replay "$a" 999999999 2>/dev/null || rc=$?
	expect_eq "replay with a bad id" "$rc" 1
	expect_eq "still dead" "$(rt_count qr "j.status = 'dead'")" 2
	out=$("$RUNNER" --config "$RQ_CONF" dead replay "$a" 2>>"$log") || rt_fail "replay failed"
	expect_eq output "$out" "replayed 1 job"
	expect_eq "replayed job" "$(sql "SELECT status, attempts, run_at <= NOW(6)
	  FROM jobs WHERE id = $a")" "pending	0	1"
	expect_eq "stamped" "$(sql "SELECT COUNT(*) FROM dead_letter_jobs
	  WHERE job_id = $a AND replayed_at IS NOT NULL")" 1
	out=$("$RUNNER" --config "$RQ_CONF" dead list) || rt_fail "dead list exited $?"
	! grep -q "^$a " <<<"$out" || rt_fail "replayed job still listed"
	out=$("$RUNNER" --config "$RQ_CONF" dead list --all) || rt_fail "dead list --all exited $?"
	grep -q "^$a " <<<"$out" || rt_fail "dead list --all lacks it"
	# it dies again: a second dead letter, and show prints the latest
	rt_run "$RQ_CONF" "$log" run --once || rt_fail "run --once failed"
	expect_eq "letters" "$(sql "SELECT COUNT(*) FROM dead_letter_jobs WHERE job_id = $a")" 2
	out=$("$RUNNER" --config "$RQ_CONF" dead show "$a") || rt_fail "dead show exited $?"
	grep -q '^replayed_at: *-$' <<<"$out" || rt_fail "show not the latest"
	# prune: only done jobs older than the limit
	sql "INSERT INTO jobs (type, payload, idempotency_key, status, updated_at) VALUES
	  ('x', '{}', 'rt-qr-old-done', 'done', NOW(6) - INTERVAL 10 DAY),
	  ('x', '{}', 'rt-qr-new-done', 'done', NOW(6) - INTERVAL 1 DAY),
	  ('x', '{}', 'rt-qr-old-dead', 'dead', NOW(6) - INTERVAL 10 DAY)"
	"$RUNNER" --config "$RQ_CONF" prune --older-than 7 >/dev/null 2>>"$log" || rt_fail "prune failed"
	expect_eq "after prune" "$(sql "SELECT GROUP_CONCAT(idempotency_key ORDER BY idempotency_key)
	  FROM jobs WHERE idempotency_key LIKE 'rt-qr-%-d%'")" "rt-qr-new-done,rt-qr-old-dead"
	out=$("$RUNNER" --config "$RQ_CONF" dead replay --all 2>>"$log") || rt_fail "replay --all failed"
	case $out in "replayed "*) ;; *) rt_fail "replay --all said: $out" ;; esac
	expect_eq "none dead" "$(rt_count qr "j.status = 'dead'")" 0
	expect_eq "letters open" "$(sql "SELECT COUNT(*) FROM dead_letter_jobs WHERE replayed_at IS NULL")" 0
	sql "UPDATE jobs j SET status = 'done' WHERE $(rt_where qr)"
	rt_cleanup qr
}
it_case "dead replay ID / --all, dead list/show, prune --older-than" t_rq_replay_and_prune

t_rq_exit_codes() {
	local rc conf
	rc=0; "$RUNNER" --config "$RQ_CONF" run 2>/dev/null || rc=$?
	expect_eq "run without mode" "$rc" 64
	rc=0; "$RUNNER" --config "$RQ_CONF" run --once --loop 2>/dev/null || rc=$?
	expect_eq "run --once --loop" "$rc" 64
	rc=0; "$RUNNER" --config "$RQ_CONF" dead show abc 2>/dev/null || rc=$?
	expect_eq "dead show abc" "$rc" 64
	rc=0; "$RUNNER" --config "$RQ_CONF" prune 2>/dev/null || rc=$?
	expect_eq "prune without days" "$rc" 64
	rc=0; "$RUNNER" --config "$RQ_CONF" exec order_confirmation_email 2>/dev/null || rc=$?
	expect_eq "exec without file" "$rc" 64
	conf=$(rt_conf bad runner.batch_size=0)
	rc=0; "$RUNNER" --config "$conf" run --once 2>/dev/null || rc=$?
	expect_eq "bad config" "$rc" 78
	conf=$(rt_conf nodb "db.socket=$FIX_DIR/no-such.sock")
	rc=0; "$RUNNER" --config "$conf" run --once 2>/dev/null || rc=$?
	expect_eq "database unreachable" "$rc" 1
}
it_case "run/dead/prune/exec exit codes: 64 usage, 78 config, 1 no database" t_rq_exit_codes

t_rq_sigterm_and_max_runtime() {
	local log="$FIX_DIR/rq-term.log" conf pid rc=0 i t0
	rt_cleanup qt
	: >"$log"
	printf '#!/bin/sh\ncat >/dev/null\nsleep 1\n' >"$FIX_DIR/slow1-sendmail.sh"
	chmod +x "$FIX_DIR/slow1-sendmail.sh"
	conf=$(rt_conf term "mail.transport=sendmail:$FIX_DIR/slow1-sendmail.sh" \
	    runner.batch_size=4)
	rt_orders 4 qt
	"$RUNNER" --config "$conf" run --loop 2>>"$log" & pid=$!
	for i in $(seq 1 50); do
		[ "$(rt_count qt "j.status = 'running'")" = 4 ] && break
		sleep 0.05
	done
	kill -TERM "$pid" || rt_fail "the runner is gone before SIGTERM"
	wait "$pid" || rc=$?
	expect_eq "loop exit after SIGTERM" "$rc" 0
	# the job in hand was finished, the rest of the batch given back
	expect_eq "done" "$(rt_count qt "j.status = 'done' AND j.attempts = 1")" 1
	expect_eq "released" "$(rt_count qt "j.status = 'pending' AND j.attempts = 0
	  AND j.locked_by IS NULL")" 3
	grep -q 'event=run_summary mode=loop .*claimed=1 done=1 .*exit=0' "$log" ||
	    rt_fail "no loop summary"
	# --max-runtime 1 with 1 s jobs: stops after the job in hand
	t0=$SECONDS
	"$RUNNER" --config "$conf" run --once --max-runtime 1 2>>"$log" || rt_fail "max-runtime run failed"
	[ $((SECONDS - t0)) -le 3 ] || rt_fail "--max-runtime 1 took $((SECONDS - t0)) s"
	expect_eq "after max-runtime" "$(rt_count qt "j.status = 'running'")" 0
	[ "$(rt_count qt "j.status = 'pending'")" -ge 1 ] || rt_fail "max-runtime ran everything"
	rt_cleanup qt
}
it_case "SIGTERM in --loop and --max-runtime: finish the job in hand, give back the rest" t_rq_sigterm_and_max_runtime

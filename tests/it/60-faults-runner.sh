# 60-faults-runner.sh: the runner's database connection cut between its
# side effect (the message linked into maildir new/) and the commit that
# marks the job done and stamps orders.confirmation_sent_at.
#
# No test hook in the runner: the window is opened from outside.  An
# administrator session locks the order's row (SELECT ... FOR UPDATE); the
# runner claims the job, reads the order (a plain read, not blocked),
# delivers, and then waits on that lock in its 'done' transaction, where
# the test kills its connection (KILL from information_schema.processlist).
#
# (Runners killed with SIGKILL at random instants over hundreds of jobs
# are 40-runner-storm.sh: 4 runners at once, 200 jobs, every message
# exactly once, nothing left pending or running.)
# shellcheck source=../lib/runner.sh
. "$top_srcdir/tests/lib/runner.sh"
# shellcheck source=../lib/faults.sh
. "$top_srcdir/tests/lib/faults.sh"

FR_CONF=$(rt_conf faults runner.lease_seconds=5 \
    runner.handler_timeout_seconds=2 runner.poll_ms=20 runner.batch_size=1 \
    runner.backoff_base_ms=1 runner.backoff_cap_ms=10)

# fr_hold ORDER_ID: an administrator session holding the order's row lock
# (at most 20 s).  Sets FR_HOLD_PID and FR_HOLD_CONN (its connection id);
# fr_release ends it, at the latest when the case ends.
fr_hold() {
	local _
	mariadb -uroot --socket="$MYSQL_UNIX_PORT" -N -B "$MYSQL_DATABASE" -e \
	    "BEGIN; SELECT id FROM orders WHERE id = $1 FOR UPDATE;
	    SELECT SLEEP(20) AS fr_hold_$1; ROLLBACK;" >/dev/null 2>&1 &
	FR_HOLD_PID=$!
	for _ in $(seq 1 50); do
		FR_HOLD_CONN=$(sql "SELECT id FROM information_schema.processlist
		  WHERE info LIKE '%fr_hold_$1%' AND id <> CONNECTION_ID()")
		if [ -n "$FR_HOLD_CONN" ]; then
			it_defer fr_release
			return 0
		fi
		sleep 0.1
	done
	fail "the administrator session did not take the lock"
}

# fr_release: ends the administrator session (its transaction rolls back).
fr_release() {
	sql_try "KILL $FR_HOLD_CONN" 2>/dev/null	# gone already after a release
	wait "$FR_HOLD_PID" 2>/dev/null	# killed: its status means nothing
}

# fr_blocked ORDER_ID RUNNER_PID: waits (<= 8 s) until the message is in
# new/ and the runner waits on the lock in its 'done' transaction; prints
# the runner's connection id.
fr_blocked() {
	local _ conn
	for _ in $(seq 1 80); do
		kill -0 "$2" 2>/dev/null || fail "the runner exited"
		conn=$(sql "SELECT id FROM information_schema.processlist
		  WHERE user = 'catalog' AND info LIKE '%confirmation_sent_at%'
		  AND info LIKE 'UPDATE orders%'")
		if [ -n "$conn" ] && [ -f "$MAILDIR/new/order-confirmation-$1" ]; then
			echo "$conn"
			return 0
		fi
		sleep 0.1
	done
	fail "the runner never blocked in its commit"
}

# fr_quiet_queue LOG: runs whatever earlier files left due, before the
# case makes its own job, so the runner under test claims that one.
fr_quiet_queue() {
	rt_run "$FR_CONF" "$1" run --once --max-runtime 30 || fail "draining the queue failed"
}

# fr_fingerprint FILE: inode, size, mtime and checksum.
fr_fingerprint() {
	echo "$(stat -c '%i %s %Y' "$1") $(md5sum <"$1" | cut -d' ' -f1)"
}

# fr_check TAG ORDER_ID ATTEMPTS FINGERPRINT [SUBDIR/FILE]: the job is done
# after ATTEMPTS attempts, the order stamped, no dead letter, and the
# maildir holds exactly one message for it: the very file first delivered
# (at new/order-confirmation-<id>, or where a reader moved it).
fr_check() {
	local tag=$1 oid=$2 n file="$MAILDIR/${5:-new/order-confirmation-$2}"
	expect_eq "job status/attempts" \
	    "$(rt_count "$tag" "j.status = 'done' AND j.attempts = $3")" 1
	expect_eq "order stamped" "$(sql "SELECT confirmation_sent_at IS NOT NULL
	  FROM orders WHERE id = $oid")" 1
	expect_eq "dead letters" "$(sql "SELECT COUNT(*) FROM dead_letter_jobs WHERE job_id IN
	  (SELECT j.id FROM jobs j WHERE $(rt_where "$tag"))")" 0
	n=$(find "$MAILDIR/new" "$MAILDIR/cur" -name "order-confirmation-$oid*" 2>/dev/null | wc -l)
	expect_eq "messages for the order in new/ and cur/" "$n" 1
	n=$(grep -l "^Message-ID: <order-confirmation-$oid@" "$MAILDIR"/new/* \
	    "$MAILDIR"/cur/* 2>/dev/null | wc -l)
	expect_eq "messages with its Message-ID" "$n" 1
	expect_eq "left in tmp/" "$(find "$MAILDIR/tmp" -name "order-confirmation-$oid*" | wc -l)" 0
	expect_eq "the delivered file (inode size mtime md5)" \
	    "$(fr_fingerprint "$file")" "$4"
	rt_check_message "$file" "$oid" "rt$tag-1@example.com"
}

# The cut connection is the only fault: the runner reconnects, runs its
# 'done' transaction again and commits it; nothing is sent twice.
t_fr_cut_reconnect() {
	local log="$FIX_DIR/fr-reconnect.log" oid jid rpid conn fp rc
	fl_init fr1
	: >"$log"
	rt_cleanup fra
	fr_quiet_queue "$log"
	rt_orders 1 fra
	oid=$(rt_order_ids fra)
	jid=$(sql "SELECT id FROM jobs WHERE idempotency_key = 'order-confirmation-$oid'")
	fr_hold "$oid"
	"$RUNNER" --config "$FR_CONF" run --once 2>>"$log" &
	rpid=$!
	conn=$(fr_blocked "$oid" "$rpid")
	fp=$(fr_fingerprint "$MAILDIR/new/order-confirmation-$oid")
	fl_mark "delivered, commit waiting (connection $conn): cutting it"
	sql "KILL $conn"
	expect_eq "before the commit" "$(rt_count fra "j.status = 'running'")" 1
	fr_release
	wait "$rpid"; rc=$?
	fl_mark "runner exited $rc"
	expect_eq "runner exit" "$rc" 0
	fr_check fra "$oid" 1 "$fp"
	grep -q "job_id=$jid .*attempt=1/.* outcome=done" "$log" ||
	    fail "runner: no attempt 1 done: $(grep "job_id=$jid" "$log")"
	rt_cleanup fra
}
it_case "runner's connection cut between delivery and commit: reconnects, commits, one message" t_fr_cut_reconnect

# The runner loses its connection and stays away (SIGSTOP) past its lease:
# a second runner reclaims the job (attempt 2).  The order is not stamped
# (that commit was lost), so the status check lets the handler run again;
# the maildir transport finds the message already in new/ (link EEXIST) and
# reports it delivered without writing another.  The first runner, resumed,
# is fenced out (lease lost) and changes nothing.  With READ=1 a mail
# client reads the message in between (new/<name> -> cur/<name>:2,S), and
# the retry must recognise it there too.
fr_cut_reclaim() {
	local tag=$1 read=$2 log1="$FIX_DIR/fr-reclaim-$1-1.log"
	local log2="$FIX_DIR/fr-reclaim-$1-2.log" oid rpid conn fp rc _ jid at
	fl_init "fr-$tag"
	: >"$log1"; : >"$log2"
	rt_cleanup "$tag"
	fr_quiet_queue "$log2"
	rt_orders 1 "$tag"
	oid=$(rt_order_ids "$tag")
	at="new/order-confirmation-$oid"
	jid=$(sql "SELECT id FROM jobs WHERE idempotency_key = 'order-confirmation-$oid'")
	fr_hold "$oid"
	"$RUNNER" --config "$FR_CONF" run --once 2>>"$log1" &
	rpid=$!
	conn=$(fr_blocked "$oid" "$rpid")
	fp=$(fr_fingerprint "$MAILDIR/new/order-confirmation-$oid")
	kill -STOP "$rpid" || fail "the runner is gone"
	sql "KILL $conn"
	fr_release
	fl_mark "delivered; runner $rpid stopped, its connection ($conn) killed"
	expect_eq "after the cut: job running, attempt 1, order not stamped" \
	    "$(sql "SELECT CONCAT(j.status, ' ', j.attempts, ' ', o.confirmation_sent_at IS NULL)
	      FROM jobs j JOIN orders o ON o.id = $oid WHERE j.id = $jid")" "running 1 1"
	for _ in $(seq 1 80); do
		[ "$(sql "SELECT locked_until < NOW(6) FROM jobs WHERE id = $jid")" = 1 ] && break
		sleep 0.1
	done
	fl_mark "lease expired"
	if [ "$read" = 1 ]; then
		at="cur/order-confirmation-$oid:2,S"
		mv "$MAILDIR/new/order-confirmation-$oid" "$MAILDIR/$at" ||
		    fail "could not move the message to cur/"
		fl_mark "a client read it: $at"
	fi
	rt_run "$FR_CONF" "$log2" run --once || fail "second runner exited $?"
	fl_mark "second runner done"
	kill -CONT "$rpid" || fail "the first runner is gone"
	wait "$rpid"; rc=$?
	fl_mark "first runner exited $rc"
	expect_eq "first runner exit" "$rc" 0
	grep -q "job_id=$jid .*attempt=2/.* outcome=done" "$log2" ||
	    fail "second runner: no attempt 2 done: $(grep "job_id=$jid" "$log2")"
	grep -q "job_id=$jid .*note=already_sent" "$log2" &&
	    fail "the status check cannot have seen a stamp that was never committed"
	fr_check "$tag" "$oid" 2 "$fp" "$at"
	echo "# first runner: $(grep -o 'event=[a-z_]*' "$log1" | sort | uniq -c | tr -s ' \n' ' ')"
	rt_cleanup "$tag"
}
t_fr_cut_reclaim() { fr_cut_reclaim frb 0; }

it_case "runner cut off between delivery and commit past its lease: the retry delivers nothing new, job done after 2 attempts" t_fr_cut_reclaim

t_fr_cut_reclaim_read() { fr_cut_reclaim frc 1; }
it_case "the same while a mail client read the message (new/ -> cur/:2,S): still one message" t_fr_cut_reclaim_read

# A live runner's job is never reclaimed.  Runner A claims two jobs at once
# (lease 12 s, handler timeout 10 s); its sendmail takes 3 s for the first
# message and 9.5 s for the second, each within the timeout.  A lease
# renewed only once a third of it had passed (4 s) let the second start
# unrenewed at 3 s and run until 12.5 s: runner B, polling meanwhile,
# reclaimed it at 12 s and sent it again.  A now renews before any attempt
# that the lease left could not cover (handler timeout + 2 s).
t_fr_lease_live() {
	local fake="$FIX_DIR/fake-sendmail-slow.sh" out="$FIX_DIR/lease-sent"
	local conf_a conf_b log_a="$FIX_DIR/fr-lease-a.log" log_b="$FIX_DIR/fr-lease-b.log"
	local apid oid dup _
	rt_cleanup frl
	: >"$log_a"; : >"$log_b"; : >"$out"
	rm -f "$FIX_DIR/lease-count"
	fr_quiet_queue "$log_b"
	cat >"$fake" <<EOF
#!/bin/sh
# logs each message's Message-ID, then takes 3 s (1st call) or 9.5 s
n=\$(flock "$FIX_DIR/lease-count" sh -c 'n=\$(cat "$FIX_DIR/lease-count" 2>/dev/null || echo 0); echo \$((n + 1)) | tee "$FIX_DIR/lease-count"')
grep -m1 '^Message-ID:' >>"$out"
if [ "\$n" = 1 ]; then sleep 3; else sleep 9.5; fi
exit 0
EOF
	chmod +x "$fake"
	conf_a=$(rt_conf lease-a "mail.transport=sendmail:$fake" \
	    runner.lease_seconds=12 runner.handler_timeout_seconds=10 \
	    runner.batch_size=2 runner.poll_ms=50)
	conf_b=$(rt_conf lease-b "mail.transport=sendmail:$fake" \
	    runner.lease_seconds=12 runner.handler_timeout_seconds=10 \
	    runner.batch_size=1 runner.poll_ms=50)
	rt_orders 2 frl
	"$RUNNER" --config "$conf_a" run --once 2>>"$log_a" &
	apid=$!
	for _ in $(seq 1 50); do
		[ "$(rt_count frl "j.status = 'running'")" = 2 ] && break
		sleep 0.1
	done
	expect_eq "claimed together by A" "$(rt_count frl "j.status = 'running'")" 2
	# B polls like a second host's timer until A is done
	while kill -0 "$apid" 2>/dev/null; do
		rt_run "$conf_b" "$log_b" run --once || fail "runner B exited $?"
		sleep 0.2
	done
	wait "$apid" || fail "runner A exited $?"
	for oid in $(rt_order_ids frl); do
		expect_eq "deliveries of order $oid" \
		    "$(grep -c "^Message-ID: <order-confirmation-$oid@" "$out")" 1
	done
	expect_eq "jobs done at attempt 1" \
	    "$(rt_count frl "j.status = 'done' AND j.attempts = 1")" 2
	dup=$(grep -h 'event=lease_lost' "$log_a" "$log_b")
	[ -z "$dup" ] || fail "a live runner lost its lease: $dup"
	grep -q 'event=job .*outcome=done' "$log_b" &&
	    fail "runner B ran a job runner A still held: $(grep 'event=job' "$log_b")"
	rt_cleanup frl
}
it_case "a live runner's job is never reclaimed: a slow sendmail within its timeout, a second runner polling" t_fr_lease_live

# 40-runner-mail.sh: the order confirmation end to end: order rows -> run
# --once -> one message in the maildir, parsed back; the status check; the
# sendmail transport with fake commands; exec and --dry-run.
# shellcheck source=../lib/runner.sh
. "$top_srcdir/tests/lib/runner.sh"

RM_CONF=$(rt_conf mail runner.backoff_base_ms=1 runner.backoff_cap_ms=10)

t_rm_maildir_once() {
	local log="$FIX_DIR/rm-maildir.log" o f
	rt_cleanup ma
	: >"$log"
	rt_orders 3 ma
	rt_run "$RM_CONF" "$log" run --once || rt_fail "run --once failed"
	for o in $(rt_order_ids ma); do
		f="$MAILDIR/new/order-confirmation-$o"
		[ -f "$f" ] || rt_fail "no message for order $o"
		rt_check_message "$f" "$o" "$(sql "SELECT email FROM orders WHERE id = $o")"
	done
	expect_eq "stamped" "$(sql "SELECT COUNT(*) FROM orders
	  WHERE email LIKE 'rtma-%' AND confirmation_sent_at IS NOT NULL")" 3
	expect_eq "done" "$(rt_count ma "j.status = 'done' AND j.attempts = 1")" 3
	grep -q 'event=run_summary mode=once .*claimed=[1-9][0-9]* done=[1-9]' "$log" || rt_fail "no summary line"
	# a second job for a confirmed order sends nothing (status check)
	o=$(rt_order_ids ma | head -1)
	rm -f "$MAILDIR/new/order-confirmation-$o"
	sql "INSERT INTO jobs (type, payload, idempotency_key) VALUES
	  ('order_confirmation_email', '{\"order_id\":$o}', 'rt-ma-again')"
	rt_run "$RM_CONF" "$log" run --once || rt_fail "run --once failed"
	expect_eq "again done" "$(sql "SELECT status FROM jobs WHERE idempotency_key = 'rt-ma-again'")" done
	grep -q 'outcome=done .*note=already_sent' "$log" || rt_fail "no already_sent note"
	[ ! -e "$MAILDIR/new/order-confirmation-$o" ] || rt_fail "sent twice"
	[ ! -e "$MAILDIR/new/rt-ma-again" ] || rt_fail "sent twice under the new key"
	rt_cleanup ma
}
it_case "order rows -> run --once -> one RFC 5322 message per order, parsed back" t_rm_maildir_once

t_rm_sendmail_tempfail() {
	local log="$FIX_DIR/rm-tempfail.log" fake="$FIX_DIR/fake-sendmail-75.sh" conf o
	rt_cleanup mt
	: >"$log"
	rm -f "$FIX_DIR/fake-75.count" "$FIX_DIR/fake-75.out"
	cat >"$fake" <<EOF
#!/bin/sh
# exits 75 (EX_TEMPFAIL) twice, then takes the message
n=\$(cat "$FIX_DIR/fake-75.count" 2>/dev/null || echo 0)
n=\$((n + 1))
echo "\$n" >"$FIX_DIR/fake-75.count"
if [ "\$n" -le 2 ]; then cat >/dev/null; echo "try later" >&2; exit 75; fi
cat >"$FIX_DIR/fake-75.out"
[ "\$1" = "-t" ] && [ "\$2" = "-i" ] || exit 64
EOF
	chmod +x "$fake"
	conf=$(rt_conf tempfail "mail.transport=sendmail:$fake -t -i" \
	    runner.backoff_base_ms=1 runner.backoff_cap_ms=10)
	rt_orders 1 mt
	o=$(rt_order_ids mt)
	rt_drain "$conf" "$log" mt
	expect_eq "job" "$(rt_count mt "j.status = 'done' AND j.attempts = 3")" 1
	expect_eq "retry lines" "$(grep -c "outcome=retry .*error=\"sendmail: exit 75: try later\"" "$log")" 2
	grep -q 'attempt=3/5 outcome=done' "$log" || rt_fail "no done on attempt 3"
	rt_check_message "$FIX_DIR/fake-75.out" "$o" "rtmt-1@example.com"
	expect_eq "stamped" "$(sql "SELECT confirmation_sent_at IS NOT NULL FROM orders WHERE id = $o")" 1
	rt_cleanup mt
}
it_case "sendmail exiting 75 twice then 0: two retries, then done" t_rm_sendmail_tempfail

t_rm_sendmail_fails_then_replay() {
	local log="$FIX_DIR/rm-fail.log" conf o id rc
	rt_cleanup mf
	: >"$log"
	conf=$(rt_sendmail_conf fail 'cat >/dev/null; echo "no such user" >&2; exit 1')
	rt_orders 1 mf
	o=$(rt_order_ids mf)
	rt_run "$conf" "$log" run --once || rt_fail "run --once failed"
	id=$(sql "SELECT id FROM jobs WHERE idempotency_key = 'order-confirmation-$o'")
	expect_eq "job" "$(sql "SELECT status, attempts, last_error FROM jobs WHERE id = $id")" \
	    "dead	1	sendmail: exit 1: no such user"
	expect_eq "dead letter" "$(sql "SELECT attempts, last_error, replayed_at IS NULL
	  FROM dead_letter_jobs WHERE job_id = $id")" "1	sendmail: exit 1: no such user	1"
	expect_eq "not stamped" "$(sql "SELECT confirmation_sent_at IS NULL FROM orders WHERE id = $o")" 1
	# the operator's pipeline, as documented: the dead payload replayed
	# locally, with nothing delivered
	(cd "$FIX_DIR" && "$RUNNER" --config "$RM_CONF" dead show "$id" --payload >p.json 2>>"$log" &&
	    "$RUNNER" --config "$RM_CONF" exec order_confirmation_email p.json --dry-run \
	    >"$FIX_DIR/rm-payload.msg" 2>>"$log") || rt_fail "dead show --payload | exec --dry-run failed"
	# the payload byte for byte as stored: no label, no newline added
	printf '{"order_id":%s}' "$o" | cmp -s - "$FIX_DIR/p.json" ||
	    rt_fail "payload not as stored: $(od -c "$FIX_DIR/p.json" | head -3)"
	grep -q "^Subject: Your order #$o$" "$FIX_DIR/rm-payload.msg" || rt_fail "no message printed"
	grep -q "event=exec type=order_confirmation_email outcome=done dry_run=1" "$log" ||
	    rt_fail "no dry-run exec line"
	expect_eq "dry run stamps nothing" "$(sql "SELECT confirmation_sent_at IS NULL FROM orders WHERE id = $o")" 1
	# --payload before the id; a job without a dead letter; bad arguments
	"$RUNNER" --config "$RM_CONF" dead show --payload "$id" | cmp -s - "$FIX_DIR/p.json" ||
	    rt_fail "--payload ID differs from ID --payload"
	rc=0; "$RUNNER" --config "$RM_CONF" dead show 999999999 --payload >/dev/null 2>&1 || rc=$?
	expect_eq "no dead letter" "$rc" 1
	rc=0; "$RUNNER" --config "$RM_CONF" dead show --payload >/dev/null 2>&1 || rc=$?
	expect_eq "no id" "$rc" 64
	rc=0; "$RUNNER" --config "$RM_CONF" dead show "$id" --payload x >/dev/null 2>&1 || rc=$?
	expect_eq "extra argument" "$rc" 64
	rc=0; "$RUNNER" --config "$RM_CONF" dead show "$id" --payloads >/dev/null 2>&1 || rc=$?
	expect_eq "misspelt option" "$rc" 64
	# the operator fixes the transport and replays
	"$RUNNER" --config "$RM_CONF" dead replay "$id" >/dev/null 2>>"$log" || rt_fail "replay failed"
	rt_run "$RM_CONF" "$log" run --once || rt_fail "run --once failed"
	expect_eq "after replay" "$(sql "SELECT status, attempts FROM jobs WHERE id = $id")" "done	1"
	rt_check_message "$MAILDIR/new/order-confirmation-$o" "$o" "rtmf-1@example.com"
	rt_cleanup mf
}
it_case "sendmail exiting 1: dead letter at once; dead show --payload | exec --dry-run replays it locally; replay delivers it" t_rm_sendmail_fails_then_replay

t_rm_exec() {
	local log="$FIX_DIR/rm-exec.log" o out rc=0
	rt_cleanup me
	: >"$log"
	rt_orders 1 me
	o=$(rt_order_ids me)
	sql "DELETE j FROM jobs j WHERE $(rt_where me)"	# exec needs no job row
	out=$(echo "{\"order_id\": $o}" | "$RUNNER" --config "$RM_CONF" exec \
	    order_confirmation_email - --dry-run 2>>"$log") || rt_fail "dry run failed"
	printf '%s\n' "$out" | grep -q "^Subject: Your order #$o$" || rt_fail "no message printed"
	[ ! -e "$MAILDIR/new/order-confirmation-$o" ] || rt_fail "dry run delivered"
	expect_eq "dry run stamps nothing" "$(sql "SELECT confirmation_sent_at IS NULL FROM orders WHERE id = $o")" 1
	echo "{\"order_id\": $o}" >"$FIX_DIR/rm-exec.json"
	"$RUNNER" --config "$RM_CONF" exec order_confirmation_email "$FIX_DIR/rm-exec.json" 2>>"$log" ||
	    rt_fail "exec failed"
	rt_check_message "$MAILDIR/new/order-confirmation-$o" "$o" "rtme-1@example.com"
	expect_eq "exec stamps" "$(sql "SELECT confirmation_sent_at IS NOT NULL FROM orders WHERE id = $o")" 1
	echo '{"order_id": ' | "$RUNNER" --config "$RM_CONF" exec order_confirmation_email - 2>>"$log" || rc=$?
	expect_eq "malformed exit" "$rc" 1
	rc=0
	echo '{}' | "$RUNNER" --config "$RM_CONF" exec no_such_type - 2>>"$log" || rc=$?
	expect_eq "unknown type exit" "$rc" 1
	grep -q 'event=exec type=no_such_type outcome=permanent error="unknown job type"' "$log" ||
	    rt_fail "no exec error line"
	rt_cleanup me
}
it_case "exec TYPE FILE|- [--dry-run] runs one payload outside the queue" t_rm_exec

# tests/lib/runner.sh: helpers for the job-runner cases (tests/it/40-runner-*.sh).
# Sourced after fixture.sh.
#
# The fixture's database is shared with the other test files, so every
# runner case works on rows it created itself: orders whose email starts
# with a tag (rt<case>-N@example.com), their confirmation jobs
# (order-confirmation-<id>) and poison jobs keyed rt-<tag>-*.  rt_cleanup
# removes them again, with their dead letters and maildir files.  Every
# helper here that checks something fails the case itself (fixture.sh, THE
# RULE FOR CASES); rt_run returns the runner's status for the caller.

# rt_fail MESSAGE: fail (fixture.sh), the name these files grew up with.
rt_fail() {
	fail "$@"
}

# rt_conf NAME KEY=VALUE...: prints the path of a copy of $CATALOG_CONF
# with those keys set.
rt_conf() {
	local out="$FIX_DIR/runner-$1.conf" kv key
	shift
	cp "$CATALOG_CONF" "$out" && chmod 600 "$out" ||
	    fail "rt_conf: cannot copy $CATALOG_CONF"
	for kv in "$@"; do
		key=${kv%%=*}
		sed -i "/^${key//./\\.}[[:space:]]*=/d" "$out"
		printf '%s = %s\n' "$key" "${kv#*=}" >>"$out" ||
		    fail "rt_conf: cannot set $key"
	done
	echo "$out"
}

# rt_sendmail_conf NAME SCRIPT: like rt_conf NAME, with a fake sendmail
# that runs the sh SCRIPT as its transport.
rt_sendmail_conf() {
	local fake="$FIX_DIR/sendmail-$1.sh"
	printf '#!/bin/sh\n%s\n' "$2" >"$fake"
	chmod +x "$fake"
	rt_conf "$1" "mail.transport=sendmail:$fake"
}

# rt_orders N TAG: N orders rtTAG-1..N@example.com, one item each, and
# their confirmation jobs, as the order code would write them.
rt_orders() {
	sql "INSERT INTO orders (email, total_cents)
	  SELECT CONCAT('rt$2-', seq, '@example.com'), 2598 FROM seq_1_to_$1;
	INSERT INTO order_items (order_id, product_id, sku, name, quantity,
	  unit_price_cents)
	  SELECT id, 1, 'RT-1', 'Grüner Tee', 2, 1299 FROM orders
	  WHERE email LIKE 'rt$2-%@example.com';
	INSERT INTO jobs (type, payload, idempotency_key)
	  SELECT 'order_confirmation_email', CONCAT('{\"order_id\":', id, '}'),
	  CONCAT('order-confirmation-', id) FROM orders
	  WHERE email LIKE 'rt$2-%@example.com';"
}

# rt_where TAG: SQL condition selecting the tag's jobs (alias j); index
# lookups only, so it stays fast however many rows other tests leave.
rt_where() {
	echo "j.id IN (SELECT id FROM (SELECT j2.id FROM orders o
	  JOIN jobs j2 ON j2.idempotency_key = CONCAT('order-confirmation-', o.id)
	  WHERE o.email LIKE 'rt$1-%@example.com'
	  UNION ALL SELECT id FROM jobs WHERE idempotency_key LIKE 'rt-$1-%') t)"
}

# rt_count TAG CONDITION: how many of the tag's jobs match CONDITION.
rt_count() {
	sql "SELECT COUNT(*) FROM jobs j WHERE $(rt_where "$1") AND ($2)"
}

# rt_order_ids TAG: the tag's order ids, one a line.
rt_order_ids() {
	sql "SELECT id FROM orders WHERE email LIKE 'rt$1-%@example.com' ORDER BY id"
}

# rt_cleanup TAG: removes the tag's rows and messages.
rt_cleanup() {
	local id
	for id in $(rt_order_ids "$1"); do
		rm -f "$MAILDIR/new/order-confirmation-$id" \
		    "$MAILDIR/cur/order-confirmation-$id:"*
	done
	sql "DELETE FROM dead_letter_jobs WHERE job_id IN
	  (SELECT j.id FROM jobs j WHERE $(rt_where "$1"));
	DELETE j FROM jobs j WHERE $(rt_where "$1");
	DELETE FROM orders WHERE email LIKE 'rt$1-%@example.com';"
}

# rt_run CONF LOG ARGS...: job-runner with CONF, stderr appended to LOG.
rt_run() {
	local conf=$1 log=$2
	shift 2
	timeout 60 "$RUNNER" --config "$conf" "$@" 2>>"$log"
}

# rt_drain CONF LOG TAG: run --once until none of the tag's jobs is
# pending or running (at most ~30 s: leases of killed runners expire);
# fails the case if a run fails or jobs are left.
rt_drain() {
	local i
	for i in $(seq 1 150); do
		[ "$(rt_count "$3" "j.status IN ('pending','running')")" = 0 ] &&
		    return 0
		rt_run "$1" "$2" run --once || fail "rt_drain: run --once exited $?"
		sleep 0.2
	done
	fail "jobs still pending or running after the drain"
}

# rt_check_message FILE ORDER_ID EMAIL: parses a delivered message back
# and checks its headers and body.
rt_check_message() {
	python3 - "$@" <<'EOF' || fail "rt_check_message: $1 is not order $2's message"
import email, email.policy, email.utils, sys
path, oid, to = sys.argv[1], sys.argv[2], sys.argv[3]
raw = open(path, "rb").read()
m = email.message_from_bytes(raw, policy=email.policy.default)
def want(cond, what):
    if not cond:
        print("message %s: %s" % (path, what)); sys.exit(1)
want(m["From"] == "shop@example.com", "From is %r" % m["From"])
want(m["To"] == to, "To is %r" % m["To"])
want(("#%s" % oid) in m["Subject"], "Subject %r lacks the order" % m["Subject"])
want(email.utils.parsedate_to_datetime(m["Date"]) is not None, "bad Date")
want(m["Message-ID"] == "<order-confirmation-%s@example.com>" % oid,
     "Message-ID is %r" % m["Message-ID"])
want(m["MIME-Version"] == "1.0", "no MIME-Version")
want(m.get_content_type() == "text/plain", "not text/plain")
want(m.get_content_charset() == "utf-8", "charset not utf-8")
body = m.get_content()
want("2 x Grüner Tee (RT-1) at 12.99 = 25.98" in body, "item line missing")
want("Total: 25.98" in body, "total missing")
want(b"\r" not in raw, "CR in a maildir file")
EOF
}

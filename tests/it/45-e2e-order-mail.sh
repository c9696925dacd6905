# 45-e2e-order-mail.sh: the whole path a customer sees: an order through
# nginx, the job the order transaction wrote, job-runner run --once, and
# exactly one confirmation message in the maildir, parsed back and checked
# against the database.

t_order_to_mailbox() {
	local tag="e2e$$" email id log="$FIX_DIR/log/e2e-runner.log" files i
	email="$tag@example.com"
	sql "UPDATE products SET stock = 100 WHERE id IN (30, 31)"
	http POST /api/orders -H 'Content-Type: application/json' \
	    -d "{\"email\":\"$email\",\"items\":[{\"product_id\":30,\"quantity\":2},{\"product_id\":31,\"quantity\":1}]}"
	expect_eq "order" "$STATUS" 201
	id=$(json 'j["id"]')
	expect_eq "job row" "$(sql "SELECT COUNT(*) FROM jobs WHERE idempotency_key = 'order-confirmation-$id' AND status = 'pending'")" 1
	for i in 1 2 3; do
		"$RUNNER" --config "$CATALOG_CONF" run --once 2>>"$log" ||
		    fail "run --once exited $?"
		[ "$(sql "SELECT status FROM jobs WHERE idempotency_key = 'order-confirmation-$id'")" = done ] && break
	done
	expect_eq "job done" "$(sql "SELECT status FROM jobs WHERE idempotency_key = 'order-confirmation-$id'")" done
	"$RUNNER" --config "$CATALOG_CONF" run --once 2>>"$log" ||	# nothing twice
	    fail "second run --once exited $?"
	files=$(grep -lr "^Message-ID: <order-confirmation-$id@" "$MAILDIR/new" "$MAILDIR/cur" 2>/dev/null | wc -l)
	expect_eq "messages for the order" "$files" 1
	http GET "/api/orders/$id" -H "Authorization: Bearer $CATALOG_ADMIN_TOKEN"
	expect_eq "confirmation" "$(json 'j["confirmation"]')" sent
	sql "SELECT CONCAT(i.quantity, ' x ', i.name, ' (', i.sku, ') at ',
	    FORMAT(i.unit_price_cents / 100, 2, 'en_US'), ' = ',
	    FORMAT(i.quantity * i.unit_price_cents / 100, 2, 'en_US'))
	    FROM order_items i WHERE i.order_id = $id ORDER BY i.product_id" >"$FIX_DIR/e2e-lines"
	sql "SELECT FORMAT(total_cents / 100, 2, 'en_US') FROM orders WHERE id = $id" >"$FIX_DIR/e2e-total"
	python3 - "$MAILDIR/new/order-confirmation-$id" "$id" "$email" \
	    "$FIX_DIR/e2e-lines" "$FIX_DIR/e2e-total" <<'PY' || fail "the message does not match the database"
import email, email.policy, email.utils, sys
path, oid, to, lines, total = sys.argv[1:6]
m = email.message_from_bytes(open(path, "rb").read(), policy=email.policy.default)
def want(cond, what):
    if not cond:
        print("%s: %s" % (path, what)); sys.exit(1)
want(m["To"] == to, "To is %r" % m["To"])
want(m["From"] == "shop@example.com", "From is %r" % m["From"])
want(("#%s" % oid) in m["Subject"], "Subject %r" % m["Subject"])
want(m["Message-ID"] == "<order-confirmation-%s@example.com>" % oid, "Message-ID")
want(email.utils.parsedate_to_datetime(m["Date"]) is not None, "Date")
body = m.get_content()
for line in open(lines, encoding="utf-8").read().split("\n"):
    if line:
        want(line.replace(",", "") in body.replace(",", ""), "missing item line %r" % line)
want(("Total: %s" % open(total).read().strip()).replace(",", "") in body.replace(",", ""), "total")
PY
	sql "DELETE FROM jobs WHERE idempotency_key = 'order-confirmation-$id'"
	rm -f "$MAILDIR/new/order-confirmation-$id"
}
it_case "order through nginx -> run --once -> one RFC 5322 message, checked against the database" t_order_to_mailbox

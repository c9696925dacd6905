# 55-security.sh: hardening checks (issue 6, docs/SECURITY.md): SQL is never
# built from text, the database user holds only what it needs, the admin
# token is never logged, clients never see server error text, nginx's size
# limits answer problems, and CR/LF cannot reach a mail header.
# (/metrics for non-loopback clients: 50-ops-metrics.sh.)

SEC_J='Content-Type: application/json'

# sec_conf KEY: a value from the stack's catalog.conf.
sec_conf() {
	awk -F' *= *' -v k="$1" '$1 == k { print $2; exit }' "$CATALOG_CONF"
}

# sec_app_sql QUERY: runs QUERY as the app's own database user; prints the
# output and mariadb's error text, exit status mariadb's.
sec_app_sql() {
	mariadb -u"$(sec_conf db.user)" -p"$(sec_conf db.password)" \
	    --socket="$(sec_conf db.socket)" -N -B "$(sec_conf db.name)" \
	    -e "$1" 2>&1
}

# sec_no_server_text WHAT: the last body is a problem that carries no SQL
# and no database error text.
sec_no_server_text() {
	expect_eq "$1: type" "$(header content-type)" application/problem+json
	if printf '%s\n' "$BODY" | grep -Eiq 'select |insert |update |delete |sql|mysql|mariadb|duplicate entry|foreign key|constraint|errno|syntax'; then
		fail "$1: server text in the problem: $BODY"
	fi
}

t_sec_sql_static() {
	local out
	out=$(perl "$top_srcdir/tests/lib/sql-static.pl" "$top_srcdir"/app/*.c \
	    "$top_srcdir"/runner/*.c "$top_srcdir"/common/*.c) || fail "$out"
	# the checker found the tables and the prepare call (not an empty
	# match): core, catalog-fcgi and job-runner
	case $out in
	"checked 3 statement tables, 1 prepare call(s)") ;;
	*) fail "sql-static.pl did not find the statement tables: $out" ;;
	esac
}
it_case "SQL: only literal/static statements reach the database; mysql_* query calls only in common/db.c; no SQL in printf formats" t_sec_sql_static

t_sec_sql_prepare() {
	local out
	out=$("$top_builddir/tests/it/test-sql-prepare" "$CATALOG_CONF" 2>&1) ||
	    fail "$out"
	case $out in
	*"catalog-fcgi: "*" statements prepared"*"job-runner: "*" statements prepared"*) ;;
	*) fail "unexpected output: $out" ;;
	esac
}
it_case "SQL: every statement of the core, catalog-fcgi and job-runner prepares on the real server" t_sec_sql_prepare

# Problem details are literals or the `detail`/`fixed` buffers the
# validators fill from their tables; server error text is read only in
# common/db.c, and only to log it.
t_sec_problem_sources() {
	local bad
	bad=$(perl -0ne 's{/\*.*?\*/}{}gs;
	    while (/\bhttp_problem\s*\(\s*[^,]+,\s*[^,]+,\s*([^)]*)\)/g) {
		my $a = $1; $a =~ s/\s+/ /g;
		print "$ARGV: http_problem(..., $a)\n"
		    unless $a =~ /^"/ || $a =~ /^(detail|fixed)$/ ||
		    $a =~ /^const char \*detail$/;
	    }' "$top_srcdir"/app/*.c) || fail "perl exited $?"
	[ -z "$bad" ] || fail "problem detail from an unexpected source: $bad"
	bad=$(grep -n 'mysql_error\|mysql_stmt_error\|mysql_sqlstate' \
	    "$top_srcdir"/app/*.c "$top_srcdir"/runner/*.c "$top_srcdir"/common/*.c |
	    grep -v '^[^:]*common/db\.c:')
	[ -z "$bad" ] || fail "server error text read outside common/db.c: $bad"
	# in db.c each use is inside a log_quote() for a log_msg()
	bad=$(perl -0ne 's{/\*.*?\*/}{}gs;
	    while (/\b(mysql_(?:stmt_)?error)\s*\(/g) {
		my $before = substr($_, 0, pos($_));
		print "common/db.c: $1 outside log_quote\n"
		    unless $before =~ /log_quote\s*\([^;]*$/s }' \
	    "$top_srcdir/common/db.c") || fail "perl exited $?"
	[ -z "$bad" ] || fail "$bad"
}
it_case "problem details are fixed or table-built; server error text only logged (common/db.c)" t_sec_problem_sources

t_sec_db_user() {
	local out
	out=$(sec_app_sql "SELECT COUNT(*) > 0 FROM products") ||
	    fail "the app user cannot read products: $out"
	expect_eq "SELECT as the app user" "$out" 1
	# the column grant it does hold works (a no-op update)
	out=$(sec_app_sql "UPDATE orders SET confirmation_sent_at = confirmation_sent_at WHERE id = 0") ||
	    fail "UPDATE orders.confirmation_sent_at refused: $out"
	out=$(sec_app_sql "UPDATE categories SET name = name WHERE id = 0") ||
	    fail "UPDATE categories.name refused: $out"
	for q in "DROP TABLE dead_letter_jobs" \
	    "CREATE TABLE sec_probe (i INT)" \
	    "ALTER TABLE products ADD COLUMN sec_probe INT" \
	    "CREATE DATABASE sec_probe" \
	    "SELECT user, password FROM mysql.user" \
	    "UPDATE orders SET email = 'x@example.com' WHERE id = 0" \
	    "UPDATE orders SET total_cents = 0 WHERE id = 0" \
	    "DELETE FROM orders WHERE id = 0" \
	    "UPDATE categories SET slug = 'sec-probe' WHERE id = 0" \
	    "GRANT SELECT ON catalog.products TO 'catalog'@'localhost'"; do
		if out=$(sec_app_sql "$q"); then
			fail "the app user may: $q"
		fi
		case $out in
		*"ERROR 114"[234]*|*"ERROR 1044"*|*"ERROR 1045"*|*"ERROR 1227"*) ;;
		*) fail "$q: not a privilege error: $out" ;;
		esac
	done
	expect_eq "dead_letter_jobs still there" \
	    "$(sql "SELECT COUNT(*) >= 0 FROM dead_letter_jobs")" 1
}
it_case "DB user: no DROP/CREATE/ALTER/GRANT, no mysql.user, no UPDATE of orders.email or categories.slug (column grants)" t_sec_db_user

t_sec_token_not_logged() {
	local wrong="${CATALOG_ADMIN_TOKEN}x" ids=() f
	http GET /api/orders/1 -H "Authorization: Bearer $CATALOG_ADMIN_TOKEN"
	ids+=("$(header x-request-id)")
	http GET /api/orders/1 -H "Authorization: Bearer $wrong"
	expect_eq "wrong token" "$STATUS" 401
	ids+=("$(header x-request-id)")
	http PATCH /api/products/1 -H "$SEC_J" -H "Authorization: Bearer ${wrong%??}" \
	    --data-binary '{"stock":1}'
	expect_eq "short token" "$STATUS" 401
	ids+=("$(header x-request-id)")
	http DELETE /api/products/999999999 -H "Authorization: bearer $CATALOG_ADMIN_TOKEN"
	ids+=("$(header x-request-id)")
	sleep 0.2	# log lines are written after the answer
	for id in "${ids[@]}"; do
		grep -q "request_id=$id" "$FIX_DIR/log/app.log" ||
		    fail "request $id not in app.log (nothing to check)"
	done
	for f in "$FIX_DIR"/log/*.log; do
		if grep -qF "${CATALOG_ADMIN_TOKEN:0:16}" "$f"; then
			fail "the admin token (or a prefix of it) is in $f"
		fi
	done
}
it_case "the admin token never appears in the logs after admin requests with right and wrong tokens" t_sec_token_not_logged

# Database errors the app turns into answers: a duplicate sku (ER_DUP_ENTRY)
# and an unknown category (a failed foreign key / lookup).  Stopping the
# database for the 503 path is 60-faults-*.sh's business; the source check
# above covers the 503's fixed text.
t_sec_db_errors_hidden() {
	local sku slug auth="Authorization: Bearer $CATALOG_ADMIN_TOKEN"
	sku=$(sql "SELECT sku FROM products ORDER BY id LIMIT 1")
	slug=$(sql "SELECT slug FROM categories ORDER BY id LIMIT 1")
	http POST /api/products -H "$SEC_J" -H "$auth" --data-binary \
	    "{\"sku\":\"$sku\",\"name\":\"dup\",\"category\":\"$slug\",\"price_cents\":1,\"stock\":1}"
	expect_eq "duplicate sku" "$STATUS" 409
	sec_no_server_text "duplicate sku"
	http POST /api/products -H "$SEC_J" -H "$auth" --data-binary \
	    '{"sku":"SEC-NOCAT-1","name":"x","category":"no-such-category","price_cents":1,"stock":1}'
	expect_eq "unknown category" "$STATUS" 422
	sec_no_server_text "unknown category"
	http PATCH /api/products/1 -H "$SEC_J" -H "$auth" --data-binary \
	    '{"category":"no-such-category"}'
	expect_eq "PATCH unknown category" "$STATUS" 422
	sec_no_server_text "PATCH unknown category"
	http POST /api/orders -H "$SEC_J" --data-binary \
	    '{"email":"a@example.com","items":[{"product_id":9223372036854775807,"quantity":1}]}'
	expect_eq "unknown product" "$STATUS" 422
	sec_no_server_text "unknown product"
}
it_case "database errors (duplicate sku, unknown category or product) answer problems without SQL or server text" t_sec_db_errors_hidden

t_sec_nginx_body_limit() {
	local f="$FIX_DIR/sec-body" id
	head -c 65537 /dev/zero | tr '\0' ' ' >"$f"
	http POST /api/orders -H "$SEC_J" --data-binary @"$f"
	expect_eq "65537-byte body" "$STATUS" 413
	expect_eq type "$(header content-type)" application/problem+json
	expect_eq problem "$(json 'j["status"]')" 413
	id=$(header x-request-id)
	# nginx's answer: the app never saw the request
	sleep 0.2
	if grep -q "request_id=$id" "$FIX_DIR/log/app.log"; then
		fail "the app got the 65537-byte body ($id)"
	fi
	# exactly 64 KiB passes nginx and reaches the app (400: not JSON)
	head -c 65536 /dev/zero | tr '\0' ' ' >"$f"
	http POST /api/orders -H "$SEC_J" --data-binary @"$f"
	expect_eq "65536-byte body" "$STATUS" 400
	rm -f "$f"
}
it_case "nginx: a body over 64 KiB is nginx's 413 problem; 64 KiB exactly reaches the app" t_sec_nginx_body_limit

t_sec_nginx_header_limits() {
	local long
	long=$(head -c 9000 /dev/zero | tr '\0' a)
	http GET "/api/products?q=$long"
	expect_eq "9 KB request target" "$STATUS" 414
	expect_eq type "$(header content-type)" application/problem+json
	expect_eq problem "$(json 'j["status"]')" 414
	http GET /api/products -H "X-Long: $long"
	case $STATUS in 400|431) ;; *) fail "9 KB header line: status $STATUS" ;; esac
	expect_eq type "$(header content-type)" application/problem+json
	expect_eq problem "$(json 'j["status"]')" "$STATUS"
}
it_case "nginx: an overlong URI is a 414 problem, an overlong header a 400 problem" t_sec_nginx_header_limits

t_sec_mail_header_injection() {
	local before after
	before=$(sql "SELECT COUNT(*) FROM orders")
	http POST /api/orders -H "$SEC_J" --data-binary \
	    '{"email":"a@b.com\r\nBcc: x@y.z","items":[{"product_id":1,"quantity":1}]}'
	expect_eq "escaped CR LF in email" "$STATUS" 400
	expect_eq type "$(header content-type)" application/problem+json
	http POST /api/orders -H "$SEC_J" --data-binary \
	    "$(printf '{"email":"a@b.com\r\nBcc: x@y.z","items":[{"product_id":1,"quantity":1}]}')"
	expect_eq "raw CR LF in email" "$STATUS" 400
	http POST /api/orders -H "$SEC_J" --data-binary \
	    '{"email":"a@b.com\nBcc: x@y.z","items":[{"product_id":1,"quantity":1}]}'
	expect_eq "LF in email" "$STATUS" 400
	after=$(sql "SELECT COUNT(*) FROM orders")
	expect_eq "orders created" "$after" "$before"
}
it_case "an order whose email carries CR/LF and a Bcc header is a 400, nothing stored" t_sec_mail_header_injection

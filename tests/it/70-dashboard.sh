# 70-dashboard.sh: the dashboard (GET /admin/) as nginx serves it (its
# security headers), and in a real browser: headless Chromium driven by
# Selenium (tests/lib/dashboard.py, Debian's python3): a wrong token shows
# an error and no data; with the right one the counts equal the database,
# markup in a last_error is text, a dead job replayed from the page (its
# confirm() accepted) is pending in the database, an order's confirmation
# is looked up, no console error, no request to another host, the token
# never in a URL or cookie.  A missing browser is a failure.
# CATALOG_SCREENSHOTS=DIR also saves the page into DIR (docs/ for the
# README).  Rows are this run's (dash-<run>-*) and deleted afterwards.

DASH_RUN=$$$RANDOM

dash_cleanup() {
	sql "DELETE FROM dead_letter_jobs WHERE job_id IN
	    (SELECT id FROM jobs WHERE idempotency_key LIKE 'dash-$DASH_RUN-%')"
	sql "DELETE FROM jobs WHERE idempotency_key LIKE 'dash-$DASH_RUN-%'"
}

# dash_job STATUS ATTEMPTS ERROR MINUTES_AGO: a job of this run, last
# changed MINUTES_AGO; prints its id.  A dead one gets its dead letter.
dash_job() {
	local id
	id=$(sql "INSERT INTO jobs (type, payload, idempotency_key, status,
	    attempts, max_attempts, last_error, updated_at) VALUES
	    ('order_confirmation_email', '{\"order_id\": 0}',
	    'dash-$DASH_RUN-$RANDOM$RANDOM', '$1', $2, 5, $3,
	    NOW(6) - INTERVAL $4 MINUTE); SELECT LAST_INSERT_ID()")
	if [ "$1" = dead ]; then
		sql "INSERT INTO dead_letter_jobs (job_id, type, payload, attempts,
		    last_error, failed_at) SELECT id, type, payload, attempts,
		    last_error, updated_at FROM jobs WHERE id = $id"
	fi
	echo "$id"
}

# dash_get PATH: GET of one of the page's files (not API answers, so not
# through `http`, whose answers 99-openapi.sh checks); sets STATUS, HEADERS.
dash_get() {
	local tmp
	tmp=$(mktemp)
	STATUS=$(curl -sS -o /dev/null -D "$tmp" -w '%{http_code}' --max-time 10 \
	    "$CATALOG_URL$1") || STATUS=000
	HEADERS=$(tr -d '\r' <"$tmp")
	rm -f "$tmp"
}

t_dash_headers() {
	local h
	http GET /admin/
	expect_eq status "$STATUS" 200
	expect_eq type "$(header content-type)" "text/html; charset=utf-8"
	expect_eq csp "$(header content-security-policy)" \
	    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	expect_eq frames "$(header x-frame-options)" DENY
	expect_eq referrer "$(header referrer-policy)" no-referrer
	expect_eq nosniff "$(header x-content-type-options)" nosniff
	[ -n "$(header x-request-id)" ] || fail "no X-Request-Id"
	for h in dashboard.js dashboard.css favicon.svg; do
		dash_get "/admin/$h"
		expect_eq "$h" "$STATUS $(header x-frame-options) $(header x-content-type-options)" \
		    "200 DENY nosniff"
	done
	expect_eq "js type" "$(dash_get /admin/dashboard.js; header content-type)" \
	    "text/javascript; charset=utf-8"
	# nothing inline the policy would have to allow, nothing from elsewhere
	if grep -Eqi '<script>|<style|\sstyle=|\son[a-z]+=|https?://' \
	    "$top_srcdir/www/admin/index.html"; then
		fail "index.html has inline script/style/handlers or an absolute URL"
	fi
	grep -n 'innerHTML\|outerHTML\|insertAdjacentHTML\|document\.write\|eval(' \
	    "$top_srcdir/www/admin/dashboard.js" &&
	    fail "dashboard.js builds markup from strings"
	http GET /admin/no-such-file
	expect_eq "unknown file" "$STATUS $(header content-type)" \
	    "404 application/problem+json"
	dash_get /admin
	expect_eq "no slash" "$STATUS $(header location | sed 's|^https\?://[^/]*||')" \
	    "301 /admin/"
}
it_case "dashboard: served by nginx with CSP, X-Frame-Options, Referrer-Policy, nosniff" t_dash_headers

t_dash_browser() {
	local markup replay order i out
	it_defer dash_cleanup
	# an hour of history for the chart, and the two dead jobs the page acts on
	for i in $(seq 0 3 57); do
		dash_job done 1 NULL "$i" >/dev/null
		[ $((i % 9)) = 0 ] && dash_job done 1 NULL "$i" >/dev/null
		[ $((i % 12)) = 0 ] && dash_job pending 1 "'timeout'" "$i" >/dev/null
	done
	markup=$(dash_job dead 5 "'<b>markup</b> <img src=x onerror=\"document.title=\\'pwned\\'\">'" 20)
	replay=$(dash_job dead 5 "'smtp: 554 5.7.1 relay refused'" 4)
	# catalog reads, so the cache counters are not all zero
	for i in 1 2 3 4 5; do
		http GET "/api/products?per_page=$((i % 2 + 5))"
	done
	http POST /api/orders -H 'Content-Type: application/json' --data-binary \
	    '{"email":"dash@example.com","items":[{"product_id":3,"quantity":1}]}'
	expect_eq order "$STATUS" 201
	order=$(json 'j["id"]')
	out=$("$PYTHON3" "$top_srcdir/tests/lib/dashboard.py" "$CATALOG_URL" \
	    "$CATALOG_ADMIN_TOKEN" "$markup" "$replay" "$order" 2>&1) ||
	    fail "the browser test failed: $out"
	true
}
it_case "dashboard in Chromium: wrong token, counts = DB, markup as text, replay, lookup, silent while hidden, clean console, one host" t_dash_browser

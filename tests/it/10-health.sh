# 10-health.sh: the stack is wired: nginx -> FastCGI -> MariaDB + memcached.

t_healthz_ok() {
	http GET /healthz
	expect_eq status "$STATUS" 200
	expect_eq content-type "$(header content-type)" application/json
	expect_eq body "$BODY" '{"status":"ok","db":"ok","cache":"ok"}'
}
it_case "GET /healthz answers 200 with db and cache ok" t_healthz_ok

t_request_id() {
	http GET /healthz
	[ -n "$(header x-request-id)" ] || fail "no X-Request-Id"
	grep -q "request_id=$(header x-request-id)" "$FIX_DIR/log/app.log" ||
	    fail "request id not in the app log"
}
it_case "nginx passes \$request_id to the app log" t_request_id

t_unknown_route() {
	http GET /api/nope
	expect_eq status "$STATUS" 404
	expect_eq type "$(header content-type)" application/problem+json
	expect_eq problem "$(json 'j["status"]')" 404
}
it_case "unknown route is a 404 problem" t_unknown_route

t_method_not_allowed() {
	http DELETE /healthz
	expect_eq status "$STATUS" 405
	expect_eq allow "$(header allow)" "GET, HEAD"
}
it_case "wrong method is a 405 problem with Allow" t_method_not_allowed

t_runner_once() {
	"$RUNNER" --config "$CATALOG_CONF" run --once || fail "run --once exited $?"
}
it_case "job-runner run --once exits 0 on an empty queue" t_runner_once

t_runner_usage() {
	local rc=0
	"$RUNNER" --config "$CATALOG_CONF" frobnicate 2>/dev/null || rc=$?
	expect_eq "unknown command exit" "$rc" 64
	rc=0
	"$RUNNER" --version | grep -q '^job-runner ' || fail "no version"
	"$APP" --version | grep -q '^catalog-fcgi ' || fail "no app version"
	printf 'app.workers = many\n' >"$FIX_DIR/bad.conf"
	"$APP" --config "$FIX_DIR/bad.conf" 2>"$FIX_DIR/bad.err" || rc=$?
	expect_eq "bad config exit" "$rc" 78
	grep -q "bad.conf:1: app.workers:" "$FIX_DIR/bad.err" || fail "no file:line:key"
}
it_case "command lines: usage 64, config 78, --version" t_runner_usage

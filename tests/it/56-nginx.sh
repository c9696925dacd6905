# 56-nginx.sh: nginx as an operator expects it, through the shipped snippet
# (nginx/catalog-locations.conf, which the stack's nginx includes): every
# error nginx produces itself is an RFC 9457 problem with its content type,
# every answer says X-Content-Type-Options: nosniff and no nginx version;
# the production site (nginx/catalog.conf) is the default server, passes
# `nginx -t`, and cannot load beside Debian's default site.
#
# These answers are nginx's, outside docs/openapi.yaml, so the requests go
# through ng_get, not the fixture's recording `http`.

# ng_get CURL-ARGS...: STATUS, BODY, HEADERS of one request (curl's own
# arguments, so any method, header or body), not recorded for 99-openapi.
ng_get() {
	local tmp
	tmp=$(mktemp)
	STATUS=$(curl -sS -o "$tmp" -D "$tmp.h" -w '%{http_code}' --max-time 10 \
	    "$@") || STATUS=000
	BODY=$(cat "$tmp")
	HEADERS=$(tr -d '\r' <"$tmp.h")
	rm -f "$tmp" "$tmp.h"
}

# ng_raw BYTES: sends BYTES to nginx as they are (printf escapes) and sets
# STATUS, BODY and HEADERS from the answer: requests curl will not send.
ng_raw() {
	local out
	out=$("$PYTHON3" - "${CATALOG_URL#http://}" "$1" <<'EOF'
import socket, sys
host, port = sys.argv[1].split("/")[0].rsplit(":", 1)
req = sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(req)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode("latin-1"))
EOF
	) || fail "ng_raw: no answer to $1"
	STATUS=$(printf '%s' "$out" | head -n 1 | awk '{ print $2 }')
	HEADERS=$(printf '%s' "$out" | tr -d '\r' | sed '/^$/q')
	BODY=$(printf '%s' "$out" | tr -d '\r' | sed '1,/^$/d')
}

# ng_is_problem STATUS: the last answer is nginx's problem document for it.
ng_is_problem() {
	expect_eq status "$STATUS" "$1"
	expect_eq content-type "$(header content-type)" application/problem+json
	expect_eq "problem status" "$(json 'j["status"]')" "$1"
	expect_eq "problem type" "$(json 'j["type"]')" about:blank
	[ -n "$(json 'j["title"]')" ] || fail "$1: problem without a title"
	expect_eq nosniff "$(header x-content-type-options)" nosniff
	expect_eq server "$(header server)" nginx
}

t_ng_trace() {
	ng_get -X TRACE "$CATALOG_URL/api/products"
	ng_is_problem 405
	ng_get -X TRACE "$CATALOG_URL/x.html"
	ng_is_problem 405
}
it_case "nginx: TRACE is a 405 problem" t_ng_trace

t_ng_unknown_te() {
	ng_raw 'POST /api/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n'
	ng_is_problem 501
	ng_raw 'POST /api/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\nConnection: close\r\n\r\n'
	ng_is_problem 501
}
it_case "nginx: an unknown Transfer-Encoding is a 501 problem" t_ng_unknown_te

t_ng_404() {
	local u
	for u in /x.html /index.html /favicon.ico /robots.txt /style.css /api /_problem/400 \
	    /_problem/404; do
		ng_get "$CATALOG_URL$u"
		ng_is_problem 404
	done
	ng_get -I "$CATALOG_URL/x.html"
	expect_eq "HEAD /x.html" "$STATUS" 404
	expect_eq "HEAD content-type" "$(header content-type)" application/problem+json
}
it_case "nginx: any path outside the API (x.html, favicon.ico, the internal /_problem/) is a 404 problem" t_ng_404

t_ng_protocol_errors() {
	ng_raw 'GET / HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n'
	ng_is_problem 505
	ng_raw 'GET /api/products HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab'
	ng_is_problem 400
	ng_raw 'GET /api/products HTTP/1.1\r\nConnection: close\r\n\r\n'
	ng_is_problem 400
	ng_raw 'BREW /pot HTTP/1.1 x\r\n\r\n'
	ng_is_problem 400
}
it_case "nginx: an HTTP/2.0 request line is a 505 problem, bad framing and no Host a 400 problem" t_ng_protocol_errors

t_ng_headers_everywhere() {
	ng_get "$CATALOG_URL/api/categories"
	expect_eq "app answer" "$STATUS" 200
	expect_eq "app answer nosniff" "$(header x-content-type-options)" nosniff
	expect_eq "app answer server" "$(header server)" nginx
	ng_get "$CATALOG_URL/api/nope"
	expect_eq "app 404" "$STATUS" 404
	expect_eq "app 404 nosniff" "$(header x-content-type-options)" nosniff
	# one header, not the app's and nginx's
	expect_eq "one nosniff" "$(printf '%s\n' "$HEADERS" | grep -ci '^x-content-type-options:')" 1
}
it_case "every answer (the app's too) has one X-Content-Type-Options: nosniff and Server: nginx without a version" t_ng_headers_everywhere

# The production site with the shipped snippet, in a private prefix: it
# loads, it is the default server, and Debian's default site beside it
# stops `nginx -t` (so the docs' "remove the default site" cannot be
# skipped silently).
t_ng_site_default_server() {
	local d out rc=0 nginx_bin
	nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
	d=$(mktemp -d /tmp/catalog-ngsite.XXXXXX) || fail "mktemp"
	it_defer "rm -rf $d"
	mkdir -p "$d/snippets" "$d/sites" "$d/logs" || fail "mkdir"
	cp /etc/nginx/fastcgi_params /etc/nginx/mime.types "$d/" || fail "no /etc/nginx/fastcgi_params"
	cp "$top_srcdir/nginx/catalog-locations.conf" "$d/snippets/" || fail "cp"
	sed -e "s|/var/log/nginx/|$d/logs/|" "$top_srcdir/nginx/catalog.conf" \
	    >"$d/sites/catalog" || fail "sed"
	grep -Eq '^ *listen 80 default_server;' "$d/sites/catalog" ||
	    fail "the site is not port 80's default_server"
	printf 'pid %s/nginx.pid;\nerror_log %s/logs/error.log;\nevents {}\nhttp {\n  include mime.types;\n  access_log off;\n  include sites/*;\n}\n' \
	    "$d" "$d" >"$d/nginx.conf"
	out=$("$nginx_bin" -t -p "$d/" -c "$d/nginx.conf" 2>&1) ||
	    fail "nginx -t of the shipped site: $out"
	# Debian's default site (as nginx-common ships it) beside it
	printf 'server {\n  listen 80 default_server;\n  listen [::]:80 default_server;\n  root /var/www/html;\n  server_name _;\n}\n' \
	    >"$d/sites/default"
	out=$("$nginx_bin" -t -p "$d/" -c "$d/nginx.conf" 2>&1) || rc=$?
	[ "$rc" != 0 ] || fail "nginx -t accepted the site beside Debian's default site"
	case $out in *"duplicate default server"*) ;;
	*) fail "nginx -t with the default site: $out" ;; esac
}
it_case "nginx/catalog.conf is port 80's default server, passes nginx -t, and refuses to load beside Debian's default site" t_ng_site_default_server

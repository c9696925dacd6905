# 26-frontends.sh: the app behind any FastCGI server.  The same requests go
# through nginx, lighttpd (mod_fastcgi), Apache 2.4 (mod_proxy_fcgi) and
# h2o, each configured as docs/DEPLOYMENT.md shows for the app mounted at
# `/`, and each answer must equal nginx's byte for byte: status, body and
# the headers a client acts on (Content-Type, ETag, Location, Allow,
# WWW-Authenticate).  The four servers are private instances on free
# loopback ports with their configuration in $FIX_DIR/fe; they share one
# catalog-fcgi (the fixture's configuration on a TCP port), so every
# difference is the front end's variables, never the data.  Every answer
# is also recorded for tests/it/99-openapi.sh (docs/openapi.yaml must hold
# behind each front end), under its canonical path.

FE_DIR=$FIX_DIR/fe
FE_NAMES="nginx lighttpd apache h2o"

# fe_start: the app and the four servers; FE_PORT_<name> and FE_APP_PORT.
# The file's setup (a failure is the suite's "Bail out!"); fe_stop is
# registered with fixture_on_down first.  Each server is disowned: a
# case's end kills the background jobs it sees, and these serve them all.
fe_start() {
	local n port
	fixture_on_down fe_stop
	mkdir -p "$FE_DIR/www" "$FE_DIR/out" "$FE_DIR/apache" ||
	    fail "cannot make $FE_DIR"
	FE_APP_PORT=$(fixture_free_port) || fail "no free port"
	for n in $FE_NAMES; do
		port=$(fixture_free_port) || fail "no free port"
		printf -v "FE_PORT_$n" '%s' "$port"
	done
	sed "s|^app.listen.*|app.listen = 127.0.0.1:$FE_APP_PORT|" \
	    "$CATALOG_CONF" >"$FE_DIR/app.conf"
	"$APP" --config "$FE_DIR/app.conf" 2>"$FE_DIR/app.log" &
	echo $! >"$FE_DIR/app.pid"
	disown

	# nginx: the shipped locations snippet and upstream settings, over TCP
	fixture_nginx_conf "$FE_DIR/nginx" "$FE_PORT_nginx" "127.0.0.1:$FE_APP_PORT" \
	    "$(grep -E '^ +keepalive(_timeout|_time)? ' "$top_srcdir/nginx/catalog.conf")" ||
	    fail "cannot write the nginx configuration"
	nginx -c "$FE_DIR/nginx/nginx.conf" -p "$FE_DIR/nginx/" \
	    -e "$FE_DIR/nginx/error.log" 2>>"$FE_DIR/nginx/error.log" &
	echo $! >"$FE_DIR/nginx.pid"
	disown

	# lighttpd: mod_fastcgi at "/", as a new user writes it
	cat >"$FE_DIR/lighttpd.conf" <<-EOF
	server.modules = ( "mod_access", "mod_fastcgi" )
	server.document-root = "$FE_DIR/www"
	server.bind = "127.0.0.1"
	server.port = $FE_PORT_lighttpd
	server.errorlog = "$FE_DIR/lighttpd.log"
	fastcgi.server = (
	    "/" => ((
	        "host" => "127.0.0.1",
	        "port" => $FE_APP_PORT,
	        "check-local" => "disable",
	    )),
	)
	\$HTTP["url"] == "/metrics" {
	    \$HTTP["remoteip"] != "127.0.0.1" { url.access-deny = ( "" ) }
	}
	EOF
	lighttpd -D -f "$FE_DIR/lighttpd.conf" 2>>"$FE_DIR/lighttpd.log" &
	echo $! >"$FE_DIR/lighttpd.pid"
	disown

	# Apache: mod_proxy_fcgi; children as nobody (TCP needs no file access)
	cat >"$FE_DIR/apache.conf" <<-EOF
	ServerRoot $FE_DIR/apache
	DefaultRuntimeDir $FE_DIR/apache
	PidFile $FE_DIR/apache/httpd.pid
	ErrorLog $FE_DIR/apache/error.log
	ServerName localhost
	Listen 127.0.0.1:$FE_PORT_apache
	LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
	LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
	LoadModule authz_host_module /usr/lib/apache2/modules/mod_authz_host.so
	LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
	LoadModule proxy_fcgi_module /usr/lib/apache2/modules/mod_proxy_fcgi.so
	User nobody
	Group nogroup
	ProxyPass "/" "fcgi://127.0.0.1:$FE_APP_PORT/"
	<Location "/">
	    CGIPassAuth On
	</Location>
	<Location "/metrics">
	    Require ip 127.0.0.1 ::1
	</Location>
	EOF
	apache2 -f "$FE_DIR/apache.conf" -DFOREGROUND 2>>"$FE_DIR/apache/error.log" &
	echo $! >"$FE_DIR/apache.pid"
	disown

	# h2o: fastcgi.connect at "/"
	cat >"$FE_DIR/h2o.conf" <<-EOF
	listen:
	  host: 127.0.0.1
	  port: $FE_PORT_h2o
	error-log: $FE_DIR/h2o.log
	hosts:
	  default:
	    paths:
	      "/metrics":
	        mruby.handler: |
	          Proc.new do |env|
	            env["REMOTE_ADDR"] == "127.0.0.1" ? [399, {}, []] : [403, {}, []]
	          end
	        fastcgi.connect:
	          host: 127.0.0.1
	          port: $FE_APP_PORT
	          type: tcp
	      "/":
	        fastcgi.connect:
	          host: 127.0.0.1
	          port: $FE_APP_PORT
	          type: tcp
	EOF
	h2o -c "$FE_DIR/h2o.conf" >>"$FE_DIR/h2o.log" 2>&1 &
	echo $! >"$FE_DIR/h2o.pid"
	disown
}

# fe_stop: every process fe_start started, by its pid (the file's end, or
# fixture_down when the suite ends early).
fe_stop() {
	local n pid _
	for n in nginx lighttpd apache h2o app; do
		[ -s "$FE_DIR/$n.pid" ] || continue
		pid=$(cat "$FE_DIR/$n.pid")
		if kill -TERM "$pid" 2>/dev/null; then
			# disowned: polled, not waited for (the app drains)
			for _ in $(seq 1 150); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
		fi
		rm -f "$FE_DIR/$n.pid"
	done
	return 0
}

# fe_port NAME: the port of front end NAME.
fe_port() { local v="FE_PORT_$1"; echo "${!v}"; }

# fe_fetch NAME TAG METHOD PATH [curl args...]: one request through front
# end NAME; TAG names the result files ($FE_DIR/out/NAME/TAG.*): .status,
# .body, .headers (the compared ones, lower-case names, in this order).
# The answer is recorded for the OpenAPI check as a request for $FE_AS
# when set (the canonical form of a path written with escapes or dot
# segments), else PATH.
fe_fetch() {
	local name=$1 tag=$2 method=$3 path=$4 out h
	shift 4
	out=$FE_DIR/out/$name
	mkdir -p "$out"
	: >"$out/$tag.body"	# curl creates no file for an empty body
	# a HEAD is sent with curl -I, which reads no body and writes the
	# headers to -o as well
	[ "$method" = HEAD ] && set -- -I "$@"
	curl -sS --path-as-is -o "$out/$tag.body" -D "$out/$tag.raw" \
	    -w '%{http_code}' --max-time 10 -X "$method" "$@" \
	    "http://127.0.0.1:$(fe_port "$name")$path" >"$out/$tag.status" 2>"$out/$tag.err" ||
	    echo 000 >"$out/$tag.status"
	[ "$method" = HEAD ] && : >"$out/$tag.body"
	for h in content-type etag location allow www-authenticate; do
		tr -d '\r' <"$out/$tag.raw" | awk -v n="$h" -F': ' \
		    'tolower($1) == n { sub(/^[^:]*: /, ""); print n ": " $0 }'
	done >"$out/$tag.headers"
	openapi_record "$method" "${FE_AS:-$path}" "$out/$tag.body" "$out/$tag.raw" "$@"
}

# fe_same TAG METHOD PATH [curl args...]: the request through every front
# end; each answer must equal nginx's, or the case fails listing the
# differences.
fe_same() {
	local tag=$1 method=$2 path=$3 n f bad=""
	shift 3
	for n in $FE_NAMES; do
		fe_fetch "$n" "$tag" "$method" "$path" "$@"
	done
	for n in $FE_NAMES; do
		[ "$n" = nginx ] && continue
		for f in status headers body; do
			cmp -s "$FE_DIR/out/nginx/$tag.$f" "$FE_DIR/out/$n/$tag.$f" ||
			    bad="$bad
$method $path: $n's $f differs from nginx's:
  nginx: $(head -c 300 "$FE_DIR/out/nginx/$tag.$f" | tr '\n' ' ')
  $n: $(head -c 300 "$FE_DIR/out/$n/$tag.$f" | tr '\n' ' ')"
		done
	done
	[ -z "$bad" ] || fail "$bad"
}

# fe_expect TAG STATUS: nginx's answer for TAG had this status (so a
# comparison of four identical failures does not pass).
fe_expect() {
	expect_eq "$1 status" "$(cat "$FE_DIR/out/nginx/$1.status")" "$2"
}

t_fe_up() {
	local n code _
	for n in $FE_NAMES; do
		for _ in $(seq 1 100); do
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
			    "http://127.0.0.1:$(fe_port "$n")/healthz") || code=000
			[ "$code" = 200 ] && break
			sleep 0.1
		done
		[ "$code" = 200 ] || tail -n 5 "$FE_DIR"/*.log "$FE_DIR"/*/error.log 2>/dev/null
		expect_eq "$n: GET /healthz" "$code" 200
	done
}

fe_start
it_case "front ends: nginx, lighttpd, Apache and h2o start and reach the app" t_fe_up

t_fe_reads() {
	local etag
	fe_same health GET /healthz
	fe_expect health 200
	fe_same cats GET /api/categories
	fe_expect cats 200
	# twice: a miss then a hit, the same bytes either way
	fe_same list GET '/api/products?category=garden-tools&per_page=5&sort=-price'
	fe_expect list 200
	fe_same list2 GET '/api/products?category=garden-tools&per_page=5&sort=-price'
	fe_expect list2 200
	fe_same one GET /api/products/1
	fe_expect one 200
	etag=$(awk '/^etag: / { print $2 }' "$FE_DIR/out/nginx/one.headers")
	[ -n "$etag" ] || fail "no ETag on GET /api/products/1"
	fe_same head HEAD /api/products/1
	fe_expect head 200
	fe_same inm GET /api/products/1 -H "If-None-Match: $etag"
	fe_expect inm 304
	fe_same inm-other GET /api/products/1 -H 'If-None-Match: "other"'
	fe_expect inm-other 200
}
it_case "front ends: the same reads, HEAD and 304 as nginx" t_fe_reads

t_fe_paths() {
	# each server decodes and normalizes differently; the app's path must
	# come out the same (docs/DEPLOYMENT.md, http_request_path())
	FE_AS=/api/products/1 fe_same enc GET /api/products/%31
	fe_expect enc 200
	cmp -s "$FE_DIR/out/nginx/enc.body" "$FE_DIR/out/nginx/one.body" ||
	    fail "/api/products/%31 is not /api/products/1"
	FE_AS=/api/products/1 fe_same dots GET /api/x/../products/./1
	fe_expect dots 200
	FE_AS=/api/products/1 fe_same slashes GET '/api//products///1'
	fe_expect slashes 200
	fe_same trailing GET /api/products/
	fe_expect trailing 404
	fe_same query GET '/api/products?per_page=3&utm=%2F..%2F'
	fe_expect query 200
}
it_case "front ends: escapes, dot segments and repeated slashes give one path" t_fe_paths

t_fe_errors() {
	fe_same nores GET /api/nothing-here
	fe_expect nores 404
	fe_same noprod GET /api/products/999999999
	fe_expect noprod 404
	fe_same nocat GET '/api/products?category=no-such-category'
	fe_expect nocat 404
	fe_same perpage GET '/api/products?per_page=0'
	fe_expect perpage 400
	fe_same page GET '/api/products?page=abc'
	fe_expect page 400
	fe_same method DELETE /api/categories
	fe_expect method 405
	grep -q '^allow: ' "$FE_DIR/out/nginx/method.headers" || fail "405 without Allow"
	fe_same put PUT /api/products/1 -H 'Content-Type: application/json' \
	    --data-binary '{}'
	fe_expect put 405
	fe_same notjson POST /api/orders -H 'Content-Type: text/plain' \
	    --data-binary 'hello'
	fe_expect notjson 415
	fe_same badjson POST /api/orders -H 'Content-Type: application/json' \
	    --data-binary '{"email":'
	fe_expect badjson 400
	fe_same noproduct POST /api/orders -H 'Content-Type: application/json' \
	    --data-binary '{"email":"fe@example.com","items":[{"product_id":999999999,"quantity":1}]}'
	fe_expect noproduct 422
}
it_case "front ends: 404, 400, 405 with Allow, 415, 422 as nginx" t_fe_errors

t_fe_orders() {
	local body n sed_id p1 p2
	p1=$(sql "SELECT MIN(id) FROM products WHERE stock >= 10")
	p2=$(sql "SELECT MAX(id) FROM products WHERE stock >= 10")
	body="{\"email\":\"fe-$FE_APP_PORT@example.com\",\"items\":[{\"product_id\":$p1,\"quantity\":1},{\"product_id\":$p2,\"quantity\":2}]}"
	# the same Idempotency-Key and body: the first answer, four times
	fe_same keyed POST /api/orders -H 'Content-Type: application/json' \
	    -H "Idempotency-Key: fe-$FE_APP_PORT" --data-binary "$body"
	fe_expect keyed 201
	grep -q '^location: /api/orders/[0-9]*$' "$FE_DIR/out/nginx/keyed.headers" ||
	    fail "201 without Location: $(cat "$FE_DIR/out/nginx/keyed.headers")"
	# a fresh order through each: the same answer but for its id
	sed_id='s|"id":[0-9]*|"id":N|; s|/api/orders/[0-9]*|/api/orders/N|'
	for n in $FE_NAMES; do
		fe_fetch "$n" fresh POST /api/orders -H 'Content-Type: application/json' \
		    --data-binary "$body"
		expect_eq "$n: fresh order ($(cat "$FE_DIR/out/$n/fresh.body"))" \
		    "$(cat "$FE_DIR/out/$n/fresh.status")" 201
		sed "$sed_id" "$FE_DIR/out/$n/fresh.body" >"$FE_DIR/out/$n/fresh.masked"
		sed "$sed_id" "$FE_DIR/out/$n/fresh.headers" >>"$FE_DIR/out/$n/fresh.masked"
		cmp -s "$FE_DIR/out/nginx/fresh.masked" "$FE_DIR/out/$n/fresh.masked" ||
		    fail "$n: fresh order differs: $(cat "$FE_DIR/out/$n/fresh.masked")"
	done
	expect_eq "fresh orders in the database" \
	    "$(sql "SELECT COUNT(*) FROM orders WHERE email = 'fe-$FE_APP_PORT@example.com'")" 5
}
it_case "front ends: POST /api/orders with its body and Idempotency-Key, 201 with Location" t_fe_orders

t_fe_admin() {
	local id price
	id=$(sed -n 's|^location: /api/orders/||p' "$FE_DIR/out/nginx/keyed.headers")
	[ -n "$id" ] || fail "no keyed order from the previous case"
	fe_same anon GET "/api/orders/$id"
	fe_expect anon 401
	grep -q '^www-authenticate: Bearer' "$FE_DIR/out/nginx/anon.headers" ||
	    fail "401 without WWW-Authenticate"
	fe_same wrong GET "/api/orders/$id" -H "Authorization: Bearer ${CATALOG_ADMIN_TOKEN}x"
	fe_expect wrong 401
	fe_same order GET "/api/orders/$id" -H "Authorization: Bearer $CATALOG_ADMIN_TOKEN"
	fe_expect order 200
	price=$(sql "SELECT price_cents FROM products WHERE id = 5")
	fe_same patch PATCH /api/products/5 -H "Authorization: Bearer $CATALOG_ADMIN_TOKEN" \
	    -H 'Content-Type: application/json' --data-binary "{\"price_cents\":$price}"
	fe_expect patch 200
}
it_case "front ends: admin requests with and without the bearer token" t_fe_admin

t_fe_metrics_loopback() {
	local n code
	for n in $FE_NAMES; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		    "http://127.0.0.1:$(fe_port "$n")/metrics")
		expect_eq "$n: /metrics from 127.0.0.1" "$code" 200
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		    --interface 127.0.0.2 "http://127.0.0.1:$(fe_port "$n")/metrics")
		expect_eq "$n: /metrics from 127.0.0.2" "$code" 403
	done
}
it_case "front ends: /metrics answers loopback clients only, as documented" t_fe_metrics_loopback

fe_stop

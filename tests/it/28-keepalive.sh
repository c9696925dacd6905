# 28-keepalive.sh: kept FastCGI connections never make a request wait.
# nginx keeps connections to the app (fastcgi_keep_conn on, upstream
# keepalive): a quiet kept connection must not hold anything a new one
# needs, whatever their number, and a burst of new connections is served
# at once.  libfcgi's accept loops failed the first case: each kept
# connection parked a loop, and past app.workers x app.threads of them
# every new connection waited in the backlog.

KA_CLIENT="$top_srcdir/tests/lib/fcgi_client.py"
KA_SOCK="$FIX_DIR/run/app.sock"

# ka_conf KEY: a value of the fixture's configuration.
ka_conf() { awk -F' *= *' -v k="$1" '$1 == k { print $2 }' "$CATALOG_CONF"; }

t_kept_connections_do_not_block() {
	local out="$FIX_DIR/hold.out" hold loops n slow="" t _ i
	loops=$(($(ka_conf app.workers) * $(ka_conf app.threads)))
	n=$((loops * 16))	# far more kept connections than threads
	"$PYTHON3" "$KA_CLIENT" "$KA_SOCK" hold "$n" /api/products/1 6 >"$out" 2>&1 &
	hold=$!
	for _ in $(seq 1 150); do grep -q '^held' "$out" && break; sleep 0.1; done
	expect_eq "kept connections opened, one request answered on each" \
	    "$(grep '^held' "$out")" "held $n"
	# while they are quiet: new requests through nginx, each at once
	for i in $(seq 1 40); do
		t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 \
		    "$CATALOG_URL/api/products/$((i % 20 + 1))")
		awk -v t="${t#* }" 'BEGIN { exit !(t < 1.0) }' && [ "${t% *}" = 200 ] ||
		    slow="$slow $i:$t"
	done
	# and new FastCGI connections straight to the app
	t=$(python3 "$KA_CLIENT" "$KA_SOCK" burst 200 /api/categories)
	wait "$hold" || fail "the client holding the connections exited $?"
	[ -z "$slow" ] || fail "requests that waited ($n quiet kept connections):$slow"
	[[ $t == "ok 200 errors 0 "* ]] || fail "burst beside $n kept connections: $t"
	# the quiet connections were kept, not dropped
	expect_eq "kept connections still served afterwards" \
	    "$(grep '^answered' "$out")" "answered $n"
}
it_case "$((4 * 4 * 16)) quiet kept connections: new requests answered at once, the kept ones still served" t_kept_connections_do_not_block

# 1000 new connections at once, straight to the app and through nginx
# (which keeps up to 256 of the connections it then opens): every request
# answered, none failed.  The bounds are generous (2 cores shared with
# the rest of the suite); what they catch is a connection left waiting
# in the backlog behind the others.
t_burst_1000() {
	local out max
	out=$(python3 "$KA_CLIENT" "$KA_SOCK" burst 1000 '/api/products?category=garden-tools')
	echo "# app: $out"
	[[ $out == "ok 1000 errors 0 "* ]] || fail "burst straight to the app: $out"
	max=${out##* max }
	awk -v m="$max" 'BEGIN { exit !(m < 5000) }' || fail "slowest answer $max ms"
	out=$(python3 "$KA_CLIENT" "${CATALOG_URL#http://}" http-burst 1000 \
	    '/api/products?category=garden-tools')
	echo "# nginx: $out"
	[[ $out == "ok 1000 errors 0 "* ]] || fail "burst through nginx: $out"
	max=${out##* max }
	awk -v m="$max" 'BEGIN { exit !(m < 5000) }' || fail "slowest answer $max ms"
}
it_case "a burst of 1000 new connections, to the app and through nginx: all answered" t_burst_1000

# nginx really keeps them: right after a run of requests its connections
# are still open, until its keepalive_timeout (2 s) ends them.
ka_kept() { ss -xH state established | grep -c " $KA_SOCK "; }

t_nginx_keeps_connections() {
	local n _
	curl -s --no-progress-meter --parallel --parallel-max 8 -o /dev/null \
	    $(for _ in $(seq 1 200); do printf '%s ' "$CATALOG_URL/api/products/1"; done) \
	    >/dev/null 2>&1
	n=$(ka_kept)
	[ "$n" -ge 1 ] || fail "no FastCGI connection kept open after 200 requests"
	for _ in $(seq 1 60); do [ "$(ka_kept)" = 0 ] && break; sleep 0.1; done
	expect_eq "kept connections 6 s later (nginx closes them after 2 s)" "$(ka_kept)" 0
}
it_case "nginx keeps its FastCGI connections between requests and closes them when quiet" t_nginx_keeps_connections

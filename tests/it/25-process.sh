# 25-process.sh: the catalog-fcgi process model outside the stack's own
# instance: inherited sockets (spawn-fcgi, systemd socket activation), a
# graceful stop on SIGTERM, and a replaced worker.

# fcgi_get SOCKET PATH: one FastCGI GET through cgi-fcgi, the raw answer.
fcgi_get() {
	env -i REQUEST_METHOD=GET DOCUMENT_URI="$2" SCRIPT_NAME="$2" \
	    QUERY_STRING= SERVER_PROTOCOL=HTTP/1.1 \
	    timeout 10 cgi-fcgi -bind -connect "$1"
}

t_spawn_fcgi() {
	local sock="$FIX_DIR/run/spawned.sock" out pid
	rm -f "$sock"
	# -n: no fork; spawn-fcgi binds the socket and execs the app with it
	# on fd 0, as FastCGI process managers do
	spawn-fcgi -n -s "$sock" -M 0666 -- "$APP" --config "$CATALOG_CONF" \
	    2>"$FIX_DIR/log/spawned.log" &
	pid=$!
	for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
	out=$(fcgi_get "$sock" /healthz)
	kill -TERM "$pid" || fail "the app is gone before SIGTERM"
	wait "$pid" || fail "exit status $? after SIGTERM"
	grep -q 'source=inherited fd=0' "$FIX_DIR/log/spawned.log" ||
	    fail "did not use the inherited socket"
	printf '%s\n' "$out" | grep -q '"db":"ok"' || fail "no health answer: $out"
}
it_case "runs under spawn-fcgi on an inherited socket (fd 0)" t_spawn_fcgi

t_socket_activation() {
	local sock="$FIX_DIR/run/activated.sock" out pid
	command -v systemd-socket-activate >/dev/null || fail "systemd-socket-activate missing"
	rm -f "$sock"
	systemd-socket-activate -l "$sock" "$APP" --config "$CATALOG_CONF" \
	    2>"$FIX_DIR/log/activated.log" &
	pid=$!
	for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
	out=$(fcgi_get "$sock" /api/products/1)
	kill -TERM "$pid" || fail "the app is gone before SIGTERM"
	wait "$pid" || fail "exit status $? after SIGTERM"
	grep -q 'source=systemd fd=3' "$FIX_DIR/log/activated.log" ||
	    fail "did not use the activated socket"
	printf '%s\n' "$out" | grep -q '"id":1,' || fail "no product: $out"
}
it_case "runs under systemd socket activation (LISTEN_FDS, fd 3)" t_socket_activation

t_sigterm_drains() {
	local sock="$FIX_DIR/run/drain.sock" conf="$FIX_DIR/drain.conf" pid rc=0 t0
	sed "s|^app.listen.*|app.listen = $sock|" "$CATALOG_CONF" >"$conf"
	"$APP" --config "$conf" 2>"$FIX_DIR/log/drain.log" &
	pid=$!
	for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
	fcgi_get "$sock" /healthz | grep -q '"status":"ok"' || fail "not serving"
	[ "$(pgrep -P "$pid" | wc -l)" -eq "$(awk '$1 == "app.workers" { print $3 }' "$conf")" ] ||
	    fail "worker count"
	t0=$(date +%s%N)
	kill -TERM "$pid" || fail "the app is gone before SIGTERM"
	wait "$pid" || rc=$?
	expect_eq "exit status" "$rc" 0
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 5000 ] || fail "slow stop"
	[ ! -e "$sock" ] || fail "socket file left behind"
	grep -q 'event=stopped' "$FIX_DIR/log/drain.log" || fail "no stopped line"
}
it_case "SIGTERM: workers drain, master exits 0, socket removed" t_sigterm_drains

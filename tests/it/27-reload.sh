# 27-reload.sh: configuration reloads and restarts without a failed
# request.  SIGHUP under a read and order load replaces every worker twice
# (0 failures, every order whole); a file that does not load is refused
# with its file:line: key and the running workers stay; a restart on a
# socket held across it (what systemd's catalog-fcgi.socket does) loses
# nothing either.
# shellcheck source=../lib/faults.sh
. "$top_srcdir/tests/lib/faults.sh"

rl_master() { cat "$FIX_DIR/run/app.pid"; }

# rl_children PID: the worker pids of master PID, one a line, sorted.
rl_children() { pgrep -P "$1" | sort -n; }

# rl_new_generation MASTER N OLD_PIDS: waits (<= 15 s) until MASTER has N
# workers that are not among OLD_PIDS (a space-separated list); prints
# them.  Fails the case when they do not come.
rl_new_generation() {
	local master=$1 want=$2 old=" $(echo $3) " now fresh _ p
	for _ in $(seq 1 150); do
		now=$(rl_children "$master")
		fresh=""
		for p in $now; do [[ $old == *" $p "* ]] || fresh="$fresh $p"; done
		if [ "$(wc -w <<<"$fresh")" = "$want" ]; then
			echo $fresh
			return 0
		fi
		sleep 0.1
	done
	fail "workers of $master: $(echo $now), want $want new ones besides$old"
}

# rl_only MASTER PIDS: waits (<= 15 s) until MASTER's workers are exactly
# PIDS: the generations before have drained and exited.  Fails the case
# when they do not.
rl_only() {
	local _ now want
	want=$(echo $2 | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
	for _ in $(seq 1 150); do
		now=$(echo $(rl_children "$1"))
		[ "$now" = "$want" ] && return 0
		sleep 0.1
	done
	fail "workers $now, want only $want"
}

# rl_set KEY VALUE: changes one key of the fixture's configuration file.
rl_set() {
	sed -i "s|^$1 *=.*|$1 = $2|" "$CATALOG_CONF"
	grep -q "^$1 = $2\$" "$CATALOG_CONF" || echo "$1 = $2" >>"$CATALOG_CONF"
}

# rl_products: 20 products in stock (fl_restock then tops them up: the
# load orders thousands of units).
rl_products() {
	sql "SELECT GROUP_CONCAT(id SEPARATOR ' ') FROM (SELECT id FROM products
	    WHERE stock > 0 ORDER BY id LIMIT 20) x"
}

# rl_spans T1 T2: the load's requests started before T1, between T1 and T2,
# and after T2 (ms); each span must have some, or the load did not cover
# the events it is meant to test (the case fails).
rl_spans() {
	local counts
	counts=$(fl_results | awk -v a="$1" -v b="$2" '
	    { if ($1 < a) n0++; else if ($1 < b) n1++; else n2++ }
	    END { printf "%d %d %d", n0, n1, n2 }')
	echo "# requests before, between, after: $counts"
	set -- $counts
	[ "$1" -ge 10 ] && [ "$2" -ge 10 ] && [ "$3" -ge 10 ] ||
	    fail "the load does not span both events: $counts"
}

# rl_no_failures: every answer of the load was a 2xx, but for the 404 of
# /api/nothing that is part of it; anything else is a request that the
# reloads or restarts cost.
rl_no_failures() {
	local failed n
	failed=$(fl_results | awk '$3 !~ /^2/ && !($3 == 404 && $4 == "/api/nothing")')
	n=$(fl_results | wc -l)
	[ -z "$failed" ] ||
	    fail "$(wc -l <<<"$failed") of $n failed: $(head -20 <<<"$failed")"
}

RL_URLS="/api/categories /api/products?category=home-decor /api/products/1
/api/products/2 /api/products?per_page=50&sort=-price /healthz /api/nothing"

t_reload_under_load() {
	local master gen0 gen1 gen2 prods reloads0 t1 t2
	fl_init rl
	fl_cleanup rl
	master=$(rl_master)
	cp "$CATALOG_CONF" "$FL_DIR/catalog.conf.orig" || fail "cannot save the configuration"
	# however the case ends: the fixture's file back, and loaded
	it_defer "cmp -s '$FL_DIR/catalog.conf.orig' '$CATALOG_CONF' ||
	    { cp '$FL_DIR/catalog.conf.orig' '$CATALOG_CONF'; kill -HUP $master; sleep 2; }"
	gen0=$(rl_children "$master")
	[ "$(wc -l <<<"$gen0")" = 4 ] || fail "workers before: $(echo $gen0)"
	prods=$(rl_products)
	[ "$(wc -w <<<"$prods")" -ge 5 ] || fail "not enough products for the orders"
	# shellcheck disable=SC2086
	fl_restock $prods
	reloads0=$(grep -c 'event=reloaded' "$FIX_DIR/log/app.log")
	fl_load 10 3 2 rl "$prods" "$(echo $RL_URLS)"
	sleep 1.5
	rl_set app.workers 3
	t1=$(fl_now_ms)
	kill -HUP "$master" || fail "no master $master"
	fl_mark "reload 1: app.workers 3"
	gen1=$(rl_new_generation "$master" 3 "$gen0")
	fl_mark "generation 1: $gen1"
	sleep 2
	cp "$FL_DIR/catalog.conf.orig" "$CATALOG_CONF" || fail "cannot restore the configuration"
	t2=$(fl_now_ms)
	kill -HUP "$master" || fail "no master $master"
	fl_mark "reload 2: app.workers 4"
	gen2=$(rl_new_generation "$master" 4 "$gen0 $gen1")
	fl_mark "generation 2: $gen2"
	fl_wait
	fl_mark "load done: $(fl_summary)"
	rl_only "$master" "$gen2"
	expect_eq "reloads logged" \
	    "$(grep -c 'event=reloaded' "$FIX_DIR/log/app.log")" $((reloads0 + 2))
	rl_spans "$t1" "$t2"
	rl_no_failures
	fl_check_orders rl
	fl_cleanup rl
	fl_healthy
}
it_case "SIGHUP twice under load: workers replaced, 0 failed requests, orders whole" t_reload_under_load

# rl_wait_log PATTERN: up to 5 s for a line of the app's log (grep -E).
rl_wait_log() {
	local _
	for _ in $(seq 1 50); do
		grep -qE "$1" "$FIX_DIR/log/app.log" && return 0
		sleep 0.1
	done
	return 1
}

t_reload_bad_file() {
	local master before line
	master=$(rl_master)
	before=$(rl_children "$master")
	cp "$CATALOG_CONF" "$FIX_DIR/catalog.conf.good" || fail "cannot save the configuration"
	it_defer "[ -e '$CATALOG_CONF' ] && cmp -s '$FIX_DIR/catalog.conf.good' '$CATALOG_CONF' ||
	    cp '$FIX_DIR/catalog.conf.good' '$CATALOG_CONF'"
	sed -i 's/^app.workers *=.*/app.workers = zero/' "$CATALOG_CONF"
	line=$(grep -n '^app.workers' "$CATALOG_CONF" | cut -d: -f1)
	kill -HUP "$master" || fail "no master $master"
	rl_wait_log "event=reload_failed error=\"$CATALOG_CONF:$line: app.workers: bad value" ||
	    fail "no reload_failed line naming $CATALOG_CONF:$line: app.workers: $(tail -n 5 "$FIX_DIR/log/app.log")"
	cp "$FIX_DIR/catalog.conf.good" "$CATALOG_CONF"
	sleep 0.5
	expect_eq "workers after a refused reload" "$(echo $(rl_children "$master"))" "$(echo $before)"
	http GET /api/products/1
	expect_eq "still serving" "$STATUS" 200
	# a file that is gone is refused the same way
	mv "$CATALOG_CONF" "$FIX_DIR/catalog.conf.moved"
	kill -HUP "$master" || fail "no master $master"
	rl_wait_log "event=reload_failed error=\"$CATALOG_CONF: No such file" ||
	    fail "a missing file was not refused: $(tail -n 5 "$FIX_DIR/log/app.log")"
	mv "$FIX_DIR/catalog.conf.moved" "$CATALOG_CONF"
	expect_eq "workers after the missing file" "$(echo $(rl_children "$master"))" "$(echo $before)"
}
it_case "SIGHUP with a bad or missing file: logged with file:line: key, old workers keep serving" t_reload_bad_file

# The restart of a socket-activated service: the manager holds the socket,
# stops the app (its drain) and starts it again on the same socket, while
# nginx keeps sending.  systemd-socket-activate creates the socket and
# passes it (LISTEN_FDS) to a small loop standing in for systemd, which
# starts catalog-fcgi again whenever it exits; SIGTERM to the loop (the
# case's end) stops it and its app.

# rs_stop DIR HOLDER: the case's nginx and holder loop, however it ended.
rs_stop() {
	local _
	[ -s "$1/run/nginx.pid" ] &&
	    nginx -c "$1/nginx/nginx.conf" -p "$1/nginx/" -e "$1/log/nginx-error.log" -s quit
	touch "$1/stop"
	kill -TERM "$2" 2>/dev/null
	for _ in $(seq 1 150); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
	return 0
}

# rs_next_master HOLDER OLD: waits (<= 10 s) for the holder's app other
# than OLD; prints its pid.
rs_next_master() {
	local m _
	for _ in $(seq 1 100); do
		m=$(pgrep -P "$1")
		[ -n "$m" ] && [ "$m" != "$2" ] && { echo "$m"; return 0; }
		sleep 0.1
	done
	fail "no new master under the holder after $2"
}

t_restart_socket_held() {
	local dir sock conf port holder m0 m1 m2 prods _ content t1 t2
	fl_init rs
	fl_cleanup rs
	dir="$FL_DIR/held"
	mkdir -p "$dir/run" "$dir/log" "$dir/nginx" || fail "cannot make $dir"
	sock="$dir/run/app.sock"
	conf="$dir/catalog.conf"
	cp "$CATALOG_CONF" "$conf" || fail "cannot copy the configuration"
	systemd-socket-activate -l "$sock" bash -c '
	    trap "touch \"\$0/stop\"; kill -TERM \$app 2>/dev/null" TERM
	    while [ ! -e "$0/stop" ]; do
	        (export LISTEN_PID=$BASHPID LISTEN_FDS=1; exec "$1" --config "$2") &
	        app=$!
	        wait "$app"
	    done
	    wait' "$dir" "$APP" "$conf" 2>>"$dir/log/app.log" &
	holder=$!
	it_defer "rs_stop '$dir' $holder"
	# nginx as the stack runs it (nginx/stack.conf.in) on that socket
	port=$(fixture_free_port) || fail "no free port"
	content=$(<"$top_srcdir/nginx/stack.conf.in")
	content=${content//@DIR@/$dir}
	content=${content//@PORT@/$port}
	printf '%s\n' "${content//@APP_SOCKET@/$sock}" >"$dir/nginx/nginx.conf"
	cp "$top_srcdir/nginx/catalog-locations.conf" /etc/nginx/fastcgi_params "$dir/nginx/"
	nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx/" -e "$dir/log/nginx-error.log" ||
	    fail "nginx did not start"
	CATALOG_URL="http://127.0.0.1:$port"
	for _ in $(seq 1 50); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$CATALOG_URL/healthz")" = 200 ] && break
		sleep 0.2
	done
	m0=$(pgrep -P "$holder") || fail "the app did not start under the holder"
	grep -q 'source=systemd fd=3' "$dir/log/app.log" || fail "not socket-activated"
	prods=$(rl_products)
	# shellcheck disable=SC2086
	fl_restock $prods
	fl_load 10 3 2 rs "$prods" "$(echo $RL_URLS)"
	sleep 1.5
	t1=$(fl_now_ms)
	kill -TERM "$m0" || fail "no master $m0"
	fl_mark "restart 1 (master $m0)"
	m1=$(rs_next_master "$holder" "$m0")
	fl_mark "master $m1"
	sleep 1.5
	t2=$(fl_now_ms)
	kill -TERM "$m1" || fail "no master $m1"
	fl_mark "restart 2 (master $m1)"
	m2=$(rs_next_master "$holder" "$m1")
	fl_mark "master $m2"
	fl_wait
	fl_mark "load done: $(fl_summary)"
	rl_spans "$t1" "$t2"
	rl_no_failures
	fl_check_orders rs
	fl_cleanup rs
}
it_case "restart on a held socket (socket activation) twice under load: 0 failed requests" t_restart_socket_held

# What systemd does with the shipped units cannot run here, but what it
# would do follows from them: a socket unit PartOf= or BindsTo= the
# service is stopped and started with it, closing the socket (connections
# waiting in its backlog are refused: 502s) and the service must reload
# with SIGHUP.
t_units_restart_keeps_socket() {
	local sock="$top_srcdir/dist/systemd/catalog-fcgi.socket"
	local svc="$top_srcdir/dist/systemd/catalog-fcgi.service"
	! grep -Eq '^(PartOf|BindsTo)=' "$sock" ||
	    fail "catalog-fcgi.socket is stopped with the service: $(grep -E '^(PartOf|BindsTo)=' "$sock")"
	grep -q '^Requires=catalog-fcgi.socket$' "$svc" || fail "service does not require the socket"
	grep -q '^After=.*catalog-fcgi.socket' "$svc" || fail "service not after the socket"
	grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$svc" || fail "no ExecReload= sending SIGHUP"
}
it_case "units: the socket outlives a service restart; reload sends SIGHUP" t_units_restart_keeps_socket

# 65-multihost-cache.sh: two app hosts, three memcached servers, three
# runners, on loopback, sharing the fixture's MariaDB; every fault that
# could lose an invalidation, each with the staleness it left measured and
# held to the bound (common/cache.h, THE BOUND: 5 x cache.sync_interval_ms
# = 500 ms here; asserted against 1000 ms, the issue's target).
#
#   host A  catalog-fcgi, its database link through a small TCP relay (to
#           lose a COMMIT's answer on purpose), run with group id MH_GID
#           (uid stays 0) so nftables can cut it, and only it, off from
#           one memcached server ("partition")
#   host B  catalog-fcgi on the fixture's unix socket
#   nginx   one instance, one server block (port) per host
#   memcached x3, runners x3 (`run --loop`)
#
# Staleness is measured from the write's answer (or, when there is none,
# from the moment its COMMIT shows in the database) to the first read on a
# host whose product page and category list both show the new price.  The
# writing host must show it to the very next read (read-your-writes).
# Every measurement is printed and collected into one table at the end.

# shellcheck source=../lib/faults.sh
. "$top_srcdir/tests/lib/faults.sh"

MH_DIR="$FIX_DIR/multihost"
MH_GID=$((40000 + RANDOM % 20000))
MH_NFT="catalog_mh_$$"
MH_BOUND=1000
MH_CAT=home-office

# Every case runs in a subshell (it_case): what they share is chosen
# here, once, and every process they start is found again by a pid file.
MH_P1=$(fixture_free_port) MH_P2=$(fixture_free_port) MH_P3=$(fixture_free_port)
MH_P4=$(fixture_free_port) MH_PA=$(fixture_free_port) MH_PB=$(fixture_free_port)
MH_PRELAY=$(fixture_free_port)
MH_P=$(sql "SELECT MIN(p.id) FROM products p JOIN categories c
  ON c.id = p.category_id WHERE c.slug = '$MH_CAT'")

mh_mc_start() {	# mh_mc_start N PORT
	memcached -d -l 127.0.0.1 -p "$2" -U 0 -m 16 -c 256 -u root \
	    -P "$MH_DIR/mc$1.pid" </dev/null >>"$MH_DIR/mc$1.log" 2>&1
	local _
	for _ in $(seq 1 50); do
		ss -Hltn "sport = :$2" | grep -q . && [ -s "$MH_DIR/mc$1.pid" ] && return 0
		sleep 0.05
	done
	return 1
}

mh_mc_ensure() {	# mh_mc_ensure N PORT: started unless it listens
	[ -n "$(ss -Hltn "sport = :$2")" ] || mh_mc_start "$1" "$2"
}

mh_mc_stop() {	# mh_mc_stop N
	local pid _
	pid=$(cat "$MH_DIR/mc$1.pid" 2>/dev/null) || return 0
	kill -CONT "$pid" 2>/dev/null
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	rm -f "$MH_DIR/mc$1.pid"
}

# mh_conf NAME SERVERS DB_LINES [EXTRA...]: writes $MH_DIR/NAME.conf.
mh_conf() {
	local name=$1 servers=$2 db=$3 line
	shift 3
	{
		grep -E '^(db\.user|db\.password|db\.name|http\.admin_token|mail\.)' "$CATALOG_CONF"
		printf '%s\n' "$db"
		echo "cache.servers = $servers"
		echo "cache.timeout_ms = ${MH_TIMEOUT:-100}"
		echo "cache.retry_seconds = 1"
		echo "app.listen = $MH_DIR/$name.sock"
		echo "app.workers = 2"
		echo "app.threads = 2"
		echo "log.level = info"
		for line in "$@"; do echo "$line"; done
	} >"$MH_DIR/$name.conf"
	chmod 600 "$MH_DIR/$name.conf"
}

# mh_host_start NAME [GID]: the master of host NAME; waits for /healthz.
mh_host_start() {
	local name=$1 gid=${2:-} port _
	rm -f "$MH_DIR/$name.sock"
	# ( ... & ): not a job of the case's shell, which kills its jobs
	# when the case ends; the hosts live from the setup to the cleanup
	if [ -n "$gid" ]; then
		( setpriv --regid="$gid" --clear-groups -- \
		    "$APP" --config "$MH_DIR/$name.conf" >>"$MH_DIR/$name.log" 2>&1 &
		  echo $! >"$MH_DIR/$name.pid" )
	else
		( "$APP" --config "$MH_DIR/$name.conf" >>"$MH_DIR/$name.log" 2>&1 &
		  echo $! >"$MH_DIR/$name.pid" )
	fi
	port=$(mh_url "$name")
	for _ in $(seq 1 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$port/healthz")" = 200 ] && return 0
		sleep 0.1
	done
	echo "host $name did not answer /healthz"; tail -5 "$MH_DIR/$name.log"
	return 1
}

mh_host_stop() {	# mh_host_stop NAME
	local pid _
	pid=$(cat "$MH_DIR/$1.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	rm -f "$MH_DIR/$1.pid"
}

mh_url() { if [ "$1" = a ]; then echo "http://127.0.0.1:$MH_PA"; else echo "http://127.0.0.1:$MH_PB"; fi; }

# The relay between host A and MariaDB: passes bytes both ways; when
# $MH_DIR/cut-commit exists, the next COMMIT (COM_QUERY "COMMIT") is passed
# to the server and then the link is cut before its answer comes back.
mh_relay_start() {
	cat >"$MH_DIR/relay.py" <<'PY'
import os, socket, sys, threading, time
listen, target, arm = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
COMMIT = b"\x07\x00\x00\x00\x03COMMIT"
def pump(src, dst, watch, cut):
    try:
        while True:
            data = src.recv(65536)
            if not data or (not watch and cut.is_set()):
                break
            if watch and COMMIT in data and os.path.exists(arm):
                os.unlink(arm)
                cut.set()            # its answer is not passed back
                dst.sendall(data)
                time.sleep(0.3)      # the server commits
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen)); srv.listen(64)
while True:
    c, _ = srv.accept()
    u = socket.create_connection(("127.0.0.1", target))
    cut = threading.Event()
    threading.Thread(target=pump, args=(c, u, True, cut), daemon=True).start()
    threading.Thread(target=pump, args=(u, c, False, cut), daemon=True).start()
PY
	( "$PYTHON3" "$MH_DIR/relay.py" "$MH_PRELAY" "$FIX_DB_PORT" \
	    "$MH_DIR/cut-commit" >>"$MH_DIR/relay.log" 2>&1 &
	  echo $! >"$MH_DIR/relay.pid" )
	local _
	for _ in $(seq 1 50); do
		ss -Hltn "sport = :$MH_PRELAY" | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

mh_nginx_start() {
	mkdir -p "$MH_DIR/nginx" || return 1
	{
		echo 'daemon on;'
		fixture_nginx_head "$MH_DIR/nginx" || return 1
		cat <<NGINX
	server {
		listen 127.0.0.1:$MH_PA;
		location / { include /etc/nginx/fastcgi_params; fastcgi_pass unix:$MH_DIR/a.sock; }
	}
	server {
		listen 127.0.0.1:$MH_PB;
		location / { include /etc/nginx/fastcgi_params; fastcgi_pass unix:$MH_DIR/b.sock; }
	}
}
NGINX
	} >"$MH_DIR/nginx/nginx.conf"
	nginx -c "$MH_DIR/nginx/nginx.conf" -p "$MH_DIR/nginx/" -e "$MH_DIR/nginx/error.log"
}

# mh_partition PORT | mh_heal: host A (its group id) cut off from one
# memcached server: its packets to that port are dropped (a hang, as a
# partition is), nobody else's.
mh_partition() {
	it_defer mh_heal
	nft add table inet "$MH_NFT" &&
	nft add chain inet "$MH_NFT" out '{ type filter hook output priority 0; }' &&
	nft add rule inet "$MH_NFT" out meta skgid "$MH_GID" tcp dport "$1" drop
}
mh_heal() { nft delete table inet "$MH_NFT" 2>/dev/null; true; }

mh_kill_wait() {	# mh_kill_wait PIDFILE: TERM, then wait (<= 10 s)
	local pid _
	pid=$(cat "$1" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	rm -f "$1"
}

mh_cleanup() {
	local i
	mh_heal
	mh_kill_wait "$MH_DIR/watch.a.pid"
	mh_kill_wait "$MH_DIR/watch.b.pid"
	for i in 1 2 3; do mh_kill_wait "$MH_DIR/runner$i.pid"; done
	mh_host_stop a
	mh_host_stop b
	mh_kill_wait "$MH_DIR/nginx/nginx.pid"
	mh_kill_wait "$MH_DIR/relay.pid"
	for i in 1 2 3 4; do mh_mc_stop "$i"; done
	sql "DELETE FROM cache_hosts WHERE host LIKE '%$MH_DIR%'" 2>/dev/null
	true
}

mh_patch() {	# mh_patch HOST JSON -> sets STATUS, BODY
	local out
	out=$(curl -s --max-time 10 -w '\n%{http_code}' -X PATCH \
	    -H "Authorization: Bearer $CATALOG_ADMIN_TOKEN" \
	    -H 'Content-Type: application/json' --data-binary "$2" \
	    "$(mh_url "$1")/api/products/$MH_P")
	STATUS=${out##*$'\n'}
	BODY=${out%$'\n'*}
}

# mh_fresh HOST PATTERN PATH1 PATH2 -> "fresh" when host HOST answers 200
# to both paths and each answer matches PATTERN (grep -E) once, "stale"
# when both answer 200 and one does not, "error" otherwise (a host whose
# workers are being replaced answers 502: unavailable, not stale).
mh_fresh() {
	local u out
	u=$(mh_url "$1")
	out=$(curl -s --max-time 5 -w '\n%{http_code}\n' "$u$3" "$u$4")
	if [ "$(printf '%s\n' "$out" | grep -cx 200)" != 2 ]; then
		echo error
	elif [ "$(printf '%s' "$out" | grep -oE "$2" | wc -l)" = 2 ]; then
		echo fresh
	else
		echo stale
	fi
}

# mh_read HOST PRICE: mh_fresh of product P's page and its category list
# showing PRICE for P.
mh_read() {
	mh_fresh "$1" "\{\"id\":$MH_P,[^}]*\"price_cents\":$2," \
	    "/api/products/$MH_P" "/api/products?category=$MH_CAT&per_page=100"
}

# mh_watch_start HOST: a watcher reading HOST back to back (every ~5 ms)
# from the setup to the cleanup: one python3 process with a kept-alive
# HTTP connection, so a read costs a millisecond or two, not a fork.  One
# line per read in $MH_DIR/watch.HOST: "start_ms end_ms product_price
# list_price" (the price of P on its page and in its category list; "-"
# for an error).
mh_watch_start() {
	local port=$MH_PA
	[ "$1" = b ] && port=$MH_PB
	cat >"$MH_DIR/watch.py" <<'PY'
import http.client, re, sys, time
port, pid, cat, out = sys.argv[1:5]
urls = ["/api/products/%s" % pid, "/api/products?category=%s&per_page=100" % cat]
pat = re.compile(r'\{"id":%s,[^}]*"price_cents":(\d+),' % pid)
now = lambda: int(time.time() * 1000)
conn = None
with open(out, "a") as f:
    while True:
        t0 = now()
        seen = []
        for u in urls:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
                conn.request("GET", u)
                resp = conn.getresponse()
                body = resp.read().decode()
                m = pat.search(body) if resp.status == 200 else None
                seen.append(m.group(1) if m else "-")
            except Exception:
                conn = None
                seen.append("-")
        f.write("%d %d %s %s\n" % (t0, now(), seen[0], seen[1]))
        f.flush()
        time.sleep(0.005)
PY
	( "$PYTHON3" "$MH_DIR/watch.py" "$port" "$MH_P" "$MH_CAT" "$MH_DIR/watch.$1" \
	    </dev/null >/dev/null 2>&1 &
	  echo $! >"$MH_DIR/watch.$1.pid" )
}

# mh_staleness HOST PRICE T0_MS: waits (<= 8 s) until HOST's watcher has
# a read begun after T0 that shows PRICE on both; prints "S/F": S, the
# start of the last read begun after T0 that showed an older price (the
# server answered it stale at S or later; 0 when none did), and F, the end
# of the first read begun after T0 that showed PRICE (the write was
# visible there by F), in ms after T0.  1 when HOST never showed it.
mh_staleness() {
	local f="$MH_DIR/watch.$1" _ r
	for _ in $(seq 1 160); do
		r=$(awk -v t0="$3" -v p="$2" '$1 > t0 && $3 == p && $4 == p {
		    printf "%d\n", $2 - t0; exit }' "$f")
		[ -n "$r" ] && break
		sleep 0.05
	done
	[ -n "$r" ] || { echo "never fresh on host $1:" >&2; tail -3 "$f" >&2; return 1; }
	awk -v t0="$3" -v p="$2" -v fr="$r" '
	    $1 > t0 && $2 - t0 <= fr && $3 != "-" && $4 != "-" && ($3 != p || $4 != p) { s = $1 - t0 }
	    END { printf "%d/%d\n", s, fr }' "$f"
}

# mh_first HOST PRICE: the very next read on HOST shows PRICE ("0/0").
mh_first() { [ "$(mh_read "$1" "$2")" = fresh ] && echo 0/0 || echo "stale"; }

# mh_shows HOST PRICE: 0 when fresh.
mh_shows() { [ "$(mh_read "$1" "$2")" = fresh ]; }

# mh_prime: both hosts serve P's page and list from their cache (HIT).
mh_prime() {
	local h
	for h in a b; do
		mh_cached "$h" "/api/products/$MH_P" || return 1
		mh_cached "$h" "/api/products?category=$MH_CAT&per_page=100" || return 1
	done
}

# mh_cached HOST PATH: waits (<= 4 s) until HOST serves PATH from its cache
# (X-Cache: HIT); 1, said, when it never does.
mh_cached() {
	local _
	for _ in $(seq 1 40); do
		[ "$(curl -s -o /dev/null -w '%header{x-cache}' "$(mh_url "$1")$2")" = HIT ] &&
		    return 0
		sleep 0.1
	done
	echo "host $1 never served $2 from its cache"
	return 1
}

# mh_end PRICE T0: the write of PRICE is in; prints "A B" (mh_staleness
# of each host).
mh_end() {
	local a b
	a=$(mh_staleness a "$1" "$2") || a=never
	b=$(mh_staleness b "$1" "$2") || b=never
	echo "$a $b"
}

# mh_record FAULT W O: one row of the table ("S/F" for the writing host
# and the other), and the assertions: the writing host's next read and
# every read it began after the answer were fresh (S = 0), and no host
# answered stale to a read begun more than MH_BOUND ms after the write.
mh_record() {
	printf '| %s | %s | %s |\n' "$1" "$2" "$3" >>"$MH_DIR/staleness.md"
	echo "# staleness after '$1': writing host $2, other host $3 (ms: last stale read began / first fresh read ended; bound $MH_BOUND)"
	[[ $2 =~ ^[0-9]+/[0-9]+$ && $3 =~ ^[0-9]+/[0-9]+$ ]] ||
	    { echo "a host never showed the write"; return 1; }
	[ "${2%/*}" -le "$MH_BOUND" ] && [ "${3%/*}" -le "$MH_BOUND" ] ||
	    { echo "a stale answer beyond the bound"; return 1; }
}

# mh_server_of NS -> the memcached port holding namespace NS (its
# generation key lives on exactly one server).
mh_server_of() {
	local p r
	for p in "$MH_P1" "$MH_P2" "$MH_P3"; do
		r=$(exec 3<>"/dev/tcp/127.0.0.1/$p"; printf 'get %s\r\nquit\r\n' "$1" >&3; cat <&3)
		case $r in VALUE*) echo "$p"; return 0 ;; esac
	done
	return 1
}
mh_index_of() { [ "$1" = "$MH_P1" ] && echo 1; [ "$1" = "$MH_P2" ] && echo 2; [ "$1" = "$MH_P3" ] && echo 3; }

mh_price() { echo $((100000 + RANDOM * 3 + ${1:-0})); }

t_mh_setup() {
	local i
	mkdir -p "$MH_DIR"
	: >"$MH_DIR/staleness.md"
	command -v nft >/dev/null || fail "nft not found (scripts/deps installs nftables)"
	# the fixture's own app shares this database (and so this log and
	# cache_hosts) with another memcached: it would be a third host with
	# another list.  It is stopped for these cases and started again last.
	# Every row goes: the hosts of earlier files (26's app over TCP, 27's
	# on a held socket) stopped at their file's end, but their rows stay
	# live for CACHE_HOSTS_LIVE_SECONDS, and a host still running would
	# write its row again within a second and be reported, as it should.
	mh_kill_wait "$FIX_DIR/run/app.pid"
	sql "DELETE FROM cache_hosts"
	command -v setpriv >/dev/null || fail "setpriv not found"
	[ -n "$MH_P" ] || fail "no product in $MH_CAT"
	for i in 1 2 3; do
		eval "mh_mc_start $i \$MH_P$i" || fail "memcached $i did not start"
	done
	mh_relay_start || fail "the database relay did not start"
	# the same three servers, spelled differently on each host
	mh_conf a "localhost:$MH_P1, 127.0.0.1:$MH_P2,127.0.0.1:$MH_P3 " \
	    "db.host = 127.0.0.1
db.port = $MH_PRELAY"
	mh_conf b "127.0.0.1:$MH_P3,127.0.0.1:$MH_P2,127.0.0.1:$MH_P1" \
	    "db.socket = $MYSQL_UNIX_PORT"
	mh_nginx_start || fail "nginx did not start"
	mh_host_start a "$MH_GID" || return 1
	mh_host_start b || return 1
	for i in 1 2 3; do
		( "$RUNNER" --config "$CATALOG_CONF" run --loop \
		    >>"$MH_DIR/runner$i.log" 2>&1 &
		  echo $! >"$MH_DIR/runner$i.pid" )
	done
	mh_watch_start a
	mh_watch_start b
	# one canonical list: no mismatch reported
	for i in a b; do
		[ "$(curl -s "$(mh_url $i)/healthz")" = '{"status":"ok","db":"ok","cache":"ok"}' ] ||
		    fail "host $i /healthz: $(curl -s "$(mh_url $i)/healthz")"
	done
	mh_prime
}

# A write through A, no fault: B within the bound.
# mh_worst A B: the worse of two measurements "S/F" ("stale" and "never"
# win), by S then F.
mh_worst() {
	case "$1$2" in *never*) echo never; return ;; *stale*) echo stale; return ;; esac
	local s1=${1%/*} f1=${1#*/} s2=${2%/*} f2=${2#*/}
	echo "$(( s1 > s2 ? s1 : s2 ))/$(( f1 > f2 ? f1 : f2 ))"
}

# mh_write HOST PRICE: PATCH through HOST with watchers on both hosts;
# sets STATUS, MH_W (staleness on the writing host: its next read, and
# every read started after the answer) and MH_O (the other host).
mh_write() {
	local t0 first w o other
	other=b; [ "$1" = b ] && other=a
	mh_patch "$1" "{\"price_cents\":$2}"
	t0=$(fl_now_ms)
	first=$(mh_first "$1" "$2")
	read -r wa wb < <(mh_end "$2" "$t0")
	if [ "$1" = a ]; then w=$wa o=$wb; else w=$wb o=$wa; fi
	MH_W=$(mh_worst "$first" "$w") MH_O=$o
}

t_mh_healthy() {
	mh_prime || return 1
	mh_write a "$(mh_price 1)"
	expect_eq "PATCH through A" "$STATUS" 200
	mh_record "none (healthy)" "$MH_W" "$MH_O"
}

# mh_fault_server -> the port and index of P's namespace server.  A
# memcached an earlier case restarted holds nothing, and while the hosts'
# breakers for it are still open they answer P from the database and keep
# it in their memory (mh_prime sees HIT).  A write's delivery recreates
# the generation on its server once the breaker has closed: write until
# it is there (up to 6 s; the probe runs every cache.retry_seconds).
mh_fault_server() {
	local _
	for _ in $(seq 1 20); do
		MH_FP=$(mh_server_of "g:p:$MH_P") && break
		mh_patch a "{\"price_cents\":$(mh_price 0)}"
		[ "$STATUS" = 200 ] || fail "PATCH through A: $STATUS"
		sleep 0.3
	done
	[ -n "$MH_FP" ] || fail "g:p:$MH_P is on no server"
	mh_prime || fail "not primed after the writes"
	MH_FI=$(mh_index_of "$MH_FP")
}

# mh_back HOST PRICE: the host serves P from its cache again, fresh.
mh_back() {
	local _
	for _ in $(seq 1 60); do
		if [ "$(curl -s -o /dev/null -w '%header{x-cache}' "$(mh_url "$1")/api/products/$MH_P")" = HIT ]; then
			mh_shows "$1" "$2" || { echo "host $1: a HIT, but stale"; return 1; }
			return 0
		fi
		sleep 0.1
	done
	echo "host $1 never served P from its cache again"
	return 1
}

t_mh_memcached_stopped() {
	local price
	mh_prime || return 1
	mh_fault_server
	it_defer "mh_mc_ensure $MH_FI $MH_FP"
	mh_mc_stop "$MH_FI"
	price=$(mh_price 2)
	mh_write a "$price"
	mh_mc_start "$MH_FI" "$MH_FP" || fail "memcached did not start again"
	expect_eq "PATCH through A" "$STATUS" 200
	mh_record "memcached (P's server) stopped" "$MH_W" "$MH_O" || return 1
	mh_back a "$price" && mh_back b "$price"
}

t_mh_memcached_hung() {
	local price pid
	mh_prime || return 1
	mh_fault_server
	pid=$(cat "$MH_DIR/mc$MH_FI.pid")
	it_defer "kill -CONT $pid"
	kill -STOP "$pid"
	price=$(mh_price 3)
	mh_write a "$price"
	kill -CONT "$pid"
	expect_eq "PATCH through A" "$STATUS" 200
	mh_record "memcached (P's server) hung (SIGSTOP)" "$MH_W" "$MH_O" || return 1
	# it kept the old generation and the old page: only the probe's
	# redelivery keeps them from coming back
	mh_back a "$price" && mh_back b "$price"
}

t_mh_partition() {
	local price
	mh_prime || return 1
	mh_fault_server
	mh_partition "$MH_FP" || fail "nft"
	price=$(mh_price 4)
	mh_write a "$price"
	[ "$STATUS" = 200 ] || { mh_heal; fail "PATCH through A: $STATUS"; }
	sleep 0.5
	mh_shows b "$price" || { mh_heal; fail "host B stale again during the partition"; }
	mh_shows a "$price" || { mh_heal; fail "host A stale again during the partition"; }
	mh_heal
	mh_record "partition: host A cut off from P's server" "$MH_W" "$MH_O" || return 1
	mh_back a "$price" && mh_back b "$price"
}

# Host A as the setup made it (after the case that changes it).
mh_host_a_normal() {
	mh_conf a "localhost:$MH_P1, 127.0.0.1:$MH_P2,127.0.0.1:$MH_P3 " \
	    "db.host = 127.0.0.1
db.port = $MH_PRELAY"
	mh_host_stop a
	mh_host_start a "$MH_GID"
}

# The writer is blocked after its COMMIT, in its delivery to a server it
# is cut off from (a long cache.timeout_ms on host A for this case), and
# killed there with every other worker of host A (the poller among them).
t_mh_killed_after_commit() {
	local price t0 wa wb curl_pid master _ committed=0
	MH_TIMEOUT=5000 mh_conf a "localhost:$MH_P1, 127.0.0.1:$MH_P2,127.0.0.1:$MH_P3 " \
	    "db.host = 127.0.0.1
db.port = $MH_PRELAY"
	it_defer mh_host_a_normal
	mh_host_stop a
	mh_host_start a "$MH_GID" || return 1
	mh_prime || return 1
	mh_fault_server
	mh_partition "$MH_FP" || fail "nft"
	price=$(mh_price 5)
	mh_patch a "{\"price_cents\":$price}" &
	curl_pid=$!
	for _ in $(seq 1 300); do
		[ "$(sql "SELECT price_cents FROM products WHERE id = $MH_P")" = "$price" ] &&
		    { committed=1; break; }
		sleep 0.01
	done
	t0=$(fl_now_ms)
	master=$(cat "$MH_DIR/a.pid")
	kill -0 "$curl_pid" 2>/dev/null || { mh_heal; fail "the PATCH was not blocked after its COMMIT"; }
	kill -9 $(pgrep -P "$master") 2>/dev/null
	mh_heal
	wait "$curl_pid" 2>/dev/null
	read -r wa wb < <(mh_end "$price" "$t0")
	[ $committed = 1 ] || fail "the COMMIT never showed in the database"
	mh_record "writer killed right after COMMIT (all of A's workers)" "$wa" "$wb"
}

t_mh_lost_commit_answer() {
	local price t0 wa wb
	mh_prime || return 1
	price=$(mh_price 6)
	touch "$MH_DIR/cut-commit"
	mh_patch a "{\"price_cents\":$price}"
	t0=$(fl_now_ms)
	rm -f "$MH_DIR/cut-commit"
	read -r wa wb < <(mh_end "$price" "$t0")
	expect_eq "PATCH through A, its COMMIT answer lost" "$STATUS" 503
	expect_eq "committed all the same" \
	    "$(sql "SELECT price_cents FROM products WHERE id = $MH_P")" "$price" || return 1
	mh_record "COMMIT answer lost (503 from A)" "$wa" "$wb"
}

# mh_cat_read HOST SLUG NAME: mh_fresh of the category's page and the
# category list showing NAME for SLUG.
mh_cat_read() {
	mh_fresh "$1" "\"slug\":\"$2\",\"name\":\"$3\"" \
	    "/api/categories/$2" /api/categories
}

# A category rename whose COMMIT answer host A never gets (503): it
# committed, so A delivers its invalidation all the same; A's next read
# shows the new name, B within the bound, in the category and the list.
t_mh_lost_commit_category() {
	local slug=mh-$$-lost h code t0 a b="" s=0 r0 _
	local auth="Authorization: Bearer $CATALOG_ADMIN_TOKEN" json='Content-Type: application/json'
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST -H "$auth" \
	    -H "$json" --data-binary "{\"slug\":\"$slug\",\"name\":\"Before\"}" \
	    "$(mh_url a)/api/categories")
	expect_eq "POST through A" "$code" 201
	it_defer "curl -s -o /dev/null -X DELETE -H '$auth' $(mh_url a)/api/categories/$slug"
	for h in a b; do
		# B shows the new category within the bound, then both cache it
		for _ in $(seq 1 100); do
			[ "$(mh_cat_read $h "$slug" Before)" = fresh ] && break
			sleep 0.02
		done
		mh_cached $h "/api/categories/$slug" && mh_cached $h /api/categories ||
		    fail "host $h: the category is not cached"
		expect_eq "host $h before" "$(mh_cat_read $h "$slug" Before)" fresh
	done
	touch "$MH_DIR/cut-commit"
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X PATCH -H "$auth" \
	    -H "$json" --data-binary '{"name":"After"}' "$(mh_url a)/api/categories/$slug")
	t0=$(fl_now_ms)
	rm -f "$MH_DIR/cut-commit"
	expect_eq "A's next read" "$(mh_cat_read a "$slug" After)" fresh
	a=$(( $(fl_now_ms) - t0 ))
	# B: S, the start of its last stale read; F, the end of its first
	# fresh one (ms after the 503), as mh_record wants them
	for _ in $(seq 1 150); do
		r0=$(( $(fl_now_ms) - t0 ))
		case $(mh_cat_read b "$slug" After) in
		fresh) b=$(( $(fl_now_ms) - t0 )); break ;;
		stale) s=$r0 ;;
		esac
		sleep 0.01
	done
	[ -n "$b" ] || fail "host B never showed the rename"
	expect_eq "PATCH through A, its COMMIT answer lost" "$code" 503
	expect_eq "committed all the same" \
	    "$(sql "SELECT name FROM categories WHERE slug = '$slug'")" After
	mh_record "category rename, COMMIT answer lost (503 from A)" "0/$a" "$s/$b"
}

# Writes through A while its partition from P's server comes and goes, so
# probes (and their redelivery) run while deliveries fail and succeed.
t_mh_probe_window() {
	local price worst_a=0/0 worst_b=0/0 round
	mh_prime || return 1
	mh_fault_server
	for round in 1 2 3 4; do
		mh_partition "$MH_FP" || fail "nft"
		price=$(mh_price $((10 + round)))
		mh_write a "$price"
		[ "$STATUS" = 200 ] || { mh_heal; fail "PATCH $round: $STATUS"; }
		worst_a=$(mh_worst "$worst_a" "$MH_W") worst_b=$(mh_worst "$worst_b" "$MH_O")
		sleep 0.$((RANDOM % 5))
		mh_heal
		# the probe (after cache.retry_seconds) may be running now
		sleep 0.$((RANDOM % 9 + 1))
		price=$(mh_price $((20 + round)))
		mh_write a "$price"
		[ "$STATUS" = 200 ] || fail "PATCH $round after the heal: $STATUS"
		worst_a=$(mh_worst "$worst_a" "$MH_W") worst_b=$(mh_worst "$worst_b" "$MH_O")
	done
	mh_record "breaker probes under writes (partition on/off x4)" "$worst_a" "$worst_b" || return 1
	mh_back a "$price" && mh_back b "$price"
}

mh_host_b_normal() {
	grep -q "$MH_P4" "$MH_DIR/b.conf" || return 0
	mh_conf b "127.0.0.1:$MH_P3,127.0.0.1:$MH_P2,127.0.0.1:$MH_P1" \
	    "db.socket = $MYSQL_UNIX_PORT"
	mh_host_stop b
	mh_host_start b
}

# Host B with a fourth server (a rolling change): both hosts see the
# mismatch (healthz, metric), and writes each way stay within the bound.
t_mh_list_mismatch() {
	local _ seen=0 metrics
	mh_mc_start 4 "$MH_P4" || fail "memcached 4"
	mh_conf b "127.0.0.1:$MH_P3,127.0.0.1:$MH_P2,127.0.0.1:$MH_P1,127.0.0.1:$MH_P4" \
	    "db.socket = $MYSQL_UNIX_PORT"
	it_defer mh_host_b_normal
	mh_host_stop b
	mh_host_start b || return 1
	for _ in $(seq 1 40); do
		case "$(curl -s "$(mh_url a)/healthz")$(curl -s "$(mh_url b)/healthz")" in
		*'"cache_servers":"mismatch"'*'"cache_servers":"mismatch"'*)
			seen=1; break ;;
		esac
		sleep 0.1
	done
	[ $seen = 1 ] || fail "no mismatch in /healthz: A $(curl -s "$(mh_url a)/healthz") B $(curl -s "$(mh_url b)/healthz")"
	metrics=$(curl -s "$(mh_url a)/metrics")
	grep -qx 'catalog_cache_servers_mismatch_hosts 1' <<<"$metrics" ||
	    fail "metric on A: $(grep mismatch_hosts <<<"$metrics")"
	mh_prime || return 1
	mh_write a "$(mh_price 7)"
	expect_eq "PATCH through A" "$STATUS" 200
	mh_record "server lists differ (B has a 4th server), write through A" "$MH_W" "$MH_O" || return 1
	mh_prime || return 1
	mh_write b "$(mh_price 8)"
	expect_eq "PATCH through B" "$STATUS" 200
	mh_record "server lists differ (B has a 4th server), write through B" "$MH_W" "$MH_O" || return 1
	# back to one list: the report clears
	mh_host_b_normal || return 1
	for _ in $(seq 1 40); do
		case $(curl -s "$(mh_url a)/healthz") in *mismatch*) ;; *) return 0 ;; esac
		sleep 0.1
	done
	fail "mismatch still reported after the lists agree again"
}

t_mh_table() {
	# the fixture's app back first, whatever the checks below find: the
	# files after this one need it
	it_defer "fixture_restart"
	[ "$(grep -c . "$MH_DIR/staleness.md")" -ge 10 ] ||
	    { echo "measurements missing:"; cat "$MH_DIR/staleness.md"; mh_cleanup; return 1; }
	# nothing left behind, and no 5xx but the two lost COMMIT answers
	grep -h 'event=request' "$MH_DIR"/a.log "$MH_DIR"/b.log |
	    grep -E 'status=5[0-9][0-9]' | grep -vE 'admin_(product|category)_update status=503' |
	    head -5 | sed 's/^/unexpected: /' | grep . && { mh_cleanup; return 1; }
	mh_cleanup
	[ -z "$(nft list tables 2>/dev/null | grep "$MH_NFT")" ] || fail "nft table left behind"
}

it_case "multi-host: two app hosts, three memcached, three runners start; one canonical list" t_mh_setup
it_case "multi-host: a write through A, no fault: B within the bound" t_mh_healthy
it_case "multi-host: memcached stopped at write time: within the bound, fresh after its return" t_mh_memcached_stopped
it_case "multi-host: memcached hung at write time: within the bound, fresh after SIGCONT" t_mh_memcached_hung
it_case "multi-host: A partitioned from P's server: B within the bound, A fresh at once and after the heal" t_mh_partition
it_case "multi-host: A's workers killed right after COMMIT: both hosts within the bound" t_mh_killed_after_commit
it_case "multi-host: a lost COMMIT answer (503): both hosts within the bound" t_mh_lost_commit_answer
it_case "multi-host: a category rename's lost COMMIT answer (503): A at once, B within the bound" t_mh_lost_commit_category
it_case "multi-host: probes under writes (flapping partition): within the bound, fresh after" t_mh_probe_window
it_case "multi-host: server lists differ: reported on both hosts, writes each way within the bound" t_mh_list_mismatch
it_case "multi-host: the staleness table; everything stopped" t_mh_table

# The table, whatever the cases did (TAP comments).
echo "# staleness after each fault, ms after the write: S/F = the last read answered stale began at S, the first read answered fresh ended at F (bound $MH_BOUND on S)"
echo "# | fault | writing host S/F | other host S/F |"
echo "# | --- | --- | --- |"
sed 's/^/# /' "$MH_DIR/staleness.md" 2>/dev/null

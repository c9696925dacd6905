# tests/lib/fixture.sh: the servers the integration suite talks to, and the
# small TAP helpers every tests/it/*.sh uses.  Sourced, not run.
#
# fixture_up starts one private stack (scripts/stack up --no-runner) in a
# temporary directory on a free port, using the programs of this build
# tree, and exports its DIR/env (CATALOG_URL, MYSQL_UNIX_PORT, ...).
# fixture_down stops it and removes the directory (kept when
# KEEP_FIXTURE=1, for post-mortems).  CATALOG_TEST_PRODUCTS sets the seed
# size (default 500), CATALOG_TEST_TMPDIR where the directory goes (default
# /tmp; a unix socket path must stay under 108 bytes).  MariaDB also listens on 127.0.0.1:$FIX_DB_PORT, so
# a case can run the app over TCP (db.host) as well as the unix socket.
#
# THE RULE FOR CASES (every tests/it/*.sh; tests/harness.test proves it):
#
#   A case fails when it calls fail, wherever that happens: in the case
#   function, in a helper, inside $(...), in a pipeline or in a background
#   job of the case (it_case records the failure in a file and signals the
#   case's shell, so no exit status has to survive).  Every check helper
#   calls fail itself: expect_eq, sql, json, rt_*, fl_* and the files' own
#   checks.  So:
#   - an assertion needs no `|| return 1` and cannot be ignored;
#   - a command whose exit status matters says so: `cmd || fail "..."`
#     (the last command's status also decides, but nothing else does);
#   - a check that is expected to fail, or is polled in a loop, uses a
#     predicate that never fails the case: is_eq, [ ], sql_try, json_try;
#   - cleanup that must happen however the case ends (continue a stopped
#     server, restart the stack) is registered first with it_defer, never
#     written as `|| { cleanup; return 1; }` (fail does not come back);
#     background jobs still running when the case ends are killed.
#   set -e is not used: it is silently off inside any function called
#   from an if, ||, && or !, which is where helpers are called.
#
# A fail outside any case (a file's setup) ends the suite: "Bail out!".

# Debian's interpreter for every helper here and in the cases: the tests
# use its packages, and a version manager's shim first on PATH (pyenv)
# costs seconds per call on a busy machine (2.7 s against 0.5 s measured
# at load 14).
PYTHON3=/usr/bin/python3
# (a function: a process started in the background must be "$PYTHON3"
# itself, or $! names a subshell and killing it orphans the interpreter)
python3() { "$PYTHON3" "$@"; }

FIX_DIR=""
# shellcheck source=openapi.sh
. "$top_srcdir/tests/lib/openapi.sh"
IT_N=0
IT_FAILED=0
IT_SHELL=$$		# it_begin and each case's shell set these
IT_FAILS=/dev/null
IT_DEFER=()

fixture_free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 12000))
		if ! ss -Hltn "sport = :$p" | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

fixture_stack() {
	CATALOG_STACK_DB_PORT="$FIX_DB_PORT" \
	    CATALOG_STACK_DB_VIA="${FIX_DB_VIA:-socket}" CATALOG_STACK_NO_BUILD=1 \
	    CATALOG_STACK_APP="$top_builddir/app/catalog-fcgi" \
	    CATALOG_STACK_RUNNER="$top_builddir/runner/job-runner" \
	    CATALOG_STACK_WORKERS="${CATALOG_TEST_WORKERS:-4}" \
	    "$top_srcdir/scripts/stack" "$@"
}

# fixture_restart: starts again whatever component died (scripts/stack up
# restarts only what is not running), and waits for /healthz.  With
# FIX_DB_VIA=tcp the app is (re)started over TCP (db.host), back on the
# unix socket without.
fixture_restart() {
	fixture_stack up --dir "$FIX_DIR" --no-runner >>"$FIX_DIR.up.log" 2>&1 ||
	    fail "fixture_restart: scripts/stack up failed (see $FIX_DIR.up.log)"
}

fixture_up() {
	local port
	FIX_DIR=$(mktemp -d "${CATALOG_TEST_TMPDIR:-/tmp}/catalog-test.XXXXXX") ||
	    return 1
	port=$(fixture_free_port) || return 1
	# MariaDB also on TCP, for the cases that run the app over db.host
	FIX_DB_PORT=$(fixture_free_port) || return 1
	export FIX_DB_PORT
	if ! CATALOG_STACK_DB_PORT="$FIX_DB_PORT" CATALOG_STACK_NO_BUILD=1 \
	    CATALOG_STACK_APP="$top_builddir/app/catalog-fcgi" \
	    CATALOG_STACK_RUNNER="$top_builddir/runner/job-runner" \
	    CATALOG_STACK_WORKERS="${CATALOG_TEST_WORKERS:-4}" \
	    "$top_srcdir/scripts/stack" up --dir "$FIX_DIR" --port "$port" \
	    --no-runner --products "${CATALOG_TEST_PRODUCTS:-500}" \
	    >"$FIX_DIR.up.log" 2>&1; then
		sed 's/^/# /' "$FIX_DIR.up.log"
		return 1
	fi
	# shellcheck source=/dev/null
	. "$FIX_DIR/env"
	export RUNNER="$top_builddir/runner/job-runner"
	export APP="$top_builddir/app/catalog-fcgi"
	echo "# fixture: $FIX_DIR on $CATALOG_URL"
}

# fixture_on_down COMMAND: servers a file's setup starts outside any case
# (they serve several of its cases, so no case's end may stop them)
# register how to stop them here; fixture_down runs these first, so a
# bail-out leaves nothing running.
FIX_ON_DOWN=()
fixture_on_down() {
	FIX_ON_DOWN+=("$*")
}

# fixture_nginx_head DIR: the start of an nginx.conf for a case's own
# nginx (nginx -c DIR/nginx.conf -p DIR/) up to and including "http {"
# with its temporary directories under DIR/tmp (made here); the caller
# says "daemon", writes its servers and closes the block.
fixture_nginx_head() {
	mkdir -p "$1/tmp" || return 1
	cat <<-EOF
	user root root;
	worker_processes 1;
	pid $1/nginx.pid;
	error_log $1/error.log warn;
	events { worker_connections 1024; }
	http {
	    access_log off;
	    client_body_temp_path $1/tmp/body;
	    fastcgi_temp_path $1/tmp/fastcgi;
	    proxy_temp_path $1/tmp/proxy;
	    uwsgi_temp_path $1/tmp/uwsgi;
	    scgi_temp_path $1/tmp/scgi;
	EOF
}

# fixture_nginx_conf DIR PORT UPSTREAM [LINE...]: DIR/nginx.conf for a
# case's own nginx in the foreground on 127.0.0.1:PORT in front of
# UPSTREAM (host:port), through the shipped locations snippet, copied into
# DIR; each LINE goes into the upstream block.
fixture_nginx_conf() {
	local dir=$1 port=$2 up=$3
	shift 3
	mkdir -p "$dir" &&
	    cp "$top_srcdir/nginx/catalog-locations.conf" /etc/nginx/fastcgi_params \
	    "$dir/" || return 1
	{
		echo 'daemon off;'
		fixture_nginx_head "$dir" || return 1
		cat <<-EOF
		    upstream catalog_app {
		        server $up;
		        $(printf '%s\n' "$@")
		    }
		    server {
		        listen 127.0.0.1:$port;
		        set \$catalog_www $top_srcdir/www;
		        include catalog-locations.conf;
		    }
		}
		EOF
	} >"$dir/nginx.conf"
}

fixture_down() {
	local i
	it_end
	for ((i = ${#FIX_ON_DOWN[@]} - 1; i >= 0; i--)); do
		(eval "${FIX_ON_DOWN[i]}")
	done
	[ -n "$FIX_DIR" ] || return 0
	"$top_srcdir/scripts/stack" down --dir "$FIX_DIR" >/dev/null 2>&1
	# whatever a file started from the fixture's directory and a failed
	# case left behind (65's watchers and relay were): none outlives it
	pkill -f -- "$FIX_DIR/" 2>/dev/null
	if [ "${KEEP_FIXTURE:-0}" = 1 ] || [ "$IT_FAILED" -gt 0 ]; then
		echo "# fixture kept in $FIX_DIR"
		tail -n 20 "$FIX_DIR/log/app.log" 2>/dev/null | sed 's/^/# app: /'
	else
		rm -rf "$FIX_DIR" "$FIX_DIR.up.log"
	fi
}

# it_begin: the suite's shell (integration.test, harness.test) calls it
# once, before the first fail can happen: a fail outside a case, even in
# a subshell, then bails the suite out.
it_begin() {
	IT_SHELL=$$
	IT_FAILS=$(mktemp /tmp/catalog-it-fails.XXXXXX) || exit 1
	IT_DEFER=()
	trap it_bail USR1
}

# it_bail: the USR1 handler of the suite's shell.
it_bail() {
	IT_FAILED=$((IT_FAILED + 1))
	echo "Bail out! $(head -n 1 "$IT_FAILS")"
	exit 1
}

# it_end: the suite's EXIT handler calls it (removes the failure file).
it_end() {
	rm -f "$IT_FAILS"
}

# it_case NAME FUNCTION: runs FUNCTION in a subshell of its own, prints one
# TAP line: "not ok" when the function returned non-zero or fail was
# called anywhere in it.
it_case() {
	local name=$1 fn=$2 out rc=0 fails
	IT_N=$((IT_N + 1))
	fails=$(mktemp /tmp/catalog-it-case.XXXXXX) || fail "mktemp"
	out=$(it_run_case "$fn" "$fails" 2>&1) || rc=$?
	if [ "$rc" = 0 ] && [ ! -s "$fails" ]; then
		echo "ok $IT_N - $name"
	else
		IT_FAILED=$((IT_FAILED + 1))
		echo "not ok $IT_N - $name"
		{ [ -z "$out" ] || printf '%s\n' "$out"
		  cat "$fails"
		  [ "$rc" = 0 ] || [ -s "$fails" ] || echo "(returned $rc)"; } |
		    sed 's/^/# /'
	fi
	rm -f "$fails"
}

# it_run_case FUNCTION FAILS: the case's shell (a subshell of it_case).
it_run_case() {
	IT_SHELL=$BASHPID IT_FAILS=$2 IT_DEFER=()
	trap 'exit 1' USR1
	trap it_case_end EXIT
	"$1"
}

# it_case_end: the case's EXIT handler: its background jobs that are
# still there are killed (SIGTERM, then SIGCONT for one the case stopped),
# then the deferred commands run, last first.  Each runs in a subshell, so
# one that fails (recorded) cannot skip the others.
it_case_end() {
	local i p
	trap '' USR1
	for p in $(jobs -p); do
		kill -TERM "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for ((i = ${#IT_DEFER[@]} - 1; i >= 0; i--)); do
		(eval "${IT_DEFER[i]}")
	done
}

# it_defer COMMAND: runs COMMAND (a string, eval'd in a subshell) when the
# case ends, passed or failed, after its background jobs were killed.
it_defer() {
	IT_DEFER+=("$*")
}

# fail MESSAGE: ends the current case with a message, from anywhere in it:
# records the message (it_case prints it after the case's output) and
# exits; in a subshell of the case (a command substitution, a pipeline, a
# background job) it also signals the case's shell, which exits as soon as
# its current command returns.
fail() {
	if [ "$IT_SHELL" = $$ ] && [ "$BASHPID" = $$ ]; then	# outside any case
		IT_FAILED=$((IT_FAILED + 1))
		echo "Bail out! $*"
		exit 1
	fi
	printf '%s\n' "$*" >>"$IT_FAILS"
	[ "$BASHPID" = "$IT_SHELL" ] || kill -USR1 "$IT_SHELL" 2>/dev/null
	exit 1
}

# expect_eq WHAT GOT WANT: fails the case unless GOT is WANT.
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# is_eq GOT WANT: the predicate (no failure) for polls and expected
# mismatches.
is_eq() {
	[ "$1" = "$2" ]
}

# sql QUERY: runs QUERY as the administrator, tab-separated, no headers;
# fails the case when mariadb fails.  sql_try: the same, but returns
# mariadb's status (a statement that may fail, e.g. KILL of a session
# that may be gone already).
sql_try() {
	mariadb -uroot --socket="$MYSQL_UNIX_PORT" -N -B "$MYSQL_DATABASE" -e "$1"
}
sql() {
	sql_try "$1" || fail "sql exited $?: ${1:0:300}"
}

# http METHOD PATH [curl args...]: sets STATUS, BODY, HEADERS.
http() {
	local method=$1 path=$2 tmp
	shift 2
	tmp=$(mktemp)
	STATUS=$(curl -sS -o "$tmp" -D "$tmp.h" -w '%{http_code}' \
	    --max-time 10 -X "$method" "$@" "$CATALOG_URL$path") || STATUS=000
	BODY=$(cat "$tmp")
	HEADERS=$(tr -d '\r' <"$tmp.h")
	openapi_record "$method" "$path" "$tmp" "$tmp.h" "$@"
	rm -f "$tmp" "$tmp.h"
}

# header NAME: the value of response header NAME from the last http call.
header() {
	printf '%s\n' "$HEADERS" | awk -v n="$(echo "$1" | tr A-Z a-z)" -F': ' \
	    'tolower($1) == n { sub(/^[^:]*: /, ""); print; exit }'
}

# json EXPR: evaluates a Python expression on the last body parsed as j;
# fails the case when the body is not JSON or EXPR raises.  json_try: the
# same, returns python's status (bodies that may not be JSON).
json_try() {
	python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1" <<<"$BODY"
}
json() {
	json_try "$1" 2>/dev/null || fail "json: $1 on ${BODY:0:200}"
}

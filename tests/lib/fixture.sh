# tests/lib/fixture.sh: the servers the integration suite talks to, and the
# small TAP helpers every tests/it/*.sh uses.  Sourced, not run.
#
# fixture_up starts one private stack (scripts/stack up --no-runner) in a
# temporary directory on a free port, using the programs of this build
# tree, and exports its DIR/env (CATALOG_URL, MYSQL_UNIX_PORT, ...).
# fixture_down stops it and removes the directory (kept when
# KEEP_FIXTURE=1, for post-mortems).  CATALOG_TEST_PRODUCTS sets the seed
# size (default 500).  MariaDB also listens on 127.0.0.1:$FIX_DB_PORT, so
# a case can run the app over TCP (db.host) as well as the unix socket.

FIX_DIR=""
IT_N=0
IT_FAILED=0

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
	fixture_stack up --dir "$FIX_DIR" --no-runner >>"$FIX_DIR.up.log" 2>&1
}

fixture_up() {
	local port
	FIX_DIR=$(mktemp -d /tmp/catalog-test.XXXXXX) || return 1
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

fixture_down() {
	[ -n "$FIX_DIR" ] || return 0
	"$top_srcdir/scripts/stack" down --dir "$FIX_DIR" >/dev/null 2>&1
	if [ "${KEEP_FIXTURE:-0}" = 1 ] || [ "$IT_FAILED" -gt 0 ]; then
		echo "# fixture kept in $FIX_DIR"
		tail -n 20 "$FIX_DIR/log/app.log" 2>/dev/null | sed 's/^/# app: /'
	else
		rm -rf "$FIX_DIR" "$FIX_DIR.up.log"
	fi
}

# it_case NAME FUNCTION: runs FUNCTION, prints one TAP line.
it_case() {
	local name=$1 fn=$2 out
	IT_N=$((IT_N + 1))
	if out=$("$fn" 2>&1); then
		echo "ok $IT_N - $name"
	else
		IT_FAILED=$((IT_FAILED + 1))
		echo "not ok $IT_N - $name"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
}

# fail MESSAGE: ends the current case with a message.  Cases run in a
# command substitution (a subshell), so exit ends only that case, also when
# fail is called in the middle of a function.
fail() { echo "$*"; exit 1; }

# expect_eq WHAT GOT WANT
expect_eq() {
	if [ "$2" != "$3" ]; then
		echo "$1: got '$2', want '$3'"
		return 1
	fi
}

# sql QUERY: runs QUERY as the administrator, tab-separated, no headers.
sql() {
	mariadb -uroot --socket="$MYSQL_UNIX_PORT" -N -B "$MYSQL_DATABASE" -e "$1"
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
	rm -f "$tmp" "$tmp.h"
}

# header NAME: the value of response header NAME from the last http call.
header() {
	printf '%s\n' "$HEADERS" | awk -v n="$(echo "$1" | tr A-Z a-z)" -F': ' \
	    'tolower($1) == n { sub(/^[^:]*: /, ""); print; exit }'
}

# json EXPR: evaluates a Python expression on the last body parsed as j.
json() {
	python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1" <<<"$BODY"
}

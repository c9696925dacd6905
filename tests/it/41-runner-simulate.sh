# 41-runner-simulate.sh: `job-runner simulate` as an operator runs it: no
# configuration file or database needed, --config's runner.* keys honoured,
# the same seed the same bytes, --json one object python parses, every bad
# argument exit 64 with the usage line and nothing on stdout.

t_rs_no_config() {
	local out seed n
	# no --config: the built-in defaults, not the default path's file
	out=$(cd / && env -u CATALOG_CONF "$RUNNER" simulate --seed 11) ||
	    fail "simulate without --config failed"
	printf '%s\n' "$out" | grep -qx '# job-runner simulate: jobs=100 fail_rate=0.3 permanent_rate=0 seed=11' ||
	    fail "no header line: $(printf '%s\n' "$out" | head -2)"
	printf '%s\n' "$out" | grep -qx '# policy: max_attempts=5 backoff_base_ms=2000 backoff_cap_ms=3600000' ||
	    fail "not the default policy"
	printf '%s\n' "$out" | grep -qx '#   attempt 1 -> retry in 1000..2000 ms' || fail "no schedule"
	printf '%s\n' "$out" | grep -qx '#   attempt 5 -> dead (the last attempt)' || fail "no last attempt"
	# one logfmt line per attempt, as many as the summary counts
	n=$(printf '%s\n' "$out" | grep -Ec '^job_id=[0-9]+ attempt=[1-5]/5 outcome=(done|retry|dead) at_ms=[0-9]+( |$)')
	expect_eq "attempt lines" "$n" "$(printf '%s\n' "$out" | grep -v '^#' | wc -l)"
	printf '%s\n' "$out" | grep -Eq "^# summary: jobs=100 done=[0-9]+ dead=[0-9]+ attempts=$n\$" ||
	    fail "summary does not count $n attempts"
	printf '%s\n' "$out" | grep -Eq '^# time to done \(ms\): p50=[0-9]+ p99=[0-9]+ max=[0-9]+ \([0-9]+ jobs\)$' ||
	    fail "no time to done"
	# without --seed: one is picked and printed, and it replays the run
	out=$("$RUNNER" simulate --jobs 20) || fail "unseeded run failed"
	seed=$(printf '%s\n' "$out" | sed -n '1s/.* seed=\([0-9]*\)$/\1/p')
	[ -n "$seed" ] || fail "no seed printed"
	expect_eq "replayed by its seed" "$("$RUNNER" simulate --jobs 20 --seed "$seed")" "$out"
}
it_case "simulate needs no configuration or database; prints schedule, attempts, summary" t_rs_no_config

t_rs_seed() {
	local a b c
	a=$("$RUNNER" simulate --jobs 500 --fail-rate 0.5 --permanent-rate 0.1 --seed 99) || fail "run a"
	b=$("$RUNNER" simulate --jobs 500 --fail-rate 0.5 --permanent-rate 0.1 --seed 99) || fail "run b"
	c=$("$RUNNER" simulate --jobs 500 --fail-rate 0.5 --permanent-rate 0.1 --seed 100) || fail "run c"
	[ "$a" = "$b" ] || fail "same seed, different output"
	[ "$a" != "$c" ] || fail "other seed, same output"
	[ "$("$RUNNER" simulate --seed 99 --json --jobs 500 --fail-rate 0.5 --permanent-rate 0.1)" = \
	    "$("$RUNNER" simulate --jobs=500 --fail-rate=0.5 --permanent-rate=0.1 --json --seed=99)" ] ||
	    fail "option order changed the JSON"
}
it_case "simulate: same seed, same bytes; another seed, others" t_rs_seed

t_rs_json() {
	"$RUNNER" simulate --jobs 300 --seed 5 --fail-rate 0.4 --json >"$FIX_DIR/rs.json" ||
	    fail "--json failed"
	python3 - "$FIX_DIR/rs.json" <<'EOF' || return 1
import json, sys
raw = open(sys.argv[1]).read()
j = json.loads(raw)                    # one object, nothing else on stdout
assert raw.count("\n") == 1, "more than one line: %r" % raw[:200]
for k in ("jobs", "done", "dead", "attempts", "seed"):
    assert isinstance(j[k], int), k
assert j["jobs"] == 300 and j["seed"] == 5, j
assert j["done"] + j["dead"] == 300, j
assert 300 <= j["attempts"] <= 300 * j["max_attempts"], j
assert j["fail_rate"] == 0.4 and j["permanent_rate"] == 0, j
assert [r["attempt"] for r in j["schedule"]] == list(range(1, j["max_attempts"])), j
for r in j["schedule"]:
    assert r["min_delay_ms"] * 2 in (r["max_delay_ms"], r["max_delay_ms"] - 1), r
t = j["time_to_done_ms"]
assert t["p50"] <= t["p99"] <= t["max"], t
EOF
	# the largest seed survives the round trip through JSON
	"$RUNNER" simulate --jobs 1 --json --seed 18446744073709551615 |
	    python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["seed"] == 18446744073709551615, j' ||
	    fail "seed 2^64-1 lost"
	# --fail-rate 1: all dead, exactly max_attempts attempts each
	"$RUNNER" simulate --jobs 40 --fail-rate 1 --json --seed 3 |
	    python3 -c 'import json,sys; j=json.load(sys.stdin); assert (j["dead"], j["done"], j["attempts"], j["time_to_done_ms"]) == (40, 0, 200, None), j' ||
	    fail "--fail-rate 1 not all dead after 5 attempts"
	"$RUNNER" simulate --jobs 40 --permanent-rate 1 --fail-rate 0 --json |
	    python3 -c 'import json,sys; j=json.load(sys.stdin); assert (j["dead"], j["attempts"]) == (40, 40), j' ||
	    fail "--permanent-rate 1 not all dead at once"
}
it_case "simulate --json: one object with jobs, done, dead, attempts, seed" t_rs_json

t_rs_config() {
	local conf out
	# runner.* from --config; the database named there is never reached
	conf="$FIX_DIR/rs-simulate.conf"
	printf '%s\n' 'runner.max_attempts = 3' 'runner.backoff_base_ms = 100' \
	    'runner.backoff_cap_ms = 250' 'db.socket = /nonexistent/mysqld.sock' >"$conf"
	out=$("$RUNNER" --config "$conf" simulate --seed 4 --fail-rate 1 --jobs 10) ||
	    fail "simulate with --config failed"
	printf '%s\n' "$out" | grep -qx '# policy: max_attempts=3 backoff_base_ms=100 backoff_cap_ms=250' ||
	    fail "config not used: $(printf '%s\n' "$out" | sed -n 2p)"
	printf '%s\n' "$out" | grep -qx '#   attempt 2 -> retry in 100..200 ms' || fail "schedule not from the config"
	printf '%s\n' "$out" | grep -qx '# always failing transiently: dead 150..300 ms after the first attempt' ||
	    fail "no dead-after line"
	expect_eq "dead at 3/3" "$(printf '%s\n' "$out" | grep -c 'attempt=3/3 outcome=dead ')" 10
	printf '%s\n' "$out" | grep -q 'attempt=4/' && fail "an attempt past max_attempts"
	printf '%s\n' "$out" | grep -qx '# summary: jobs=10 done=0 dead=10 attempts=30' || fail "summary"
	# a named file that does not load is a configuration error
	"$RUNNER" --config "$FIX_DIR/no-such.conf" simulate >/dev/null 2>&1
	expect_eq "missing config" "$?" 78
	printf 'runner.max_attempts = 0\n' >"$FIX_DIR/rs-bad.conf"
	"$RUNNER" --config "$FIX_DIR/rs-bad.conf" simulate >/dev/null 2>&1
	expect_eq "bad config" "$?" 78
}
it_case "simulate --config FILE uses its runner.* keys and touches no database" t_rs_config

t_rs_usage() {
	local args rc out bad=""
	while IFS= read -r args; do
		rc=0
		# shellcheck disable=SC2086
		out=$("$RUNNER" simulate $args 2>"$FIX_DIR/rs-usage.err") || rc=$?
		if [ "$rc" != 64 ] || [ -n "$out" ] ||
		    ! grep -q '^usage: job-runner .*simulate' "$FIX_DIR/rs-usage.err"; then
			bad="$bad [$args: exit $rc]"
		fi
	done <<'EOF'
--jobs 0
--jobs 100001
--jobs -1
--jobs 1e3
--jobs abc
--jobs
--fail-rate 1.5
--fail-rate -0.1
--fail-rate nan
--fail-rate 0.1234567891
--fail-rate .
--permanent-rate 2
--permanent-rate 0,5
--fail-rate 0.5 --permanent-rate 0.6
--fail-rate 1 --permanent-rate 0.000000001
--seed -1
--seed 18446744073709551616
--seed 0x10
--seed
--json=1
--bogus
extra
--jobs 10 extra
EOF
	[ -z "$bad" ] || fail "not a usage error:$bad"
	# the edges that are fine
	"$RUNNER" simulate --jobs 1 --fail-rate 0.7 --permanent-rate 0.3 --seed 0 >/dev/null ||
	    fail "P + Q = 1 refused"
	"$RUNNER" simulate --jobs 100000 --fail-rate 0 --json >/dev/null || fail "--jobs 100000 refused"
}
it_case "simulate: each bad argument exits 64 with the usage line, nothing on stdout" t_rs_usage

# 42-runner-ops.sh: the runner as a timer runs it every few seconds: an
# idle pass says nothing at info level, and --metrics-file keeps its
# counters and the time of the last success across runs (summed under a
# lock, so runners sharing the file lose no count), restarting from 0 with
# a warning when the file is missing or corrupt.

# shellcheck source=../lib/runner.sh
. "$top_srcdir/tests/lib/runner.sh"

OPS_CONF=$(rt_conf ops log.level=info)
OPS_PROM="$FIX_DIR/ops-runner.prom"

# ops_metric NAME: NAME's value in the textfile, "-" when absent.
ops_metric() {
	awk -v n="$1" '$1 == n { print $2; found = 1 } END { if (!found) print "-" }' \
	    "$OPS_PROM" || fail "cannot read $OPS_PROM"
}

# ops_idle_run LOG: one `run --once` with the metrics file; its stderr to LOG.
ops_idle_run() {
	: >"$1"
	rt_run "$OPS_CONF" "$1" run --once --metrics-file "$OPS_PROM" ||
	    fail "run --once exited $?: $(cat "$1")"
}

# ops_drain: processes whatever other cases left due, so the passes below
# are idle; fails when something is still due.
ops_drain() {
	local i log="$FIX_DIR/ops-drain.log"
	for i in $(seq 1 20); do
		[ "$(sql "SELECT COUNT(*) FROM jobs WHERE status IN ('pending','running')
		    AND run_at <= NOW(6) + INTERVAL 30 SECOND")" = 0 ] && return 0
		rt_run "$OPS_CONF" "$log" run --once || fail "drain: run exited $?"
		sleep 0.5
	done
	fail "jobs are still due: $(sql "SELECT id, type, status, run_at FROM jobs
	    WHERE status IN ('pending','running') LIMIT 5")"
}

t_ops_idle_quiet() {
	local log="$FIX_DIR/ops-idle.log"
	ops_drain
	rm -f "$OPS_PROM"
	ops_idle_run "$log"
	expect_eq "first idle pass: only the missing-file warning" \
	    "$(grep -v 'level=warn prog=job-runner event=metrics_file_reset .*reason=missing' "$log")" ""
	grep -q 'reason=missing' "$log" || fail "no warning for the missing file: $(cat "$log")"
	ops_idle_run "$log"
	expect_eq "second idle pass: silent" "$(cat "$log")" ""
	expect_eq "runs counted across passes" "$(ops_metric job_runner_runs_total)" 2
	expect_eq "nothing claimed" "$(ops_metric job_runner_jobs_claimed_total)" 0
	expect_eq "no success yet" "$(ops_metric job_runner_last_success_timestamp_seconds)" -
	# at debug level the pass still says what it did
	: >"$log"
	rt_run "$(rt_conf ops-debug log.level=debug)" "$log" run --once ||
	    fail "debug run exited $?"
	grep -q 'level=debug .*event=run_summary .*claimed=0' "$log" ||
	    fail "no debug summary: $(cat "$log")"
}
it_case "runner: an idle run --once logs nothing at info (twice), its summary at debug" t_ops_idle_quiet

t_ops_counters_carry_over() {
	local log="$FIX_DIR/ops-carry.log" t1 done0 runs0
	it_defer "rt_cleanup ops1"
	ops_drain
	ops_idle_run "$log"
	done0=$(ops_metric job_runner_jobs_done_total)
	runs0=$(ops_metric job_runner_runs_total)
	rt_orders 2 ops1
	ops_idle_run "$log"
	grep -q 'level=info .*event=run_summary .*done=2' "$log" ||
	    fail "a busy run logs its summary at info: $(cat "$log")"
	expect_eq "done added" "$(ops_metric job_runner_jobs_done_total)" $((done0 + 2))
	t1=$(ops_metric job_runner_last_success_timestamp_seconds)
	[ "$t1" != - ] || fail "no last success after 2 jobs done"
	python3 -c "import sys, time; sys.exit(abs(time.time() - float(sys.argv[1])) > 120)" "$t1" ||
	    fail "last success $t1 is not now"
	sleep 1.1
	ops_idle_run "$log"
	expect_eq "an idle run keeps done" "$(ops_metric job_runner_jobs_done_total)" $((done0 + 2))
	expect_eq "an idle run keeps the last success" \
	    "$(ops_metric job_runner_last_success_timestamp_seconds)" "$t1"
	expect_eq "runs" "$(ops_metric job_runner_runs_total)" $((runs0 + 2))
	[ "$(ops_metric job_runner_last_run_timestamp_seconds)" != - ] ||
	    fail "no last run timestamp"
}
it_case "runner: --metrics-file counters and last success carry over idle runs" t_ops_counters_carry_over

t_ops_corrupt_file() {
	local log="$FIX_DIR/ops-corrupt.log" bad
	for bad in 'garbage' '{"json": 1}' 'a-b 1' \
	    'job_runner_jobs_done_total -5' \
	    'job_runner_jobs_done_total 12abc' \
	    'job_runner_runs_total 99999999999999999999999'; do
		printf '# TYPE job_runner_jobs_done_total counter\n%s\n' "$bad" >"$OPS_PROM"
		ops_idle_run "$log"
		grep -q 'level=warn .*event=metrics_file_reset .*reason=corrupt' "$log" ||
		    fail "'$bad': no corrupt warning: $(cat "$log")"
		expect_eq "'$bad': runs restart" "$(ops_metric job_runner_runs_total)" 1
		expect_eq "'$bad': done restart" "$(ops_metric job_runner_jobs_done_total)" 0
	done
	# cut short (no final newline), as a crashed writer without rename would
	printf 'job_runner_runs_total 7\njob_runner_jobs_done_total 4' >"$OPS_PROM"
	ops_idle_run "$log"
	grep -q 'reason=corrupt' "$log" || fail "truncated file not corrupt: $(cat "$log")"
	expect_eq "truncated: restart" "$(ops_metric job_runner_runs_total)" 1
	# another exporter's metric in the file is not ours: ignored, kept count
	printf 'job_runner_runs_total 7\nother_metric{a="b"} 3\n' >"$OPS_PROM"
	ops_idle_run "$log"
	expect_eq "unknown metric ignored" "$(ops_metric job_runner_runs_total)" 8
	expect_eq "no warning" "$(cat "$log")" ""
}
it_case "runner: a corrupt or truncated metrics file restarts the counters with a warning" t_ops_corrupt_file

# Several runners on one host share the file: the lock makes every run
# count (4 runners x 5 passes, at once).
t_ops_concurrent_runners() {
	local before r i
	ops_idle_run "$FIX_DIR/ops-conc.log"
	before=$(ops_metric job_runner_runs_total)
	for r in 1 2 3 4; do
		( for i in 1 2 3 4 5; do
			rt_run "$OPS_CONF" "$FIX_DIR/ops-conc-$r.log" run --once \
			    --metrics-file "$OPS_PROM" || fail "runner $r exited $?"
		  done ) &
	done
	wait
	expect_eq "every run counted" "$(ops_metric job_runner_runs_total)" $((before + 20))
	expect_eq "no leftover temporary files" \
	    "$(find "$FIX_DIR" -maxdepth 1 -name 'ops-runner.prom.tmp.*' | wc -l)" 0
}
it_case "runner: 4 runners sharing one metrics file lose no count (flock)" t_ops_concurrent_runners

/*
 * metrics_file.h: the runner's Prometheus textfile (`run --metrics-file
 * PATH`, read by node exporter's textfile collector), kept across runs.
 *
 * A timer starts a new `run --once` every few seconds; if each run wrote
 * only its own counts, every counter would drop back to 0 five seconds
 * later and rate() and increase() would be meaningless, and the time of
 * the last success would vanish with the first idle run.  So each write
 * ADDS this process's counts since its previous write to what the file
 * holds, under an exclusive flock(2) of PATH.lock (several runners on one
 * host share the file), and replaces PATH atomically (PATH.tmp.<pid>,
 * fsync, rename).  The counters are then monotonic across runs, runners
 * and reboots, as Prometheus counters must be.
 *
 * A missing or unreadable file (first run, or it was deleted) and a
 * corrupt one (a line that is not `name value`, a counter that is not a
 * non-negative integer) restart the counters from 0 with a warning; the
 * next write replaces the file.  Lines of unknown metrics are ignored, so
 * an older or newer runner's file still counts.
 */
#ifndef RUNNER_METRICS_FILE_H
#define RUNNER_METRICS_FILE_H

#include <stdint.h>

enum metrics_file_counter {
	MF_RUNS = 0,		/* job_runner_runs_total */
	MF_CLAIMED,		/* job_runner_jobs_claimed_total */
	MF_DONE,		/* job_runner_jobs_done_total */
	MF_RETRIED,		/* job_runner_jobs_retried_total */
	MF_DEAD,		/* job_runner_jobs_dead_total */
	MF_LEASE_LOST,		/* job_runner_lease_lost_total */
	MF__MAX
};

struct metrics_file_values {
	uint64_t	counter[MF__MAX];
	uint64_t	last_success_ms;	/* wall clock; 0: never */
	uint64_t	last_run_ms;		/* wall clock; 0: never */
};

/*
 * Reads the file at path into v (zeroed first).  0 read, 1 missing, -1
 * corrupt or unreadable (v is zero then).
 */
int metrics_file_read(const char *path, struct metrics_file_values *v);

/*
 * Under PATH.lock: reads PATH, adds delta's counters, takes the later of
 * the two timestamps, and writes the sum with this run's duration (a
 * gauge of the last run).  0, or -1 (logged) when the file could not be
 * written; the caller keeps its delta for the next try.
 */
int metrics_file_update(const char *path,
    const struct metrics_file_values *delta, double run_duration_seconds);

#endif

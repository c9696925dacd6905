/*
 * simulate.h: `job-runner simulate`, the retry and dead-letter policy run
 * in memory.  Synthetic jobs go through the runner's own state machine and
 * backoff (jobs_decide() with the jobs_policy the claim loop uses) on a
 * simulated clock; no database, cache, mail or configuration file.
 *
 * The engine (simulate_run) is separate from the command so the unit tests
 * check its figures directly.  Everything it prints follows from the
 * parameters and the seed: same seed, same bytes.
 */
#ifndef RUNNER_SIMULATE_H
#define RUNNER_SIMULATE_H

#include <stdint.h>
#include <stdio.h>

#include "jobs.h"

#define SIMULATE_JOBS_MAX	100000
#define SIMULATE_JOBS_DEFAULT	100
/* Probabilities are parts per SIMULATE_ONE, so P + Q <= 1 is exact. */
#define SIMULATE_ONE		1000000000u
#define SIMULATE_FAIL_DEFAULT	300000000u	/* 0.3 */
#define SIMULATE_RATE_MAX	24	/* "0.123456789" and then some */

struct simulate_params {
	uint64_t		jobs;		/* 1..SIMULATE_JOBS_MAX */
	uint32_t		fail;		/* transient, per SIMULATE_ONE */
	uint32_t		permanent;	/* permanent, per SIMULATE_ONE */
	uint64_t		seed;
	struct jobs_policy	policy;
};

/* Nearest-rank percentiles of the simulated times, in ms. */
struct simulate_times {
	uint64_t	n;		/* jobs measured; 0: no figures */
	uint64_t	p50;
	uint64_t	p99;
	uint64_t	max;
};

struct simulate_result {
	uint64_t		done;
	uint64_t		dead;
	uint64_t		attempts;
	struct simulate_times	to_done;	/* enqueue -> done */
	struct simulate_times	to_dead;	/* enqueue -> dead */
};

/*
 * Runs p->jobs jobs, all due at 0 ms, until each is done or dead; writes
 * one logfmt line per attempt to out (NULL: none), in the order of the
 * simulated clock.  Attempts take no simulated time: the clock moves only
 * by the backoff.  0, or -1 (out of memory).
 */
int simulate_run(const struct simulate_params *p, FILE *out,
    struct simulate_result *r);

/* The figures of v[0..n) (sorted in place): nearest rank, the smallest
 * value with at least 50% (99%) of them at or below it. */
void simulate_times(uint64_t *v, uint64_t n, struct simulate_times *t);

/* The delay range after a transient failure of attempt (1 ..
 * max_attempts - 1): what jobs_decide() can choose. */
void simulate_delay_range(const struct jobs_policy *policy, unsigned attempt,
    uint64_t *min_ms, uint64_t *max_ms);

/* "0.3" -> 300000000: a decimal in 0..1 with at most 9 decimals.  0 or
 * -1. */
int simulate_parse_rate(const char *s, uint32_t *rate);
/* 300000000 -> "0.3" (shortest exact form); buf of SIMULATE_RATE_MAX. */
void simulate_format_rate(uint32_t rate, char *buf, size_t size);

#endif

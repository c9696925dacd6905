/*
 * test-jobs.c: the job state machine with no database.  Backoff bounds,
 * single decisions, and whole retry histories simulated in memory (claim
 * counts the attempt, the handler's outcome comes from a script, the
 * decision moves the job), checked for the sequence of states, the delays
 * and the dead-letter count.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "cunit-main.h"
#include "jobs.h"

static const struct jobs_backoff contract_backoff = { 2000, 3600000 };

static void
test_backoff_max(void)
{
	static const struct {
		unsigned attempt;
		uint64_t want;
	} rows[] = {
		{ 0, 2000 }, { 1, 2000 }, { 2, 4000 }, { 3, 8000 },
		{ 4, 16000 }, { 11, 2048000 }, { 12, 3600000 },
		{ 13, 3600000 }, { 64, 3600000 }, { 100000, 3600000 },
	};
	struct jobs_backoff tiny = { 1, 1 }, big = { 86400000, 604800000 };
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CU_ASSERT_EQUAL(jobs_backoff_max(&contract_backoff,
		    rows[i].attempt), rows[i].want);
	CU_ASSERT_EQUAL(jobs_backoff_max(&tiny, 1), 1);
	CU_ASSERT_EQUAL(jobs_backoff_max(&tiny, 4000000000u), 1);
	/* no overflow on the way to a large cap */
	CU_ASSERT_EQUAL(jobs_backoff_max(&big, 4000000000u), 604800000);
	CU_ASSERT_EQUAL(jobs_backoff_max(&big, 3), 345600000);
	CU_ASSERT_EQUAL(jobs_backoff_max(&big, 4), 604800000);
}

static void
test_backoff_jitter_bounds(void)
{
	static const uint64_t rnds[] = {
		0, 1, 2, 999, 1000, 1001, 123456789, UINT64_MAX,
		UINT64_MAX - 1, 0x8000000000000000ull,
	};
	unsigned attempt;
	size_t i;

	for (attempt = 1; attempt <= 20; attempt++) {
		uint64_t d = jobs_backoff_max(&contract_backoff, attempt);

		for (i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
			uint64_t x = jobs_backoff_delay(&contract_backoff,
			    attempt, rnds[i]);
			CU_ASSERT(x >= d / 2);
			CU_ASSERT(x <= d);
		}
		/* both ends are reachable */
		CU_ASSERT_EQUAL(jobs_backoff_delay(&contract_backoff, attempt,
		    0), d / 2);
		CU_ASSERT_EQUAL(jobs_backoff_delay(&contract_backoff, attempt,
		    d - d / 2), d);
	}
}

static void
test_decide_single(void)
{
	struct jobs_decision d;

	jobs_decide(1, 5, JOBS_OUTCOME_DONE, &contract_backoff, 7, &d);
	CU_ASSERT_EQUAL(d.next, JOBS_DONE);
	CU_ASSERT_EQUAL(d.dead_letter, 0);
	CU_ASSERT_EQUAL(d.delay_ms, 0);

	jobs_decide(1, 5, JOBS_OUTCOME_TRANSIENT, &contract_backoff, 0, &d);
	CU_ASSERT_EQUAL(d.next, JOBS_PENDING);
	CU_ASSERT_EQUAL(d.delay_ms, 1000);
	CU_ASSERT_EQUAL(d.dead_letter, 0);

	jobs_decide(4, 5, JOBS_OUTCOME_TRANSIENT, &contract_backoff, 0, &d);
	CU_ASSERT_EQUAL(d.next, JOBS_PENDING);
	CU_ASSERT_EQUAL(d.delay_ms, 8000);

	jobs_decide(5, 5, JOBS_OUTCOME_TRANSIENT, &contract_backoff, 0, &d);
	CU_ASSERT_EQUAL(d.next, JOBS_DEAD);
	CU_ASSERT_EQUAL(d.dead_letter, 1);

	/* reclaimed after its last attempt's runner died */
	jobs_decide(6, 5, JOBS_OUTCOME_TRANSIENT, &contract_backoff, 0, &d);
	CU_ASSERT_EQUAL(d.next, JOBS_DEAD);
	jobs_decide(6, 5, JOBS_OUTCOME_DONE, &contract_backoff, 0, &d);
	CU_ASSERT_EQUAL(d.next, JOBS_DONE);

	jobs_decide(1, 5, JOBS_OUTCOME_PERMANENT, &contract_backoff, 0, &d);
	CU_ASSERT_EQUAL(d.next, JOBS_DEAD);
	CU_ASSERT_EQUAL(d.dead_letter, 1);

	jobs_decide(1, 1, JOBS_OUTCOME_TRANSIENT, &contract_backoff, 0, &d);
	CU_ASSERT_EQUAL(d.next, JOBS_DEAD);

	CU_ASSERT_STRING_EQUAL(jobs_state_verb(JOBS_DONE), "done");
	CU_ASSERT_STRING_EQUAL(jobs_state_verb(JOBS_PENDING), "retry");
	CU_ASSERT_STRING_EQUAL(jobs_state_verb(JOBS_DEAD), "dead");
}

/* ---- in-memory queue simulation ---------------------------------- */

struct sim_job {
	enum jobs_state	state;
	unsigned	attempts;
	uint64_t	now_ms;		/* simulated clock */
	uint64_t	run_at_ms;
	unsigned	dead_letters;
	unsigned	retries;
	uint64_t	delays[64];
};

/* Runs one job through claims until it is done or dead, taking each
 * attempt's outcome from script (the last entry repeats). */
static void
sim_run(struct sim_job *j, unsigned max_attempts,
    const enum jobs_outcome *script, size_t nscript, uint64_t seed)
{
	struct jobs_decision d;
	unsigned guard = 0;

	memset(j, 0, sizeof(*j));
	j->state = JOBS_PENDING;
	while (j->state == JOBS_PENDING && guard++ < 1000) {
		enum jobs_outcome o;

		j->now_ms = j->run_at_ms;	/* the runner waits until due */
		j->state = JOBS_RUNNING;	/* claim */
		j->attempts++;
		o = script[j->attempts - 1 < nscript ? j->attempts - 1 :
		    nscript - 1];
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		jobs_decide(j->attempts, max_attempts, o, &contract_backoff,
		    seed, &d);
		j->state = d.next;
		if (d.next == JOBS_PENDING) {
			if (j->retries < 64)
				j->delays[j->retries] = d.delay_ms;
			j->retries++;
			j->run_at_ms = j->now_ms + d.delay_ms;
		}
		if (d.dead_letter)
			j->dead_letters++;
	}
}

static void
test_history_transient_then_success(void)
{
	static const enum jobs_outcome script[] = {
		JOBS_OUTCOME_TRANSIENT, JOBS_OUTCOME_TRANSIENT,
		JOBS_OUTCOME_TRANSIENT, JOBS_OUTCOME_DONE,
	};
	struct sim_job j;
	unsigned i, n;

	for (n = 0; n < 4; n++) {	/* transient x n, then success */
		sim_run(&j, 5, script + (3 - n), n + 1, 42 + n);
		CU_ASSERT_EQUAL(j.state, JOBS_DONE);
		CU_ASSERT_EQUAL(j.attempts, n + 1);
		CU_ASSERT_EQUAL(j.retries, n);
		CU_ASSERT_EQUAL(j.dead_letters, 0);
		for (i = 0; i < j.retries; i++) {
			uint64_t d = jobs_backoff_max(&contract_backoff, i + 1);
			CU_ASSERT(j.delays[i] >= d / 2 && j.delays[i] <= d);
		}
	}
	/* total time before success: at least the sum of the lower bounds */
	sim_run(&j, 5, script, 4, 7);
	CU_ASSERT(j.now_ms >= 1000 + 2000 + 4000);
	CU_ASSERT(j.now_ms <= 2000 + 4000 + 8000);
}

static void
test_history_always_transient_until_dead(void)
{
	static const enum jobs_outcome script[] = { JOBS_OUTCOME_TRANSIENT };
	struct sim_job j;
	unsigned max;

	for (max = 1; max <= 12; max++) {
		sim_run(&j, max, script, 1, max);
		CU_ASSERT_EQUAL(j.state, JOBS_DEAD);
		CU_ASSERT_EQUAL(j.attempts, max);
		CU_ASSERT_EQUAL(j.retries, max - 1);
		CU_ASSERT_EQUAL(j.dead_letters, 1);
	}
}

static void
test_history_permanent_at_once(void)
{
	static const enum jobs_outcome perm[] = { JOBS_OUTCOME_PERMANENT };
	static const enum jobs_outcome later[] = {
		JOBS_OUTCOME_TRANSIENT, JOBS_OUTCOME_TRANSIENT,
		JOBS_OUTCOME_PERMANENT, JOBS_OUTCOME_DONE,
	};
	struct sim_job j;

	sim_run(&j, 5, perm, 1, 1);
	CU_ASSERT_EQUAL(j.state, JOBS_DEAD);
	CU_ASSERT_EQUAL(j.attempts, 1);
	CU_ASSERT_EQUAL(j.retries, 0);
	CU_ASSERT_EQUAL(j.dead_letters, 1);

	/* a permanent failure after retries stops there too */
	sim_run(&j, 5, later, 4, 1);
	CU_ASSERT_EQUAL(j.state, JOBS_DEAD);
	CU_ASSERT_EQUAL(j.attempts, 3);
	CU_ASSERT_EQUAL(j.retries, 2);
	CU_ASSERT_EQUAL(j.dead_letters, 1);
}

static void
test_history_delays_grow_to_cap(void)
{
	static const enum jobs_outcome script[] = { JOBS_OUTCOME_TRANSIENT };
	struct sim_job j;
	unsigned i;

	sim_run(&j, 30, script, 1, 99);
	CU_ASSERT_EQUAL(j.retries, 29);
	for (i = 0; i < j.retries; i++)
		CU_ASSERT(j.delays[i] <= 3600000);
	/* late retries sit between cap/2 and cap */
	CU_ASSERT(j.delays[28] >= 1800000);
}

static const struct cunit_test tests[] = {
	{ "backoff: min(cap, base*2^(n-1)) without overflow", test_backoff_max },
	{ "backoff: jitter stays within [d/2, d]", test_backoff_jitter_bounds },
	{ "decide: one attempt, each outcome", test_decide_single },
	{ "history: transient x N then success", test_history_transient_then_success },
	{ "history: always transient until dead", test_history_always_transient_until_dead },
	{ "history: permanent is dead at once", test_history_permanent_at_once },
	{ "history: delays grow to the cap", test_history_delays_grow_to_cap },
};

CUNIT_MAIN("jobs", tests)

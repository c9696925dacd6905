/*
 * test-jobs.c: what a job is, with no database (common/jobs.h).  The job
 * contract: type names, idempotency keys and payloads, written and read
 * back through the one declaration of each type.  The state machine:
 * backoff bounds, single decisions, and whole retry histories simulated in
 * memory (claim counts the attempt, the handler's outcome comes from a
 * script, the decision moves the job), checked for the sequence of states,
 * the delays and the dead-letter count.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cunit-main.h"
#include "jobs.h"

static const struct jobs_backoff contract_backoff = { 2000, 3600000 };

/* Every declared type: a unique name that fits jobs.type and is found
 * again by name, a subject, and keys no other type can produce. */
static void
test_types_declared_once(void)
{
	char k1[JOBS_KEY_MAX + 1], k2[JOBS_KEY_MAX + 1];
	enum jobs_type t;
	size_t i, j;

	CU_ASSERT(JOBS_TYPE__MAX >= 1);
	for (i = 0; i < JOBS_TYPE__MAX; i++) {
		const char *name = jobs_type_name((enum jobs_type)i);

		CU_ASSERT(strlen(name) >= 1 && strlen(name) <= JOBS_TYPE_MAX);
		CU_ASSERT(strlen(jobs_type_subject((enum jobs_type)i)) >= 1);
		CU_ASSERT_EQUAL(jobs_type_find(name, &t), 0);
		CU_ASSERT_EQUAL(t, (enum jobs_type)i);
		for (j = 0; j < i; j++) {
			CU_ASSERT(strcmp(name, jobs_type_name(
			    (enum jobs_type)j)) != 0);
			/* the same subject of two types: two keys */
			CU_ASSERT_EQUAL(jobs_key((enum jobs_type)i, 12, k1,
			    sizeof(k1)), 0);
			CU_ASSERT_EQUAL(jobs_key((enum jobs_type)j, 12, k2,
			    sizeof(k2)), 0);
			CU_ASSERT(strcmp(k1, k2) != 0);
		}
	}
	CU_ASSERT_EQUAL(jobs_type_find("no_such_type", &t), -1);
	CU_ASSERT_EQUAL(jobs_type_find("", &t), -1);
	CU_ASSERT_EQUAL(jobs_type_find("order_confirmation_email ", &t), -1);
}

/* The order confirmation's contract, as the app writes it and the runner,
 * the tests and the docs read it. */
static void
test_order_confirmation_contract(void)
{
	const enum jobs_type t = JOBS_TYPE_ORDER_CONFIRMATION;
	char buf[JOBS_KEY_MAX + 1], small[8];
	int64_t subject = 0;

	CU_ASSERT_STRING_EQUAL(jobs_type_name(t), "order_confirmation_email");
	CU_ASSERT_EQUAL(jobs_key(t, 42, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "order-confirmation-42");
	CU_ASSERT_EQUAL(jobs_payload(t, 42, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "{\"order_id\":42}");
	CU_ASSERT_EQUAL(jobs_payload_parse(t, buf, strlen(buf), &subject), 0);
	CU_ASSERT_EQUAL(subject, 42);
	/* the largest id round-trips and its key fits the column */
	CU_ASSERT_EQUAL(jobs_key(t, INT64_MAX, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(jobs_payload(t, INT64_MAX, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(jobs_payload_parse(t, buf, strlen(buf), &subject), 0);
	CU_ASSERT_EQUAL(subject, INT64_MAX);
	/* a buffer too small is an error, never a cut key */
	CU_ASSERT_EQUAL(jobs_key(t, 42, small, sizeof(small)), -1);
	CU_ASSERT_EQUAL(jobs_payload(t, 42, small, sizeof(small)), -1);
}

static void
test_payload_parse_table(void)
{
	static const struct {
		const char	*payload;
		int64_t		 want;	/* 0: malformed */
	} rows[] = {
		{ "{\"order_id\":7}", 7 },
		{ "{\"order_id\": 7} \n", 7 },
		{ "{\"note\":\"x\",\"order_id\":9}", 9 },
		{ "", 0 }, { "{", 0 }, { "{\"order_id\": ", 0 }, { "[1]", 0 },
		{ "7", 0 }, { "null", 0 }, { "{}", 0 },
		{ "{\"order_id\": \"7\"}", 0 },
		{ "{\"order_id\": 0}", 0 }, { "{\"order_id\": -1}", 0 },
		{ "{\"order_id\": 1.5}", 0 }, { "{\"order_id\": true}", 0 },
		{ "{\"order_id\": null}", 0 },
		{ "{\"order_id\": 9223372036854775808}", 0 },
		{ "{\"order_id\": 1} x", 0 }, { "{\"order_id\": 1}{}", 0 },
		{ "{\"Order_id\": 1}", 0 }, { "{\"product_id\": 1}", 0 },
	};
	int64_t subject;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		subject = 0;
		rc = jobs_payload_parse(JOBS_TYPE_ORDER_CONFIRMATION,
		    rows[i].payload, strlen(rows[i].payload), &subject);
		if (rows[i].want == 0 ? rc != -1 : rc != 0 ||
		    subject != rows[i].want)
			fprintf(stderr, "payload %s: rc %d subject %" PRId64 "\n",
			    rows[i].payload, rc, subject);
		CU_ASSERT_EQUAL(rc, rows[i].want == 0 ? -1 : 0);
		if (rows[i].want != 0)
			CU_ASSERT_EQUAL(subject, rows[i].want);
	}
	/* a NUL inside the counted payload is not the end of it */
	CU_ASSERT_EQUAL(jobs_payload_parse(JOBS_TYPE_ORDER_CONFIRMATION,
	    "{\"order_id\":1}\0x", 16, &subject), -1);
}

static void
test_state_names(void)
{
	static const enum jobs_state all[] = {
		JOBS_PENDING, JOBS_RUNNING, JOBS_DONE, JOBS_DEAD,
	};
	enum jobs_state s;
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		CU_ASSERT_EQUAL(jobs_state_parse(jobs_state_name(all[i]), &s), 0);
		CU_ASSERT_EQUAL(s, all[i]);
	}
	CU_ASSERT_STRING_EQUAL(jobs_state_name(JOBS_DEAD), "dead");
	CU_ASSERT_EQUAL(jobs_state_parse("retry", &s), -1);
	CU_ASSERT_EQUAL(jobs_state_parse("", &s), -1);
}

static void
test_policy_from_conf(void)
{
	struct jobs_policy p;
	struct conf c;

	conf_defaults(&c);
	c.runner_max_attempts = 7;
	c.runner_backoff_base_ms = 10;
	c.runner_backoff_cap_ms = 90;
	jobs_policy_init(&p, &c);
	CU_ASSERT_EQUAL(p.max_attempts, 7);
	CU_ASSERT_EQUAL(p.backoff.base_ms, 10);
	CU_ASSERT_EQUAL(p.backoff.cap_ms, 90);
}

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
	{ "types: each declared once, found by name", test_types_declared_once },
	{ "contract: order confirmation key and payload",
	    test_order_confirmation_contract },
	{ "contract: payloads of the wrong shape are refused",
	    test_payload_parse_table },
	{ "states: names round-trip", test_state_names },
	{ "policy: runner.* keys", test_policy_from_conf },
	{ "backoff: min(cap, base*2^(n-1)) without overflow", test_backoff_max },
	{ "backoff: jitter stays within [d/2, d]", test_backoff_jitter_bounds },
	{ "decide: one attempt, each outcome", test_decide_single },
	{ "history: transient x N then success", test_history_transient_then_success },
	{ "history: always transient until dead", test_history_always_transient_until_dead },
	{ "history: permanent is dead at once", test_history_permanent_at_once },
	{ "history: delays grow to the cap", test_history_delays_grow_to_cap },
};

CUNIT_MAIN("jobs", tests)

/*
 * test-simulate.c: the figures of `job-runner simulate` (runner/simulate.c)
 * against what the retry policy implies: always failing jobs die after
 * exactly max_attempts attempts, permanent failures after one, clean runs
 * finish at the first attempt; the schedule is jobs_backoff_max's halves and
 * every logged delay lies in it; the same seed gives the same bytes, another
 * seed other bytes; the outcome draw matches the rates it was given.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit-main.h"
#include "jobs.h"
#include "simulate.h"

static void
params(struct simulate_params *p, uint64_t jobs, uint32_t fail,
    uint32_t permanent, unsigned max_attempts)
{
	memset(p, 0, sizeof(*p));
	p->jobs = jobs;
	p->fail = fail;
	p->permanent = permanent;
	p->seed = 42;
	p->policy.max_attempts = max_attempts;
	p->policy.backoff.base_ms = 2000;
	p->policy.backoff.cap_ms = 3600000;
}

/* simulate_run's attempt lines into a malloc'd string. */
static char *
run_lines(const struct simulate_params *p, struct simulate_result *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	CU_ASSERT_FATAL(fp != NULL);
	CU_ASSERT_EQUAL(simulate_run(p, fp, r), 0);
	CU_ASSERT_EQUAL(fclose(fp), 0);
	return text;
}

/* The attempt line of job id's last attempt. */
static const char *
last_line(const char *text, uint64_t id, char *line, size_t size)
{
	char prefix[32];
	const char *p, *found = NULL;
	size_t n;

	snprintf(prefix, sizeof(prefix), "job_id=%" PRIu64 " ", id);
	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			found = p;
	if (found == NULL)
		return "";
	n = strcspn(found, "\n");
	snprintf(line, size, "%.*s", (int)n, found);
	return line;
}

static void
test_always_transient_dies_at_max(void)
{
	static const unsigned maxes[] = { 1, 2, 5, 10, 100 };
	struct simulate_params p;
	struct simulate_result r;
	uint64_t lo, hi, sum_lo = 0, sum_hi = 0, id;
	char line[256], want[128], *text;
	size_t i;
	unsigned a;

	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		params(&p, 50, SIMULATE_ONE, 0, maxes[i]);
		text = run_lines(&p, &r);
		CU_ASSERT_EQUAL(r.done, 0);
		CU_ASSERT_EQUAL(r.dead, 50);
		CU_ASSERT_EQUAL(r.attempts, 50 * (uint64_t)maxes[i]);
		CU_ASSERT_EQUAL(r.to_done.n, 0);
		CU_ASSERT_EQUAL(r.to_dead.n, 50);
		/* each job's last line: attempt M/M, dead */
		for (id = 1; id <= 50; id++) {
			snprintf(want, sizeof(want), "job_id=%" PRIu64
			    " attempt=%u/%u outcome=dead ", id, maxes[i],
			    maxes[i]);
			CU_ASSERT_EQUAL(strncmp(last_line(text, id, line,
			    sizeof(line)), want, strlen(want)), 0);
		}
		/* dead after the sum of the delays: within their ranges */
		sum_lo = sum_hi = 0;
		for (a = 1; a < maxes[i]; a++) {
			simulate_delay_range(&p.policy, a, &lo, &hi);
			sum_lo += lo;
			sum_hi += hi;
		}
		CU_ASSERT(r.to_dead.p50 >= sum_lo && r.to_dead.max <= sum_hi);
		CU_ASSERT(r.to_dead.p50 <= r.to_dead.p99 &&
		    r.to_dead.p99 <= r.to_dead.max);
		free(text);
	}
}

/* Certain outcomes: every job ends at its first attempt, at 0 ms. */
static void
test_first_attempt_decides(void)
{
	static const struct {
		uint32_t	 fail, permanent;
		uint64_t	 done, dead;
		const char	*line;
	} rows[] = {
		{ 0, SIMULATE_ONE, 0, 200, "job_id=1 attempt=1/5 outcome=dead "
		    "at_ms=0 failure=permanent\n" },
		{ 0, 0, 200, 0, "job_id=200 attempt=1/5 outcome=done at_ms=0\n" },
	};
	struct simulate_params p;
	struct simulate_result r;
	char *text;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		params(&p, 200, rows[i].fail, rows[i].permanent, 5);
		text = run_lines(&p, &r);
		CU_ASSERT_EQUAL(r.done, rows[i].done);
		CU_ASSERT_EQUAL(r.dead, rows[i].dead);
		CU_ASSERT_EQUAL(r.attempts, 200);
		CU_ASSERT_EQUAL(r.to_done.n + r.to_dead.n, 200);
		CU_ASSERT_EQUAL(r.to_done.max + r.to_dead.max, 0);
		CU_ASSERT(strstr(text, rows[i].line) != NULL);
		CU_ASSERT(strstr(text, "attempt=2/") == NULL);
		free(text);
	}
}

static void
test_schedule_is_backoff_halves(void)
{
	static const struct jobs_backoff backoffs[] = {
		{ 2000, 3600000 }, { 1, 10 }, { 1, 1 }, { 7, 1000 },
		{ 86400000, 604800000 },
	};
	uint64_t lo, hi;
	size_t i;
	unsigned a;

	for (i = 0; i < sizeof(backoffs) / sizeof(backoffs[0]); i++) {
		struct jobs_policy policy = { 100, backoffs[i] };

		for (a = 1; a < 100; a++) {
			uint64_t d = jobs_backoff_max(&backoffs[i], a);

			simulate_delay_range(&policy, a, &lo, &hi);
			CU_ASSERT_EQUAL(lo, d / 2);
			CU_ASSERT_EQUAL(hi, d);
		}
	}
}

/* Every retry_in_ms of a run lies in its attempt's range. */
static void
test_logged_delays_in_schedule(void)
{
	struct simulate_params p;
	struct simulate_result r;
	unsigned attempt, max, retries = 0;
	uint64_t delay, lo, hi;
	char *text, *line;

	params(&p, 500, SIMULATE_ONE / 2, 0, 8);
	text = run_lines(&p, &r);
	for (line = text; line != NULL && *line != '\0';
	    line = strchr(line, '\n'), line = line != NULL ? line + 1 : NULL) {
		const char *at = strstr(line, " attempt="),
		    *rt = strstr(line, " retry_in_ms=");

		if (rt == NULL || rt > strchr(line, '\n'))
			continue;
		CU_ASSERT_FATAL(at != NULL);
		CU_ASSERT_EQUAL(sscanf(at, " attempt=%u/%u", &attempt, &max),
		    2);
		CU_ASSERT_EQUAL(sscanf(rt, " retry_in_ms=%" SCNu64, &delay), 1);
		simulate_delay_range(&p.policy, attempt, &lo, &hi);
		CU_ASSERT(delay >= lo && delay <= hi);
		CU_ASSERT(attempt < max);
		retries++;
	}
	CU_ASSERT_EQUAL(retries, r.attempts - r.done - r.dead);
	CU_ASSERT(retries > 100);
	free(text);
}

static void
test_same_seed_same_output(void)
{
	struct simulate_params p;
	struct simulate_result r1, r2, r3;
	char *a, *b, *c;

	params(&p, 300, 400000000, 50000000, 5);
	p.seed = 7;
	a = run_lines(&p, &r1);
	b = run_lines(&p, &r2);
	CU_ASSERT_STRING_EQUAL(a, b);
	CU_ASSERT_EQUAL(memcmp(&r1, &r2, sizeof(r1)), 0);
	p.seed = 8;
	c = run_lines(&p, &r3);
	CU_ASSERT(strcmp(a, c) != 0);
	free(a);
	free(b);
	free(c);
}

/* The draw follows the rates: with 10^5 jobs, the first attempts' failures
 * are within 5 standard deviations of n*P and n*Q (deterministic: the seed
 * is fixed, so this never flakes; it fails when the draw is biased). */
static void
test_rates_are_honoured(void)
{
	struct simulate_params p;
	struct simulate_result r;
	const double n = 100000, pf = 0.3, pq = 0.1;
	double want, sd;

	/* max_attempts 1: every failure is dead, transient or not */
	params(&p, 100000, 300000000, 100000000, 1);
	CU_ASSERT_EQUAL(simulate_run(&p, NULL, &r), 0);
	want = n * (pf + pq);
	sd = sqrt(n * (pf + pq) * (1 - pf - pq));
	CU_ASSERT((double)r.dead > want - 5 * sd &&
	    (double)r.dead < want + 5 * sd);
	/* with attempts to spare, a job dies when a permanent failure comes
	 * before a success: Q / (1 - P) of them */
	params(&p, 100000, 300000000, 100000000, 100);
	CU_ASSERT_EQUAL(simulate_run(&p, NULL, &r), 0);
	want = n * pq / (1 - pf);
	sd = sqrt(n * (pq / (1 - pf)) * (1 - pq / (1 - pf)));
	CU_ASSERT((double)r.dead > want - 5 * sd &&
	    (double)r.dead < want + 5 * sd);
	CU_ASSERT_EQUAL(r.done + r.dead, 100000);
}

static void
test_parse_rate(void)
{
	static const struct {
		const char	*in;
		int		 ok;
		uint32_t	 want;
	} rows[] = {
		{ "0", 1, 0 }, { "1", 1, SIMULATE_ONE }, { "0.3", 1, 300000000 },
		{ ".5", 1, 500000000 }, { "1.0", 1, SIMULATE_ONE },
		{ "0.000000001", 1, 1 }, { "0.999999999", 1, 999999999 },
		{ "00.25", 1, 250000000 },
		{ "", 0, 0 }, { ".", 0, 0 }, { "1.", 0, 0 }, { "-0.1", 0, 0 },
		{ "1.5", 0, 0 }, { "2", 0, 0 }, { "10", 0, 0 },
		{ "1.000000001", 0, 0 }, { "0.1234567891", 0, 0 },
		{ "0.3x", 0, 0 }, { " 0.3", 0, 0 }, { "0,3", 0, 0 },
		{ "nan", 0, 0 }, { "inf", 0, 0 }, { "1e-3", 0, 0 },
		{ "0x1", 0, 0 }, { "+0.5", 0, 0 },
	};
	char buf[SIMULATE_RATE_MAX];
	uint32_t v;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		v = 12345;
		CU_ASSERT_EQUAL(simulate_parse_rate(rows[i].in, &v) == 0,
		    rows[i].ok);
		CU_ASSERT_EQUAL(v, rows[i].ok ? rows[i].want : 12345);
	}
	/* and back, in the shortest exact form */
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (!rows[i].ok)
			continue;
		simulate_format_rate(rows[i].want, buf, sizeof(buf));
		CU_ASSERT_EQUAL(simulate_parse_rate(buf, &v), 0);
		CU_ASSERT_EQUAL(v, rows[i].want);
	}
	simulate_format_rate(300000000, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "0.3");
	simulate_format_rate(SIMULATE_ONE, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "1");
}

/* Nearest rank on one job: every percentile is that job's time. */
static void
test_percentiles_single_job(void)
{
	struct simulate_params p;
	struct simulate_result r;
	uint64_t lo, hi;

	params(&p, 1, SIMULATE_ONE, 0, 2);
	CU_ASSERT_EQUAL(simulate_run(&p, NULL, &r), 0);
	simulate_delay_range(&p.policy, 1, &lo, &hi);
	CU_ASSERT_EQUAL(r.to_dead.n, 1);
	CU_ASSERT_EQUAL(r.to_dead.p50, r.to_dead.max);
	CU_ASSERT_EQUAL(r.to_dead.p99, r.to_dead.max);
	CU_ASSERT(r.to_dead.max >= lo && r.to_dead.max <= hi);
}

static void
test_percentiles_nearest_rank(void)
{
	uint64_t v[1000], i;
	struct simulate_times t;

	for (i = 0; i < 100; i++)
		v[i] = 100 - i;		/* unsorted on purpose */
	simulate_times(v, 100, &t);
	CU_ASSERT_EQUAL(t.n, 100);
	CU_ASSERT_EQUAL(t.p50, 50);
	CU_ASSERT_EQUAL(t.p99, 99);
	CU_ASSERT_EQUAL(t.max, 100);
	for (i = 0; i < 1000; i++)
		v[i] = i + 1;
	simulate_times(v, 1000, &t);
	CU_ASSERT_EQUAL(t.p50, 500);
	CU_ASSERT_EQUAL(t.p99, 990);
	CU_ASSERT_EQUAL(t.max, 1000);
	v[0] = 7;
	simulate_times(v, 1, &t);
	CU_ASSERT(t.p50 == 7 && t.p99 == 7 && t.max == 7);
	simulate_times(v, 0, &t);
	CU_ASSERT_EQUAL(t.n, 0);
}

static const struct cunit_test tests[] = {
	{ "percentiles: nearest rank", test_percentiles_nearest_rank },
	{ "fail-rate 1: every job dead after exactly max_attempts",
	    test_always_transient_dies_at_max },
	{ "permanent-rate 1: dead after one attempt; 0/0: done at attempt 1",
	    test_first_attempt_decides },
	{ "schedule: ranges are jobs_backoff_max's halves",
	    test_schedule_is_backoff_halves },
	{ "logged retry delays lie in the schedule", test_logged_delays_in_schedule },
	{ "same seed, same output; other seed, other output",
	    test_same_seed_same_output },
	{ "outcomes follow the rates", test_rates_are_honoured },
	{ "rates: decimals 0..1, at most 9 places", test_parse_rate },
	{ "percentiles of a single job", test_percentiles_single_job },
};

CUNIT_MAIN("simulate", tests)

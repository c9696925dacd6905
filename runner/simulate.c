/*
 * simulate.c: `job-runner simulate [--jobs N] [--fail-rate P]
 * [--permanent-rate Q] [--seed S] [--json]` (simulate.h).
 *
 * The model: N jobs are enqueued at 0 ms.  A job is claimed the moment it
 * is due (as many runners as it takes, each infinitely fast), and each
 * attempt fails transiently with probability P, permanently with
 * probability Q, else succeeds.  Its next state is what the claim loop
 * would record: jobs_decide() with the runner's jobs_policy (jobs.h) and 64
 * random bits of jitter.  So the figures are the policy's own, the floor
 * under what a real queue shows: handler time, poll interval and timer
 * period only add to them.
 *
 * Determinism: one PRNG (splitmix64, seeded from --seed) feeds every
 * choice, in one fixed order: per attempt, first the outcome, then the
 * jitter.  Attempts run in the order of the simulated clock, ties broken
 * by job id (a binary heap keyed on (due, job id)), so the output does not
 * depend on anything but the parameters and the seed.  Probabilities are
 * integers per SIMULATE_ONE and the outcome draw is unbiased (rejection),
 * so no floating point decides anything.
 *
 * Output: the parameters and the retry schedule as `#` lines, one logfmt
 * line per attempt (`job_id attempt=N/M outcome at_ms`, plus `retry_in_ms`
 * and `failure`), then the summary as `#` lines; `grep -v '^#'` leaves
 * only the attempts.  --json prints one JSON object and nothing else.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "runner.h"
#include "simulate.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Randomness and rates                                                */
/* ------------------------------------------------------------------ */

/* splitmix64 (Steele, Lea, Flood 2014): 64 bits per step, every seed
 * (0 included) a full-period stream. */
static uint64_t
simulate_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, SIMULATE_ONE): draws above the last whole multiple of
 * SIMULATE_ONE are drawn again, so no value is favoured. */
static uint32_t
simulate_uniform(uint64_t *state)
{
	const uint64_t rem = (UINT64_MAX % SIMULATE_ONE + 1) % SIMULATE_ONE;
	uint64_t x;

	do
		x = simulate_next(state);
	while (rem != 0 && x > UINT64_MAX - rem);
	return (uint32_t)(x % SIMULATE_ONE);
}

int
simulate_parse_rate(const char *s, uint32_t *rate)
{
	uint64_t whole = 0, frac = 0, scale = SIMULATE_ONE;
	const char *p = s;
	int digits = 0, decimals = 0;

	for (; *p >= '0' && *p <= '9'; p++, digits++)
		if ((whole = whole * 10 + (uint64_t)(*p - '0')) > 1)
			return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, decimals++) {
			if (decimals == 9)
				return -1;
			scale /= 10;
			frac += (uint64_t)(*p - '0') * scale;
		}
	if (*p != '\0' || digits + decimals == 0 || (*(p - 1) == '.'))
		return -1;
	if (whole * SIMULATE_ONE + frac > SIMULATE_ONE)
		return -1;
	*rate = (uint32_t)(whole * SIMULATE_ONE + frac);
	return 0;
}

void
simulate_format_rate(uint32_t rate, char *buf, size_t size)
{
	char frac[16];
	size_t n;

	if (rate == 0 || rate >= SIMULATE_ONE) {
		snprintf(buf, size, "%s", rate == 0 ? "0" : "1");
		return;
	}
	snprintf(frac, sizeof(frac), "%09u", rate);
	for (n = strlen(frac); n > 1 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	snprintf(buf, size, "0.%s", frac);
}

/* ------------------------------------------------------------------ */
/* The engine                                                          */
/* ------------------------------------------------------------------ */

/* A job waiting for its next attempt. */
struct simulate_due {
	uint64_t	at_ms;
	uint32_t	job;		/* index: job id - 1 */
};

static int
simulate_before(const struct simulate_due *a, const struct simulate_due *b)
{
	return a->at_ms < b->at_ms || (a->at_ms == b->at_ms && a->job < b->job);
}

static void
simulate_push(struct simulate_due *heap, size_t *n, struct simulate_due d)
{
	size_t i = (*n)++, parent;

	while (i > 0 && simulate_before(&d, &heap[parent = (i - 1) / 2])) {
		heap[i] = heap[parent];
		i = parent;
	}
	heap[i] = d;
}

static struct simulate_due
simulate_pop(struct simulate_due *heap, size_t *n)
{
	struct simulate_due top = heap[0], last = heap[--(*n)];
	size_t i = 0, child;

	while ((child = 2 * i + 1) < *n) {
		if (child + 1 < *n && simulate_before(&heap[child + 1],
		    &heap[child]))
			child++;
		if (!simulate_before(&heap[child], &last))
			break;
		heap[i] = heap[child];
		i = child;
	}
	if (*n > 0)
		heap[i] = last;
	return top;
}

void
simulate_delay_range(const struct jobs_policy *policy, unsigned attempt,
    uint64_t *min_ms, uint64_t *max_ms)
{
	*min_ms = jobs_backoff_delay(&policy->backoff, attempt, 0);
	*max_ms = jobs_backoff_max(&policy->backoff, attempt);
}

static int
simulate_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
simulate_times(uint64_t *v, uint64_t n, struct simulate_times *t)
{
	memset(t, 0, sizeof(*t));
	if ((t->n = n) == 0)
		return;
	qsort(v, n, sizeof(*v), simulate_cmp_u64);
	t->p50 = v[(50 * n + 99) / 100 - 1];
	t->p99 = v[(99 * n + 99) / 100 - 1];
	t->max = v[n - 1];
}

/* One attempt's outcome, as a handler would report it. */
static enum jobs_outcome
simulate_outcome(const struct simulate_params *p, uint64_t *state)
{
	uint32_t u = simulate_uniform(state);

	if (u < p->permanent)
		return JOBS_OUTCOME_PERMANENT;
	if (u - p->permanent < p->fail)
		return JOBS_OUTCOME_TRANSIENT;
	return JOBS_OUTCOME_DONE;
}

static void
simulate_log(FILE *out, const struct simulate_params *p,
    const struct simulate_due *due, unsigned attempt, enum jobs_outcome o,
    const struct jobs_decision *d)
{
	fprintf(out, "job_id=%" PRIu32 " attempt=%u/%u outcome=%s at_ms=%"
	    PRIu64, due->job + 1, attempt, p->policy.max_attempts,
	    jobs_state_verb(d->next), due->at_ms);
	if (d->next == JOBS_PENDING)
		fprintf(out, " retry_in_ms=%" PRIu64, d->delay_ms);
	if (o != JOBS_OUTCOME_DONE)
		fprintf(out, " failure=%s", jobs_outcome_name(o));
	fputc('\n', out);
}

int
simulate_run(const struct simulate_params *p, FILE *out,
    struct simulate_result *r)
{
	struct simulate_due *heap = NULL, due;
	struct jobs_decision d;
	enum jobs_outcome o;
	uint64_t state = p->seed, *to_done = NULL, *to_dead = NULL;
	unsigned *attempts = NULL;
	size_t n = 0, i;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if ((heap = calloc(p->jobs, sizeof(*heap))) == NULL ||
	    (attempts = calloc(p->jobs, sizeof(*attempts))) == NULL ||
	    (to_done = calloc(p->jobs, sizeof(*to_done))) == NULL ||
	    (to_dead = calloc(p->jobs, sizeof(*to_dead))) == NULL)
		goto out;
	/* all due at 0 in id order: already a heap */
	for (i = 0; i < p->jobs; i++) {
		heap[i].at_ms = 0;
		heap[i].job = (uint32_t)i;
	}
	n = p->jobs;
	while (n > 0) {
		due = simulate_pop(heap, &n);
		attempts[due.job]++;
		r->attempts++;
		o = simulate_outcome(p, &state);
		jobs_decide(attempts[due.job], p->policy.max_attempts, o,
		    &p->policy.backoff, simulate_next(&state), &d);
		if (out != NULL)
			simulate_log(out, p, &due, attempts[due.job], o, &d);
		if (d.next == JOBS_DONE)
			to_done[r->done++] = due.at_ms;
		else if (d.next == JOBS_DEAD)
			to_dead[r->dead++] = due.at_ms;
		else {
			due.at_ms += d.delay_ms;
			simulate_push(heap, &n, due);
		}
	}
	simulate_times(to_done, r->done, &r->to_done);
	simulate_times(to_dead, r->dead, &r->to_dead);
	rc = 0;
out:
	free(heap);
	free(attempts);
	free(to_done);
	free(to_dead);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

/* Sum of the delay ranges: how long a job that always fails transiently
 * takes from its first attempt to dead. */
static void
simulate_dead_after(const struct jobs_policy *policy, uint64_t *min_ms,
    uint64_t *max_ms)
{
	uint64_t lo, hi;
	unsigned a;

	*min_ms = *max_ms = 0;
	for (a = 1; a < policy->max_attempts; a++) {
		simulate_delay_range(policy, a, &lo, &hi);
		*min_ms += lo;
		*max_ms += hi;
	}
}

static void
simulate_print_head(const struct simulate_params *p, FILE *out)
{
	char fail[SIMULATE_RATE_MAX], perm[SIMULATE_RATE_MAX];
	uint64_t lo, hi;
	unsigned a;

	simulate_format_rate(p->fail, fail, sizeof(fail));
	simulate_format_rate(p->permanent, perm, sizeof(perm));
	fprintf(out, "# job-runner simulate: jobs=%" PRIu64 " fail_rate=%s "
	    "permanent_rate=%s seed=%" PRIu64 "\n", p->jobs, fail, perm,
	    p->seed);
	fprintf(out, "# policy: max_attempts=%u backoff_base_ms=%" PRIu64
	    " backoff_cap_ms=%" PRIu64 "\n", p->policy.max_attempts,
	    p->policy.backoff.base_ms, p->policy.backoff.cap_ms);
	fprintf(out, "# retry schedule (what follows a transient failure of "
	    "each attempt):\n");
	for (a = 1; a < p->policy.max_attempts; a++) {
		simulate_delay_range(&p->policy, a, &lo, &hi);
		fprintf(out, "#   attempt %u -> retry in %" PRIu64 "..%" PRIu64
		    " ms\n", a, lo, hi);
	}
	fprintf(out, "#   attempt %u -> dead (the last attempt)\n",
	    p->policy.max_attempts);
	simulate_dead_after(&p->policy, &lo, &hi);
	fprintf(out, "# always failing transiently: dead %" PRIu64 "..%"
	    PRIu64 " ms after the first attempt\n", lo, hi);
}

static void
simulate_print_times(FILE *out, const char *what,
    const struct simulate_times *t)
{
	if (t->n == 0)
		fprintf(out, "# time to %s (ms): no job\n", what);
	else
		fprintf(out, "# time to %s (ms): p50=%" PRIu64 " p99=%" PRIu64
		    " max=%" PRIu64 " (%" PRIu64 " jobs)\n", what, t->p50,
		    t->p99, t->max, t->n);
}

static void
simulate_print_summary(const struct simulate_params *p,
    const struct simulate_result *r, FILE *out)
{
	fprintf(out, "# summary: jobs=%" PRIu64 " done=%" PRIu64 " dead=%"
	    PRIu64 " attempts=%" PRIu64 "\n", p->jobs, r->done, r->dead,
	    r->attempts);
	simulate_print_times(out, "done", &r->to_done);
	simulate_print_times(out, "dead", &r->to_dead);
}

/* Adds key: v (NULL: JSON null), clearing *ok when it could not. */
static void
simulate_json_put(json_object *o, const char *key, json_object *v, int *ok)
{
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		*ok = 0;
	}
}

/* The same for a value that must not be null: NULL from json-c's
 * constructors is out of memory. */
static void
simulate_json_add(json_object *o, const char *key, json_object *v, int *ok)
{
	if (v == NULL)
		*ok = 0;
	else
		simulate_json_put(o, key, v, ok);
}

static json_object *
simulate_json_times(const struct simulate_times *t, int *ok)
{
	json_object *o;

	if (t->n == 0)
		return NULL;	/* JSON null */
	if ((o = json_object_new_object()) == NULL) {
		*ok = 0;
		return NULL;
	}
	simulate_json_add(o, "p50", json_object_new_uint64(t->p50), ok);
	simulate_json_add(o, "p99", json_object_new_uint64(t->p99), ok);
	simulate_json_add(o, "max", json_object_new_uint64(t->max), ok);
	return o;
}

static json_object *
simulate_json_schedule(const struct jobs_policy *policy, int *ok)
{
	json_object *a, *row;
	uint64_t lo, hi;
	unsigned n;

	if ((a = json_object_new_array()) == NULL) {
		*ok = 0;
		return NULL;
	}
	for (n = 1; n < policy->max_attempts; n++) {
		simulate_delay_range(policy, n, &lo, &hi);
		if ((row = json_object_new_object()) == NULL ||
		    json_object_array_add(a, row) != 0) {
			json_object_put(row);
			*ok = 0;
			break;
		}
		simulate_json_add(row, "attempt", json_object_new_int(
		    (int)n), ok);
		simulate_json_add(row, "min_delay_ms", json_object_new_uint64(
		    lo), ok);
		simulate_json_add(row, "max_delay_ms", json_object_new_uint64(
		    hi), ok);
	}
	return a;
}

/* The one JSON object of --json.  0, or -1 (out of memory). */
static int
simulate_print_json(const struct simulate_params *p,
    const struct simulate_result *r, FILE *out)
{
	char fail[SIMULATE_RATE_MAX], perm[SIMULATE_RATE_MAX];
	json_object *o;
	int ok = 1;

	if ((o = json_object_new_object()) == NULL)
		return -1;
	simulate_format_rate(p->fail, fail, sizeof(fail));
	simulate_format_rate(p->permanent, perm, sizeof(perm));
	simulate_json_add(o, "jobs", json_object_new_uint64(p->jobs), &ok);
	simulate_json_add(o, "done", json_object_new_uint64(r->done), &ok);
	simulate_json_add(o, "dead", json_object_new_uint64(r->dead), &ok);
	simulate_json_add(o, "attempts", json_object_new_uint64(r->attempts),
	    &ok);
	simulate_json_add(o, "seed", json_object_new_uint64(p->seed), &ok);
	simulate_json_add(o, "fail_rate", json_object_new_double_s(
	    (double)p->fail / SIMULATE_ONE, fail), &ok);
	simulate_json_add(o, "permanent_rate", json_object_new_double_s(
	    (double)p->permanent / SIMULATE_ONE, perm), &ok);
	simulate_json_add(o, "max_attempts", json_object_new_int(
	    (int)p->policy.max_attempts), &ok);
	simulate_json_add(o, "backoff_base_ms", json_object_new_uint64(
	    p->policy.backoff.base_ms), &ok);
	simulate_json_add(o, "backoff_cap_ms", json_object_new_uint64(
	    p->policy.backoff.cap_ms), &ok);
	simulate_json_add(o, "schedule", simulate_json_schedule(&p->policy,
	    &ok), &ok);
	simulate_json_put(o, "time_to_done_ms",
	    simulate_json_times(&r->to_done, &ok), &ok);
	simulate_json_put(o, "time_to_dead_ms",
	    simulate_json_times(&r->to_dead, &ok), &ok);
	if (ok)
		fprintf(out, "%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */

static int
simulate_usage(const char *why, const char *arg)
{
	if (why != NULL)
		fprintf(stderr, "job-runner: simulate: %s%s%s\n", why,
		    arg != NULL ? ": " : "", arg != NULL ? arg : "");
	fprintf(stderr, "usage: job-runner [--config FILE] simulate "
	    "[--jobs N] [--fail-rate P]\n"
	    "           [--permanent-rate Q] [--seed S] [--json]\n");
	return RUNNER_EXIT_USAGE;
}

/* Parses argv into p (policy already set).  0, or the exit code. */
static int
simulate_args(int argc, char **argv, struct simulate_params *p, int *json)
{
	static const struct option opts[] = {
		{ "jobs", required_argument, NULL, 'n' },
		{ "fail-rate", required_argument, NULL, 'f' },
		{ "permanent-rate", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, seeded = 0;

	optind = 0;	/* glibc: re-initialise, main() scanned with "+" */
	opterr = 0;	/* our own messages, each with the usage line */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (util_parse_u64(optarg, 1, SIMULATE_JOBS_MAX,
			    &p->jobs) != 0)
				return simulate_usage("--jobs: expected 1.."
				    "100000", optarg);
			break;
		case 'f':
		case 'p':
			if (simulate_parse_rate(optarg, ch == 'f' ? &p->fail :
			    &p->permanent) != 0)
				return simulate_usage(ch == 'f' ?
				    "--fail-rate: expected a probability 0..1 "
				    "(at most 9 decimals)" : "--permanent-rate: "
				    "expected a probability 0..1 (at most 9 "
				    "decimals)", optarg);
			break;
		case 's':
			if (util_parse_u64(optarg, 0, UINT64_MAX,
			    &p->seed) != 0)
				return simulate_usage("--seed: expected an "
				    "integer 0..18446744073709551615", optarg);
			seeded = 1;
			break;
		case 'j':
			*json = 1;
			break;
		default:
			return simulate_usage("unknown option or missing value",
			    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return simulate_usage("unexpected argument", argv[optind]);
	if ((uint64_t)p->fail + p->permanent > SIMULATE_ONE)
		return simulate_usage("--fail-rate + --permanent-rate must be "
		    "at most 1", NULL);
	if (!seeded && util_random(&p->seed, sizeof(p->seed)) != 0)
		p->seed = util_monotonic_us();
	return 0;
}

int
runner_cmd_simulate(const struct conf *conf, int argc, char **argv)
{
	struct simulate_params p;
	struct simulate_result r;
	int json = 0, rc;

	memset(&p, 0, sizeof(p));
	p.jobs = SIMULATE_JOBS_DEFAULT;
	p.fail = SIMULATE_FAIL_DEFAULT;
	jobs_policy_init(&p.policy, conf);
	if ((rc = simulate_args(argc, argv, &p, &json)) != 0)
		return rc;
	if (!json)
		simulate_print_head(&p, stdout);
	if (simulate_run(&p, json ? NULL : stdout, &r) != 0) {
		fprintf(stderr, "job-runner: simulate: out of memory\n");
		return RUNNER_EXIT_RUNTIME;
	}
	if (json)
		rc = simulate_print_json(&p, &r, stdout);
	else
		simulate_print_summary(&p, &r, stdout);
	if (rc != 0 || fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "job-runner: simulate: cannot write the "
		    "report\n");
		return RUNNER_EXIT_RUNTIME;
	}
	return RUNNER_EXIT_OK;
}

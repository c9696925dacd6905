/*
 * jobs.c: the job contract and the retry state machine, with no database
 * (jobs.h).  The queue's SQL, and the states' meaning in the tables, are
 * in queue.c.
 *
 * The state machine of one attempt:
 *
 *   outcome      attempt < max_attempts     attempt >= max_attempts
 *   done         done                       done
 *   transient    pending, run_at = now +    dead + dead letter
 *                backoff(attempt)
 *   permanent    dead + dead letter         dead + dead letter
 *
 * backoff(n) is min(cap, base * 2^(n-1)) jittered uniformly into its upper
 * half [d/2, d]: the half keeps the schedule's shape (an operator can read
 * the worst case off it) while spreading the retries of jobs that failed
 * together, so a recovering mail server is not hit by all of them at once.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "jobs.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* The job types                                                       */
/* ------------------------------------------------------------------ */

static const struct {
	const char	*name;
	const char	*key_prefix;
	const char	*subject;
} jobs_types[JOBS_TYPE__MAX] = {
#define JOBS_TYPE_ROW(id, name, key, subject, handler) \
	[JOBS_TYPE_##id] = { name, key, subject },
	JOBS_TYPES(JOBS_TYPE_ROW)
#undef JOBS_TYPE_ROW
};

const char *
jobs_type_name(enum jobs_type t)
{
	return jobs_types[t].name;
}

const char *
jobs_type_subject(enum jobs_type t)
{
	return jobs_types[t].subject;
}

int
jobs_type_find(const char *name, enum jobs_type *t)
{
	size_t i;

	for (i = 0; i < JOBS_TYPE__MAX; i++)
		if (strcmp(jobs_types[i].name, name) == 0) {
			*t = (enum jobs_type)i;
			return 0;
		}
	return -1;
}

int
jobs_key(enum jobs_type t, int64_t subject, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%" PRId64, jobs_types[t].key_prefix,
	    subject);

	return n > 0 && (size_t)n < size && (size_t)n <= JOBS_KEY_MAX ? 0 : -1;
}

int
jobs_payload(enum jobs_type t, int64_t subject, char *buf, size_t size)
{
	int n = snprintf(buf, size, "{\"%s\":%" PRId64 "}",
	    jobs_types[t].subject, subject);

	return n > 0 && (size_t)n < size ? 0 : -1;
}

int
jobs_payload_parse(enum jobs_type t, const char *payload, size_t len,
    int64_t *subject)
{
	struct json_tokener *tok;
	struct json_object *root = NULL, *v;
	size_t end;
	int rc = -1;

	if (len > JOBS_PAYLOAD_MAX || (tok = json_tokener_new()) == NULL)
		return -1;
	root = json_tokener_parse_ex(tok, payload, (int)len);
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto out;
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (strchr(" \t\r\n", payload[end]) == NULL)
			goto out;
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, jobs_types[t].subject, &v) ||
	    !json_object_is_type(v, json_type_int))
		goto out;
	/* json-c clamps an integer out of int64's range to INT64_MAX (it
	 * keeps up to UINT64_MAX): the two readings differ for those */
	errno = 0;
	*subject = json_object_get_int64(v);
	if (errno != 0 || *subject <= 0 ||
	    (uint64_t)*subject != json_object_get_uint64(v))
		goto out;
	rc = 0;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The retry state machine                                             */
/* ------------------------------------------------------------------ */

void
jobs_policy_init(struct jobs_policy *p, const struct conf *conf)
{
	p->max_attempts = conf->runner_max_attempts;
	p->backoff.base_ms = conf->runner_backoff_base_ms;
	p->backoff.cap_ms = conf->runner_backoff_cap_ms;
}

uint64_t
jobs_backoff_max(const struct jobs_backoff *b, unsigned attempt)
{
	uint64_t d = b->base_ms;
	unsigned i;

	for (i = 1; i < attempt && d < b->cap_ms; i++) {
		if (d > b->cap_ms / 2) {
			d = b->cap_ms;
			break;
		}
		d *= 2;
	}
	return d < b->cap_ms ? d : b->cap_ms;
}

uint64_t
jobs_backoff_delay(const struct jobs_backoff *b, unsigned attempt,
    uint64_t rnd)
{
	uint64_t d = jobs_backoff_max(b, attempt);
	uint64_t low = d / 2;

	return low + rnd % (d - low + 1);
}

void
jobs_decide(unsigned attempt, unsigned max_attempts, enum jobs_outcome outcome,
    const struct jobs_backoff *b, uint64_t rnd, struct jobs_decision *d)
{
	memset(d, 0, sizeof(*d));
	switch (outcome) {
	case JOBS_OUTCOME_DONE:
		d->next = JOBS_DONE;
		return;
	case JOBS_OUTCOME_TRANSIENT:
		if (attempt < max_attempts) {
			d->next = JOBS_PENDING;
			d->delay_ms = jobs_backoff_delay(b, attempt, rnd);
			return;
		}
		break;
	case JOBS_OUTCOME_PERMANENT:
		break;
	}
	d->next = JOBS_DEAD;
	d->dead_letter = 1;
}

const char *
jobs_outcome_name(enum jobs_outcome o)
{
	switch (o) {
	case JOBS_OUTCOME_DONE:
		return "done";
	case JOBS_OUTCOME_TRANSIENT:
		return "transient";
	case JOBS_OUTCOME_PERMANENT:
		return "permanent";
	}
	return "unknown";
}

const char *
jobs_state_verb(enum jobs_state s)
{
	switch (s) {
	case JOBS_DONE:
		return "done";
	case JOBS_PENDING:
		return "retry";
	case JOBS_DEAD:
		return "dead";
	case JOBS_RUNNING:
		return "running";
	}
	return "unknown";
}

static const char *const jobs_state_names[] = {
	[JOBS_PENDING] = "pending",
	[JOBS_RUNNING] = "running",
	[JOBS_DONE] = "done",
	[JOBS_DEAD] = "dead",
};

const char *
jobs_state_name(enum jobs_state s)
{
	return (size_t)s < ARRAY_SIZE(jobs_state_names) ?
	    jobs_state_names[s] : "unknown";
}

int
jobs_state_parse(const char *name, enum jobs_state *s)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(jobs_state_names); i++)
		if (strcmp(jobs_state_names[i], name) == 0) {
			*s = (enum jobs_state)i;
			return 0;
		}
	return -1;
}

/*
 * jobs.h: what a job is, with no database: the job types and their
 * contract (name, idempotency key, payload), and the retry state machine.
 * The queue's SQL (the `jobs` and `dead_letter_jobs` tables) is queue.h.
 *
 *   - jobs_type_*(), jobs_key(), jobs_payload*(): the one place a type's
 *     name, key and payload are spelled (the list is job_types.h).
 *   - jobs_decide() turns (attempt, limit, outcome) into the next state,
 *     the retry delay and the dead-letter decision; jobs_backoff_*()
 *     compute the delay.  The runner's claim loop and `job-runner
 *     simulate` both decide through these, with a jobs_policy read from the
 *     configuration by jobs_policy_init().
 *
 * Everything here is pure: same inputs, same outputs, no I/O.
 */
#ifndef CORE_JOBS_H
#define CORE_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "job_types.h"

#define JOBS_TYPE_MAX		64	/* jobs.type VARCHAR(64) */
#define JOBS_KEY_MAX		191	/* jobs.idempotency_key VARCHAR(191) */
#define JOBS_PAYLOAD_MAX	65536	/* larger payloads are dead at once */
#define JOBS_ERROR_MAX		1024	/* last_error as we write it */
#define JOBS_RUNNER_ID_MAX	128	/* jobs.locked_by VARCHAR(128) */
#define JOBS_BATCH_MAX		1000	/* runner.batch_size upper bound */

/* The job types (job_types.h), JOBS_TYPE_<ID>. */
enum jobs_type {
#define JOBS_TYPE_ENUM(id, name, key, subject, handler) JOBS_TYPE_##id,
	JOBS_TYPES(JOBS_TYPE_ENUM)
#undef JOBS_TYPE_ENUM
	JOBS_TYPE__MAX
};

/* jobs.type of t. */
const char *jobs_type_name(enum jobs_type t);
/* The type named name: 0 and *t set, or -1 when no type has that name. */
int jobs_type_find(const char *name, enum jobs_type *t);
/* The payload member that holds the subject id ("order_id"). */
const char *jobs_type_subject(enum jobs_type t);

/* The idempotency key of t's job about subject (>= 1) into buf
 * ("order-confirmation-42").  0, or -1 when it does not fit. */
int jobs_key(enum jobs_type t, int64_t subject, char *buf, size_t size);
/* The payload of t's job about subject into buf ({"order_id":42}).  0 or
 * -1 when it does not fit. */
int jobs_payload(enum jobs_type t, int64_t subject, char *buf, size_t size);
/*
 * Reads the subject back from payload[0..len): a JSON object whose member
 * jobs_type_subject(t) is an integer >= 1 (other members are ignored, white
 * space may follow).  0 and *subject set, or -1 (malformed).
 */
int jobs_payload_parse(enum jobs_type t, const char *payload, size_t len,
    int64_t *subject);

/* What a handler reports about one attempt. */
enum jobs_outcome {
	JOBS_OUTCOME_DONE = 0,
	JOBS_OUTCOME_TRANSIENT,
	JOBS_OUTCOME_PERMANENT
};

/* jobs.status */
enum jobs_state {
	JOBS_PENDING = 0,
	JOBS_RUNNING,
	JOBS_DONE,
	JOBS_DEAD
};

/* The decision for one finished attempt. */
struct jobs_decision {
	enum jobs_state	 next;		/* JOBS_DONE, JOBS_PENDING or JOBS_DEAD */
	uint64_t	 delay_ms;	/* JOBS_PENDING: run_at = now + delay */
	int		 dead_letter;	/* insert a dead_letter_jobs row */
};

struct jobs_backoff {
	uint64_t	base_ms;
	uint64_t	cap_ms;
};

/* The retry policy a runner applies: runner.max_attempts and the backoff. */
struct jobs_policy {
	unsigned		max_attempts;
	struct jobs_backoff	backoff;
};

/* The policy of the runner.* keys of conf. */
void jobs_policy_init(struct jobs_policy *p, const struct conf *conf);

/* d = min(cap, base * 2^(attempt-1)) for attempt >= 1, without overflow. */
uint64_t jobs_backoff_max(const struct jobs_backoff *b, unsigned attempt);
/* d jittered into [d/2, d] by rnd (any 64 random bits). */
uint64_t jobs_backoff_delay(const struct jobs_backoff *b, unsigned attempt,
    uint64_t rnd);

/*
 * The state machine.  attempt is the attempt that just ran (1 for the
 * first), max_attempts the limit (>= 1).  Pure: same inputs, same output.
 */
void jobs_decide(unsigned attempt, unsigned max_attempts,
    enum jobs_outcome outcome, const struct jobs_backoff *b, uint64_t rnd,
    struct jobs_decision *d);

const char *jobs_outcome_name(enum jobs_outcome o);
/* "done", "retry", "dead": the words of the per-attempt log line. */
const char *jobs_state_verb(enum jobs_state s);
/* "pending", "running", "done", "dead": the words of jobs.status. */
const char *jobs_state_name(enum jobs_state s);
/* The state named name: 0 and *s set, or -1. */
int jobs_state_parse(const char *name, enum jobs_state *s);

#endif

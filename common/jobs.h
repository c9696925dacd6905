/*
 * jobs.h: the job queue (the `jobs` and `dead_letter_jobs` tables) and its
 * state machine.  See the top of jobs.c for the states, who moves a job
 * and in which transaction.
 *
 * Two halves:
 *   - pure code with no database: jobs_decide() turns (attempt, limit,
 *     outcome) into the next state, the retry delay and the dead-letter
 *     decision; jobs_backoff_*() compute the delay.  Unit tested through
 *     whole retry histories.
 *   - the SQL: claim, complete, retry, dead, renew, release, replay and
 *     prune.  Every function runs its own transaction and retries it on
 *     deadlock (1213), lock wait timeout (1205) or a lost connection.
 *
 * Ownership: jobs_claim() fills caller-provided struct jobs_job slots; the
 * payload of each is malloc'd and released by jobs_job_free().
 */
#ifndef CORE_JOBS_H
#define CORE_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define JOBS_TYPE_MAX		64	/* jobs.type VARCHAR(64) */
#define JOBS_KEY_MAX		191	/* jobs.idempotency_key VARCHAR(191) */
#define JOBS_PAYLOAD_MAX	65536	/* larger payloads are dead at once */
#define JOBS_ERROR_MAX		1024	/* last_error as we write it */
#define JOBS_RUNNER_ID_MAX	128	/* jobs.locked_by VARCHAR(128) */
#define JOBS_BATCH_MAX		1000	/* runner.batch_size upper bound */

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

/* One claimed job, held by this runner until its lease runs out. */
struct jobs_job {
	int64_t		 id;
	char		 type[JOBS_TYPE_MAX + 1];
	char		 idempotency_key[JOBS_KEY_MAX + 1];
	char		*payload;	/* NUL-terminated; NULL if too big */
	size_t		 payload_len;	/* the real length, even if too big */
	unsigned	 attempt;	/* this claim's attempt number, >= 1 */
	int		 replayed;	/* dead-lettered once and replayed */
	unsigned	 max_attempts;	/* min(row, runner.max_attempts) */
	int64_t		 lease_token;
	uint64_t	 leased_us;	/* monotonic time the lease was taken */
};

void jobs_job_free(struct jobs_job *j);

/* Who claims and how long a lease lasts. */
struct jobs_runner {
	char		id[JOBS_RUNNER_ID_MAX + 1];	/* hostname:pid */
	unsigned	lease_seconds;
	unsigned	max_attempts;			/* runner.max_attempts */
};

/* Status codes besides DB_OK / DB_ERR. */
#define JOBS_LEASE_LOST	1	/* the row is no longer ours: nothing done */
#define JOBS_NOT_FOUND	2	/* replay: no such dead job */

/*
 * A change applied in the transaction that marks a job done (the handler's
 * record of its side effect).  apply returns DB_OK or DB_ERR.
 */
struct jobs_effect {
	int		(*apply)(struct db *, int64_t);
	int64_t		 arg;
	/* optional, for jobs_complete_batch(): the same change for n args
	 * at once (fewer statements), with the same result as apply() on
	 * each */
	int		(*apply_many)(struct db *, const int64_t *, size_t);
};

/*
 * Claims up to max due jobs (max <= JOBS_BATCH_MAX) into out[]; *n is the
 * count.  DB_OK or DB_ERR (after the transaction retries ran out).
 */
int jobs_claim(struct db *db, const struct jobs_runner *r, struct jobs_job *out,
    size_t max, size_t *n);

/* running -> done (and effect, if any).  DB_OK, JOBS_LEASE_LOST, DB_ERR. */
int jobs_complete(struct db *db, const struct jobs_job *j,
    const struct jobs_effect *effect);

/* One finished job of a batch, for jobs_complete_batch(). */
struct jobs_done {
	const struct jobs_job	*job;
	struct jobs_effect	 effect;
	int			 rc;	/* out: DB_OK or JOBS_LEASE_LOST */
};

/*
 * running -> done for n jobs (n <= JOBS_BATCH_MAX), each with its effect,
 * in one transaction (one commit, one log flush for the whole batch).
 * Every job is still fenced on its own (`WHERE id = ? AND lease_token =
 * ?`): a job whose lease was lost gets rc = JOBS_LEASE_LOST, its effect is
 * not applied, and the others are recorded.  DB_OK, or DB_ERR when the
 * transaction failed (nothing recorded).
 */
int jobs_complete_batch(struct db *db, struct jobs_done *d, size_t n);
/* running -> pending, run_at = now + delay_ms, attempt kept. */
int jobs_retry(struct db *db, const struct jobs_job *j, uint64_t delay_ms,
    const char *error);
/* running -> dead + dead_letter_jobs row, one transaction. */
int jobs_dead(struct db *db, const struct jobs_job *j, const char *error);
/* Extends the lease to now + lease_seconds.  Resets j->leased_us. */
int jobs_renew(struct db *db, const struct jobs_runner *r, struct jobs_job *j);
/* running -> pending without counting the attempt (claimed, never run). */
int jobs_release(struct db *db, const struct jobs_job *j);

/* dead -> pending for each id, attempts = 0, replayed_at stamped, all in
 * one transaction: DB_OK, JOBS_NOT_FOUND (*bad_id set, nothing changed) or
 * DB_ERR.  all != 0 replays every dead job and ignores ids. */
int jobs_replay(struct db *db, const int64_t *ids, size_t nids, int all,
    uint64_t *replayed, int64_t *bad_id);
/* Deletes done jobs whose last change is older than days, in batches. */
int jobs_prune(struct db *db, unsigned days, uint64_t *deleted);

#endif

/*
 * queue.h: the job queue, the `jobs` and `dead_letter_jobs` tables.  No
 * other code reads or writes them: producers enqueue here, the runner
 * claims and records outcomes here, operators and dashboards inspect and
 * replay here.  What a job is (types, keys, payloads, the retry state
 * machine) is jobs.h; this is only its storage.  queue.c has the states,
 * who moves a job and in which transaction.
 *
 * Two files, one prefix:
 *   queue.c        producers and the runner's lease lifecycle: enqueue,
 *                  claim, complete, retry, dead, renew, release
 *   queue_admin.c  what operators and dashboards do: a job's state by its
 *                  subject, the queue's counts, dead letters (list, show,
 *                  replay), prune.  Listing and reading jobs for the admin
 *                  HTTP API belong here too.
 *
 * Outcomes (db.h's convention): DB_OK, a negative DB_E* when the database
 * failed, or one of the positive QUEUE_* below.  Every function but
 * queue_enqueue() (which joins its caller's transaction) runs its own
 * transaction through db_tx(), the one retry rule.
 *
 * Ownership: queue_claim() fills caller-provided struct queue_job slots;
 * the payload of each is malloc'd and released by queue_job_free().
 * queue_dead_get() likewise fills a struct queue_dead_letter released by
 * queue_dead_letter_free().
 */
#ifndef CORE_QUEUE_H
#define CORE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "core_sql.h"
#include "db.h"
#include "jobs.h"

/* Positive outcomes (db.h). */
#define QUEUE_LEASE_LOST	1	/* the row is no longer ours: nothing done */
#define QUEUE_NOT_FOUND		2	/* no such job (replay: no such dead job) */
#define QUEUE_DUPLICATE		3	/* enqueue: the idempotency key exists */

/*
 * Inserts t's job about subject (its payload and key from jobs.h), due now,
 * with max_attempts.  Runs in the caller's transaction, so the job commits
 * or rolls back with the change that made it necessary (the transactional
 * outbox).  *job_id may be NULL.  DB_OK, QUEUE_DUPLICATE or DB_E*.
 */
int queue_enqueue(struct db *db, enum jobs_type t, int64_t subject,
    unsigned max_attempts, uint64_t *job_id);

/* One claimed job, held by this runner until its lease runs out. */
struct queue_job {
	int64_t		 id;		/* 0: not from the queue (`exec`) */
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

void queue_job_free(struct queue_job *j);

/* Who claims and how long a lease lasts. */
struct queue_runner {
	char		id[JOBS_RUNNER_ID_MAX + 1];	/* hostname:pid */
	unsigned	lease_seconds;
	unsigned	max_attempts;			/* runner.max_attempts */
};

/*
 * A change applied in the transaction that marks a job done (the handler's
 * record of its side effect).  apply returns DB_OK or DB_E*.
 */
struct queue_effect {
	int		(*apply)(struct db *, int64_t);
	int64_t		 arg;
	/* optional, for queue_complete_batch(): the same change for n args
	 * at once (fewer statements), with the same result as apply() on
	 * each */
	int		(*apply_many)(struct db *, const int64_t *, size_t);
};

/*
 * Claims up to max due jobs (max <= JOBS_BATCH_MAX) into out[]; *n is the
 * count.  DB_OK or DB_ERR (after the transaction retries ran out).
 */
int queue_claim(struct db *db, const struct queue_runner *r,
    struct queue_job *out, size_t max, size_t *n);

/* running -> done (and effect, if any).  DB_OK, QUEUE_LEASE_LOST, DB_E*. */
int queue_complete(struct db *db, const struct queue_job *j,
    const struct queue_effect *effect);

/* One finished job of a batch, for queue_complete_batch(). */
struct queue_done {
	const struct queue_job	*job;
	struct queue_effect	 effect;
	int			 rc;	/* out: DB_OK or QUEUE_LEASE_LOST */
};

/*
 * running -> done for n jobs (n <= JOBS_BATCH_MAX), each with its effect,
 * in one transaction (one commit, one log flush for the whole batch).
 * Every job is still fenced on its own (`WHERE id = ? AND lease_token =
 * ?`): a job whose lease was lost gets rc = QUEUE_LEASE_LOST, its effect is
 * not applied, and the others are recorded.  DB_OK, or DB_E* when the
 * transaction failed (nothing recorded).
 */
int queue_complete_batch(struct db *db, struct queue_done *d, size_t n);
/* running -> pending, run_at = now + delay_ms, attempt kept. */
int queue_retry(struct db *db, const struct queue_job *j, uint64_t delay_ms,
    const char *error);
/* running -> dead + dead_letter_jobs row, one transaction. */
int queue_dead(struct db *db, const struct queue_job *j, const char *error);
/* Extends the lease to now + lease_seconds.  Resets j->leased_us. */
int queue_renew(struct db *db, const struct queue_runner *r,
    struct queue_job *j);
/* running -> pending without counting the attempt (claimed, never run). */
int queue_release(struct db *db, const struct queue_job *j);

/* --- queue_admin.c ------------------------------------------------------ */

/* The state of t's job about subject: DB_OK and *state, QUEUE_NOT_FOUND or
 * DB_E*. */
int queue_job_state(struct db *db, enum jobs_type t, int64_t subject,
    enum jobs_state *state);

/* The queue at a glance (cheap, indexed queries; "done" is not counted: it
 * grows without bound). */
struct queue_counts {
	int64_t		pending;
	int64_t		running;
	int64_t		dead;
	uint64_t	oldest_due_age_us;	/* of the oldest due pending job */
	int64_t		dead_letters_open;	/* not yet replayed */
};

int queue_count(struct db *db, struct queue_counts *c);

/* A dead letter as `dead list` shows it. */
struct queue_dead_row {
	int64_t	 job_id;
	int64_t	 id;				/* dead_letter_jobs.id */
	char	 type[JOBS_TYPE_MAX + 1];
	int64_t	 attempts;
	char	 failed_at[32];			/* UTC, to the second */
	char	 replayed_at[32];		/* "-" while open */
	char	 error[QUEUE_ERROR_LINE_MAX * 4 + 1];	/* its first line */
};

/*
 * Calls fn for each dead letter (all: replayed ones too), oldest first, at
 * most QUEUE_DEAD_LIST_MAX + 1 rows (one more than a page says there are
 * more).  fn returns 0 to go on.  DB_OK or DB_E*.
 */
int queue_dead_list(struct db *db, int all,
    int (*fn)(const struct queue_dead_row *, void *), void *arg);

/* A job's latest dead letter (a job dead-lettered, replayed and dead again
 * has one per death), for `dead show`. */
struct queue_dead_letter {
	int64_t	 id;
	char	 type[JOBS_TYPE_MAX + 1];
	int64_t	 attempts;
	char	 failed_at[40];			/* UTC, to the microsecond */
	char	 replayed_at[40];		/* "-" while open */
	char	 job_status[16];		/* "pruned" when the job is gone */
	char	*error;				/* up to QUEUE_SHOW_MAX characters */
	char	*payload;			/* as stored, up to QUEUE_SHOW_MAX
						   characters */
	size_t	 payload_read;			/* bytes in payload */
	int64_t	 payload_len;			/* its whole length in bytes: more
						   than payload_read when cut */
};

/* DB_OK and dl filled, QUEUE_NOT_FOUND or DB_E*. */
int queue_dead_get(struct db *db, int64_t job_id,
    struct queue_dead_letter *dl);
void queue_dead_letter_free(struct queue_dead_letter *dl);

/* dead -> pending for each id, attempts = 0, replayed_at stamped, all in
 * one transaction: DB_OK, QUEUE_NOT_FOUND (*bad_id set, nothing changed) or
 * DB_E*.  all != 0 replays every dead job and ignores ids. */
int queue_replay(struct db *db, const int64_t *ids, size_t nids, int all,
    uint64_t *replayed, int64_t *bad_id);
/* Deletes done jobs whose last change is older than days, in batches. */
int queue_prune(struct db *db, unsigned days, uint64_t *deleted);

/* --- queue_admin.c: the admin HTTP API's reads ------------------------- */

#define QUEUE_TEXT_MAX	65535	/* bytes of a TEXT column (last_error) */

/* A job as the admin API lists it.  Times are UTC, ISO 8601 with
 * microseconds. */
struct queue_job_row {
	int64_t	 id;
	char	 type[JOBS_TYPE_MAX + 1];
	char	 status[16];
	int64_t	 attempts;
	int64_t	 max_attempts;
	char	 run_at[40];
	char	 updated_at[40];
	char	 idempotency_key[JOBS_KEY_MAX + 1];
	char	*last_error;		/* QUEUE_TEXT_MAX + 1 bytes, owned by
					   the callee */
	size_t	 last_error_len;
	int	 last_error_null;
};

/* NULL members match anything.  key (an idempotency key) matches at most
 * one job. */
struct queue_job_filter {
	const char	*status;
	const char	*type;
	const char	*key;
	uint64_t	 page;		/* >= 1 */
	uint64_t	 per_page;	/* >= 1 */
};

/*
 * Calls fn for each job of the filter's page, newest first (fn returns 0
 * to go on), and sets *total to the number of jobs the filter matches.
 * DB_OK or DB_E*.
 */
int queue_job_list(struct db *db, const struct queue_job_filter *f,
    int (*fn)(const struct queue_job_row *, void *), void *arg,
    int64_t *total);

/* A job with its payload and its latest dead letter, if it has one. */
struct queue_job_detail {
	struct queue_job_row	 job;
	char			*payload;	/* up to QUEUE_SHOW_MAX characters */
	size_t			 payload_read;	/* bytes in payload */
	int64_t			 payload_len;	/* its whole length in bytes */
	int			 dead_lettered;	/* the members below are set */
	char			 failed_at[40];
	char			 replayed_at[40];	/* "" while open */
	char			*dead_error;	/* QUEUE_TEXT_MAX + 1 bytes */
	size_t			 dead_error_len;
	int			 dead_error_null;
};

/* DB_OK and d filled (release with queue_job_detail_free), QUEUE_NOT_FOUND
 * or DB_E*. */
int queue_job_get(struct db *db, int64_t id, struct queue_job_detail *d);
void queue_job_detail_free(struct queue_job_detail *d);

/* Jobs done (pruned ones are gone): an index range as long as the done
 * rows `prune` keeps, so not in queue_count(). */
int queue_count_done(struct db *db, int64_t *done);

/* One minute of queue_throughput(). */
struct queue_minute {
	int64_t	 start;		/* Unix time of its first second */
	int64_t	 done;		/* jobs finished */
	int64_t	 retried;	/* jobs waiting for a retry that failed then */
	int64_t	 dead;		/* jobs dead-lettered */
};

/* The last QUEUE_THROUGHPUT_MINUTES minutes by the database's clock,
 * oldest first, the current (partial) minute last.  DB_OK or DB_E*. */
int queue_throughput(struct db *db,
    struct queue_minute out[QUEUE_THROUGHPUT_MINUTES]);

#endif

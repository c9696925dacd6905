/*
 * queue.c: the job queue's producers and the runner's lease lifecycle
 * (queue.h).  The operators' side is queue_admin.c.
 *
 * States (jobs.status) and who moves a job, each in one transaction:
 *
 *   (new)   --------> pending      a producer, queue_enqueue(), inside the
 *                                   transaction of the change that needs
 *                                   the job (the order), so the job exists
 *                                   exactly when that change committed
 *   pending --claim--> running     the runner, queue_claim(): due rows
 *                                   (run_at <= now) locked with FOR UPDATE
 *                                   SKIP LOCKED, then updated by primary
 *                                   key (50 ids a statement): attempts + 1,
 *                                   locked_by, locked_until = now + lease,
 *                                   a fresh random lease_token (one per
 *                                   claim transaction)
 *   running --claim--> running     the same transaction also takes running
 *                                   rows whose locked_until has passed (their
 *                                   runner vanished); the new lease_token
 *                                   fences the old owner out
 *   running --------> done         queue_complete(), together with the
 *                                   handler's record of its side effect
 *                                   (orders.confirmation_sent_at);
 *                                   queue_complete_batch(): the same for
 *                                   several jobs of one claim in one
 *                                   transaction, each fenced on its own
 *   running --------> pending      queue_retry(): transient failure, run_at
 *                                   = now + backoff; queue_release(): claimed
 *                                   but never run (shutdown), attempt given
 *                                   back
 *   running --------> dead         queue_dead(): permanent failure or the
 *                                   last attempt; the dead_letter_jobs row is
 *                                   inserted in the same transaction
 *   dead    --------> pending      queue_replay() (an operator): attempts =
 *                                   0, dead_letter_jobs.replayed_at stamped
 *   done    --------> (deleted)    queue_prune() (an operator or cron)
 *
 * Which outcome moves a job where is jobs_decide() (jobs.c); this file
 * only stores the decision.
 *
 * Fencing: every change of a claimed job is `WHERE id = ? AND lease_token =
 * ?`.  Zero rows means another runner reclaimed it after our lease ran out;
 * the caller logs "lease lost" and leaves the row to its new owner.
 *
 * Why no deadlocks: the claim only ever skips locked rows (never waits),
 * every later statement touches rows this transaction already holds, by
 * primary key, and the session runs READ COMMITTED (no gap locks; db.c).
 * A 1213/1205 or a lost connection still rolls back and reruns the whole
 * transaction (db_tx, the one retry rule of db.h).
 *
 * Claim cost: the two claim queries force the narrow indexes jobs_claim
 * (status, run_at, id) and jobs_lease (status, locked_until, id), so the
 * optimizer reads only due rows however many done rows the table holds.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <mysqld_error.h>

#include "log.h"
#include "queue.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Enqueue                                                             */
/* ------------------------------------------------------------------ */

int
queue_enqueue(struct db *db, enum jobs_type t, int64_t subject,
    unsigned max_attempts, uint64_t *job_id)
{
	char payload[JOBS_TYPE_MAX + 32], key[JOBS_KEY_MAX + 1];
	struct db_val a[4];
	int rc;

	if (jobs_payload(t, subject, payload, sizeof(payload)) != 0 ||
	    jobs_key(t, subject, key, sizeof(key)) != 0) {
		/* cannot happen with the declared prefixes and members */
		log_msg(LOG_ERROR, "event=enqueue_error type=%s note=\"key or "
		    "payload too long\"", jobs_type_name(t));
		return DB_ERR;
	}
	a[0] = db_cstr(jobs_type_name(t));
	a[1] = db_cstr(payload);
	a[2] = db_cstr(key);
	a[3] = db_i64(max_attempts);
	rc = db_exec(db, STMT_QUEUE_ENQUEUE, a, 4, NULL, job_id);
	if (rc != DB_OK && db_errno(db) == ER_DUP_ENTRY)
		return QUEUE_DUPLICATE;
	return rc;
}

void
queue_job_free(struct queue_job *j)
{
	free(j->payload);
	j->payload = NULL;
}

/* ------------------------------------------------------------------ */
/* Claim                                                               */
/* ------------------------------------------------------------------ */

struct queue_claim_ctx {
	const struct queue_runner	*runner;
	struct queue_job			*out;
	size_t				 max;
	size_t				 n;
	char				*payload;	/* one row's buffer */
};

/* Copies one fetched row into the next slot. */
static int
queue_claim_keep(struct queue_claim_ctx *c, struct db_val *cols)
{
	struct queue_job *j = &c->out[c->n];
	unsigned row_max;

	memset(j, 0, sizeof(*j));
	j->id = cols[0].i;
	util_strlcpy(j->type, cols[1].s, sizeof(j->type));
	util_strlcpy(j->idempotency_key, cols[2].s, sizeof(j->idempotency_key));
	j->attempt = (unsigned)cols[3].i + 1;
	j->replayed = cols[7].i != 0;
	row_max = (unsigned)cols[4].i;
	j->max_attempts = row_max == 0 || row_max > c->runner->max_attempts ?
	    c->runner->max_attempts : row_max;
	j->payload_len = (size_t)cols[5].i;
	if (j->payload_len <= JOBS_PAYLOAD_MAX) {
		if ((j->payload = malloc(cols[6].len + 1)) == NULL)
			return DB_ERR;
		memcpy(j->payload, cols[6].s, cols[6].len + 1);
		j->payload_len = cols[6].len;
	}
	c->n++;
	return DB_OK;
}

static int
queue_claim_select(struct db *db, struct queue_claim_ctx *c, unsigned stmt)
{
	struct db_val arg = db_i64((int64_t)(c->max - c->n));
	char type[JOBS_TYPE_MAX + 1], key[JOBS_KEY_MAX + 1];
	struct db_val cols[8];
	MYSQL_STMT *cur;
	int rc = DB_OK;

	cols[0] = db_out_i64();
	cols[1] = db_out_str(type, sizeof(type));
	cols[2] = db_out_str(key, sizeof(key));
	cols[3] = db_out_i64();
	cols[4] = db_out_i64();
	cols[5] = db_out_i64();
	cols[6] = db_out_str(c->payload, JOBS_PAYLOAD_MAX + 1);
	cols[7] = db_out_i64();
	if (db_query(db, stmt, &arg, 1, cols, 8, &cur) != DB_OK)
		return DB_ERR;
	while (rc == DB_OK && c->n < c->max) {
		int got = db_fetch(db, cur, cols, 8);

		if (got == 0)
			break;
		rc = got == 1 ? queue_claim_keep(c, cols) : DB_ERR;
	}
	db_done(cur);
	return rc;
}

static int
queue_claim_tx(struct db *db, void *arg)
{
	struct queue_claim_ctx *c = arg;
	struct db_val p[3 + QUEUE_LEASE_CHUNK];
	uint64_t affected;
	int64_t token;
	size_t i;

	for (i = 0; i < c->n; i++)	/* a rerun starts from scratch */
		queue_job_free(&c->out[i]);
	c->n = 0;
	if (queue_claim_select(db, c, STMT_QUEUE_CLAIM_PENDING) != DB_OK)
		return DB_ERR;
	if (c->n < c->max &&
	    queue_claim_select(db, c, STMT_QUEUE_CLAIM_EXPIRED) != DB_OK)
		return DB_ERR;
	/* one token for this claim: fencing needs it to differ from any
	 * other claim's, and the fenced statements also name the id */
	token = util_random_token();
	for (i = 0; i < c->n; i += QUEUE_LEASE_CHUNK) {
		size_t k, m = c->n - i < QUEUE_LEASE_CHUNK ? c->n - i :
		    QUEUE_LEASE_CHUNK;

		p[0] = db_cstr(c->runner->id);
		p[1] = db_i64(c->runner->lease_seconds);
		p[2] = db_i64(token);
		for (k = 0; k < QUEUE_LEASE_CHUNK; k++)
			p[3 + k] = db_i64(c->out[i + (k < m ? k : m - 1)].id);
		if (db_exec(db, STMT_QUEUE_LEASE, p, 3 + QUEUE_LEASE_CHUNK,
		    &affected,
		    NULL) != DB_OK)
			return DB_ERR;
		if (affected != m) {
			/* cannot happen: we hold these rows' locks */
			log_msg(LOG_ERROR, "event=claim_error note=\"lease "
			    "updated %llu of %zu rows\"",
			    (unsigned long long)affected, m);
			return DB_ERR;
		}
		for (k = 0; k < m; k++)
			c->out[i + k].lease_token = token;
	}
	return DB_OK;
}

int
queue_claim(struct db *db, const struct queue_runner *r, struct queue_job *out,
    size_t max, size_t *n)
{
	struct queue_claim_ctx c;
	uint64_t now;
	size_t i;
	int rc;

	*n = 0;
	if (max == 0)
		return DB_OK;
	if (max > JOBS_BATCH_MAX)
		max = JOBS_BATCH_MAX;
	memset(&c, 0, sizeof(c));
	c.runner = r;
	c.out = out;
	c.max = max;
	if ((c.payload = malloc(JOBS_PAYLOAD_MAX + 1)) == NULL)
		return DB_ERR;
	rc = db_tx(db, "claim", queue_claim_tx, &c);
	free(c.payload);
	if (rc != DB_OK) {
		for (i = 0; i < c.n; i++)
			queue_job_free(&out[i]);
		return DB_ERR;
	}
	now = util_monotonic_us();
	for (i = 0; i < c.n; i++)
		out[i].leased_us = now;
	*n = c.n;
	return DB_OK;
}

/* ------------------------------------------------------------------ */
/* Outcomes, all fenced by the lease token                             */
/* ------------------------------------------------------------------ */

struct queue_finish_ctx {
	const struct queue_job		*job;
	const struct queue_effect	*effect;
	const char			*error;
	uint64_t			 delay_ms;
	unsigned			 lease_seconds;
};

/* Runs one fenced UPDATE; QUEUE_LEASE_LOST when it matched nothing. */
static int
queue_fenced(struct db *db, unsigned stmt, struct db_val *p, size_t np)
{
	uint64_t affected = 0;

	if (db_exec(db, stmt, p, np, &affected, NULL) != DB_OK)
		return DB_ERR;
	return affected == 1 ? DB_OK : QUEUE_LEASE_LOST;
}

static int
queue_complete_tx(struct db *db, void *arg)
{
	struct queue_finish_ctx *c = arg;
	struct db_val p[2];
	int rc;

	p[0] = db_i64(c->job->id);
	p[1] = db_i64(c->job->lease_token);
	if ((rc = queue_fenced(db, STMT_QUEUE_COMPLETE, p, 2)) != DB_OK)
		return rc;
	if (c->effect != NULL && c->effect->apply != NULL)
		return c->effect->apply(db, c->effect->arg);
	return DB_OK;
}

static int
queue_retry_tx(struct db *db, void *arg)
{
	struct queue_finish_ctx *c = arg;
	struct db_val p[4];

	p[0] = db_i64((int64_t)(c->delay_ms * 1000));
	p[1] = db_cstr(c->error);
	p[2] = db_i64(c->job->id);
	p[3] = db_i64(c->job->lease_token);
	return queue_fenced(db, STMT_QUEUE_RETRY, p, 4);
}

static int
queue_dead_tx(struct db *db, void *arg)
{
	struct queue_finish_ctx *c = arg;
	struct db_val p[3];
	int rc;

	p[0] = db_cstr(c->error);
	p[1] = db_i64(c->job->id);
	p[2] = db_i64(c->job->lease_token);
	if ((rc = queue_fenced(db, STMT_QUEUE_DEAD, p, 3)) != DB_OK)
		return rc;
	p[0] = db_i64(c->job->id);
	return db_exec(db, STMT_QUEUE_DEAD_LETTER, p, 1, NULL, NULL);
}

static int
queue_renew_tx(struct db *db, void *arg)
{
	struct queue_finish_ctx *c = arg;
	struct db_val p[3];

	p[0] = db_i64(c->lease_seconds);
	p[1] = db_i64(c->job->id);
	p[2] = db_i64(c->job->lease_token);
	return queue_fenced(db, STMT_QUEUE_RENEW, p, 3);
}

static int
queue_release_tx(struct db *db, void *arg)
{
	struct queue_finish_ctx *c = arg;
	struct db_val p[2];

	p[0] = db_i64(c->job->id);
	p[1] = db_i64(c->job->lease_token);
	return queue_fenced(db, STMT_QUEUE_RELEASE, p, 2);
}

int
queue_complete(struct db *db, const struct queue_job *j,
    const struct queue_effect *effect)
{
	struct queue_finish_ctx c = { .job = j, .effect = effect };

	return db_tx(db, "complete", queue_complete_tx, &c);
}

struct queue_batch_ctx {
	struct queue_done	*done;
	size_t			 n;
};

typedef int (*queue_many_fn)(struct db *, const int64_t *, size_t);

/* The effects that share the first one's apply_many, in one call; *used
 * says which function that was. */
static int
queue_apply_many(struct db *db, struct queue_batch_ctx *c, int64_t *args,
    queue_many_fn *used)
{
	queue_many_fn many = NULL;
	size_t i, n = 0;

	for (i = 0; i < c->n; i++) {
		const struct queue_effect *e = &c->done[i].effect;

		if (c->done[i].rc != DB_OK || e->apply == NULL ||
		    e->apply_many == NULL)
			continue;
		if (many == NULL)
			many = e->apply_many;
		if (e->apply_many == many)
			args[n++] = e->arg;
	}
	*used = many;
	return n == 0 ? DB_OK : many(db, args, n);
}

static int
queue_complete_batch_tx(struct db *db, void *arg)
{
	struct queue_batch_ctx *c = arg;
	struct queue_finish_ctx f;
	struct queue_effect one;
	queue_many_fn used = NULL;
	int64_t *args;
	size_t i;
	int rc;

	for (i = 0; i < c->n; i++) {
		/* effects with apply_many: after the loop, all at once */
		one = c->done[i].effect;
		if (one.apply_many != NULL)
			one.apply = NULL;
		memset(&f, 0, sizeof(f));
		f.job = c->done[i].job;
		f.effect = &one;
		rc = queue_complete_tx(db, &f);
		if (rc == QUEUE_LEASE_LOST) {
			/* the fenced UPDATE matched nothing and changed
			 * nothing: this one is its new owner's, the rest of
			 * the batch is still ours */
			c->done[i].rc = QUEUE_LEASE_LOST;
			continue;
		}
		if (rc != DB_OK)
			return DB_ERR;
		c->done[i].rc = DB_OK;
	}
	if ((args = malloc(c->n * sizeof(*args))) == NULL)
		return DB_ERR;
	/* one apply_many function in practice; any other, one at a time */
	rc = queue_apply_many(db, c, args, &used);
	free(args);
	if (rc != DB_OK)
		return DB_ERR;
	for (i = 0; i < c->n; i++) {
		const struct queue_effect *e = &c->done[i].effect;

		if (c->done[i].rc == DB_OK && e->apply != NULL &&
		    e->apply_many != NULL && e->apply_many != used)
			if (e->apply(db, e->arg) != DB_OK)
				return DB_ERR;
	}
	return DB_OK;
}

int
queue_complete_batch(struct db *db, struct queue_done *d, size_t n)
{
	struct queue_batch_ctx c = { .done = d, .n = n };

	if (n == 0)
		return DB_OK;
	return db_tx(db, "complete", queue_complete_batch_tx, &c);
}

int
queue_retry(struct db *db, const struct queue_job *j, uint64_t delay_ms,
    const char *error)
{
	struct queue_finish_ctx c = { .job = j, .error = error,
	    .delay_ms = delay_ms };

	return db_tx(db, "retry", queue_retry_tx, &c);
}

int
queue_dead(struct db *db, const struct queue_job *j, const char *error)
{
	struct queue_finish_ctx c = { .job = j, .error = error };

	return db_tx(db, "dead", queue_dead_tx, &c);
}

int
queue_renew(struct db *db, const struct queue_runner *r, struct queue_job *j)
{
	struct queue_finish_ctx c = { .job = j,
	    .lease_seconds = r->lease_seconds };
	int rc;

	if ((rc = db_tx(db, "renew", queue_renew_tx, &c)) == DB_OK)
		j->leased_us = util_monotonic_us();
	return rc;
}

int
queue_release(struct db *db, const struct queue_job *j)
{
	struct queue_finish_ctx c = { .job = j };

	return db_tx(db, "release", queue_release_tx, &c);
}


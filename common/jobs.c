/*
 * jobs.c: the job queue's state machine and its SQL.
 *
 * States (jobs.status) and who moves a job, each in one transaction:
 *
 *   pending --claim--> running     the runner, jobs_claim(): due rows
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
 *   running --------> done         jobs_complete(), together with the
 *                                   handler's record of its side effect
 *                                   (orders.confirmation_sent_at);
 *                                   jobs_complete_batch(): the same for
 *                                   several jobs of one claim in one
 *                                   transaction, each fenced on its own
 *   running --------> pending      jobs_retry(): transient failure, run_at =
 *                                   now + backoff; jobs_release(): claimed but
 *                                   never run (shutdown), attempt given back
 *   running --------> dead         jobs_dead(): permanent failure or the last
 *                                   attempt; the dead_letter_jobs row is
 *                                   inserted in the same transaction
 *   dead    --------> pending      jobs_replay() (an operator): attempts = 0,
 *                                   dead_letter_jobs.replayed_at stamped
 *   done    --------> (deleted)    jobs_prune() (an operator or cron)
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

#include "core_sql.h"
#include "jobs.h"
#include "log.h"
#include "util.h"


/* ------------------------------------------------------------------ */
/* The pure state machine                                              */
/* ------------------------------------------------------------------ */

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

void
jobs_job_free(struct jobs_job *j)
{
	free(j->payload);
	j->payload = NULL;
}

/* ------------------------------------------------------------------ */
/* Claim                                                               */
/* ------------------------------------------------------------------ */

struct jobs_claim_ctx {
	const struct jobs_runner	*runner;
	struct jobs_job			*out;
	size_t				 max;
	size_t				 n;
	char				*payload;	/* one row's buffer */
};

/* Copies one fetched row into the next slot. */
static int
jobs_claim_keep(struct jobs_claim_ctx *c, struct db_val *cols)
{
	struct jobs_job *j = &c->out[c->n];
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
jobs_claim_select(struct db *db, struct jobs_claim_ctx *c, unsigned stmt)
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
		rc = got == 1 ? jobs_claim_keep(c, cols) : DB_ERR;
	}
	db_done(cur);
	return rc;
}

static int
jobs_claim_tx(struct db *db, void *arg)
{
	struct jobs_claim_ctx *c = arg;
	struct db_val p[3 + JOBS_LEASE_CHUNK];
	uint64_t affected;
	int64_t token;
	size_t i;

	for (i = 0; i < c->n; i++)	/* a rerun starts from scratch */
		jobs_job_free(&c->out[i]);
	c->n = 0;
	if (jobs_claim_select(db, c, STMT_JOBS_CLAIM_PENDING) != DB_OK)
		return DB_ERR;
	if (c->n < c->max &&
	    jobs_claim_select(db, c, STMT_JOBS_CLAIM_EXPIRED) != DB_OK)
		return DB_ERR;
	/* one token for this claim: fencing needs it to differ from any
	 * other claim's, and the fenced statements also name the id */
	token = util_random_token();
	for (i = 0; i < c->n; i += JOBS_LEASE_CHUNK) {
		size_t k, m = c->n - i < JOBS_LEASE_CHUNK ? c->n - i :
		    JOBS_LEASE_CHUNK;

		p[0] = db_cstr(c->runner->id);
		p[1] = db_i64(c->runner->lease_seconds);
		p[2] = db_i64(token);
		for (k = 0; k < JOBS_LEASE_CHUNK; k++)
			p[3 + k] = db_i64(c->out[i + (k < m ? k : m - 1)].id);
		if (db_exec(db, STMT_JOBS_LEASE, p, 3 + JOBS_LEASE_CHUNK,
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
jobs_claim(struct db *db, const struct jobs_runner *r, struct jobs_job *out,
    size_t max, size_t *n)
{
	struct jobs_claim_ctx c;
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
	rc = db_tx(db, "claim", jobs_claim_tx, &c);
	free(c.payload);
	if (rc != DB_OK) {
		for (i = 0; i < c.n; i++)
			jobs_job_free(&out[i]);
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

struct jobs_finish_ctx {
	const struct jobs_job		*job;
	const struct jobs_effect	*effect;
	const char			*error;
	uint64_t			 delay_ms;
	unsigned			 lease_seconds;
};

/* Runs one fenced UPDATE; JOBS_LEASE_LOST when it matched nothing. */
static int
jobs_fenced(struct db *db, unsigned stmt, struct db_val *p, size_t np)
{
	uint64_t affected = 0;

	if (db_exec(db, stmt, p, np, &affected, NULL) != DB_OK)
		return DB_ERR;
	return affected == 1 ? DB_OK : JOBS_LEASE_LOST;
}

static int
jobs_complete_tx(struct db *db, void *arg)
{
	struct jobs_finish_ctx *c = arg;
	struct db_val p[2];
	int rc;

	p[0] = db_i64(c->job->id);
	p[1] = db_i64(c->job->lease_token);
	if ((rc = jobs_fenced(db, STMT_JOBS_COMPLETE, p, 2)) != DB_OK)
		return rc;
	if (c->effect != NULL && c->effect->apply != NULL)
		return c->effect->apply(db, c->effect->arg);
	return DB_OK;
}

static int
jobs_retry_tx(struct db *db, void *arg)
{
	struct jobs_finish_ctx *c = arg;
	struct db_val p[4];

	p[0] = db_i64((int64_t)(c->delay_ms * 1000));
	p[1] = db_cstr(c->error);
	p[2] = db_i64(c->job->id);
	p[3] = db_i64(c->job->lease_token);
	return jobs_fenced(db, STMT_JOBS_RETRY, p, 4);
}

static int
jobs_dead_tx(struct db *db, void *arg)
{
	struct jobs_finish_ctx *c = arg;
	struct db_val p[3];
	int rc;

	p[0] = db_cstr(c->error);
	p[1] = db_i64(c->job->id);
	p[2] = db_i64(c->job->lease_token);
	if ((rc = jobs_fenced(db, STMT_JOBS_DEAD, p, 3)) != DB_OK)
		return rc;
	p[0] = db_i64(c->job->id);
	return db_exec(db, STMT_JOBS_DEAD_LETTER, p, 1, NULL, NULL);
}

static int
jobs_renew_tx(struct db *db, void *arg)
{
	struct jobs_finish_ctx *c = arg;
	struct db_val p[3];

	p[0] = db_i64(c->lease_seconds);
	p[1] = db_i64(c->job->id);
	p[2] = db_i64(c->job->lease_token);
	return jobs_fenced(db, STMT_JOBS_RENEW, p, 3);
}

static int
jobs_release_tx(struct db *db, void *arg)
{
	struct jobs_finish_ctx *c = arg;
	struct db_val p[2];

	p[0] = db_i64(c->job->id);
	p[1] = db_i64(c->job->lease_token);
	return jobs_fenced(db, STMT_JOBS_RELEASE, p, 2);
}

int
jobs_complete(struct db *db, const struct jobs_job *j,
    const struct jobs_effect *effect)
{
	struct jobs_finish_ctx c = { .job = j, .effect = effect };

	return db_tx(db, "complete", jobs_complete_tx, &c);
}

struct jobs_batch_ctx {
	struct jobs_done	*done;
	size_t			 n;
};

typedef int (*jobs_many_fn)(struct db *, const int64_t *, size_t);

/* The effects that share the first one's apply_many, in one call; *used
 * says which function that was. */
static int
jobs_apply_many(struct db *db, struct jobs_batch_ctx *c, int64_t *args,
    jobs_many_fn *used)
{
	jobs_many_fn many = NULL;
	size_t i, n = 0;

	for (i = 0; i < c->n; i++) {
		const struct jobs_effect *e = &c->done[i].effect;

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
jobs_complete_batch_tx(struct db *db, void *arg)
{
	struct jobs_batch_ctx *c = arg;
	struct jobs_finish_ctx f;
	struct jobs_effect one;
	jobs_many_fn used = NULL;
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
		rc = jobs_complete_tx(db, &f);
		if (rc == JOBS_LEASE_LOST) {
			/* the fenced UPDATE matched nothing and changed
			 * nothing: this one is its new owner's, the rest of
			 * the batch is still ours */
			c->done[i].rc = JOBS_LEASE_LOST;
			continue;
		}
		if (rc != DB_OK)
			return DB_ERR;
		c->done[i].rc = DB_OK;
	}
	if ((args = malloc(c->n * sizeof(*args))) == NULL)
		return DB_ERR;
	/* one apply_many function in practice; any other, one at a time */
	rc = jobs_apply_many(db, c, args, &used);
	free(args);
	if (rc != DB_OK)
		return DB_ERR;
	for (i = 0; i < c->n; i++) {
		const struct jobs_effect *e = &c->done[i].effect;

		if (c->done[i].rc == DB_OK && e->apply != NULL &&
		    e->apply_many != NULL && e->apply_many != used)
			if (e->apply(db, e->arg) != DB_OK)
				return DB_ERR;
	}
	return DB_OK;
}

int
jobs_complete_batch(struct db *db, struct jobs_done *d, size_t n)
{
	struct jobs_batch_ctx c = { .done = d, .n = n };

	if (n == 0)
		return DB_OK;
	return db_tx(db, "complete", jobs_complete_batch_tx, &c);
}

int
jobs_retry(struct db *db, const struct jobs_job *j, uint64_t delay_ms,
    const char *error)
{
	struct jobs_finish_ctx c = { .job = j, .error = error,
	    .delay_ms = delay_ms };

	return db_tx(db, "retry", jobs_retry_tx, &c);
}

int
jobs_dead(struct db *db, const struct jobs_job *j, const char *error)
{
	struct jobs_finish_ctx c = { .job = j, .error = error };

	return db_tx(db, "dead", jobs_dead_tx, &c);
}

int
jobs_renew(struct db *db, const struct jobs_runner *r, struct jobs_job *j)
{
	struct jobs_finish_ctx c = { .job = j,
	    .lease_seconds = r->lease_seconds };
	int rc;

	if ((rc = db_tx(db, "renew", jobs_renew_tx, &c)) == DB_OK)
		j->leased_us = util_monotonic_us();
	return rc;
}

int
jobs_release(struct db *db, const struct jobs_job *j)
{
	struct jobs_finish_ctx c = { .job = j };

	return db_tx(db, "release", jobs_release_tx, &c);
}

/* ------------------------------------------------------------------ */
/* Operator commands: replay and prune                                 */
/* ------------------------------------------------------------------ */

struct jobs_replay_ctx {
	const int64_t	*ids;
	size_t		 nids;
	int		 all;
	uint64_t	 replayed;
	int64_t		 bad_id;
};

static int
jobs_replay_tx(struct db *db, void *arg)
{
	struct jobs_replay_ctx *c = arg;
	struct db_val p;
	uint64_t affected;
	size_t i;

	c->replayed = 0;
	if (c->all) {
		if (db_exec(db, STMT_JOBS_REPLAY_ALL_JOBS, NULL, 0,
		    &c->replayed,
		    NULL) != DB_OK)
			return DB_ERR;
		return db_exec(db, STMT_JOBS_REPLAY_ALL_LETTERS, NULL, 0, NULL,
		    NULL);
	}
	for (i = 0; i < c->nids; i++) {
		p = db_i64(c->ids[i]);
		if (db_exec(db, STMT_JOBS_REPLAY_JOB, &p, 1, &affected,
		    NULL) != DB_OK)
			return DB_ERR;
		if (affected != 1) {
			c->bad_id = c->ids[i];
			return JOBS_NOT_FOUND;
		}
		if (db_exec(db, STMT_JOBS_REPLAY_LETTER, &p, 1, NULL,
		    NULL) != DB_OK)
			return DB_ERR;
		c->replayed++;
	}
	return DB_OK;
}

int
jobs_replay(struct db *db, const int64_t *ids, size_t nids, int all,
    uint64_t *replayed, int64_t *bad_id)
{
	struct jobs_replay_ctx c = { .ids = ids, .nids = nids, .all = all };
	int rc;

	rc = db_tx(db, "replay", jobs_replay_tx, &c);
	*replayed = rc == DB_OK ? c.replayed : 0;
	*bad_id = c.bad_id;
	return rc;
}

int
jobs_prune(struct db *db, unsigned days, uint64_t *deleted)
{
	struct db_val p = db_i64(days);
	uint64_t affected;

	/* autocommit batches: no long transaction holds the index */
	*deleted = 0;
	do {
		if (db_exec(db, STMT_JOBS_PRUNE, &p, 1, &affected,
		    NULL) != DB_OK)
			return DB_ERR;
		*deleted += affected;
	} while (affected == JOBS_PRUNE_BATCH);
	return DB_OK;
}

/*
 * queue_admin.c: the queue as operators and dashboards see it (queue.h):
 * a job's state by its subject, the counts, the dead letters (list, show,
 * replay) and pruning.  Reads here never lock rows the runners claim:
 * plain consistent reads, by index.
 *
 * The admin HTTP API (app/admin_jobs.c) reads here too: pages of jobs by
 * status, type or idempotency key (one prepared statement per filter, so
 * each uses its index), one job with its payload and latest dead letter,
 * the done count and the last hour's throughput by the database's clock.
 *
 * Replay is the one way back from dead: every named job to pending with
 * attempts reset and its open dead letter stamped replayed_at, all in one
 * transaction; one id that is not a dead job rolls back the whole call.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "util.h"

int
queue_job_state(struct db *db, enum jobs_type t, int64_t subject,
    enum jobs_state *state)
{
	char key[JOBS_KEY_MAX + 1], status[16];
	struct db_val arg, col = db_out_str(status, sizeof(status));
	int rc;

	if (jobs_key(t, subject, key, sizeof(key)) != 0)
		return QUEUE_NOT_FOUND;
	arg = db_cstr(key);
	if ((rc = db_query_row(db, STMT_QUEUE_STATE_BY_KEY, &arg, 1, &col,
	    1)) < 0)
		return rc;
	if (rc == 0)
		return QUEUE_NOT_FOUND;
	return jobs_state_parse(status, state) == 0 ? DB_OK : DB_ERR;
}

int
queue_count(struct db *db, struct queue_counts *c)
{
	char status[16];
	struct db_val cols[2] = { db_out_str(status, sizeof(status)),
	    db_out_i64() };
	struct db_val one = db_out_i64();
	enum jobs_state s;
	MYSQL_STMT *cur;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = db_query(db, STMT_QUEUE_COUNT_BY_STATUS, NULL, 0, cols, 2,
	    &cur)) != DB_OK)
		return rc;
	while ((rc = db_fetch(db, cur, cols, 2)) == 1) {
		if (jobs_state_parse(status, &s) != 0)
			continue;
		if (s == JOBS_PENDING)
			c->pending = cols[1].i;
		else if (s == JOBS_RUNNING)
			c->running = cols[1].i;
		else if (s == JOBS_DEAD)
			c->dead = cols[1].i;
	}
	db_done(cur);
	if (rc < 0)
		return rc;
	if ((rc = db_query_row(db, STMT_QUEUE_OLDEST_DUE, NULL, 0, &one,
	    1)) != 1)
		return rc < 0 ? rc : DB_ERR;
	c->oldest_due_age_us = one.i > 0 ? (uint64_t)one.i : 0;
	if ((rc = db_query_row(db, STMT_QUEUE_DEAD_OPEN, NULL, 0, &one,
	    1)) != 1)
		return rc < 0 ? rc : DB_ERR;
	c->dead_letters_open = one.i;
	return DB_OK;
}

int
queue_dead_list(struct db *db, int all,
    int (*fn)(const struct queue_dead_row *, void *), void *arg)
{
	struct queue_dead_row row;
	struct db_val cols[7];
	MYSQL_STMT *cur;
	int rc;

	memset(&row, 0, sizeof(row));
	cols[0] = db_out_i64();
	cols[1] = db_out_i64();
	cols[2] = db_out_str(row.type, sizeof(row.type));
	cols[3] = db_out_i64();
	cols[4] = db_out_str(row.failed_at, sizeof(row.failed_at));
	cols[5] = db_out_str(row.error, sizeof(row.error));
	cols[6] = db_out_str(row.replayed_at, sizeof(row.replayed_at));
	if ((rc = db_query(db, all ? STMT_QUEUE_DEAD_LIST_ALL :
	    STMT_QUEUE_DEAD_LIST_OPEN, NULL, 0, cols, 7, &cur)) != DB_OK)
		return rc;
	while ((rc = db_fetch(db, cur, cols, 7)) == 1) {
		row.job_id = cols[0].i;
		row.id = cols[1].i;
		row.attempts = cols[3].i;
		if (fn(&row, arg) != 0)
			break;
	}
	db_done(cur);
	return rc < 0 ? rc : DB_OK;
}

void
queue_dead_letter_free(struct queue_dead_letter *dl)
{
	free(dl->error);
	free(dl->payload);
	dl->error = dl->payload = NULL;
}

int
queue_dead_get(struct db *db, int64_t job_id, struct queue_dead_letter *dl)
{
	/* LEFT(..., QUEUE_SHOW_MAX) counts characters, up to 4 bytes each */
	const size_t cap = (size_t)QUEUE_SHOW_MAX * 4 + 1;
	struct db_val p = db_i64(job_id), cols[9];
	int rc;

	memset(dl, 0, sizeof(*dl));
	if ((dl->error = malloc(cap)) == NULL ||
	    (dl->payload = malloc(cap)) == NULL) {
		queue_dead_letter_free(dl);
		return DB_ERR;
	}
	cols[0] = db_out_i64();
	cols[1] = db_out_str(dl->type, sizeof(dl->type));
	cols[2] = db_out_i64();
	cols[3] = db_out_str(dl->failed_at, sizeof(dl->failed_at));
	cols[4] = db_out_str(dl->replayed_at, sizeof(dl->replayed_at));
	cols[5] = db_out_str(dl->job_status, sizeof(dl->job_status));
	cols[6] = db_out_i64();
	cols[7] = db_out_str(dl->error, cap);
	cols[8] = db_out_str(dl->payload, cap);
	if ((rc = db_query_row(db, STMT_QUEUE_DEAD_SHOW, &p, 1, cols, 9)) != 1) {
		queue_dead_letter_free(dl);
		return rc == 0 ? QUEUE_NOT_FOUND : rc;
	}
	dl->id = cols[0].i;
	dl->attempts = cols[2].i;
	dl->payload_len = cols[6].i;
	dl->payload_read = cols[8].len;
	return DB_OK;
}

struct queue_replay_ctx {
	const int64_t	*ids;
	size_t		 nids;
	int		 all;
	uint64_t	 replayed;
	int64_t		 bad_id;
};

static int
queue_replay_tx(struct db *db, void *arg)
{
	struct queue_replay_ctx *c = arg;
	struct db_val p;
	uint64_t affected;
	size_t i;

	c->replayed = 0;
	if (c->all) {
		if (db_exec(db, STMT_QUEUE_REPLAY_ALL_JOBS, NULL, 0,
		    &c->replayed,
		    NULL) != DB_OK)
			return DB_ERR;
		return db_exec(db, STMT_QUEUE_REPLAY_ALL_LETTERS, NULL, 0, NULL,
		    NULL);
	}
	for (i = 0; i < c->nids; i++) {
		p = db_i64(c->ids[i]);
		if (db_exec(db, STMT_QUEUE_REPLAY_JOB, &p, 1, &affected,
		    NULL) != DB_OK)
			return DB_ERR;
		if (affected != 1) {
			c->bad_id = c->ids[i];
			return QUEUE_NOT_FOUND;
		}
		if (db_exec(db, STMT_QUEUE_REPLAY_LETTER, &p, 1, NULL,
		    NULL) != DB_OK)
			return DB_ERR;
		c->replayed++;
	}
	return DB_OK;
}

int
queue_replay(struct db *db, const int64_t *ids, size_t nids, int all,
    uint64_t *replayed, int64_t *bad_id)
{
	struct queue_replay_ctx c = { .ids = ids, .nids = nids, .all = all };
	int rc;

	rc = db_tx(db, "replay", queue_replay_tx, &c);
	*replayed = rc == DB_OK ? c.replayed : 0;
	*bad_id = c.bad_id;
	return rc;
}

int
queue_prune(struct db *db, unsigned days, uint64_t *deleted)
{
	struct db_val p = db_i64(days);
	uint64_t affected;

	/* autocommit batches: no long transaction holds the index */
	*deleted = 0;
	do {
		if (db_exec(db, STMT_QUEUE_PRUNE, &p, 1, &affected,
		    NULL) != DB_OK)
			return DB_ERR;
		*deleted += affected;
	} while (affected == QUEUE_PRUNE_BATCH);
	return DB_OK;
}

/* --- the admin HTTP API's reads ------------------------------------------ */

/* The columns of QUEUE_JOB_COLUMNS into row (9 of them). */
static void
queue_job_bind(struct queue_job_row *row, struct db_val *cols)
{
	cols[0] = db_out_i64();
	cols[1] = db_out_str(row->type, sizeof(row->type));
	cols[2] = db_out_str(row->status, sizeof(row->status));
	cols[3] = db_out_i64();
	cols[4] = db_out_i64();
	cols[5] = db_out_str(row->run_at, sizeof(row->run_at));
	cols[6] = db_out_str(row->last_error, QUEUE_TEXT_MAX + 1);
	cols[7] = db_out_str(row->idempotency_key,
	    sizeof(row->idempotency_key));
	cols[8] = db_out_str(row->updated_at, sizeof(row->updated_at));
}

static void
queue_job_fetched(struct queue_job_row *row, const struct db_val *cols)
{
	row->id = cols[0].i;
	row->attempts = cols[3].i;
	row->max_attempts = cols[4].i;
	row->last_error_len = cols[6].len;
	row->last_error_null = cols[6].is_null != 0;
}

/* Which list and count statements the filter uses, and their arguments
 * (the list's LIMIT and OFFSET follow the filter's). */
static size_t
queue_job_filter_args(const struct queue_job_filter *f, unsigned *list,
    unsigned *count, struct db_val *args)
{
	size_t n = 0;

	if (f->status != NULL)
		args[n++] = db_cstr(f->status);
	if (f->type != NULL)
		args[n++] = db_cstr(f->type);
	if (f->status != NULL && f->type != NULL) {
		*list = STMT_QUEUE_JOBS_STATUS_TYPE;
		*count = STMT_QUEUE_JOBS_COUNT_STATUS_TYPE;
	} else if (f->status != NULL) {
		*list = STMT_QUEUE_JOBS_STATUS;
		*count = STMT_QUEUE_JOBS_COUNT_STATUS;
	} else if (f->type != NULL) {
		*list = STMT_QUEUE_JOBS_TYPE;
		*count = STMT_QUEUE_JOBS_COUNT_TYPE;
	} else {
		*list = STMT_QUEUE_JOBS_ALL;
		*count = STMT_QUEUE_JOBS_COUNT_ALL;
	}
	return n;
}

int
queue_job_list(struct db *db, const struct queue_job_filter *f,
    int (*fn)(const struct queue_job_row *, void *), void *arg,
    int64_t *total)
{
	struct queue_job_row row;
	struct db_val args[7], cols[9], one = db_out_i64();
	unsigned list, count;
	MYSQL_STMT *cur = NULL;
	size_t n;
	int rc;

	*total = 0;
	memset(&row, 0, sizeof(row));
	if ((row.last_error = malloc(QUEUE_TEXT_MAX + 1)) == NULL)
		return DB_ERR;
	queue_job_bind(&row, cols);
	if (f->key != NULL) {
		/* at most one job: the count is the rows, the page is 1 */
		args[0] = db_cstr(f->key);
		args[1] = args[2] = db_cstr(f->status);
		args[3] = args[4] = db_cstr(f->type);
		if ((rc = db_query(db, STMT_QUEUE_JOBS_KEY, args, 5, cols, 9,
		    &cur)) != DB_OK)
			goto done;
		while ((rc = db_fetch(db, cur, cols, 9)) == 1) {
			queue_job_fetched(&row, cols);
			if ((*total)++ == 0 && f->page == 1)
				fn(&row, arg);
		}
		goto done;
	}
	n = queue_job_filter_args(f, &list, &count, args);
	if ((rc = db_query_row(db, count, args, n, &one, 1)) != 1) {
		rc = rc == 0 ? DB_ERR : rc;
		goto done;
	}
	*total = one.i;
	args[n] = db_i64((int64_t)f->per_page);
	args[n + 1] = db_i64((int64_t)((f->page - 1) * f->per_page));
	if ((rc = db_query(db, list, args, n + 2, cols, 9, &cur)) != DB_OK)
		goto done;
	while ((rc = db_fetch(db, cur, cols, 9)) == 1) {
		queue_job_fetched(&row, cols);
		if (fn(&row, arg) != 0)
			break;
	}
done:
	db_done(cur);
	free(row.last_error);
	return rc < 0 ? rc : DB_OK;
}

void
queue_job_detail_free(struct queue_job_detail *d)
{
	free(d->job.last_error);
	free(d->payload);
	free(d->dead_error);
	d->job.last_error = d->payload = d->dead_error = NULL;
}

/* The job's latest dead letter into d: DB_OK (or none) or DB_E*. */
static int
queue_job_dead_letter(struct db *db, int64_t id, struct queue_job_detail *d)
{
	struct db_val p = db_i64(id), cols[3];
	int rc;

	cols[0] = db_out_str(d->failed_at, sizeof(d->failed_at));
	cols[1] = db_out_str(d->replayed_at, sizeof(d->replayed_at));
	cols[2] = db_out_str(d->dead_error, QUEUE_TEXT_MAX + 1);
	if ((rc = db_query_row(db, STMT_QUEUE_JOB_DEAD_LETTER, &p, 1, cols,
	    3)) < 0)
		return rc;
	d->dead_lettered = rc == 1;
	d->dead_error_len = cols[2].len;
	d->dead_error_null = cols[2].is_null != 0;
	return DB_OK;
}

int
queue_job_get(struct db *db, int64_t id, struct queue_job_detail *d)
{
	/* LEFT(..., QUEUE_SHOW_MAX) counts characters, up to 4 bytes each */
	const size_t cap = (size_t)QUEUE_SHOW_MAX * 4 + 1;
	struct db_val p = db_i64(id), cols[11];
	int rc;

	memset(d, 0, sizeof(*d));
	if ((d->job.last_error = malloc(QUEUE_TEXT_MAX + 1)) == NULL ||
	    (d->dead_error = malloc(QUEUE_TEXT_MAX + 1)) == NULL ||
	    (d->payload = malloc(cap)) == NULL) {
		rc = DB_ERR;
		goto fail;
	}
	queue_job_bind(&d->job, cols);
	cols[9] = db_out_i64();
	cols[10] = db_out_str(d->payload, cap);
	if ((rc = db_query_row(db, STMT_QUEUE_JOB_GET, &p, 1, cols, 11)) != 1) {
		rc = rc == 0 ? QUEUE_NOT_FOUND : rc;
		goto fail;
	}
	queue_job_fetched(&d->job, cols);
	d->payload_len = cols[9].i;
	d->payload_read = cols[10].len;
	if ((rc = queue_job_dead_letter(db, id, d)) != DB_OK)
		goto fail;
	return DB_OK;
fail:
	queue_job_detail_free(d);
	return rc;
}

int
queue_count_done(struct db *db, int64_t *done)
{
	struct db_val one = db_out_i64();
	int rc;

	*done = 0;
	if ((rc = db_query_row(db, STMT_QUEUE_COUNT_DONE, NULL, 0, &one,
	    1)) != 1)
		return rc < 0 ? rc : DB_ERR;
	*done = one.i;
	return DB_OK;
}

int
queue_throughput(struct db *db,
    struct queue_minute out[QUEUE_THROUGHPUT_MINUTES])
{
	struct db_val now = db_out_i64(), args[9], cols[4];
	MYSQL_STMT *cur;
	int64_t age;
	size_t i, slot;
	int rc;

	memset(out, 0, sizeof(*out) * QUEUE_THROUGHPUT_MINUTES);
	if ((rc = db_query_row(db, STMT_QUEUE_NOW_MINUTE, NULL, 0, &now,
	    1)) != 1)
		return rc < 0 ? rc : DB_ERR;
	for (i = 0; i < QUEUE_THROUGHPUT_MINUTES; i++)
		out[i].start = (now.i - (int64_t)(QUEUE_THROUGHPUT_MINUTES - 1 -
		    i)) * 60;
	for (i = 0; i < 9; i++)
		args[i] = db_i64(now.i);
	for (i = 0; i < 4; i++)
		cols[i] = db_out_i64();
	if ((rc = db_query(db, STMT_QUEUE_THROUGHPUT, args, 9, cols, 4,
	    &cur)) != DB_OK)
		return rc;
	while ((rc = db_fetch(db, cur, cols, 4)) == 1) {
		/* a row changed after the clock was read counts as now */
		age = cols[0].i < 0 ? 0 : cols[0].i;
		if (age >= QUEUE_THROUGHPUT_MINUTES)
			continue;
		slot = QUEUE_THROUGHPUT_MINUTES - 1 - (size_t)age;
		out[slot].done += cols[1].i;
		out[slot].retried += cols[2].i;
		out[slot].dead += cols[3].i;
	}
	db_done(cur);
	return rc < 0 ? rc : DB_OK;
}

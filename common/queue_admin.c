/*
 * queue_admin.c: the queue as operators and dashboards see it (queue.h):
 * a job's state by its subject, the counts, the dead letters (list, show,
 * replay) and pruning.  Reads here never lock rows the runners claim:
 * plain consistent reads, by index.
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

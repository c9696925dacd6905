/*
 * handler_email.c: the handler of the order confirmation job
 * (JOBS_TYPE_ORDER_CONFIRMATION in job_types.h, which spells its name, key
 * and payload).  The subject is the order id; the job's idempotency key
 * names the maildir file and the Message-ID.
 *
 *   1. the payload                    checked by handler.c (malformed is
 *                                     permanent before this file runs)
 *   2. load the order                 missing              -> permanent
 *                                     database error       -> transient
 *   3. confirmation_sent_at set?      yes: success, nothing sent (the
 *                                     status check that makes a retry or a
 *                                     replay send nothing twice)
 *   4. load the items, render         bad address, no items -> permanent
 *   5. deliver through the transport  its result
 *   6. on success the effect `UPDATE orders SET confirmation_sent_at` is
 *      applied by the caller in the transaction that marks the job done.
 *
 * Between 5 and 6 a kill leaves the order unstamped; the retry goes
 * through 5 again, which the maildir transport turns into a no-op (the
 * file already exists).  No mail body reaches the logs.
 *
 * Batch loading (email_prefetch): steps 2 and 4 for a whole
 * claimed batch in one query per EMAIL_CHUNK orders (a fixed list of
 * placeholders, padded by repeating an id).  Only a cache: an order that
 * is not in it (no items, more than EMAIL_PREFETCH_ITEMS items, a column
 * too long, a failed query) goes through the per-order queries above.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "handler.h"
#include "mail.h"
#include "runner_sql.h"
#include "util.h"

#define EMAIL_SKU_MAX	(64 * 4)	/* VARCHAR(64) utf8mb4 */
#define EMAIL_NAME_MAX	(200 * 4)	/* VARCHAR(200) utf8mb4 */
#define EMAIL_ADDR_MAX	(254 * 4)

#define EMAIL_PREFETCH_ITEMS	32	/* larger orders: per-order path */

struct email_item {
	char	sku[EMAIL_SKU_MAX + 1];
	char	name[EMAIL_NAME_MAX + 1];
	int64_t	quantity;
	int64_t	unit_price_cents;
};

struct email_order {
	int64_t			 id;
	char			 email[EMAIL_ADDR_MAX + 1];
	int64_t			 total_cents;
	int			 sent;
	struct email_item	*items;		/* malloc'd */
	size_t			 nitems;
};

/* What email_prefetch() loaded: complete orders sorted by id. */
struct email_prefetch {
	struct email_order	*orders;
	size_t			 n;
};

/* The effect recorded with `done`. */
static int
email_stamp(struct db *db, int64_t order_id)
{
	struct db_val p = db_i64(order_id);

	return db_exec(db, STMT_EMAIL_STAMP, &p, 1, NULL, NULL);
}

/* The same for a batch: EMAIL_CHUNK ids a statement, padded. */
static int
email_stamp_many(struct db *db, const int64_t *ids, size_t n)
{
	struct db_val p[EMAIL_CHUNK];
	size_t i, k, m;

	for (i = 0; i < n; i += m) {
		m = n - i < EMAIL_CHUNK ? n - i : EMAIL_CHUNK;
		for (k = 0; k < EMAIL_CHUNK; k++)
			p[k] = db_i64(ids[i + (k < m ? k : m - 1)]);
		if (db_exec(db, STMT_EMAIL_STAMP_MANY, p, EMAIL_CHUNK, NULL,
		    NULL) !=
		    DB_OK)
			return DB_ERR;
	}
	return DB_OK;
}

/* 1 found, 0 missing, DB_ERR / DB_ETRUNC. */
static int
email_load_order(struct db *db, struct email_order *o)
{
	struct db_val p = db_i64(o->id), cols[3];
	int rc;

	cols[0] = db_out_str(o->email, sizeof(o->email));
	cols[1] = db_out_i64();
	cols[2] = db_out_i64();
	if ((rc = db_query_row(db, STMT_EMAIL_ORDER, &p, 1, cols, 3)) != 1)
		return rc;
	o->total_cents = cols[1].i;
	o->sent = cols[2].i != 0;
	return 1;
}

static int
email_load_items(struct db *db, struct email_order *o)
{
	struct db_val p = db_i64(o->id), cols[4];
	struct email_item row;
	MYSQL_STMT *cur;
	int rc;

	if ((o->items = calloc(MAIL_ITEMS_MAX, sizeof(*o->items))) == NULL)
		return DB_ERR;
	cols[0] = db_out_str(row.sku, sizeof(row.sku));
	cols[1] = db_out_str(row.name, sizeof(row.name));
	cols[2] = db_out_i64();
	cols[3] = db_out_i64();
	if (db_query(db, STMT_EMAIL_ITEMS, &p, 1, cols, 4, &cur) != DB_OK)
		return DB_ERR;
	while ((rc = db_fetch(db, cur, cols, 4)) == 1) {
		if (o->nitems == MAIL_ITEMS_MAX) {
			rc = DB_ETRUNC;
			break;
		}
		row.quantity = cols[2].i;
		row.unit_price_cents = cols[3].i;
		o->items[o->nitems++] = row;
	}
	db_done(cur);
	return rc == 0 ? DB_OK : rc;
}

/* Renders the message for o into out.  0 or -1 with res filled. */
static int
email_render(const struct handler_ctx *ctx, const struct email_order *o,
    const char *key, struct buf *out, struct handler_result *res)
{
	struct mail_item *items;
	struct mail_confirmation m;
	char why[256];
	size_t i;
	int rc;

	if ((items = calloc(o->nitems + 1, sizeof(*items))) == NULL) {
		handler_fail(res, JOBS_OUTCOME_TRANSIENT, "out of memory");
		return -1;
	}
	for (i = 0; i < o->nitems; i++) {
		items[i].sku = o->items[i].sku;
		items[i].name = o->items[i].name;
		items[i].quantity = o->items[i].quantity;
		items[i].unit_price_cents = o->items[i].unit_price_cents;
	}
	memset(&m, 0, sizeof(m));
	m.order_id = o->id;
	m.from = ctx->conf->mail_from;
	m.to = o->email;
	m.idempotency_key = key;
	m.total_cents = o->total_cents;
	m.date = time(NULL);
	m.items = items;
	m.nitems = o->nitems;
	rc = mail_render_confirmation(&m, out, why, sizeof(why));
	free(items);
	if (rc != 0)
		handler_fail(res, JOBS_OUTCOME_PERMANENT, "order %lld: %s",
		    (long long)o->id, why);
	return rc;
}

/*
 * Hands the message to the transport, or prints it on a dry run.  A first
 * attempt of a job never replayed cannot have been delivered before; any
 * other (and `exec`, outside the queue) may have, and says so.
 */
static void
email_deliver(const struct handler_ctx *ctx, const struct queue_job *job,
    const char *key, const struct buf *msg, struct handler_result *res)
{
	unsigned flags = job->id == 0 || job->attempt > 1 || job->replayed ?
	    TRANSPORT_MAYBE_DELIVERED : 0;
	char token[MAIL_TOKEN_MAX + 1], why[JOBS_ERROR_MAX];
	enum transport_result r;

	if (ctx->dry_run != NULL) {
		fwrite(msg->data, 1, msg->len, ctx->dry_run);
		res->outcome = JOBS_OUTCOME_DONE;
		return;
	}
	if (mail_key_token(key, token, sizeof(token)) != 0) {
		handler_fail(res, JOBS_OUTCOME_PERMANENT,
		    "idempotency key unusable as a message name");
		return;
	}
	why[0] = '\0';
	r = ctx->transport->deliver(ctx->transport, token, msg->data, msg->len,
	    flags, why, sizeof(why));
	if (r == TRANSPORT_DELIVERED)
		res->outcome = JOBS_OUTCOME_DONE;
	else
		handler_fail(res, r == TRANSPORT_TRANSIENT ?
		    JOBS_OUTCOME_TRANSIENT : JOBS_OUTCOME_PERMANENT, "%s", why);
}

static int
email_id_cmp(const void *a, const void *b)
{
	const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* One chunk of up to EMAIL_CHUNK order ids into pf.  DB_OK or an error
 * (what was complete before it stays). */
static int
email_prefetch_chunk(const struct handler_ctx *ctx, struct email_prefetch *pf,
    const int64_t *ids, size_t nids)
{
	struct db_val args[EMAIL_CHUNK], cols[8];
	struct email_order *cur = NULL;
	struct email_item row;
	MYSQL_STMT *cursor;
	char email[EMAIL_ADDR_MAX + 1];
	size_t i;
	int rc, skip = 0;

	for (i = 0; i < EMAIL_CHUNK; i++)
		args[i] = db_i64(ids[i < nids ? i : nids - 1]);
	cols[0] = db_out_i64();
	cols[1] = db_out_str(email, sizeof(email));
	cols[2] = db_out_i64();
	cols[3] = db_out_i64();
	cols[4] = db_out_str(row.sku, sizeof(row.sku));
	cols[5] = db_out_str(row.name, sizeof(row.name));
	cols[6] = db_out_i64();
	cols[7] = db_out_i64();
	if (db_query(ctx->db, STMT_EMAIL_PREFETCH, args, EMAIL_CHUNK, cols, 8,
	    &cursor) != DB_OK)
		return DB_ERR;
	while ((rc = db_fetch(ctx->db, cursor, cols, 8)) == 1) {
		if (cur == NULL || cur->id != cols[0].i) {
			/* a new order: keep the last one unless it was skipped */
			if (cur != NULL && !skip)
				pf->n++;
			else if (cur != NULL)
				free(cur->items);
			cur = &pf->orders[pf->n];
			memset(cur, 0, sizeof(*cur));
			cur->id = cols[0].i;
			util_strlcpy(cur->email, email, sizeof(cur->email));
			cur->total_cents = cols[2].i;
			cur->sent = cols[3].i != 0;
			skip = 0;
			cur->items = calloc(EMAIL_PREFETCH_ITEMS,
			    sizeof(*cur->items));
			if (cur->items == NULL) {
				rc = DB_ERR;
				break;
			}
		}
		if (skip)
			continue;
		if (cur->nitems == EMAIL_PREFETCH_ITEMS) {
			skip = 1;	/* a big order: the per-order path */
			continue;
		}
		row.quantity = cols[6].i;
		row.unit_price_cents = cols[7].i;
		cur->items[cur->nitems++] = row;
	}
	db_done(cursor);
	if (cur != NULL) {
		if (rc == 0 && !skip)
			pf->n++;	/* the last order is complete */
		else
			free(cur->items);
	}
	return rc == 0 ? DB_OK : rc;
}

static void email_prefetch_free(void *);

static void *
email_prefetch(const struct handler_ctx *ctx, const int64_t *subjects,
    size_t n)
{
	struct email_prefetch *pf;
	int64_t *ids;
	size_t i;

	if ((ids = calloc(n, sizeof(*ids))) == NULL)
		return NULL;
	memcpy(ids, subjects, n * sizeof(*ids));
	pf = NULL;
	if ((pf = calloc(1, sizeof(*pf))) != NULL &&
	    (pf->orders = calloc(n, sizeof(*pf->orders))) != NULL) {
		/* sorted ids: chunks come back in order, pf stays sorted */
		qsort(ids, n, sizeof(*ids), email_id_cmp);
		for (i = 0; i < n; i += EMAIL_CHUNK)
			if (email_prefetch_chunk(ctx, pf, ids + i,
			    n - i < EMAIL_CHUNK ? n - i : EMAIL_CHUNK) !=
			    DB_OK)
				break;	/* the rest: per-order queries */
	}
	free(ids);
	if (pf != NULL && pf->n == 0) {
		email_prefetch_free(pf);
		pf = NULL;
	}
	return pf;
}

static void
email_prefetch_free(void *p)
{
	struct email_prefetch *pf = p;
	size_t i;

	if (pf == NULL)
		return;
	for (i = 0; i < pf->n; i++)
		free(pf->orders[i].items);
	free(pf->orders);
	free(pf);
}

/* The prefetched order id, or NULL. */
static const struct email_order *
email_prefetched(const struct handler_call *call, int64_t id)
{
	const struct email_prefetch *pf = call->prefetched;
	size_t lo = 0, hi, mid;

	if (pf == NULL)
		return NULL;
	hi = pf->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (pf->orders[mid].id == id)
			return &pf->orders[mid];
		if (pf->orders[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
email_run(const struct handler_ctx *ctx, const struct handler_call *call,
    struct handler_result *res)
{
	const struct email_order *pre = NULL;
	struct email_order o;
	struct buf msg;
	int rc;

	memset(&o, 0, sizeof(o));
	buf_init(&msg, MAIL_MAX);
	o.id = call->subject;
	if ((pre = email_prefetched(call, o.id)) != NULL) {
		/* loaded with the batch; the items are borrowed */
		util_strlcpy(o.email, pre->email, sizeof(o.email));
		o.total_cents = pre->total_cents;
		o.sent = pre->sent;
	} else if ((rc = email_load_order(ctx->db, &o)) != 1) {
		if (rc == 0 || rc == DB_ETRUNC)
			handler_fail(res, JOBS_OUTCOME_PERMANENT,
			    "order %lld %s", (long long)o.id, rc == 0 ?
			    "not found" : "has an oversized column");
		else
			handler_fail(res, JOBS_OUTCOME_TRANSIENT,
			    "database error loading order %lld",
			    (long long)o.id);
		goto out;
	}
	if (o.sent && ctx->dry_run == NULL) {
		res->outcome = JOBS_OUTCOME_DONE;
		res->skipped = 1;
		goto out;
	}
	if (pre != NULL) {
		o.items = pre->items;
		o.nitems = pre->nitems;
	} else if ((rc = email_load_items(ctx->db, &o)) != DB_OK) {
		handler_fail(res, rc == DB_ETRUNC ? JOBS_OUTCOME_PERMANENT :
		    JOBS_OUTCOME_TRANSIENT, "order %lld: cannot load items",
		    (long long)o.id);
		goto out;
	}
	if (email_render(ctx, &o, call->key, &msg, res) != 0)
		goto out;
	email_deliver(ctx, call->job, call->key, &msg, res);
	if (res->outcome == JOBS_OUTCOME_DONE && ctx->dry_run == NULL) {
		res->effect.apply = email_stamp;
		res->effect.apply_many = email_stamp_many;
		res->effect.arg = o.id;
	}
out:
	if (pre == NULL)
		free(o.items);
	buf_free(&msg);
}

const struct handler handler_email = {
	email_run,
	email_prefetch,
	email_prefetch_free,
};

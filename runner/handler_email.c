/*
 * handler_email.c: the order_confirmation_email job.
 *
 * Payload: {"order_id": N} (N a positive integer; other members ignored).
 * The job's idempotency key is `order-confirmation-N` (set by the order
 * code); it names the maildir file and the Message-ID.
 *
 *   1. parse the payload              malformed            -> permanent
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
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "buf.h"
#include "handler.h"
#include "mail.h"
#include "util.h"

#define EMAIL_SKU_MAX	(64 * 4)	/* VARCHAR(64) utf8mb4 */
#define EMAIL_NAME_MAX	(200 * 4)	/* VARCHAR(200) utf8mb4 */
#define EMAIL_ADDR_MAX	(254 * 4)

static const char sql_order[] =
    "SELECT email, total_cents, confirmation_sent_at IS NOT NULL"
    " FROM orders WHERE id = ?";

static const char sql_items[] =
    "SELECT sku, name, quantity, unit_price_cents FROM order_items"
    " WHERE order_id = ? ORDER BY product_id LIMIT 1001";

static const char sql_stamp[] =
    "UPDATE orders SET confirmation_sent_at = NOW(6)"
    " WHERE id = ? AND confirmation_sent_at IS NULL";

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

/* The effect recorded with `done`. */
static int
email_stamp(struct db *db, int64_t order_id)
{
	struct db_val p = db_i64(order_id);

	return db_exec(db, sql_stamp, &p, 1, NULL, NULL);
}

/* {"order_id": N} -> N; 0 on success. */
static int
email_parse_payload(const char *payload, size_t len, int64_t *order_id)
{
	struct json_tokener *tok;
	struct json_object *root = NULL, *v;
	size_t end;
	int rc = -1;

	if ((tok = json_tokener_new()) == NULL)
		return -1;
	root = json_tokener_parse_ex(tok, payload, (int)len);
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto out;
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (strchr(" \t\r\n", payload[end]) == NULL)
			goto out;
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "order_id", &v) ||
	    !json_object_is_type(v, json_type_int))
		goto out;
	errno = 0;
	*order_id = json_object_get_int64(v);
	if (errno != 0 || *order_id <= 0)
		goto out;
	rc = 0;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return rc;
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
	if ((rc = db_query_row(db, sql_order, &p, 1, cols, 3)) != 1)
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
	if (db_query(db, sql_items, &p, 1, cols, 4, &cur) != DB_OK)
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

/* Hands the message to the transport, or prints it on a dry run. */
static void
email_deliver(const struct handler_ctx *ctx, const char *key,
    const struct buf *msg, struct handler_result *res)
{
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
	    why, sizeof(why));
	if (r == TRANSPORT_DELIVERED)
		res->outcome = JOBS_OUTCOME_DONE;
	else
		handler_fail(res, r == TRANSPORT_TRANSIENT ?
		    JOBS_OUTCOME_TRANSIENT : JOBS_OUTCOME_PERMANENT, "%s", why);
}

void
handler_email_run(const struct handler_ctx *ctx, const struct jobs_job *job,
    struct handler_result *res)
{
	struct email_order o;
	char key[JOBS_KEY_MAX + 1];
	struct buf msg;
	int rc;

	memset(&o, 0, sizeof(o));
	buf_init(&msg, MAIL_MAX);
	if (email_parse_payload(job->payload, job->payload_len, &o.id) != 0) {
		handler_fail(res, JOBS_OUTCOME_PERMANENT,
		    "malformed payload: want {\"order_id\": positive integer}");
		goto out;
	}
	/* `exec` runs payloads without a job row: use the order code's key */
	if (job->idempotency_key[0] != '\0')
		util_strlcpy(key, job->idempotency_key, sizeof(key));
	else
		snprintf(key, sizeof(key), "order-confirmation-%lld",
		    (long long)o.id);
	if ((rc = email_load_order(ctx->db, &o)) != 1) {
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
	if ((rc = email_load_items(ctx->db, &o)) != DB_OK) {
		handler_fail(res, rc == DB_ETRUNC ? JOBS_OUTCOME_PERMANENT :
		    JOBS_OUTCOME_TRANSIENT, "order %lld: cannot load items",
		    (long long)o.id);
		goto out;
	}
	if (email_render(ctx, &o, key, &msg, res) != 0)
		goto out;
	email_deliver(ctx, key, &msg, res);
	if (res->outcome == JOBS_OUTCOME_DONE && ctx->dry_run == NULL) {
		res->effect.apply = email_stamp;
		res->effect.arg = o.id;
	}
out:
	free(o.items);
	buf_free(&msg);
}

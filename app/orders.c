/*
 * orders.c: POST /api/orders and GET /api/orders/{id} (admin).
 *
 * POST reads top to bottom: body (body.c: 415/413/400) -> Idempotency-Key
 * syntax (400) -> members (400) -> claim the key (idempotency.h) -> one
 * transaction -> invalidate -> 201.  Nothing touches the database before
 * the whole body is known to be good.
 *
 * Body rules: `email` (util_valid_email: ASCII, no spaces or controls) and
 * `items` (1..ORDER_ITEMS_MAX elements, each an object with integer
 * `product_id` >= 1 and integer `quantity` 1..ORDER_QUANTITY_MAX) are
 * required; unknown members are ignored, at both levels, so a client that
 * sends a price or a note is served and its price never read.  Duplicate
 * product ids are merged: their quantities are summed, and the sum must
 * still be at most ORDER_QUANTITY_MAX (else 400), because one line per
 * product is what order_items' primary key stores.
 *
 * The transaction ("one transaction", docs/API.md): orders_place() locks
 * each product with SELECT ... FOR UPDATE by primary key in ascending id
 * order (one fixed order for every writer, so two orders cannot deadlock
 * on each other's products), refuses a missing product (422) or short
 * stock (409) with a rollback, decrements stock, inserts the order with the
 * total from the database's prices, its items (sku, name and price
 * snapshot) and its confirmation job (queue_enqueue: the job exists exactly
 * when the order does); the route adds, when there is an Idempotency-Key,
 * the recorded answer; commit.  The refusals travel up as ORDER_* outcomes
 * (orders.h) and become HTTP statuses only in orders_create().  db_tx()
 * reruns the whole unit after a deadlock, a lock wait timeout or a link
 * lost before COMMIT (the server rolled it back);
 * the Idempotency-Key's owner_token makes a rerun on a new link safe
 * (idempotency.h).  A COMMIT whose answer was lost is a 503 after the
 * invalidation (it may have happened; the key, if any, replays the 201).
 *
 * Invalidation (catalog.h, cache.h): g:p:<id> for each product,
 * g:c:<slug> for each of their categories, and g:all (stock shows in every
 * list), logged in the order's transaction and delivered after commit and
 * before the answer.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "app.h"
#include "app_sql.h"
#include "body.h"
#include "catalog.h"
#include "idempotency.h"
#include "log.h"
#include "orders.h"
#include "queue.h"
#include "util.h"

#define ORDER_NS_MAX		96

enum order_field { OF_EMAIL, OF_ITEMS, OF__MAX };
static const struct body_field order_fields[OF__MAX] = {
	[OF_EMAIL] = { "email", BODY_STRING, 1, 3, 254, util_valid_email,
	    "an email address" },
	[OF_ITEMS] = { "items", BODY_ARRAY, 1, 1, ORDER_ITEMS_MAX, NULL,
	    NULL },
};

enum item_field { IF_PRODUCT, IF_QUANTITY, IF__MAX };
static const struct body_field item_fields[IF__MAX] = {
	[IF_PRODUCT] = { "product_id", BODY_INT, 1, 1, INT64_MAX,
	    NULL, NULL },
	[IF_QUANTITY] = { "quantity", BODY_INT, 1, 1,
	    ORDER_QUANTITY_MAX, NULL, NULL },
};

static int
orders_line_cmp(const void *a, const void *b)
{
	const struct order_line *x = a, *y = b;

	return x->product_id < y->product_id ? -1 :
	    x->product_id > y->product_id;
}

void
orders_sort_lines(struct order *o)
{
	qsort(o->lines, o->nlines, sizeof(o->lines[0]), orders_line_cmp);
}

int
orders_add_line(struct order *o, int64_t product_id, int64_t quantity)
{
	size_t i;

	for (i = 0; i < o->nlines; i++) {
		if (o->lines[i].product_id != product_id)
			continue;
		o->lines[i].quantity += quantity;
		return o->lines[i].quantity > ORDER_QUANTITY_MAX ? -1 : 0;
	}
	o->lines[o->nlines].product_id = product_id;
	o->lines[o->nlines].quantity = quantity;
	o->nlines++;
	return 0;
}

/* The items array: each an object validated through item_fields. */
static int
orders_parse_items(json_object *items, struct order *o, char *detail,
    size_t size)
{
	struct body_value v[IF__MAX];
	json_object *item;
	size_t i, n = json_object_array_length(items);

	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(items, i);
		if (!json_object_is_type(item, json_type_object)) {
			snprintf(detail, size, "each element of items must be "
			    "an object");
			return -1;
		}
		if (body_fields(item, item_fields, IF__MAX,
		    BODY_UNKNOWN_IGNORE, v, detail, size) != 0)
			return -1;
		if (orders_add_line(o, v[IF_PRODUCT].i, v[IF_QUANTITY].i) != 0) {
			snprintf(detail, size, "the quantities of one product "
			    "(repeated items are summed) must be at most %d",
			    ORDER_QUANTITY_MAX);
			return -1;
		}
	}
	orders_sort_lines(o);
	return 0;
}

int
orders_parse(json_object *obj, struct order *o, char *detail, size_t size)
{
	struct body_value v[OF__MAX];

	if (body_fields(obj, order_fields, OF__MAX, BODY_UNKNOWN_IGNORE, v,
	    detail, size) != 0)
		return -1;
	memcpy(o->email, v[OF_EMAIL].s, v[OF_EMAIL].len);
	o->email[v[OF_EMAIL].len] = '\0';
	return orders_parse_items(v[OF_ITEMS].array, o, detail, size);
}

/* Locks one product and reads what the order snapshots.  1, 0 missing,
 * DB_E*. */
static int
orders_lock_line(struct db *db, struct order_line *l, int64_t *stock)
{
	struct db_val arg = db_i64(l->product_id);
	struct db_val cols[6];
	int rc;

	cols[0] = db_out_i64();
	cols[1] = db_out_str(l->sku, sizeof(l->sku));
	cols[2] = db_out_str(l->name, sizeof(l->name));
	cols[3] = db_out_i64();
	cols[4] = db_out_i64();
	cols[5] = db_out_i64();
	rc = db_query_row(db, STMT_ORDER_LOCK_PRODUCT, &arg, 1, cols, 6);
	if (rc != 1)
		return rc;
	l->unit_price = cols[3].i;
	*stock = cols[4].i;
	l->category_id = cols[5].i;
	return 1;
}

/* Locks every product and checks stock: DB_OK, a refusal (o->refused
 * set) or DB_E*. */
static int
orders_lock_all(struct db *db, struct order *o)
{
	int64_t stock, line_total;
	size_t i;
	int rc;

	o->total = 0;
	for (i = 0; i < o->nlines; i++) {
		struct order_line *l = &o->lines[i];

		o->refused = l->product_id;
		if ((rc = orders_lock_line(db, l, &stock)) < 0)
			return rc;
		if (rc == 0)
			return ORDER_NO_PRODUCT;
		if (stock < l->quantity)
			return ORDER_SHORT_STOCK;
		if (__builtin_mul_overflow(l->unit_price, l->quantity,
		    &line_total) ||
		    __builtin_add_overflow(o->total, line_total, &o->total))
			return ORDER_TOO_LARGE;
	}
	o->refused = 0;
	return DB_OK;
}

/* Stock, order, items and the confirmation job. */
static int
orders_write(struct db *db, struct order *o, unsigned max_attempts)
{
	struct db_val a[6];
	size_t i;
	int rc;

	for (i = 0; i < o->nlines; i++) {
		a[0] = db_i64(o->lines[i].quantity);
		a[1] = db_i64(o->lines[i].product_id);
		if ((rc = db_exec(db, STMT_ORDER_TAKE_STOCK, a, 2, NULL,
		    NULL)) != DB_OK)
			return rc;
	}
	a[0] = db_cstr(o->email);
	a[1] = db_i64(o->total);
	if ((rc = db_exec(db, STMT_ORDER_INSERT_ORDER, a, 2, NULL,
	    &o->id)) != DB_OK)
		return rc;
	for (i = 0; i < o->nlines; i++) {
		const struct order_line *l = &o->lines[i];

		a[0] = db_i64((int64_t)o->id);
		a[1] = db_i64(l->product_id);
		a[2] = db_cstr(l->sku);
		a[3] = db_cstr(l->name);
		a[4] = db_i64(l->quantity);
		a[5] = db_i64(l->unit_price);
		if ((rc = db_exec(db, STMT_ORDER_INSERT_ITEM, a, 6, NULL,
		    NULL)) != DB_OK)
			return rc;
	}
	/* a new order id cannot have a job yet: a duplicate is a bug */
	rc = queue_enqueue(db, JOBS_TYPE_ORDER_CONFIRMATION, (int64_t)o->id,
	    max_attempts, NULL);
	return rc == QUEUE_DUPLICATE ? DB_ERR : rc;
}

/* The slugs of the products' categories, for the invalidation. */
static int
orders_slugs(struct db *db, struct order *o)
{
	struct db_val arg, col;
	size_t i, j;
	int rc;

	o->nslugs = 0;
	for (i = 0; i < o->nlines; i++) {
		for (j = 0; j < i; j++)
			if (o->lines[j].category_id == o->lines[i].category_id)
				break;
		if (j < i)
			continue;
		arg = db_i64(o->lines[i].category_id);
		col = db_out_str(o->slugs[o->nslugs], ORDER_SLUG_MAX);
		rc = db_query_row(db, STMT_CATEGORY_SLUG_BY_ID, &arg, 1, &col,
		    1);
		if (rc < 0)
			return rc;
		if (rc == 1)
			o->nslugs++;
	}
	return DB_OK;
}

int
orders_place(struct db *db, struct order *o, unsigned max_attempts)
{
	int rc;

	if ((rc = orders_lock_all(db, o)) != DB_OK ||
	    (rc = orders_write(db, o, max_attempts)) != DB_OK)
		return rc;
	return orders_slugs(db, o);
}

static void
orders_render(const struct order *o, struct buf *b)
{
	size_t i;

	buf_reset(b);
	buf_printf(b, "{\"id\":%" PRIu64 ",\"status\":\"created\",\"email\":",
	    o->id);
	buf_json_string(b, o->email, strlen(o->email));
	buf_printf(b, ",\"total_cents\":%" PRId64 ",\"items\":[", o->total);
	for (i = 0; i < o->nlines; i++)
		buf_printf(b, "%s{\"product_id\":%" PRId64 ",\"quantity\":%"
		    PRId64 ",\"unit_price_cents\":%" PRId64 "}", i ? "," : "",
		    o->lines[i].product_id, o->lines[i].quantity,
		    o->lines[i].unit_price);
	buf_puts(b, "]}");
}

/* One order transaction, for db_tx(). */
struct order_tx {
	struct app	*app;
	struct order	*o;
	struct idem	*idem;
	struct buf	*body;
	struct cache_invalidation inv;
};

/* The namespaces the order touched (g:p:<id> of each product, g:c:<slug>
 * of each of their categories, g:all), logged as the transaction's last
 * statement (cache.h, THE LOG). */
int
orders_log(struct db *db, const struct order *o, struct cache_invalidation *inv)
{
	char ns[ORDER_NS_MAX];
	size_t i;

	inv->n = 0;
	inv->log_id = 0;
	for (i = 0; i < o->nlines; i++)
		if (catalog_ns_product((uint64_t)o->lines[i].product_id, ns,
		    sizeof(ns)) == 0)
			(void)cache_invalidation_add(inv, ns);
	for (i = 0; i < o->nslugs; i++)
		if (catalog_ns_category(o->slugs[i], ns, sizeof(ns)) == 0)
			(void)cache_invalidation_add(inv, ns);
	(void)cache_invalidation_add(inv, CATALOG_NS_ALL);
	return cache_log_record(db, inv);
}

/* After COMMIT, or a COMMIT whose answer was lost: deliver it. */
static void
orders_invalidate(struct app *app, struct order_tx *t, int rc)
{
	t->inv.committed = rc == DB_OK;
	if (t->inv.log_id != 0)
		cache_bump(&app->cache, &t->inv);
}

/* The whole unit: the order, then its recorded answer (the 201 body, left
 * in t->body), then the namespaces it touched, logged. */
static int
orders_tx(struct db *db, void *arg)
{
	struct order_tx *t = arg;
	int rc;

	if ((rc = orders_place(db, t->o,
	    t->app->conf->runner_max_attempts)) != DB_OK)
		return rc;
	orders_render(t->o, t->body);
	if (t->body->overflow)
		return DB_ERR;
	if ((rc = idem_record(t->app, t->idem, 201, t->body,
	    t->o->id)) != DB_OK)
		return rc == IDEM_TAKEN ? ORDER_KEY_TAKEN : rc;
	return orders_log(db, t->o, &t->inv);
}

/* The answer to a refusal of the order transaction. */
static void
orders_refuse(struct response *res, const struct order *o, int rc)
{
	char detail[BODY_DETAIL_MAX];

	switch (rc) {
	case ORDER_NO_PRODUCT:
		snprintf(detail, sizeof(detail), "product %" PRId64 " does "
		    "not exist", o->refused);
		http_problem(res, 422, detail);
		break;
	case ORDER_SHORT_STOCK:
		snprintf(detail, sizeof(detail), "not enough stock for "
		    "product %" PRId64, o->refused);
		http_problem(res, 409, detail);
		break;
	default:
		http_problem(res, 422, "the order total is too large");
		break;
	}
}

/* After a refusal: the same key answers the same refusal. */
static void
orders_record_refusal(struct app *app, struct idem *idem,
    struct response *res)
{
	int rc = idem_record(app, idem, res->status, &res->body, 0);

	if (rc < 0)
		idem_release(app, idem);
}

void
orders_create(struct app *app, struct request *req, struct response *res,
    uint64_t unused)
{
	char detail[BODY_DETAIL_MAX], location[64];
	const char *fixed;
	json_object *obj = NULL;
	struct order *o = NULL;
	struct idem idem;
	struct order_tx *tx = NULL;
	int status, rc;

	memset(&idem, 0, sizeof(idem));
	if ((status = body_parse(req, &obj, &fixed)) != 0) {
		http_problem(res, status, fixed);
		goto done;
	}
	if (idem_parse(req, &idem, res) != 0)
		goto done;
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		http_problem(res, 503, "service unavailable, try again");
		goto done;
	}
	if (orders_parse(obj, o, detail, sizeof(detail)) != 0) {
		http_problem(res, 400, detail);
		goto done;
	}
	if (idem_claim(app, &idem, res) == IDEM_ANSWERED)
		goto done;
	/* on the heap: the namespace list is 12 KiB */
	if ((tx = calloc(1, sizeof(*tx))) == NULL) {
		idem_release(app, &idem);
		http_problem(res, 503, "service unavailable, try again");
		goto done;
	}
	tx->app = app;
	tx->o = o;
	tx->idem = &idem;
	tx->body = &res->body;
	switch ((rc = db_tx(&app->db, "order", orders_tx, tx))) {
	case DB_OK:
		metrics_add(&app->metrics->orders_created, 1);
		orders_invalidate(app, tx, rc);
		res->status = 201;
		res->content_type = "application/json";
		snprintf(location, sizeof(location), "/api/orders/%" PRIu64,
		    o->id);
		http_header(res, "Location", location);
		break;
	case ORDER_NO_PRODUCT:
	case ORDER_SHORT_STOCK:
	case ORDER_TOO_LARGE:
		orders_refuse(res, o, rc);
		orders_record_refusal(app, &idem, res);
		break;
	case ORDER_KEY_TAKEN:
		http_problem(res, 409, "a request with this Idempotency-Key is "
		    "still being processed");
		break;
	default:
		/* a COMMIT whose answer was lost may have happened: its
		 * invalidation must not be lost with it (the key, if any,
		 * replays the 201) */
		if (rc == DB_EUNKNOWN)
			orders_invalidate(app, tx, rc);
		idem_release(app, &idem);
		http_problem(res, 503, "database unavailable, try again");
		break;
	}
done:
	idem_finish(app, &idem);	/* after the answer is recorded */
	free(tx);
	free(o);
	json_object_put(obj);
}

/* --- GET /api/orders/{id} ------------------------------------------------ */

/* "sent" once the runner stamped the order or finished its job, "dead" when
 * the job was dead-lettered, "pending" otherwise. */
static int
orders_confirmation(struct app *app, uint64_t id, int stamped,
    const char **confirmation)
{
	enum jobs_state state;
	int rc;

	*confirmation = "pending";
	if (stamped) {
		*confirmation = "sent";
		return DB_OK;
	}
	rc = queue_job_state(&app->db, JOBS_TYPE_ORDER_CONFIRMATION,
	    (int64_t)id, &state);
	if (rc == QUEUE_NOT_FOUND)
		return DB_OK;
	if (rc != DB_OK)
		return rc;
	if (state == JOBS_DONE)
		*confirmation = "sent";
	else if (state == JOBS_DEAD)
		*confirmation = "dead";
	return DB_OK;
}

static int
orders_render_items(struct app *app, uint64_t id, struct buf *b)
{
	char sku[ORDER_SKU_MAX], name[ORDER_NAME_MAX];
	struct db_val arg = db_i64((int64_t)id), cols[5];
	MYSQL_STMT *cur;
	int rc, first = 1;

	cols[0] = db_out_i64();
	cols[1] = db_out_str(sku, sizeof(sku));
	cols[2] = db_out_str(name, sizeof(name));
	cols[3] = db_out_i64();
	cols[4] = db_out_i64();
	if (db_query(&app->db, STMT_ORDER_GET_ITEMS, &arg, 1, cols, 5,
	    &cur) != DB_OK)
		return DB_ERR;
	buf_puts(b, ",\"items\":[");
	while ((rc = db_fetch(&app->db, cur, cols, 5)) == 1) {
		buf_printf(b, "%s{\"product_id\":%" PRId64 ",\"sku\":",
		    first ? "" : ",", cols[0].i);
		first = 0;
		buf_json_string(b, sku, cols[1].len);
		buf_puts(b, ",\"name\":");
		buf_json_string(b, name, cols[2].len);
		buf_printf(b, ",\"quantity\":%" PRId64 ",\"unit_price_cents\":%"
		    PRId64 "}", cols[3].i, cols[4].i);
	}
	db_done(cur);
	buf_puts(b, "]");
	return rc == 0 ? DB_OK : DB_ERR;
}

void
orders_get(struct app *app, struct request *req, struct response *res,
    uint64_t id)
{
	char email[255], status[17], created[40];
	const char *confirmation;
	struct db_val arg = db_i64((int64_t)id), cols[5];
	struct buf *b = &res->body;
	int rc;

	cols[0] = db_out_str(email, sizeof(email));
	cols[1] = db_out_str(status, sizeof(status));
	cols[2] = db_out_i64();
	cols[3] = db_out_str(created, sizeof(created));
	cols[4] = db_out_i64();
	if ((rc = db_query_row(&app->db, STMT_ORDER_GET, &arg, 1, cols,
	    5)) == 0) {
		http_problem(res, 404, "no such order");
		return;
	}
	if (rc != 1)
		goto unavailable;
	buf_reset(b);
	buf_printf(b, "{\"id\":%" PRIu64 ",\"status\":", id);
	buf_json_string(b, status, cols[1].len);
	buf_puts(b, ",\"email\":");
	buf_json_string(b, email, cols[0].len);
	buf_printf(b, ",\"total_cents\":%" PRId64 ",\"created_at\":", cols[2].i);
	buf_json_string(b, created, cols[3].len);
	if (orders_render_items(app, id, b) != DB_OK ||
	    orders_confirmation(app, id, cols[4].i != 0, &confirmation) != DB_OK)
		goto unavailable;
	buf_printf(b, ",\"confirmation\":\"%s\"}", confirmation);
	res->status = 200;
	res->content_type = "application/json";
	http_header(res, "Cache-Control", "no-store");
	return;
unavailable:
	http_problem(res, 503, "database unavailable, try again");
}

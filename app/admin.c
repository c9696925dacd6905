/*
 * admin.c: product writes: POST /api/products, PATCH and DELETE
 * /api/products/{id}.  The router has already checked the bearer token.
 *
 * Each handler: body (body.c; members declared once in the tables below,
 * unknown members refused so a typo is a 400 rather than a silent no-op)
 * -> one transaction (db_tx: the one retry rule), whose last statement
 * logs every namespace the write touched -> cache_bump of them -> answer.
 * The log row commits with the write, so no host loses the invalidation
 * whatever happens after COMMIT; the bump comes after the commit and
 * before the answer (cache.h), which is what makes a GET sent after this
 * answer see the write even while other requests refill the cache.  A
 * COMMIT whose answer was lost may have happened: it is bumped too, then
 * answered 503.
 *
 * Namespaces (catalog.h): g:p:<id>, g:c:<slug> of the product's category
 * before and after the write (a move touches both lists and both counts),
 * and g:all (the unfiltered lists and the category counts).
 *
 * PATCH and DELETE lock the product row (SELECT ... FOR UPDATE) first so the
 * old category read for the invalidation is the one the write replaced.
 * PATCH is one static UPDATE with COALESCE(?, column) per member: absent
 * members are bound as NULL, so no SQL is ever assembled at run time.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mysqld_error.h>

#include "app.h"
#include "app_sql.h"
#include "body.h"
#include "catalog.h"
#include "params.h"

#define ADMIN_NS_MAX		96
#define ADMIN_SKU_MAX		64
#define ADMIN_NAME_MAX		200
#define ADMIN_PRICE_MAX		100000000
#define ADMIN_STOCK_MAX		1000000

/* What a write transaction can refuse (db.h: positive outcomes). */
enum admin_outcome {
	ADMIN_NO_PRODUCT = 1,		/* 404 */
	ADMIN_NO_CATEGORY,		/* 422 */
	ADMIN_SKU_TAKEN			/* 409 */
};

/* sku: [A-Za-z0-9_-] */
static int
admin_valid_sku(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

enum product_field { PF_SKU, PF_NAME, PF_CATEGORY, PF_PRICE, PF_STOCK,
    PF__MAX };

#define FIELD_SKU(req) { "sku", BODY_STRING, req, 1, ADMIN_SKU_MAX, \
	admin_valid_sku, "letters, digits, '-' or '_'" }
#define FIELD_NAME(req) { "name", BODY_STRING, req, 1, ADMIN_NAME_MAX, \
	NULL, "text" }
#define FIELD_CATEGORY(req) { "category", BODY_STRING, req, 1, \
	PARAMS_SLUG_MAX, params_valid_slug, "a category slug" }
#define FIELD_PRICE(req) { "price_cents", BODY_INT, req, 0, ADMIN_PRICE_MAX, \
	NULL, NULL }
#define FIELD_STOCK(req) { "stock", BODY_INT, req, 0, ADMIN_STOCK_MAX, \
	NULL, NULL }

static const struct body_field create_fields[PF__MAX] = {
	[PF_SKU] = FIELD_SKU(1), [PF_NAME] = FIELD_NAME(1),
	[PF_CATEGORY] = FIELD_CATEGORY(1), [PF_PRICE] = FIELD_PRICE(1),
	[PF_STOCK] = FIELD_STOCK(1),
};

/* The sku never changes: it is not in this table, so PATCH refuses it. */
enum patch_field { PP_NAME, PP_CATEGORY, PP_PRICE, PP_STOCK, PP__MAX };
static const struct body_field patch_fields[PP__MAX] = {
	[PP_NAME] = FIELD_NAME(0), [PP_CATEGORY] = FIELD_CATEGORY(0),
	[PP_PRICE] = FIELD_PRICE(0), [PP_STOCK] = FIELD_STOCK(0),
};

/* The product as GET /api/products/{id} shows it (catalog.h). */
static void
admin_product_json(struct buf *b, const struct catalog_product *p)
{
	buf_reset(b);
	catalog_product_json(b, p);
}

/* 1 found, 0 none, DB_ERR. */
static int
admin_product_load(struct db *db, uint64_t id, struct catalog_product *p)
{
	struct db_val arg = db_i64((int64_t)id);

	catalog_product_bind(p);
	return db_query_row(db, STMT_PRODUCT_BY_ID, &arg, 1, p->cols, 6);
}

/*
 * The namespaces of a write to product id: g:p:<id>, g:c:<old>, g:c:<new>
 * (when given and different), g:all; recorded in the log as the
 * transaction's last statement (cache.h, THE LOG).
 */
static int
admin_log(struct db *db, struct cache_invalidation *inv, uint64_t id,
    const char *old_slug, const char *new_slug)
{
	char ns[ADMIN_NS_MAX];

	inv->n = 0;
	inv->log_id = 0;
	if (catalog_ns_product(id, ns, sizeof(ns)) == 0)
		(void)cache_invalidation_add(inv, ns);
	if (old_slug[0] != '\0' &&
	    catalog_ns_category(old_slug, ns, sizeof(ns)) == 0)
		(void)cache_invalidation_add(inv, ns);
	if (new_slug != NULL && new_slug[0] != '\0' &&
	    catalog_ns_category(new_slug, ns, sizeof(ns)) == 0)
		(void)cache_invalidation_add(inv, ns);
	(void)cache_invalidation_add(inv, CATALOG_NS_ALL);
	return cache_log_record(db, inv);
}

/* After COMMIT, or a COMMIT whose answer was lost: deliver, then answer. */
static void
admin_invalidate(struct app *app, int rc, struct cache_invalidation *inv)
{
	inv->committed = rc == DB_OK;
	if ((rc == DB_OK || rc == DB_EUNKNOWN) && inv->log_id != 0)
		cache_bump(&app->cache, inv);
}

/* Reads the body and validates it against fields; 0 or a problem in res. */
static int
admin_body(struct request *req, struct response *res,
    const struct body_field *fields, size_t n, json_object **obj,
    struct body_value *v)
{
	char detail[BODY_DETAIL_MAX];
	const char *fixed;
	int status;

	if ((status = body_parse(req, obj, &fixed)) != 0) {
		http_problem(res, status, fixed);
		return -1;
	}
	if (body_fields(*obj, fields, n, BODY_UNKNOWN_REFUSE, v, detail,
	    sizeof(detail)) != 0) {
		http_problem(res, 400, detail);
		return -1;
	}
	return 0;
}

/* The category's id by slug: 1, 0 unknown, DB_ERR. */
static int
admin_category_id(struct db *db, const struct body_value *slug,
    int64_t *id)
{
	struct db_val arg = db_str(slug->s, slug->len), col = db_out_i64();
	int rc;

	rc = db_query_row(db, STMT_CATEGORY_ID_BY_SLUG, &arg, 1, &col, 1);
	*id = col.i;
	return rc == 1 || rc == 0 ? rc : DB_ERR;
}

/* Locks the product and reads its category slug: 1, 0 missing, DB_ERR. */
static int
admin_lock(struct db *db, uint64_t id, char *slug, size_t size)
{
	struct db_val arg = db_i64((int64_t)id), col = db_out_i64();
	struct db_val out = db_out_str(slug, size);
	int rc;

	if ((rc = db_query_row(db, STMT_ADMIN_LOCK, &arg, 1, &col, 1)) != 1)
		return rc;
	arg = db_i64(col.i);
	rc = db_query_row(db, STMT_CATEGORY_SLUG_BY_ID, &arg, 1, &out, 1);
	/* the foreign key guarantees one row */
	return rc == 0 ? DB_ERR : rc;
}

/* Bound as NULL when absent: COALESCE keeps the column. */
static struct db_val
admin_opt_i64(const struct body_value *v)
{
	return v->present ? db_i64(v->i) : db_cstr(NULL);
}

static struct db_val
admin_opt_str(const struct body_value *v)
{
	return v->present ? db_str(v->s, v->len) : db_cstr(NULL);
}

/* The problem for a failed write: a refusal or the database. */
static void
admin_refuse(struct response *res, int rc)
{
	switch (rc) {
	case ADMIN_NO_PRODUCT:
		http_problem(res, 404, "no such product");
		break;
	case ADMIN_NO_CATEGORY:
		http_problem(res, 422, "no such category");
		break;
	case ADMIN_SKU_TAKEN:
		http_problem(res, 409, "a product with this sku exists");
		break;
	default:
		http_problem(res, 503, "database unavailable, try again");
		break;
	}
}

/* --- POST /api/products ------------------------------------------------- */

struct admin_create {
	const struct body_value	*v;
	struct catalog_product	 p;
	uint64_t		 id;
	struct cache_invalidation inv;
};

/* The category check, insert and read-back. */
static int
admin_create_tx(struct db *db, void *arg)
{
	struct admin_create *c = arg;
	const struct body_value *v = c->v;
	struct db_val a[5];
	int64_t category;
	int rc;

	if ((rc = admin_category_id(db, &v[PF_CATEGORY], &category)) != 1)
		return rc == 0 ? ADMIN_NO_CATEGORY : rc;
	a[0] = db_str(v[PF_SKU].s, v[PF_SKU].len);
	a[1] = db_str(v[PF_NAME].s, v[PF_NAME].len);
	a[2] = db_i64(category);
	a[3] = db_i64(v[PF_PRICE].i);
	a[4] = db_i64(v[PF_STOCK].i);
	if ((rc = db_exec(db, STMT_ADMIN_INSERT, a, 5, NULL,
	    &c->id)) != DB_OK) {
		if (db_errno(db) == ER_DUP_ENTRY)
			return ADMIN_SKU_TAKEN;
		if (db_errno(db) == ER_NO_REFERENCED_ROW_2)
			return ADMIN_NO_CATEGORY;
		return rc;
	}
	if (admin_product_load(db, c->id, &c->p) != 1)
		return DB_ERR;
	return admin_log(db, &c->inv, c->id, c->p.slug, NULL);
}

void
admin_product_create(struct app *app, struct request *req,
    struct response *res, uint64_t unused)
{
	struct body_value v[PF__MAX];
	struct admin_create c;
	json_object *obj = NULL;
	char location[64];
	int rc;

	if (admin_body(req, res, create_fields, PF__MAX, &obj, v) != 0)
		goto done;
	memset(&c, 0, sizeof(c));
	c.v = v;
	rc = db_tx(&app->db, "product_create", admin_create_tx, &c);
	admin_invalidate(app, rc, &c.inv);
	if (rc != DB_OK) {
		admin_refuse(res, rc);
		goto done;
	}
	admin_product_json(&res->body, &c.p);
	res->status = 201;
	res->content_type = "application/json";
	snprintf(location, sizeof(location), "/api/products/%" PRIu64, c.id);
	http_header(res, "Location", location);
done:
	json_object_put(obj);
}

/* --- PATCH /api/products/{id} ------------------------------------------- */

struct admin_patch {
	uint64_t		 id;
	const struct body_value	*v;
	char			 old_slug[PARAMS_SLUG_MAX + 1];
	struct catalog_product	 p;
	struct cache_invalidation inv;
};

/* The locked part of a PATCH. */
static int
admin_patch_tx(struct db *db, void *arg)
{
	struct admin_patch *c = arg;
	const struct body_value *v = c->v;
	struct db_val a[5];
	int64_t category = 0;
	int rc;

	if ((rc = admin_lock(db, c->id, c->old_slug, sizeof(c->old_slug))) != 1)
		return rc == 0 ? ADMIN_NO_PRODUCT : rc;
	if (v[PP_CATEGORY].present &&
	    (rc = admin_category_id(db, &v[PP_CATEGORY], &category)) != 1)
		return rc == 0 ? ADMIN_NO_CATEGORY : rc;
	a[0] = admin_opt_str(&v[PP_NAME]);
	a[1] = v[PP_CATEGORY].present ? db_i64(category) : db_cstr(NULL);
	a[2] = admin_opt_i64(&v[PP_PRICE]);
	a[3] = admin_opt_i64(&v[PP_STOCK]);
	a[4] = db_i64((int64_t)c->id);
	if ((rc = db_exec(db, STMT_ADMIN_UPDATE, a, 5, NULL, NULL)) != DB_OK)
		return rc;
	if (admin_product_load(db, c->id, &c->p) != 1)
		return DB_ERR;
	return admin_log(db, &c->inv, c->id, c->old_slug, c->p.slug);
}

void
admin_product_update(struct app *app, struct request *req,
    struct response *res, uint64_t id)
{
	struct body_value v[PP__MAX];
	struct admin_patch c;
	json_object *obj = NULL;
	size_t i;
	int rc;

	if (admin_body(req, res, patch_fields, PP__MAX, &obj, v) != 0)
		goto done;
	for (i = 0; i < PP__MAX && !v[i].present; i++)
		continue;
	if (i == PP__MAX) {
		http_problem(res, 400, "give at least one of name, category, "
		    "price_cents, stock");
		goto done;
	}
	memset(&c, 0, sizeof(c));
	c.id = id;
	c.v = v;
	rc = db_tx(&app->db, "product_update", admin_patch_tx, &c);
	admin_invalidate(app, rc, &c.inv);
	if (rc != DB_OK) {
		admin_refuse(res, rc);
		goto done;
	}
	admin_product_json(&res->body, &c.p);
	res->status = 200;
	res->content_type = "application/json";
done:
	json_object_put(obj);
}

/* --- DELETE /api/products/{id} ------------------------------------------ */

struct admin_delete {
	uint64_t	id;
	char		slug[PARAMS_SLUG_MAX + 1];
	struct cache_invalidation inv;
};

static int
admin_delete_tx(struct db *db, void *arg)
{
	struct admin_delete *c = arg;
	struct db_val a = db_i64((int64_t)c->id);
	int rc;

	if ((rc = admin_lock(db, c->id, c->slug, sizeof(c->slug))) != 1)
		return rc == 0 ? ADMIN_NO_PRODUCT : rc;
	if ((rc = db_exec(db, STMT_ADMIN_DELETE, &a, 1, NULL, NULL)) != DB_OK)
		return rc;
	return admin_log(db, &c->inv, c->id, c->slug, NULL);
}

void
admin_product_delete(struct app *app, struct request *req,
    struct response *res, uint64_t id)
{
	struct admin_delete c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.id = id;
	rc = db_tx(&app->db, "product_delete", admin_delete_tx, &c);
	admin_invalidate(app, rc, &c.inv);
	if (rc != DB_OK) {
		admin_refuse(res, rc);
		return;
	}
	res->status = 204;
}

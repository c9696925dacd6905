/*
 * admin.c: product writes: POST /api/products, PATCH and DELETE
 * /api/products/{id}.  The router has already checked the bearer token.
 *
 * Each handler: body (body.c; members declared once in the tables below,
 * unknown members refused so a typo is a 400 rather than a silent no-op)
 * -> one transaction -> commit -> cache_bump of every namespace the write
 * touched -> answer.  The bump comes after the commit and before the answer
 * (cache.h's invalidation rule), which is what makes a GET sent after this
 * answer see the write even while other requests refill the cache.
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

#include <errmsg.h>

#include "app.h"
#include "body.h"
#include "catalog.h"
#include "params.h"

#define ADMIN_NS_MAX		96
#define ADMIN_SKU_MAX		64
#define ADMIN_NAME_MAX		200
#define ADMIN_PRICE_MAX		100000000
#define ADMIN_STOCK_MAX		1000000
#define ER_DUP_ENTRY_		1062
#define ER_NO_REFERENCED_ROW_	1452

static const char sql_category_id[] =
    "SELECT id FROM categories WHERE slug = ?";
static const char sql_category_slug[] =
    "SELECT slug FROM categories WHERE id = ?";
static const char sql_insert[] =
    "INSERT INTO products (sku, name, category_id, price_cents, stock)"
    " VALUES (?, ?, ?, ?, ?)";
static const char sql_lock[] =
    "SELECT category_id FROM products WHERE id = ? FOR UPDATE";
static const char sql_update[] =
    "UPDATE products SET name = COALESCE(?, name),"
    " category_id = COALESCE(?, category_id),"
    " price_cents = COALESCE(?, price_cents), stock = COALESCE(?, stock)"
    " WHERE id = ?";
static const char sql_delete[] = "DELETE FROM products WHERE id = ?";
static const char sql_product[] =
    "SELECT p.id, p.sku, p.name, c.slug, p.price_cents, p.stock"
    " FROM products p JOIN categories c ON c.id = p.category_id"
    " WHERE p.id = ?";

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
admin_product_load(struct app *app, uint64_t id, struct catalog_product *p)
{
	struct db_val arg = db_i64((int64_t)id);

	catalog_product_bind(p);
	return db_query_row(&app->db, sql_product, &arg, 1, p->cols, 6);
}

/* Bumps g:p:<id>, g:c:<old>, g:c:<new> (when given and different), g:all. */
static void
admin_invalidate(struct app *app, uint64_t id, const char *old_slug,
    const char *new_slug)
{
	char ns[4][ADMIN_NS_MAX];
	const char *list[4];
	size_t n = 0;

	if (catalog_ns_product(id, ns[n], sizeof(ns[n])) == 0)
		n++;
	if (old_slug[0] != '\0' &&
	    catalog_ns_category(old_slug, ns[n], sizeof(ns[n])) == 0)
		n++;
	if (new_slug != NULL && new_slug[0] != '\0' &&
	    strcmp(new_slug, old_slug) != 0 &&
	    catalog_ns_category(new_slug, ns[n], sizeof(ns[n])) == 0)
		n++;
	snprintf(ns[n++], sizeof(ns[0]), "%s", CATALOG_NS_ALL);
	for (size_t i = 0; i < n; i++)
		list[i] = ns[i];
	cache_bump(&app->cache, list, n);
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
admin_category_id(struct app *app, const struct body_value *slug,
    int64_t *id)
{
	struct db_val arg = db_str(slug->s, slug->len), col = db_out_i64();
	int rc;

	rc = db_query_row(&app->db, sql_category_id, &arg, 1, &col, 1);
	*id = col.i;
	return rc == 1 || rc == 0 ? rc : DB_ERR;
}

/* Locks the product and reads its category slug: 1, 0 missing, DB_ERR. */
static int
admin_lock(struct app *app, uint64_t id, char *slug, size_t size)
{
	struct db_val arg = db_i64((int64_t)id), col = db_out_i64();
	struct db_val out = db_out_str(slug, size);
	int rc;

	if ((rc = db_query_row(&app->db, sql_lock, &arg, 1, &col, 1)) != 1)
		return rc == 0 ? 0 : DB_ERR;
	arg = db_i64(col.i);
	return db_query_row(&app->db, sql_category_slug, &arg, 1, &out, 1) == 1 ?
	    1 : DB_ERR;
}

/*
 * START TRANSACTION, once more on a new link when the worker's old one was
 * found gone (CR_SERVER_GONE_ERROR: the statement never reached the server,
 * as for the first write after a database restart).  Nothing ran, so trying
 * again is safe: db.c has dropped the dead link and reconnects.
 */
static int
admin_begin(struct db *db)
{
	if (db_begin(db) == DB_OK)
		return DB_OK;
	if (db_errno(db) != CR_SERVER_GONE_ERROR)
		return DB_ERR;
	return db_begin(db);
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

/* --- POST /api/products ------------------------------------------------- */

/* The category check, insert and read-back: 201 (p, id), 409, 422, 503. */
static int
admin_create_tx(struct app *app, const struct body_value *v,
    struct catalog_product *p, uint64_t *id)
{
	struct db_val a[5];
	int64_t category;
	int rc, status = 503;

	if (admin_begin(&app->db) != DB_OK)
		return 503;
	if ((rc = admin_category_id(app, &v[PF_CATEGORY], &category)) != 1) {
		status = rc == 0 ? 422 : 503;
		goto rollback;
	}
	a[0] = db_str(v[PF_SKU].s, v[PF_SKU].len);
	a[1] = db_str(v[PF_NAME].s, v[PF_NAME].len);
	a[2] = db_i64(category);
	a[3] = db_i64(v[PF_PRICE].i);
	a[4] = db_i64(v[PF_STOCK].i);
	if (db_exec(&app->db, sql_insert, a, 5, NULL, id) != DB_OK) {
		if (db_errno(&app->db) == ER_DUP_ENTRY_)
			status = 409;
		else if (db_errno(&app->db) == ER_NO_REFERENCED_ROW_)
			status = 422;
		goto rollback;
	}
	if (admin_product_load(app, *id, p) != 1)
		goto rollback;
	if (db_commit(&app->db) != DB_OK)
		return 503;
	return 201;
rollback:
	db_rollback(&app->db);
	return status;
}

void
admin_product_create(struct app *app, struct request *req,
    struct response *res, uint64_t unused)
{
	struct body_value v[PF__MAX];
	struct catalog_product p;
	json_object *obj = NULL;
	char location[64];
	uint64_t id = 0;

	if (admin_body(req, res, create_fields, PF__MAX, &obj, v) != 0)
		goto done;
	switch (admin_create_tx(app, v, &p, &id)) {
	case 201:
		admin_invalidate(app, id, p.slug, NULL);
		admin_product_json(&res->body, &p);
		res->status = 201;
		res->content_type = "application/json";
		snprintf(location, sizeof(location), "/api/products/%" PRIu64,
		    id);
		http_header(res, "Location", location);
		break;
	case 409:
		http_problem(res, 409, "a product with this sku exists");
		break;
	case 422:
		http_problem(res, 422, "no such category");
		break;
	default:
		http_problem(res, 503, "database unavailable, try again");
		break;
	}
done:
	json_object_put(obj);
}

/* --- PATCH /api/products/{id} ------------------------------------------- */

/* The locked part of a PATCH: 200 (p filled), 404, 422 or 503. */
static int
admin_patch_tx(struct app *app, uint64_t id, const struct body_value *v,
    char *old_slug, size_t size, struct catalog_product *p)
{
	struct db_val a[5];
	int64_t category = 0;
	int rc, status = 503;

	if (admin_begin(&app->db) != DB_OK)
		return 503;
	if ((rc = admin_lock(app, id, old_slug, size)) != 1) {
		status = rc == 0 ? 404 : 503;
		goto rollback;
	}
	if (v[PP_CATEGORY].present &&
	    (rc = admin_category_id(app, &v[PP_CATEGORY], &category)) != 1) {
		status = rc == 0 ? 422 : 503;
		goto rollback;
	}
	a[0] = admin_opt_str(&v[PP_NAME]);
	a[1] = v[PP_CATEGORY].present ? db_i64(category) : db_cstr(NULL);
	a[2] = admin_opt_i64(&v[PP_PRICE]);
	a[3] = admin_opt_i64(&v[PP_STOCK]);
	a[4] = db_i64((int64_t)id);
	if (db_exec(&app->db, sql_update, a, 5, NULL, NULL) != DB_OK ||
	    admin_product_load(app, id, p) != 1)
		goto rollback;
	if (db_commit(&app->db) != DB_OK)
		return 503;
	return 200;
rollback:
	db_rollback(&app->db);
	return status;
}

void
admin_product_update(struct app *app, struct request *req,
    struct response *res, uint64_t id)
{
	struct body_value v[PP__MAX];
	struct catalog_product p;
	char old_slug[PARAMS_SLUG_MAX + 1] = "";
	json_object *obj = NULL;
	size_t i;

	if (admin_body(req, res, patch_fields, PP__MAX, &obj, v) != 0)
		goto done;
	for (i = 0; i < PP__MAX && !v[i].present; i++)
		continue;
	if (i == PP__MAX) {
		http_problem(res, 400, "give at least one of name, category, "
		    "price_cents, stock");
		goto done;
	}
	switch (admin_patch_tx(app, id, v, old_slug, sizeof(old_slug), &p)) {
	case 200:
		admin_invalidate(app, id, old_slug, p.slug);
		admin_product_json(&res->body, &p);
		res->status = 200;
		res->content_type = "application/json";
		break;
	case 404:
		http_problem(res, 404, "no such product");
		break;
	case 422:
		http_problem(res, 422, "no such category");
		break;
	default:
		http_problem(res, 503, "database unavailable, try again");
		break;
	}
done:
	json_object_put(obj);
}

/* --- DELETE /api/products/{id} ------------------------------------------ */

void
admin_product_delete(struct app *app, struct request *req,
    struct response *res, uint64_t id)
{
	char slug[PARAMS_SLUG_MAX + 1] = "";
	struct db_val arg = db_i64((int64_t)id);
	int rc;

	if (admin_begin(&app->db) != DB_OK)
		goto unavailable;
	if ((rc = admin_lock(app, id, slug, sizeof(slug))) != 1) {
		db_rollback(&app->db);
		if (rc == 0) {
			http_problem(res, 404, "no such product");
			return;
		}
		goto unavailable;
	}
	if (db_exec(&app->db, sql_delete, &arg, 1, NULL, NULL) != DB_OK) {
		db_rollback(&app->db);
		goto unavailable;
	}
	if (db_commit(&app->db) != DB_OK)
		goto unavailable;
	admin_invalidate(app, id, slug, NULL);
	res->status = 204;
	return;
unavailable:
	http_problem(res, 503, "database unavailable, try again");
}

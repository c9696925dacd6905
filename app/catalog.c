/*
 * catalog.c: the cached read routes: GET /api/categories, /api/products,
 * /api/products/{id}, /api/categories/{slug}.
 *
 * Each handler validates its input, names its cache namespace and
 * canonical parameters (cache.h has the key and invalidation rules), and
 * hands a loader to catalog_serve(), which does cache-aside: answer a hit,
 * or run the loader (prepared statements, one serialization) and store the
 * serialized bytes.  Only 200 answers are cached.  A soft-expired copy is
 * answered while one worker refreshes it, and also when the database is
 * down; without any copy a database failure is a 503.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "app_sql.h"
#include "catalog.h"
#include "params.h"

#define CATALOG_NS_MAX	96
#define CATALOG_ITEM_MAX 201

/* A loader fills body and returns DB_OK, CATALOG_NOT_FOUND (detail set)
 * or DB_E* (db.h's convention); catalog_serve() makes them 200, 404, 503. */
typedef int (*catalog_loader)(struct app *, const void *ctx, struct buf *body,
    const char **detail);
#define CATALOG_NOT_FOUND	1

/* The list statement of each sort (app_sql.h), unfiltered and by category. */
static const unsigned list_all[SORT__MAX] = {
	[SORT_ID] = STMT_CATALOG_LIST_ALL_ID,
	[SORT_PRICE] = STMT_CATALOG_LIST_ALL_PRICE,
	[SORT_PRICE_DESC] = STMT_CATALOG_LIST_ALL_PRICE_DESC,
	[SORT_NAME] = STMT_CATALOG_LIST_ALL_NAME,
};
static const unsigned list_category[SORT__MAX] = {
	[SORT_ID] = STMT_CATALOG_LIST_CATEGORY_ID,
	[SORT_PRICE] = STMT_CATALOG_LIST_CATEGORY_PRICE,
	[SORT_PRICE_DESC] = STMT_CATALOG_LIST_CATEGORY_PRICE_DESC,
	[SORT_NAME] = STMT_CATALOG_LIST_CATEGORY_NAME,
};

void
catalog_product_bind(struct catalog_product *r)
{
	r->cols[0] = db_out_i64();
	r->cols[1] = db_out_str(r->sku, sizeof(r->sku));
	r->cols[2] = db_out_str(r->name, sizeof(r->name));
	r->cols[3] = db_out_str(r->slug, sizeof(r->slug));
	r->cols[4] = db_out_i64();
	r->cols[5] = db_out_i64();
}

void
catalog_product_json(struct buf *b, const struct catalog_product *r)
{
	buf_printf(b, "{\"id\":%" PRId64 ",\"sku\":", r->cols[0].i);
	buf_json_string(b, r->sku, r->cols[1].len);
	buf_puts(b, ",\"name\":");
	buf_json_string(b, r->name, r->cols[2].len);
	buf_puts(b, ",\"category\":");
	buf_json_string(b, r->slug, r->cols[3].len);
	buf_printf(b, ",\"price_cents\":%" PRId64 ",\"stock\":%" PRId64 "}",
	    r->cols[4].i, r->cols[5].i);
}

int
catalog_etag_matches(const char *header, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = header;

	if (header == NULL)
		return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)	/* weak comparison, RFC 9110 */
			p += 2;
		if (strncmp(p, etag, elen) == 0 &&
		    (p[elen] == '\0' || p[elen] == ',' || p[elen] == ' '))
			return 1;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

static void
catalog_answer(struct request *req, struct response *res, const char *body,
    size_t len, const char *etag, const char *cache_result)
{
	req->cache_result = cache_result;
	http_header(res, "ETag", etag);
	http_header(res, "Cache-Control", "no-cache");
	if (catalog_etag_matches(req->if_none_match, etag)) {
		res->status = 304;
		return;
	}
	http_json(res, 200, body, len);
}

static void
catalog_serve(struct app *app, struct request *req, struct response *res,
    const char *ns, const char *params, catalog_loader load, const void *ctx)
{
	struct cache_entry e;
	struct buf body;
	const char *detail = "not found";
	int rc;

	cache_lookup(&app->cache, ns, params, &e);
	if (e.status == CACHE_HIT ||
	    (e.status == CACHE_STALE && !e.locked)) {
		catalog_answer(req, res, e.body, e.body_len, e.etag, "HIT");
		cache_entry_free(&e);
		return;
	}
	buf_init(&body, HTTP_MAX_RESPONSE);
	metrics_add(&app->metrics->core.cache_db_loads, 1);
	rc = load(app, ctx, &body, &detail);
	if (rc == DB_OK && !body.overflow) {
		/* host memory keeps it even when memcached is bypassed */
		cache_store(&app->cache, &e, body.data, body.len);
		catalog_answer(req, res, body.data, body.len, e.etag,
		    e.status == CACHE_BYPASS ? "BYPASS" : "MISS");
	} else if (rc < 0 && e.body != NULL) {
		/* database down: a soft-expired copy, or one this host could
		 * not verify against the log (cache.h, THE BOUND) */
		cache_unlock(&app->cache, &e);
		catalog_answer(req, res, e.body, e.body_len, e.etag, "HIT");
	} else {
		cache_unlock(&app->cache, &e);
		req->cache_result = e.status == CACHE_BYPASS ? "BYPASS" : "MISS";
		if (rc == CATALOG_NOT_FOUND)
			http_problem(res, 404, detail);
		else
			http_problem(res, 503, "database unavailable, try again");
	}
	buf_free(&body);
	cache_entry_free(&e);
}

/* --- GET /api/categories ------------------------------------------------ */

static int
load_categories(struct app *app, const void *ctx, struct buf *b,
    const char **detail)
{
	char slug[65], name[CATALOG_ITEM_MAX * 4];
	struct db_val cols[3] = { db_out_str(slug, sizeof(slug)),
	    db_out_str(name, sizeof(name)), db_out_i64() };
	MYSQL_STMT *cur;
	int rc, first = 1;

	if (db_query(&app->db, STMT_CATALOG_CATEGORIES, NULL, 0, cols, 3,
	    &cur) != DB_OK)
		return DB_ERR;
	buf_puts(b, "{\"items\":[");
	while ((rc = db_fetch(&app->db, cur, cols, 3)) == 1) {
		if (!first)
			buf_puts(b, ",");
		first = 0;
		catalog_category_json(b, slug, cols[0].len, name, cols[1].len,
		    cols[2].i);
	}
	db_done(cur);
	if (rc != 0)
		return DB_ERR;
	buf_puts(b, "]}");
	return DB_OK;
}

void
catalog_categories(struct app *app, struct request *req, struct response *res,
    uint64_t id)
{
	catalog_serve(app, req, res, CATALOG_NS_ALL, "categories",
	    load_categories, NULL);
}

/* --- GET /api/categories/{slug} ----------------------------------------- */

void
catalog_category_json(struct buf *b, const char *slug, size_t slug_len,
    const char *name, size_t name_len, int64_t product_count)
{
	buf_puts(b, "{\"slug\":");
	buf_json_string(b, slug, slug_len);
	buf_puts(b, ",\"name\":");
	buf_json_string(b, name, name_len);
	buf_printf(b, ",\"product_count\":%" PRId64 "}", product_count);
}

void
catalog_category_row_json(struct buf *b, const struct catalog_category *c)
{
	catalog_category_json(b, c->slug, c->cols[0].len, c->name,
	    c->cols[1].len, c->cols[2].i);
}

int
catalog_category_load(struct db *db, const char *slug,
    struct catalog_category *c)
{
	struct db_val arg = db_cstr(slug);

	c->cols[0] = db_out_str(c->slug, sizeof(c->slug));
	c->cols[1] = db_out_str(c->name, sizeof(c->name));
	c->cols[2] = db_out_i64();
	return db_query_row(db, STMT_CATALOG_CATEGORY, &arg, 1, c->cols, 3);
}

static int
load_category(struct app *app, const void *ctx, struct buf *b,
    const char **detail)
{
	struct catalog_category c;
	int rc;

	rc = catalog_category_load(&app->db, ctx, &c);
	if (rc == 0) {
		*detail = "no such category";
		return CATALOG_NOT_FOUND;
	}
	if (rc != 1)
		return DB_ERR;
	catalog_category_row_json(b, &c);
	return DB_OK;
}

/* The router has checked the slug (params_valid_slug), so it is a valid
 * cache key part. */
void
catalog_category(struct app *app, struct request *req, struct response *res,
    uint64_t id)
{
	char params[PARAMS_SLUG_MAX + 16], ns[CATALOG_NS_MAX];

	snprintf(params, sizeof(params), "category:%s", req->path_slug);
	if (catalog_ns_category(req->path_slug, ns, sizeof(ns)) != 0) {
		http_problem(res, 404, "no such category");
		return;
	}
	catalog_serve(app, req, res, ns, params, load_category,
	    req->path_slug);
}

/* --- GET /api/products -------------------------------------------------- */

static int
load_products(struct app *app, const void *ctx, struct buf *b,
    const char **detail)
{
	const struct product_query *q = ctx;
	struct catalog_product row;
	struct db_val total = db_out_i64(), cat = db_out_i64();
	struct db_val args[3];
	MYSQL_STMT *cur;
	size_t nargs = 0;
	int rc, first = 1;

	if (q->category[0] != '\0') {
		struct db_val slug = db_cstr(q->category);
		rc = db_query_row(&app->db, STMT_CATEGORY_ID_BY_SLUG, &slug, 1,
		    &cat, 1);
		if (rc == 0) {
			*detail = "no such category";
			return CATALOG_NOT_FOUND;
		}
		if (rc != 1)
			return DB_ERR;
		args[nargs++] = db_i64(cat.i);
	}
	rc = db_query_row(&app->db,
	    nargs ? STMT_CATALOG_COUNT_CATEGORY : STMT_CATALOG_COUNT_ALL,
	    args, nargs, &total, 1);
	if (rc != 1)
		return DB_ERR;
	args[nargs++] = db_i64((int64_t)q->per_page);
	args[nargs++] = db_i64((int64_t)((q->page - 1) * q->per_page));
	catalog_product_bind(&row);
	if (db_query(&app->db, q->category[0] != '\0' ?
	    list_category[q->sort] : list_all[q->sort], args, nargs,
	    row.cols, 6, &cur) != DB_OK)
		return DB_ERR;
	buf_puts(b, "{\"items\":[");
	while ((rc = db_fetch(&app->db, cur, row.cols, 6)) == 1) {
		if (!first)
			buf_puts(b, ",");
		first = 0;
		catalog_product_json(b, &row);
	}
	db_done(cur);
	if (rc != 0)
		return DB_ERR;
	buf_printf(b, "],\"page\":%llu,\"per_page\":%llu,\"total\":%" PRId64 "}",
	    (unsigned long long)q->page, (unsigned long long)q->per_page,
	    total.i);
	return DB_OK;
}

void
catalog_products(struct app *app, struct request *req, struct response *res,
    uint64_t id)
{
	struct product_query q;
	char detail[128], params[CACHE_KEY_MAX], ns[CATALOG_NS_MAX];

	if (params_products(req->query, &q, detail, sizeof(detail)) != 0) {
		http_problem(res, 400, detail);
		return;
	}
	if (params_products_key(&q, params, sizeof(params)) != 0 ||
	    catalog_ns_category(q.category, ns, sizeof(ns)) != 0) {
		http_problem(res, 400, "parameters too long");
		return;
	}
	catalog_serve(app, req, res, ns, params, load_products, &q);
}

/* --- GET /api/products/{id} --------------------------------------------- */

static int
load_product(struct app *app, const void *ctx, struct buf *b,
    const char **detail)
{
	struct catalog_product row;
	struct db_val arg = db_i64((int64_t)*(const uint64_t *)ctx);
	int rc;

	catalog_product_bind(&row);
	rc = db_query_row(&app->db, STMT_PRODUCT_BY_ID, &arg, 1, row.cols, 6);
	if (rc == 0) {
		*detail = "no such product";
		return CATALOG_NOT_FOUND;
	}
	if (rc != 1)
		return DB_ERR;
	catalog_product_json(b, &row);
	return DB_OK;
}

void
catalog_product(struct app *app, struct request *req, struct response *res,
    uint64_t id)
{
	char params[64], ns[CATALOG_NS_MAX];

	snprintf(params, sizeof(params), "product:%" PRIu64, id);
	catalog_ns_product(id, ns, sizeof(ns));
	catalog_serve(app, req, res, ns, params, load_product, &id);
}

/* --- namespaces, shared with the write paths ----------------------------- */

int
catalog_ns_category(const char *slug, char *out, size_t size)
{
	int n;

	if (slug[0] == '\0')
		n = snprintf(out, size, "%s", CATALOG_NS_ALL);
	else
		n = snprintf(out, size, "g:c:%s", slug);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

int
catalog_ns_product(uint64_t id, char *out, size_t size)
{
	int n = snprintf(out, size, "g:p:%" PRIu64, id);

	return n > 0 && (size_t)n < size ? 0 : -1;
}

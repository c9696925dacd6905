/*
 * admin_category.c: category writes: POST /api/categories, PATCH and
 * DELETE /api/categories/{slug}.  The router has already checked the bearer
 * token and the path's slug (params_valid_slug).
 *
 * The same shape as the product writes (admin.c): body validated against a
 * table (unknown members refused) -> one transaction (db_tx) whose last
 * statement logs the namespaces it touched (cache_log_record: the log row
 * commits with the write, so every host applies it) -> cache_bump after
 * the commit and before the answer, also when the COMMIT's answer was lost
 * (DB_EUNKNOWN: it may have happened; answered 503).
 *
 * Namespaces (catalog.h): g:c:<slug> (the category's own answer and its
 * product lists) and g:all (the category list).  Products show only the
 * slug, which no write changes, so no g:p:* is bumped.
 *
 * DELETE of a category that still has products is refused by the database
 * itself (products_category_fk, RESTRICT): a product inserted or moved in
 * by a concurrent transaction either commits first (the DELETE fails) or
 * waits on the category row's lock the DELETE holds (and then fails its own
 * foreign key check).  There is no count-then-delete window.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <mysqld_error.h>

#include "app.h"
#include "app_sql.h"
#include "body.h"
#include "catalog.h"
#include "params.h"

/* What a category transaction can refuse (db.h: positive outcomes). */
enum category_outcome {
	CATEGORY_MISSING = 1,		/* 404 */
	CATEGORY_SLUG_TAKEN,		/* 409 */
	CATEGORY_NOT_EMPTY		/* 409 */
};

#define CATEGORY_FIELD_SLUG { "slug", BODY_STRING, 1, 1, PARAMS_SLUG_MAX, \
	params_valid_slug, "a slug (a-z, 0-9, '-' inside)" }
#define CATEGORY_FIELD_NAME { "name", BODY_STRING, 1, 1, \
	CATALOG_CATEGORY_NAME_MAX, NULL, "text" }

enum category_field { CF_SLUG, CF_NAME, CF__MAX };
static const struct body_field create_fields[CF__MAX] = {
	[CF_SLUG] = CATEGORY_FIELD_SLUG, [CF_NAME] = CATEGORY_FIELD_NAME,
};

/* The slug never changes (it is in every product's answer and cache key). */
enum category_patch_field { CP_NAME, CP__MAX };
static const struct body_field patch_fields[CP__MAX] = {
	[CP_NAME] = CATEGORY_FIELD_NAME,
};

/* Reads the body and validates it against fields; 0 or a problem in res. */
static int
category_body(struct request *req, struct response *res,
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

/* The transaction's last statement: logs g:c:<slug> and g:all (cache.h,
 * THE LOG).  A db.h outcome. */
static int
category_log(struct db *db, struct cache_invalidation *inv, const char *slug)
{
	char ns[CACHE_NS_MAX];

	inv->n = 0;
	inv->log_id = 0;
	if (catalog_ns_category(slug, ns, sizeof(ns)) == 0)
		(void)cache_invalidation_add(inv, ns);	/* a valid slug fits */
	(void)cache_invalidation_add(inv, CATALOG_NS_ALL);
	return cache_log_record(db, inv);
}

/* After COMMIT, or a COMMIT whose answer was lost: deliver, then answer. */
static void
category_invalidate(struct app *app, int rc, struct cache_invalidation *inv)
{
	inv->committed = rc == DB_OK;
	if ((rc == DB_OK || rc == DB_EUNKNOWN) && inv->log_id != 0)
		cache_bump(&app->cache, inv);
}

/* The problem for a failed write: a refusal or the database. */
static void
category_refuse(struct response *res, int rc)
{
	switch (rc) {
	case CATEGORY_MISSING:
		http_problem(res, 404, "no such category");
		break;
	case CATEGORY_SLUG_TAKEN:
		http_problem(res, 409, "a category with this slug exists");
		break;
	case CATEGORY_NOT_EMPTY:
		http_problem(res, 409, "the category still has products; move "
		    "or delete them first");
		break;
	default:
		http_problem(res, 503, "database unavailable, try again");
		break;
	}
}

static void
category_answer(struct response *res, int status,
    const struct catalog_category *c)
{
	buf_reset(&res->body);
	catalog_category_row_json(&res->body, c);
	res->status = status;
	res->content_type = "application/json";
}

/* --- POST /api/categories ----------------------------------------------- */

struct category_create {
	const struct body_value	*v;
	char			 slug[PARAMS_SLUG_MAX + 1];
	struct catalog_category	 c;
	struct cache_invalidation inv;
};

static int
category_create_tx(struct db *db, void *arg)
{
	struct category_create *cc = arg;
	struct db_val a[2];
	int rc;

	a[0] = db_str(cc->v[CF_SLUG].s, cc->v[CF_SLUG].len);
	a[1] = db_str(cc->v[CF_NAME].s, cc->v[CF_NAME].len);
	if ((rc = db_exec(db, STMT_CATEGORY_INSERT, a, 2, NULL,
	    NULL)) != DB_OK)
		return db_errno(db) == ER_DUP_ENTRY ? CATEGORY_SLUG_TAKEN : rc;
	if (catalog_category_load(db, cc->slug, &cc->c) != 1)
		return DB_ERR;
	return category_log(db, &cc->inv, cc->slug);
}

void
admin_category_create(struct app *app, struct request *req,
    struct response *res, uint64_t unused)
{
	struct body_value v[CF__MAX];
	struct category_create cc;
	json_object *obj = NULL;
	char location[PARAMS_SLUG_MAX + 32];
	int rc;

	if (category_body(req, res, create_fields, CF__MAX, &obj, v) != 0)
		goto done;
	memset(&cc, 0, sizeof(cc));
	cc.v = v;
	/* validated: [a-z0-9-], at most PARAMS_SLUG_MAX bytes */
	memcpy(cc.slug, v[CF_SLUG].s, v[CF_SLUG].len);
	rc = db_tx(&app->db, "category_create", category_create_tx, &cc);
	category_invalidate(app, rc, &cc.inv);
	if (rc != DB_OK) {
		category_refuse(res, rc);
		goto done;
	}
	category_answer(res, 201, &cc.c);
	snprintf(location, sizeof(location), "/api/categories/%s", cc.slug);
	http_header(res, "Location", location);
done:
	json_object_put(obj);
}

/* --- PATCH /api/categories/{slug} --------------------------------------- */

struct category_patch {
	const char		*slug;
	const struct body_value	*v;
	struct catalog_category	 c;
	struct cache_invalidation inv;
};

static int
category_patch_tx(struct db *db, void *arg)
{
	struct category_patch *cp = arg;
	struct db_val a[2], id = db_out_i64();
	int rc;

	a[0] = db_cstr(cp->slug);
	if ((rc = db_query_row(db, STMT_CATEGORY_LOCK, a, 1, &id, 1)) != 1)
		return rc == 0 ? CATEGORY_MISSING : rc;
	a[0] = db_str(cp->v[CP_NAME].s, cp->v[CP_NAME].len);
	a[1] = db_i64(id.i);
	if ((rc = db_exec(db, STMT_CATEGORY_RENAME, a, 2, NULL, NULL)) != DB_OK)
		return rc;
	if (catalog_category_load(db, cp->slug, &cp->c) != 1)
		return DB_ERR;
	return category_log(db, &cp->inv, cp->slug);
}

void
admin_category_update(struct app *app, struct request *req,
    struct response *res, uint64_t unused)
{
	struct body_value v[CP__MAX];
	struct category_patch cp;
	json_object *obj = NULL;
	int rc;

	if (category_body(req, res, patch_fields, CP__MAX, &obj, v) != 0)
		goto done;
	memset(&cp, 0, sizeof(cp));
	cp.slug = req->path_slug;
	cp.v = v;
	rc = db_tx(&app->db, "category_update", category_patch_tx, &cp);
	category_invalidate(app, rc, &cp.inv);
	if (rc != DB_OK) {
		category_refuse(res, rc);
		goto done;
	}
	category_answer(res, 200, &cp.c);
done:
	json_object_put(obj);
}

/* --- DELETE /api/categories/{slug} -------------------------------------- */

struct category_delete {
	char			 slug[PARAMS_SLUG_MAX + 1];
	struct cache_invalidation inv;
};

static int
category_delete_tx(struct db *db, void *arg)
{
	struct category_delete *cd = arg;
	struct db_val a = db_cstr(cd->slug);
	uint64_t affected = 0;
	int rc;

	if ((rc = db_exec(db, STMT_CATEGORY_DELETE, &a, 1, &affected,
	    NULL)) != DB_OK)
		return db_errno(db) == ER_ROW_IS_REFERENCED_2 ?
		    CATEGORY_NOT_EMPTY : rc;
	if (affected == 0)
		return CATEGORY_MISSING;
	return category_log(db, &cd->inv, cd->slug);
}

void
admin_category_delete(struct app *app, struct request *req,
    struct response *res, uint64_t unused)
{
	struct category_delete cd;
	int rc;

	memset(&cd, 0, sizeof(cd));
	snprintf(cd.slug, sizeof(cd.slug), "%s", req->path_slug);
	rc = db_tx(&app->db, "category_delete", category_delete_tx, &cd);
	category_invalidate(app, rc, &cd.inv);
	if (rc != DB_OK) {
		category_refuse(res, rc);
		return;
	}
	res->status = 204;
}

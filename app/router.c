/*
 * router.c: the route table and the checks every request passes before a
 * handler runs: path, method (404 / 405 with Allow), admin bearer token
 * (401 with WWW-Authenticate, compared in constant time).
 *
 * A pattern's "/:id" segment matches one path segment that must be a
 * decimal id in 1..2^63-1, wherever it stands; a pattern ending in "/:slug"
 * matches one more segment that is a valid category slug
 * (params_valid_slug; the handler finds it in req->path_slug).  Anything
 * else there is a 404, never a 400, since the path names no resource.
 * HEAD is served by the GET handler.
 */
#include "config.h"

#include <string.h>

#include "app.h"
#include "params.h"
#include "util.h"

#define ROUTE_ADMIN	0x1

struct route {
	const char		*pattern;	/* "/api/products/:id" */
	enum http_method	 method;
	app_handler		 handler;
	int			 flags;
	enum metrics_route	 metric;
	const char		*name;
};

static const struct route routes[] = {
	{ "/healthz", HTTP_GET, health_get, 0, METRICS_ROUTE_HEALTHZ,
	    "healthz" },
	{ "/metrics", HTTP_GET, metrics_page, 0, METRICS_ROUTE_METRICS,
	    "metrics" },
	{ "/api/openapi.json", HTTP_GET, openapi_get, 0, METRICS_ROUTE_OPENAPI,
	    "openapi" },
	{ "/api/categories", HTTP_GET, catalog_categories, 0,
	    METRICS_ROUTE_CATEGORIES, "categories" },
	{ "/api/categories", HTTP_POST, admin_category_create, ROUTE_ADMIN,
	    METRICS_ROUTE_ADMIN_CATEGORIES, "admin_category_create" },
	{ "/api/categories/:slug", HTTP_GET, catalog_category, 0,
	    METRICS_ROUTE_CATEGORY, "category" },
	{ "/api/categories/:slug", HTTP_PATCH, admin_category_update,
	    ROUTE_ADMIN, METRICS_ROUTE_ADMIN_CATEGORIES,
	    "admin_category_update" },
	{ "/api/categories/:slug", HTTP_DELETE, admin_category_delete,
	    ROUTE_ADMIN, METRICS_ROUTE_ADMIN_CATEGORIES,
	    "admin_category_delete" },
	{ "/api/products", HTTP_GET, catalog_products, 0,
	    METRICS_ROUTE_PRODUCTS, "products" },
	{ "/api/products/:id", HTTP_GET, catalog_product, 0,
	    METRICS_ROUTE_PRODUCT, "product" },
	{ "/api/products", HTTP_POST, admin_product_create, ROUTE_ADMIN,
	    METRICS_ROUTE_ADMIN_PRODUCTS, "admin_product_create" },
	{ "/api/products/:id", HTTP_PATCH, admin_product_update, ROUTE_ADMIN,
	    METRICS_ROUTE_ADMIN_PRODUCTS, "admin_product_update" },
	{ "/api/products/:id", HTTP_DELETE, admin_product_delete, ROUTE_ADMIN,
	    METRICS_ROUTE_ADMIN_PRODUCTS, "admin_product_delete" },
	{ "/api/orders", HTTP_POST, orders_create, 0, METRICS_ROUTE_ORDERS,
	    "orders" },
	{ "/api/orders/:id", HTTP_GET, orders_get, ROUTE_ADMIN,
	    METRICS_ROUTE_ORDER, "order" },
	{ "/api/admin/jobs", HTTP_GET, admin_jobs_list, ROUTE_ADMIN,
	    METRICS_ROUTE_ADMIN_JOBS, "admin_jobs" },
	{ "/api/admin/jobs/:id", HTTP_GET, admin_jobs_get, ROUTE_ADMIN,
	    METRICS_ROUTE_ADMIN_JOBS, "admin_job" },
	{ "/api/admin/jobs/:id/replay", HTTP_POST, admin_jobs_replay,
	    ROUTE_ADMIN, METRICS_ROUTE_ADMIN_JOBS, "admin_job_replay" },
	{ "/api/admin/stats", HTTP_GET, admin_stats_get, ROUTE_ADMIN,
	    METRICS_ROUTE_ADMIN_JOBS, "admin_stats" },
};

/* 1 when path matches pattern; *id receives the :id segment, which may
 * stand anywhere in the pattern ("/api/admin/jobs/:id/replay"), *slug the
 * :slug segment, which ends one. */
static int
router_match(const char *pattern, const char *path, uint64_t *id,
    const char **slug)
{
	const char *hole = strstr(pattern, "/:id"), *rest;
	size_t plen = strlen(pattern), prefix, digits;

	*id = 0;
	*slug = NULL;
	if (plen > 6 && strcmp(pattern + plen - 6, "/:slug") == 0) {
		prefix = plen - 5;	/* keeps the slash */
		if (strncmp(path, pattern, prefix) != 0 ||
		    !params_valid_slug(path + prefix, strlen(path + prefix)))
			return 0;
		*slug = path + prefix;
		return 1;
	}
	if (hole == NULL)
		return strcmp(pattern, path) == 0;
	prefix = (size_t)(hole - pattern) + 1;	/* keeps the slash */
	if (strncmp(path, pattern, prefix) != 0)
		return 0;
	path += prefix;
	rest = hole + 4;
	digits = strcspn(path, "/");
	return digits > 0 && path[0] != '0' &&
	    util_parse_u64n(path, digits, 1, INT64_MAX, id) == 0 &&
	    strcmp(path + digits, rest) == 0;
}

/* Constant-time check of "Authorization: Bearer <token>". */
static int
router_authorized(const struct app *app, const struct request *req)
{
	const char *token = app->conf->http_admin_token;
	const char *auth = req->authorization;

	if (token[0] == '\0' || auth == NULL ||
	    strncasecmp(auth, "Bearer ", 7) != 0)
		return 0;
	auth += 7;
	while (*auth == ' ')
		auth++;
	return util_ct_equal(auth, strlen(auth), token, strlen(token));
}

static void
router_allow(struct response *res, const char *path)
{
	char allow[64] = "";
	const char *slug;
	size_t i;
	uint64_t id;

	for (i = 0; i < ARRAY_SIZE(routes); i++) {
		const char *m = NULL;

		if (!router_match(routes[i].pattern, path, &id, &slug))
			continue;
		switch (routes[i].method) {
		case HTTP_GET: m = "GET, HEAD"; break;
		case HTTP_POST: m = "POST"; break;
		case HTTP_PATCH: m = "PATCH"; break;
		case HTTP_DELETE: m = "DELETE"; break;
		default: continue;
		}
		if (allow[0] != '\0')
			strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
		strncat(allow, m, sizeof(allow) - strlen(allow) - 1);
	}
	http_header(res, "Allow", allow);
}

void
router_dispatch(struct app *app, struct request *req, struct response *res)
{
	enum http_method method = req->method == HTTP_HEAD ? HTTP_GET :
	    req->method;
	int path_known = 0;
	const char *slug;
	uint64_t id;
	size_t i;

	req->route = "unknown";
	req->metric = METRICS_ROUTE_OTHER;
	if (req->invalid != 0) {
		/* one of http_request_init()'s fixed strings */
		const char *detail = req->invalid_detail;

		http_problem(res, req->invalid, detail);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(routes); i++) {
		const struct route *r = &routes[i];

		if (!router_match(r->pattern, req->path, &id, &slug))
			continue;
		path_known = 1;
		req->path_slug = slug;
		req->route = r->name;
		req->metric = r->metric;
		if (r->method != method)
			continue;
		if ((r->flags & ROUTE_ADMIN) && !router_authorized(app, req)) {
			http_header(res, "WWW-Authenticate",
			    "Bearer realm=\"catalog admin\"");
			http_problem(res, 401,
			    "this endpoint needs Authorization: Bearer <admin token>");
			return;
		}
		r->handler(app, req, res, id);
		return;
	}
	if (path_known) {
		router_allow(res, req->path);
		http_problem(res, 405, "method not allowed on this resource");
		return;
	}
	http_problem(res, 404, "no such resource");
}

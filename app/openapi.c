/*
 * openapi.c: GET /api/openapi.json, the API's OpenAPI description.
 *
 * The application serves it (not an nginx alias), so it works behind any
 * FastCGI front end and always describes the binary that answers.  It
 * changes only with a new build: caches may keep it for five minutes, then
 * revalidate with If-None-Match (304, no body).  No database or memcached
 * access, so it answers while either is down.
 */
#include "config.h"

#include "app.h"
#include "catalog.h"
#include "openapi.h"

void
openapi_get(struct app *app, struct request *req, struct response *res,
    uint64_t id)
{
	http_header(res, "ETag", openapi_etag);
	http_header(res, "Cache-Control", "public, max-age=300");
	if (catalog_etag_matches(req->if_none_match, openapi_etag)) {
		res->status = 304;
		return;
	}
	http_json(res, 200, openapi_json, openapi_json_len);
}

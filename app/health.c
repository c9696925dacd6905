/*
 * health.c: GET /healthz.  A database round trip (mysql_ping) and a
 * memcached probe of every server.  The database decides the status (503
 * when unreachable, since nothing but cache hits can be answered then); a
 * memcached outage only degrades: "cache":"down" with 200.
 */
#include "config.h"

#include <stdio.h>

#include "app.h"

void
health_get(struct app *app, struct request *req, struct response *res,
    uint64_t id)
{
	const char *cache = cache_ping(&app->cache) == 0 ? "ok" : "down";

	http_header(res, "Cache-Control", "no-store");
	if (db_ping(&app->db) != DB_OK) {
		http_problem(res, 503, "database unreachable");
		/* RFC 9457 extension members, so probes can tell what failed */
		res->body.len--;	/* drop the closing brace */
		buf_printf(&res->body, ",\"db\":\"down\",\"cache\":\"%s\"}",
		    cache);
		return;
	}
	res->status = 200;
	res->content_type = "application/json";
	buf_printf(&res->body, "{\"status\":\"ok\",\"db\":\"ok\",\"cache\":\"%s\"}",
	    cache);
}

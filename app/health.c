/*
 * health.c: GET /healthz.  A database round trip (mysql_ping) and a
 * memcached probe of every server.  The database decides the status (503
 * when unreachable, since nothing but cache hits can be answered then); a
 * memcached outage only degrades: "cache":"down" with 200.  Two members
 * appear only when something is wrong with the cache's freshness
 * machinery (cache.h): "cache_sync":"behind" while this host's poller has
 * not applied the log within the bound (the cache is bypassed), and
 * "cache_servers":"mismatch" while live hosts name another cache.servers
 * list (with "cache_servers_hash", this host's).
 */
#include "config.h"

#include <stdio.h>

#include "app.h"

void
health_get(struct app *app, struct request *req, struct response *res,
    uint64_t id)
{
	const char *cache = cache_ping(&app->cache) == 0 ? "ok" : "down";
	char extra[128] = "";
	size_t n = 0;

	if (!cache_synced(&app->cache))
		n += (size_t)snprintf(extra, sizeof(extra),
		    ",\"cache_sync\":\"behind\"");
	if (__atomic_load_n(&app->cache_shared->list_mismatch,
	    __ATOMIC_RELAXED) > 0)
		snprintf(extra + n, sizeof(extra) - n, ",\"cache_servers\":"
		    "\"mismatch\",\"cache_servers_hash\":\"%s\"",
		    app->cache.list_hash);

	http_header(res, "Cache-Control", "no-store");
	if (db_ping(&app->db) != DB_OK) {
		http_problem(res, 503, "database unreachable");
		/* RFC 9457 extension members, so probes can tell what failed */
		res->body.len--;	/* drop the closing brace */
		buf_printf(&res->body, ",\"db\":\"down\",\"cache\":\"%s\"%s}",
		    cache, extra);
		return;
	}
	res->status = 200;
	res->content_type = "application/json";
	buf_printf(&res->body, "{\"status\":\"ok\",\"db\":\"ok\",\"cache\":"
	    "\"%s\"%s}", cache, extra);
}

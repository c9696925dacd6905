/*
 * metrics_page.c: GET /metrics in the Prometheus text exposition format
 * (version 0.0.4).  Counters come from the shared block every worker adds
 * to (app_metrics.h); the queue gauges are the queue's own counts
 * (queue_count: cheap indexed queries; "done" is never counted, it grows
 * without bound); they describe the shared database, so every app host
 * exports the same values and dashboards take their max, never their sum.
 * nginx serves this route to loopback clients only.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "app.h"
#include "queue.h"
#include "util.h"

static const char *const route_names[METRICS_ROUTES] = {
	"healthz", "categories", "products", "product", "orders", "order",
	"admin_products", "category", "admin_categories", "metrics",
	"openapi", "admin_jobs", "other"
};
static const char *const cache_results[METRICS_CACHE_RESULTS] = {
	"hit", "miss", "bypass", "stale"
};

static void
counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n",
	    name, help, name, name, v);
}

/* The poller's lag, the server list and its agreement with live peers. */
static void
cache_gauges(struct app *app, struct buf *b)
{
	struct cache_shared *sh = app->cache_shared;
	uint64_t applied = __atomic_load_n(&sh->sync_applied_ms,
	    __ATOMIC_RELAXED), now = util_monotonic_us() / 1000;

	buf_printf(b, "# HELP catalog_cache_sync_lag_seconds Age of the last "
	    "complete poll of the invalidation log (-1: none yet).\n"
	    "# TYPE catalog_cache_sync_lag_seconds gauge\n"
	    "catalog_cache_sync_lag_seconds %.3f\n", applied == 0 ? -1.0 :
	    (double)(now > applied ? now - applied : 0) / 1000.0);
	buf_printf(b, "# HELP catalog_cache_servers_mismatch_hosts Live hosts "
	    "whose cache.servers list differs from this host's.\n"
	    "# TYPE catalog_cache_servers_mismatch_hosts gauge\n"
	    "catalog_cache_servers_mismatch_hosts %" PRIu64 "\n",
	    __atomic_load_n(&sh->list_mismatch, __ATOMIC_RELAXED));
	buf_printf(b, "# HELP catalog_cache_servers_info This host's canonical "
	    "cache.servers list and its hash.\n"
	    "# TYPE catalog_cache_servers_info gauge\n"
	    "catalog_cache_servers_info{hash=\"%s\",servers=\"%s\"} 1\n",
	    app->cache.list_hash, app->cache.list);
	buf_printf(b, "# HELP catalog_cache_near_bytes Size of this host's "
	    "near cache (cache.near_bytes as mapped at start).\n"
	    "# TYPE catalog_cache_near_bytes gauge\n"
	    "catalog_cache_near_bytes %zu\n", sh->near_bytes);
}

/* Every app host reads the same database (docs/OPERATIONS.md). */
#define DB_WIDE ", the same on every app host: aggregate with max, not sum"

static void
queue_gauges(struct app *app, struct buf *b)
{
	struct queue_counts c;

	if (queue_count(&app->db, &c) == DB_OK)
		buf_printf(b, "# HELP catalog_jobs Jobs in the queue by status "
		    "(done is not counted); database-wide" DB_WIDE ".\n"
		    "# TYPE catalog_jobs gauge\n"
		    "catalog_jobs{status=\"pending\"} %" PRId64 "\n"
		    "catalog_jobs{status=\"running\"} %" PRId64 "\n"
		    "catalog_jobs{status=\"dead\"} %" PRId64 "\n"
		    "# HELP catalog_jobs_oldest_due_age_seconds Age of "
		    "the oldest due pending job; database-wide" DB_WIDE
		    ".\n# TYPE "
		    "catalog_jobs_oldest_due_age_seconds gauge\n"
		    "catalog_jobs_oldest_due_age_seconds %.6f\n"
		    "# HELP catalog_dead_letters Dead letters not yet "
		    "replayed; database-wide" DB_WIDE ".\n# TYPE catalog_dead_letters gauge\n"
		    "catalog_dead_letters %" PRId64 "\n", c.pending, c.running,
		    c.dead, (double)c.oldest_due_age_us / 1e6,
		    c.dead_letters_open);
	buf_printf(b, "# HELP catalog_db_up 1 when the database answered this "
	    "scrape.\n# TYPE catalog_db_up gauge\ncatalog_db_up %d\n",
	    app->db.connected ? 1 : 0);
}

void
metrics_page(struct app *app, struct request *req, struct response *res,
    uint64_t id)
{
	struct app_metrics *m = app->metrics;
	struct buf *b = &res->body;
	uint64_t cumulative = 0;
	size_t r, c;

	res->status = 200;
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
	http_header(res, "Cache-Control", "no-store");
	buf_puts(b, "# HELP catalog_cache_requests_total Cache lookups by "
	    "result.\n# TYPE catalog_cache_requests_total counter\n");
	for (r = 0; r < METRICS_CACHE_RESULTS; r++)
		buf_printf(b, "catalog_cache_requests_total{result=\"%s\"} %"
		    PRIu64 "\n", cache_results[r],
		    metrics_get(&m->core.cache_requests[r]));
	counter(b, "catalog_cache_errors_total",
	    "memcached calls that failed (each opens the breaker).",
	    metrics_get(&m->core.cache_errors));
	counter(b, "catalog_cache_db_loads_total",
	    "Cached routes answered by reading the database.",
	    metrics_get(&m->core.cache_db_loads));
	counter(b, "catalog_cache_stampede_waits_total",
	    "Lookups that waited for another worker's load.",
	    metrics_get(&m->core.cache_stampede_waits));
	counter(b, "catalog_cache_invalidations_total",
	    "Namespace generation bumps after writes.",
	    metrics_get(&m->core.cache_invalidations));
	counter(b, "catalog_cache_invalidation_failures_total",
	    "Bumps that did not reach memcached (server flushed on return).",
	    metrics_get(&m->core.cache_invalidation_failures));
	counter(b, "catalog_cache_oversized_total",
	    "Answers served uncached: larger than cache.item_size_max.",
	    metrics_get(&m->core.cache_oversized));
	counter(b, "catalog_cache_near_hits_total",
	    "Cache hits answered from this host's memory (no round trip).",
	    metrics_get(&m->core.cache_near_hits));
	counter(b, "catalog_cache_sync_rows_total",
	    "Invalidation log rows this host's poller applied.",
	    metrics_get(&m->core.cache_sync_rows));
	counter(b, "catalog_cache_sync_errors_total",
	    "Polls of the invalidation log that failed.",
	    metrics_get(&m->core.cache_sync_errors));
	counter(b, "catalog_cache_sync_gaps_abandoned_total",
	    "Log ids given up after waiting for their commit (TTL applies).",
	    metrics_get(&m->core.cache_sync_gaps_abandoned));
	counter(b, "catalog_cache_redeliveries_total",
	    "Namespaces redelivered to a server before its breaker closed.",
	    metrics_get(&m->core.cache_redeliveries));
	counter(b, "catalog_cache_flushes_total",
	    "Servers flushed: too many invalidations to redeliver.",
	    metrics_get(&m->core.cache_flushes));
	cache_gauges(app, b);
	counter(b, "catalog_db_errors_total", "Database errors.",
	    metrics_get(&m->core.db_errors));
	counter(b, "catalog_worker_restarts_total",
	    "Workers replaced after they died.",
	    metrics_get(&m->worker_restarts));
	counter(b, "catalog_orders_created_total", "Orders committed.",
	    metrics_get(&m->orders_created));
	buf_puts(b, "# HELP catalog_http_requests_total HTTP requests by route "
	    "and status class.\n# TYPE catalog_http_requests_total counter\n");
	for (r = 0; r < METRICS_ROUTES; r++)
		for (c = 0; c < METRICS_STATUS_CLASSES; c++) {
			uint64_t v = metrics_get(&m->http_requests[r][c]);
			if (v > 0)
				buf_printf(b, "catalog_http_requests_total{route="
				    "\"%s\",code=\"%zuxx\"} %" PRIu64 "\n",
				    route_names[r], c + 1, v);
		}
	buf_puts(b, "# HELP catalog_http_request_duration_seconds Time from "
	    "accept to the last byte written.\n# TYPE "
	    "catalog_http_request_duration_seconds histogram\n");
	for (r = 0; r < METRICS_BUCKETS; r++) {
		cumulative += metrics_get(&m->http_duration_bucket[r]);
		buf_printf(b, "catalog_http_request_duration_seconds_bucket"
		    "{le=\"%g\"} %" PRIu64 "\n", app_metrics_bucket_bounds[r],
		    cumulative);
	}
	buf_printf(b, "catalog_http_request_duration_seconds_bucket{le=\"+Inf\"}"
	    " %" PRIu64 "\ncatalog_http_request_duration_seconds_sum %.6f\n"
	    "catalog_http_request_duration_seconds_count %" PRIu64 "\n",
	    metrics_get(&m->http_duration_count),
	    (double)metrics_get(&m->http_duration_sum_us) / 1e6,
	    metrics_get(&m->http_duration_count));
	queue_gauges(app, b);
}

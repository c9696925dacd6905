/*
 * metrics.h: counters shared by every worker of one catalog-fcgi master.
 *
 * The master maps one struct metrics with MAP_SHARED | MAP_ANONYMOUS before
 * it forks, so workers add to the same totals with relaxed atomic adds (no
 * locks, no round trip to another server).  Counters only grow; a restarted
 * worker keeps adding to the same totals.  The exposition (GET /metrics)
 * reads them with relaxed loads; a scrape may see one counter a few
 * increments ahead of another, which Prometheus tolerates.
 *
 * Label sets are fixed enums, so cardinality is bounded by construction.
 */
#ifndef CORE_METRICS_H
#define CORE_METRICS_H

#include <stdint.h>

enum metrics_cache_result {
	METRICS_CACHE_HIT = 0,
	METRICS_CACHE_MISS,
	METRICS_CACHE_BYPASS,
	METRICS_CACHE_STALE,
	METRICS_CACHE_RESULTS
};

enum metrics_route {
	METRICS_ROUTE_HEALTHZ = 0,
	METRICS_ROUTE_CATEGORIES,
	METRICS_ROUTE_PRODUCTS,
	METRICS_ROUTE_PRODUCT,
	METRICS_ROUTE_ORDERS,
	METRICS_ROUTE_ORDER,
	METRICS_ROUTE_ADMIN_PRODUCTS,
	METRICS_ROUTE_METRICS,
	METRICS_ROUTE_OPENAPI,
	METRICS_ROUTE_OTHER,
	METRICS_ROUTES
};

/* status classes 1xx..5xx */
#define METRICS_STATUS_CLASSES 5
/* request duration histogram upper bounds, seconds */
#define METRICS_BUCKETS 12

struct metrics {
	uint64_t	cache_requests[METRICS_CACHE_RESULTS];
	uint64_t	cache_errors;
	uint64_t	cache_db_loads;		/* misses that read the database */
	uint64_t	cache_stampede_waits;	/* waited for another loader */
	uint64_t	cache_invalidations;
	uint64_t	cache_invalidation_failures;
	uint64_t	cache_oversized;	/* answers too big to cache */
	uint64_t	db_errors;
	uint64_t	http_requests[METRICS_ROUTES][METRICS_STATUS_CLASSES];
	uint64_t	http_duration_bucket[METRICS_BUCKETS];	/* cumulative at read */
	uint64_t	http_duration_count;
	uint64_t	http_duration_sum_us;
	uint64_t	worker_restarts;
	uint64_t	orders_created;
	/* set to 1 by a worker whose invalidation did not reach memcached;
	 * see cache.h: the cache is bypassed until a new epoch is set */
	uint64_t	cache_invalidation_lost;
	uint64_t	cache_breaker_until_ms;	/* host-wide circuit breaker */
};

extern const double metrics_bucket_bounds[METRICS_BUCKETS];

/* Maps the shared block (before fork).  NULL on failure. */
struct metrics *metrics_create(void);
/* Process-local fallback for tools and tests. */
struct metrics *metrics_local(void);

static inline void
metrics_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static inline uint64_t
metrics_get(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

void metrics_observe_request(struct metrics *m, enum metrics_route route,
    int status, uint64_t duration_us);

#endif

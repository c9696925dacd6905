/*
 * metrics.h: the shared core's counters (the cache's and the database's),
 * and how every counter of a program is kept.
 *
 * A program that forks workers maps one block of counters with
 * metrics_map_shared() before it forks, so workers add to the same totals
 * with relaxed atomic adds (no locks, no round trip to another server).  A
 * program's own block embeds struct metrics, so the core's modules count
 * into it without knowing what else the program counts (the app's routes
 * and status classes: app/app_metrics.h).  Counters only grow; a restarted
 * worker keeps adding to the same totals.  Exposition reads them with
 * relaxed loads; a scrape may see one counter a few increments ahead of
 * another, which Prometheus tolerates.
 *
 * Label sets are fixed enums, so cardinality is bounded by construction.
 */
#ifndef CORE_METRICS_H
#define CORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metrics_cache_result {
	METRICS_CACHE_HIT = 0,
	METRICS_CACHE_MISS,
	METRICS_CACHE_BYPASS,
	METRICS_CACHE_STALE,
	METRICS_CACHE_RESULTS
};

struct metrics {
	uint64_t	cache_requests[METRICS_CACHE_RESULTS];
	uint64_t	cache_errors;
	uint64_t	cache_db_loads;		/* misses that read the database */
	uint64_t	cache_stampede_waits;	/* waited for another loader */
	uint64_t	cache_invalidations;
	uint64_t	cache_invalidation_failures;
	uint64_t	cache_oversized;	/* answers too big to cache */
	uint64_t	cache_near_hits;	/* hits from host memory */
	uint64_t	cache_sync_rows;	/* log rows applied */
	uint64_t	cache_sync_errors;	/* polls that failed */
	uint64_t	cache_sync_gaps_abandoned;
	uint64_t	cache_redeliveries;	/* namespaces a probe redelivered */
	uint64_t	cache_flushes;		/* servers flushed by a probe */
	uint64_t	db_errors;
};

/* size zeroed bytes shared with the children forked after it (a program's
 * counter block).  NULL on failure. */
void *metrics_map_shared(size_t size);
/* Process-local core counters for tools and tests. */
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

#endif

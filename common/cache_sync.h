/*
 * cache_sync.h: the host's invalidation poller (cache.h, THE LOG, THE
 * BOUND, BREAKER).
 *
 * Every worker process starts one (cache_sync_start); they share one
 * lease in struct cache_shared, so exactly one of them works at a time,
 * and another takes over within CACHE_SYNC_LEASE_FACTOR intervals of its
 * process dying.  Every cache.sync_interval_ms the holder:
 *   - probes the servers whose breaker is due, redelivering the rows each
 *     missed (or flushing it when they are too many) before closing it;
 *   - reads the log rows it has not applied (past the highest id it saw,
 *     and the ids missing below it) and delivers their namespaces:
 *     memcached first, then the host's near-cache tags;
 *   - records the start of that poll as the host's applied time, which
 *     the read path compares with the bound;
 *   - once a second: publishes its position and server-list hash in
 *     cache_hosts, counts live hosts whose list differs, prunes the log.
 * Its state (position, applied time) lives in the shared block, so the
 * next holder resumes where the last one stopped; a restarted host
 * resumes from its cache_hosts row.
 */
#ifndef COMMON_CACHE_SYNC_H
#define COMMON_CACHE_SYNC_H

#include <stdint.h>

#include "cache.h"
#include "db.h"

#define CACHE_SYNC_GAPS_MAX	256

struct cache_sync;

/* Starts the poller thread of this process.  NULL on failure (logged). */
struct cache_sync *cache_sync_start(const struct conf *conf,
    struct cache_shared *shared, struct metrics *metrics);
/* Stops it, hands the lease on at once, frees it.  NULL is fine. */
void cache_sync_stop(struct cache_sync *s);

/*
 * For the test drivers: a poller without a thread, and one round of its
 * work as if it held the lease (no lease is taken).  0, or -1 when the
 * database failed (the applied time is then left as it was).
 */
struct cache_sync *cache_sync_new(const struct conf *conf,
    struct cache_shared *shared, struct metrics *metrics);
int cache_sync_round(struct cache_sync *s);
void cache_sync_free(struct cache_sync *s);
/* The redelivery a probe runs for server i of the poller's handle, from
 * log id from: 0 done, -1 failed.  (Between cache_probe_begin and
 * cache_probe_end; exposed for the probe-window test.) */
int cache_sync_redeliver(struct cache_sync *s, uint32_t i, uint64_t from);
struct cache *cache_sync_cache(struct cache_sync *s);

#endif

/*
 * cache_server.h: internal interface between cache.c (keys, values,
 * generations), cache_sync.c (the poller) and cache_server.c (servers, the
 * breaker, undelivered marks).  Not for use outside common/cache*.c and the
 * cache's test drivers.
 */
#ifndef COMMON_CACHE_SERVER_H
#define COMMON_CACHE_SERVER_H

#include <stdint.h>

#include "cache.h"

#define CACHE_PROBING	1ULL	/* low bit of a breaker word */

/* Milliseconds on the monotonic clock (shared by the host's processes). */
uint64_t cache_clock_ms(void);

/* Index (in c) of the server that holds namespace ns. */
uint32_t cache_server_of(struct cache *c, const char *ns, size_t len);
/* The shared state of c's server i. */
struct cache_server_state *cache_state(struct cache *c, uint32_t i);
/* Drops this handle's connections when server i's breaker closed since
 * they were made. */
void cache_refresh(struct cache *c, uint32_t i);
/* 1 when server i may be read now (breaker closed). */
int cache_usable(struct cache *c, uint32_t i);
/* Counts an error and opens server i's breaker host-wide. */
void cache_fail(struct cache *c, uint32_t i, memcached_return_t rc,
    const char *op);
/* Records that log row log_id was not delivered to server i. */
void cache_mark_undelivered(struct cache *c, uint32_t i, uint64_t log_id);
/* The one-server handle of server i (probes, redelivery). */
memcached_st *cache_single(struct cache *c, uint32_t i);
/* Increments (or creates) namespace ns through handle mc (a one-server
 * handle, or c->mc with ns as its own master key). */
memcached_return_t cache_incr(memcached_st *mc, const char *ns);
/* A new namespace value: random, below 2^63, never 0, so a recreated
 * (evicted) namespace never repeats a value whose keys may linger. */
uint64_t cache_generation_new(void);

/*
 * The probe, in the poller (cache.h, BREAKER).  cache_probe_begin: 1 when
 * server i's breaker is due and this caller won it (*word is its probing
 * word, *from the undelivered mark it took, 0 for none); 0 otherwise.
 * cache_probe_end: ok closes the breaker (only if still *word) and returns
 * 1 when it did; !ok reopens it and puts the mark back.
 */
int cache_probe_begin(struct cache *c, uint32_t i, uint64_t *word,
    uint64_t *from);
int cache_probe_end(struct cache *c, uint32_t i, uint64_t word, uint64_t from,
    int ok);
/* A plain reachability probe of server i: 0 or -1. */
int cache_probe_get(struct cache *c, uint32_t i);

#endif

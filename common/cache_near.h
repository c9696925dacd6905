/*
 * cache_near.h: the near cache, a fixed table of answers in the host's
 * shared memory (struct cache_shared's near region, cache.near_bytes),
 * read and written by every worker of the host without a round trip.
 *
 * Layout: CACHE_NEAR_CLASSES size classes (1, 4, 16 and 64 KiB per entry,
 * header included), each a quarter of the region, each a 2-way set
 * associative table indexed by the hash of the entry's key.  An answer
 * larger than the largest class is not kept here.
 *
 * Concurrency: one seqlock per entry.  A writer takes the entry by a
 * compare-and-swap of its even sequence to odd, writes, and releases it by
 * storing the next even value; a writer that finds it taken skips its
 * store (a cache may forget).  A reader copies the entry out and uses the
 * copy only if the sequence was even and unchanged around the copy.  A
 * writer killed in the middle leaves an odd sequence, taken over once it
 * is a second old.
 *
 * Freshness (cache.h, ORDER ARGUMENT): an entry carries the namespace tag
 * and the near epoch read before its data was read; cache_near_get returns
 * it only while both are still current and its soft expiry is ahead.
 */
#ifndef COMMON_CACHE_NEAR_H
#define COMMON_CACHE_NEAR_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"

#define CACHE_NEAR_CLASSES	4

/* Sets up the region of a new shared block. */
void cache_near_init(struct cache_shared *s);

/* The tag word of namespace ns. */
uint64_t *cache_near_tag(struct cache_shared *s, const char *ns);
/* Moves ns's tag: every entry of ns (and of namespaces sharing its word)
 * stops being served. */
void cache_near_bump(struct cache_shared *s, const char *ns);

/*
 * Looks up key (ns|params) built under tag/epoch.  1: *value is a malloc'd
 * copy "body" with *body_len, etag and soft expiry filled; 0: none.
 */
int cache_near_get(struct cache_shared *s, const char *key, uint64_t tag,
    uint64_t epoch, char **value, size_t *body_len, char *etag,
    uint64_t *soft_ms);
/* Stores body under key with tag/epoch; silently skipped when too big or
 * when the entry is being written by someone else. */
void cache_near_put(struct cache_shared *s, const char *key, uint64_t tag,
    uint64_t epoch, const char *body, size_t len, const char *etag,
    uint64_t soft_ms);

#endif

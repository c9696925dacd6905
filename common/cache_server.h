/*
 * cache_server.h: internal interface between cache.c (keys, values,
 * generations) and cache_server.c (servers and the breaker).  Not for use
 * outside common/cache*.c.
 */
#ifndef COMMON_CACHE_SERVER_H
#define COMMON_CACHE_SERVER_H

#include <stdint.h>

#include "cache.h"

/* Index of the server that holds key. */
uint32_t cache_server_of(struct cache *c, const char *key, size_t len);
/* 1 when server i may be used now (runs the half-open probe). */
int cache_usable(struct cache *c, uint32_t i);
/* Counts an error and opens server i's breaker host-wide. */
void cache_fail(struct cache *c, uint32_t i, memcached_return_t rc,
    const char *op);

#endif

/*
 * cache_server.c: the memcached servers behind struct cache: handles and
 * their tuning, consistent hashing of keys to servers, and the host-wide
 * circuit breaker (open on error, one prober after cache.retry_seconds,
 * flush before closing when a bump was lost).  The rules are in cache.h;
 * cache.c builds lookups, stores and bumps on top of this file.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cache.h"
#include "cache_server.h"
#include "log.h"
#include "util.h"

struct cache_shared *
cache_shared_create(void)
{
	void *p;

	p = mmap(NULL, sizeof(struct cache_shared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, sizeof(struct cache_shared));
	return p;
}

static void
cache_tune(memcached_st *mc, const struct conf *conf)
{
	uint64_t ms = conf->cache_timeout_ms;

	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, ms);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, ms);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, ms * 1000);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SND_TIMEOUT, ms * 1000);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_VERIFY_KEY, 1);
	/* consistent hashing (ketama, md5); libmemcached's default is modulo */
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA, 1);
	/* our breaker decides when a server is retried */
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 0);
}

/* Splits "host:port" (or "[v6]:port") into its parts. */
static int
cache_split(const char *item, size_t len, char *host, size_t hostsize,
    unsigned *port)
{
	const char *colon = NULL;
	uint64_t p;
	size_t i, hl;

	for (i = 0; i < len; i++)
		if (item[i] == ':')
			colon = item + i;
	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - item);
	if (hl >= 2 && item[0] == '[' && item[hl - 1] == ']') {
		item++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostsize)
		return -1;
	memcpy(host, item, hl);
	host[hl] = '\0';
	if (util_parse_u64n(colon + 1, len - (size_t)(colon + 1 - item), 1,
	    65535, &p) != 0)
		return -1;
	*port = (unsigned)p;
	return 0;
}

int
cache_open(struct cache *c, const struct conf *conf,
    struct cache_shared *shared, struct metrics *metrics)
{
	const char *p = conf->cache_servers;

	memset(c, 0, sizeof(*c));
	c->conf = conf;
	c->shared = shared;
	c->metrics = metrics;
	c->load_wait_ms = 500;
	if ((c->mc = memcached_create(NULL)) == NULL)
		return -1;
	cache_tune(c->mc, conf);
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char host[256];
		unsigned port;

		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (c->nservers >= CACHE_MAX_SERVERS ||
		    cache_split(p, len, host, sizeof(host), &port) != 0 ||
		    memcached_server_add(c->mc, host, (in_port_t)port) !=
		    MEMCACHED_SUCCESS) {
			cache_close(c);
			return -1;
		}
		snprintf(c->server_names[c->nservers],
		    sizeof(c->server_names[0]), "%s:%u", host, port);
		c->nservers++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return c->nservers > 0 ? 0 : -1;
}

void
cache_close(struct cache *c)
{
	size_t i;

	for (i = 0; i < CACHE_MAX_SERVERS; i++)
		if (c->single[i] != NULL)
			memcached_free(c->single[i]);
	if (c->mc != NULL)
		memcached_free(c->mc);
	c->mc = NULL;
	memset(c->single, 0, sizeof(c->single));
}

uint32_t
cache_server_of(struct cache *c, const char *key, size_t len)
{
	uint32_t i = memcached_generate_hash(c->mc, key, len);

	return i < c->nservers ? i : 0;
}

/* A one-server handle for probes and flushes of server i. */
static memcached_st *
cache_single(struct cache *c, uint32_t i)
{
	char host[256];
	unsigned port;

	if (c->single[i] != NULL)
		return c->single[i];
	if (cache_split(c->server_names[i], strlen(c->server_names[i]), host,
	    sizeof(host), &port) != 0)
		return NULL;
	if ((c->single[i] = memcached_create(NULL)) == NULL)
		return NULL;
	cache_tune(c->single[i], c->conf);
	if (memcached_server_add(c->single[i], host, (in_port_t)port) !=
	    MEMCACHED_SUCCESS) {
		memcached_free(c->single[i]);
		c->single[i] = NULL;
	}
	return c->single[i];
}

/* Opens server i's breaker host-wide after an error. */
void
cache_fail(struct cache *c, uint32_t i, memcached_return_t rc,
    const char *op)
{
	uint64_t until = util_now_ms() + (uint64_t)c->conf->cache_retry_seconds *
	    1000;
	uint64_t old;

	metrics_add(&c->metrics->cache_errors, 1);
	old = __atomic_exchange_n(&c->shared->breaker_until_ms[i], until,
	    __ATOMIC_SEQ_CST);
	if (old == 0)
		log_msg(LOG_WARN, "event=cache_breaker_open server=%s op=%s "
		    "error=\"%s\" retry_s=%u", c->server_names[i], op,
		    memcached_strerror(c->mc, rc), c->conf->cache_retry_seconds);
}

/* Probes server i; flushes it first if a bump to it was lost. */
static int
cache_probe(struct cache *c, uint32_t i)
{
	memcached_st *one = cache_single(c, i);
	memcached_return_t rc;
	size_t len;
	uint32_t flags;
	char *v;

	if (one == NULL)
		return -1;
	memcached_quit(one);
	if (__atomic_load_n(&c->shared->lost[i], __ATOMIC_SEQ_CST)) {
		rc = memcached_flush(one, 0);
		if (rc != MEMCACHED_SUCCESS)
			return -1;
		__atomic_store_n(&c->shared->lost[i], 0, __ATOMIC_SEQ_CST);
		log_msg(LOG_WARN, "event=cache_flushed server=%s "
		    "reason=lost_invalidation", c->server_names[i]);
		return 0;
	}
	v = memcached_get(one, "probe", 5, &len, &flags, &rc);
	free(v);
	return rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND ? 0 : -1;
}

/* 1 when server i may be used now.  Closes the breaker after a probe. */
int
cache_usable(struct cache *c, uint32_t i)
{
	uint64_t until, now, epoch;

	until = __atomic_load_n(&c->shared->breaker_until_ms[i],
	    __ATOMIC_SEQ_CST);
	if (until != 0) {
		now = util_now_ms();
		if (now < until)
			return 0;
		/* half-open: one worker wins the right to probe */
		if (!__atomic_compare_exchange_n(
		    &c->shared->breaker_until_ms[i], &until,
		    now + (uint64_t)c->conf->cache_retry_seconds * 1000, 0,
		    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return 0;
		if (cache_probe(c, i) != 0) {
			metrics_add(&c->metrics->cache_errors, 1);
			return 0;
		}
		__atomic_fetch_add(&c->shared->epoch[i], 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&c->shared->breaker_until_ms[i], 0,
		    __ATOMIC_SEQ_CST);
		log_msg(LOG_INFO, "event=cache_breaker_closed server=%s",
		    c->server_names[i]);
	}
	epoch = __atomic_load_n(&c->shared->epoch[i], __ATOMIC_SEQ_CST);
	if (epoch != c->seen_epoch[i]) {
		/* connections from before the outage may be half-read */
		memcached_quit(c->mc);
		c->seen_epoch[i] = epoch;
	}
	return 1;
}

int
cache_ping(struct cache *c)
{
	uint32_t i;
	int ok = 0;

	for (i = 0; i < c->nservers; i++) {
		if (!cache_usable(c, i)) {
			ok = -1;
			continue;
		}
		memcached_st *one = cache_single(c, i);
		memcached_return_t rc = MEMCACHED_FAILURE;
		uint32_t flags;
		size_t len;
		char *v = NULL;

		if (one != NULL) {
			v = memcached_get(one, "probe", 5, &len, &flags, &rc);
			free(v);
			v = NULL;
			if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) {
				/* this idle handle's socket may predate a
				 * memcached restart: one fresh connection */
				memcached_quit(one);
				v = memcached_get(one, "probe", 5, &len,
				    &flags, &rc);
			}
		}
		free(v);
		if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) {
			cache_fail(c, i, rc, "ping");
			ok = -1;
		}
	}
	return ok;
}

/*
 * cache.c: cache-aside over libmemcached.  The design, the key rule, the
 * invalidation rule and the breaker are described in cache.h; this file
 * implements lookups, stores, generations and bumps; the servers and the
 * breaker are in cache_server.c.
 *
 * Value layout: "CV1 <soft-expiry-ms> <etag>\n<body>".
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cache_server.h"
#include "log.h"
#include "util.h"

#define CACHE_LOCK_TTL		5	/* seconds a loader may hold lk:<key> */
#define CACHE_GRACE_MAX		300	/* seconds a stale copy is kept */
#define CACHE_HEADER_MAX	64
/* memcached's item header, CAS and suffix, within cache.item_size_max */
#define CACHE_ITEM_OVERHEAD	128

int
cache_key_valid(const char *key, size_t len)
{
	size_t i;

	if (len == 0 || len > CACHE_KEY_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char ch = key[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == ':' || ch == '=' ||
		    ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

static int
cache_ok(memcached_return_t rc)
{
	return rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND ||
	    rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS ||
	    rc == MEMCACHED_END;
}

static uint64_t
cache_random_generation(void)
{
	uint64_t g = 0;

	if (util_random(&g, sizeof(g)) != 0)
		g = util_monotonic_us() ^ ((uint64_t)getpid() << 40);
	return (g >> 1) | 1;	/* below 2^63, never 0 */
}

/*
 * Reads namespace ns, creating it with a random value when missing.
 * 0 and *gen, or -1 (bypass).
 */
static int
cache_generation(struct cache *c, const char *ns, uint64_t *gen)
{
	size_t nslen = strlen(ns), vlen;
	uint32_t flags, i = cache_server_of(c, ns, nslen);
	memcached_return_t rc;
	char text[32], *v;
	int tries;

	if (!cache_usable(c, i))
		return -1;
	for (tries = 0; tries < 3; tries++) {
		v = memcached_get(c->mc, ns, nslen, &vlen, &flags, &rc);
		if (rc == MEMCACHED_SUCCESS) {
			int ok = util_parse_u64n(v, vlen, 1, UINT64_MAX, gen);
			free(v);
			if (ok == 0)
				return 0;
			/* garbage: replace it with a fresh value */
			*gen = cache_random_generation();
			snprintf(text, sizeof(text), "%" PRIu64, *gen);
			rc = memcached_set(c->mc, ns, nslen, text,
			    strlen(text), 0, 0);
			if (rc == MEMCACHED_SUCCESS)
				return 0;
			break;
		}
		free(v);
		if (rc != MEMCACHED_NOTFOUND)
			break;
		*gen = cache_random_generation();
		snprintf(text, sizeof(text), "%" PRIu64, *gen);
		rc = memcached_add(c->mc, ns, nslen, text, strlen(text), 0, 0);
		if (rc == MEMCACHED_SUCCESS)
			return 0;
		if (rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_DATA_EXISTS)
			break;
		/* someone else created it first: read theirs */
	}
	if (!cache_ok(rc))
		cache_fail(c, i, rc, "generation");
	return -1;
}

/* Parses the value header; 0 and fills e, or -1 (foreign value). */
static int
cache_parse(struct cache_entry *e, char *v, size_t vlen, uint64_t *soft)
{
	char *nl, *sp1, *sp2;
	size_t hl;

	nl = memchr(v, '\n', vlen < CACHE_HEADER_MAX ? vlen : CACHE_HEADER_MAX);
	if (nl == NULL || vlen < 4 || memcmp(v, "CV1 ", 4) != 0)
		return -1;
	hl = (size_t)(nl - v);
	sp1 = v + 3;
	sp2 = memchr(sp1 + 1, ' ', hl - 4);
	if (sp2 == NULL)
		return -1;
	if (util_parse_u64n(sp1 + 1, (size_t)(sp2 - sp1 - 1), 0, UINT64_MAX,
	    soft) != 0)
		return -1;
	if ((size_t)(nl - sp2 - 1) >= CACHE_ETAG_MAX)
		return -1;
	memcpy(e->etag, sp2 + 1, (size_t)(nl - sp2 - 1));
	e->etag[nl - sp2 - 1] = '\0';
	e->value = v;
	e->body = nl + 1;
	e->body_len = vlen - hl - 1;
	return 0;
}

/* One get of e->key: 1 found (fills e), 0 not found, -1 error. */
static int
cache_get(struct cache *c, uint32_t i, struct cache_entry *e, uint64_t *soft)
{
	memcached_return_t rc;
	uint32_t flags;
	size_t vlen;
	char *v;

	v = memcached_get(c->mc, e->key, strlen(e->key), &vlen, &flags, &rc);
	if (rc == MEMCACHED_SUCCESS && v != NULL) {
		if (cache_parse(e, v, vlen, soft) == 0)
			return 1;
		free(v);
		return 0;
	}
	free(v);
	if (rc == MEMCACHED_NOTFOUND)
		return 0;
	cache_fail(c, i, rc, "get");
	return -1;
}

static int
cache_lock(struct cache *c, uint32_t i, struct cache_entry *e)
{
	char lk[CACHE_KEY_MAX + 8];
	memcached_return_t rc;
	int n;

	n = snprintf(lk, sizeof(lk), "lk:%s", e->key);
	if (n < 0 || (size_t)n >= sizeof(lk))
		return 0;
	/* stored with its key's server (the key is the group key), so the
	 * lock and the value share one breaker */
	rc = memcached_add_by_key(c->mc, e->key, strlen(e->key), lk, (size_t)n,
	    "1", 1, CACHE_LOCK_TTL, 0);
	if (rc == MEMCACHED_SUCCESS) {
		e->locked = 1;
		return 1;
	}
	if (!cache_ok(rc))
		cache_fail(c, i, rc, "lock");
	return 0;
}

static void
cache_count(struct cache *c, enum metrics_cache_result r)
{
	metrics_add(&c->metrics->cache_requests[r], 1);
}

static struct cache_ns_memo *
cache_memo(struct cache *c, const char *ns, size_t nslen)
{
	uint32_t h = 2166136261u;	/* FNV-1a 32 */
	size_t i;

	for (i = 0; i < nslen; i++) {
		h ^= (unsigned char)ns[i];
		h *= 16777619u;
	}
	return &c->memo[h % CACHE_NS_MEMO];
}

static void
cache_remember(struct cache *c, const char *ns, uint64_t gen)
{
	size_t nslen = strlen(ns);
	struct cache_ns_memo *m;

	if (nslen >= CACHE_NS_MAX)
		return;
	m = cache_memo(c, ns, nslen);
	memcpy(m->ns, ns, nslen + 1);
	m->generation = gen;
}

static int
cache_build_key(struct cache_entry *e, const char *params, uint64_t gen)
{
	int n = snprintf(e->key, sizeof(e->key), "v1:%s:%" PRIu64, params,
	    gen);

	return n > 0 && (size_t)n < sizeof(e->key) &&
	    cache_key_valid(e->key, (size_t)n) ? 0 : -1;
}

/*
 * One mget of the namespace and the key under the remembered generation.
 * 1: the namespace still has that value; e holds the value if there was
 * one (*found).  0: no memo or the namespace moved (*gen is its new value
 * when it came back).  -1: error (breaker opened).
 */
static int
cache_fetch_optimistic(struct cache *c, const char *ns, const char *params,
    struct cache_entry *e, uint64_t *gen, int *found, uint64_t *soft)
{
	size_t nslen = strlen(ns), keylen, lens[2];
	struct cache_ns_memo *m;
	memcached_result_st result, *r;
	memcached_return_t rc;
	const char *keys[2];
	uint32_t ins, ikey;
	uint64_t seen = 0;
	int have_ns = 0, ret;
	char *value = NULL;
	size_t value_len = 0;

	*found = 0;
	if (nslen >= CACHE_NS_MAX)
		return 0;
	m = cache_memo(c, ns, nslen);
	if (m->generation == 0 || strcmp(m->ns, ns) != 0 ||
	    cache_build_key(e, params, m->generation) != 0)
		return 0;
	keylen = strlen(e->key);
	ins = cache_server_of(c, ns, nslen);
	ikey = cache_server_of(c, e->key, keylen);
	if (!cache_usable(c, ins) || !cache_usable(c, ikey))
		return -1;
	keys[0] = ns;
	lens[0] = nslen;
	keys[1] = e->key;
	lens[1] = keylen;
	if ((rc = memcached_mget(c->mc, keys, lens, 2)) != MEMCACHED_SUCCESS) {
		cache_fail(c, ikey, rc, "mget");
		return -1;
	}
	if (memcached_result_create(c->mc, &result) == NULL)
		return -1;
	while ((r = memcached_fetch_result(c->mc, &result, &rc)) != NULL) {
		const char *k = memcached_result_key_value(r);
		size_t klen = memcached_result_key_length(r);
		const char *v = memcached_result_value(r);
		size_t vlen = memcached_result_length(r);

		if (klen == nslen && memcmp(k, ns, nslen) == 0) {
			have_ns = util_parse_u64n(v, vlen, 1, UINT64_MAX,
			    &seen) == 0;
		} else if (klen == keylen && memcmp(k, e->key, keylen) == 0 &&
		    value == NULL && (value = malloc(vlen + 1)) != NULL) {
			memcpy(value, v, vlen);
			value[vlen] = '\0';
			value_len = vlen;
		}
	}
	memcached_result_free(&result);
	if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS &&
	    rc != MEMCACHED_NOTFOUND) {
		free(value);
		cache_fail(c, ikey, rc, "fetch");
		return -1;
	}
	ret = 0;
	if (have_ns && seen == m->generation) {
		ret = 1;
		if (value != NULL && cache_parse(e, value, value_len, soft) == 0) {
			*found = 1;
			value = NULL;	/* now owned by e */
		}
	} else if (have_ns) {
		*gen = seen;
		m->generation = seen;
		ret = 2;	/* moved, and we know where */
	}
	free(value);
	return ret == 2 ? 0 : ret;
}

void
cache_lookup(struct cache *c, const char *ns, const char *params,
    struct cache_entry *e)
{
	uint64_t gen, soft = 0, waited = 0, step = 1;
	uint32_t i;
	int got, found;

	memset(e, 0, sizeof(*e));
	e->status = CACHE_BYPASS;
	if (c->mc == NULL)
		goto bypass;
	gen = 0;
	got = cache_fetch_optimistic(c, ns, params, e, &gen, &found, &soft);
	if (got < 0)
		goto bypass;
	if (got == 1) {
		i = cache_server_of(c, e->key, strlen(e->key));
		got = found;
	} else {
		if (gen == 0 && cache_generation(c, ns, &gen) != 0)
			goto bypass;
		cache_remember(c, ns, gen);
		if (cache_build_key(e, params, gen) != 0)
			goto bypass;
		i = cache_server_of(c, e->key, strlen(e->key));
		if (!cache_usable(c, i))
			goto bypass;
		if ((got = cache_get(c, i, e, &soft)) < 0)
			goto bypass;
	}
	if (got == 1) {
		if (util_now_ms() < soft) {
			e->status = CACHE_HIT;
			cache_count(c, METRICS_CACHE_HIT);
			return;
		}
		/* soft-expired: one worker refreshes, the rest serve it */
		e->status = CACHE_STALE;
		cache_count(c, METRICS_CACHE_STALE);
		cache_lock(c, i, e);
		return;
	}
	e->status = CACHE_MISS;
	if (cache_lock(c, i, e)) {
		cache_count(c, METRICS_CACHE_MISS);
		return;
	}
	/* another worker is loading this key: wait for its store */
	metrics_add(&c->metrics->cache_stampede_waits, 1);
	while (waited < c->load_wait_ms) {
		struct timespec ts = { 0, (long)(step * 1000000) };

		nanosleep(&ts, NULL);
		waited += step;
		if (step < 16)
			step *= 2;
		if ((got = cache_get(c, i, e, &soft)) < 0)
			goto bypass;
		if (got == 1) {
			e->status = CACHE_HIT;
			cache_count(c, METRICS_CACHE_HIT);
			return;
		}
	}
	cache_count(c, METRICS_CACHE_MISS);	/* load ourselves */
	return;
bypass:
	e->status = CACHE_BYPASS;
	e->key[0] = '\0';
	cache_count(c, METRICS_CACHE_BYPASS);
}

void
cache_etag(const char *body, size_t len, char out[CACHE_ETAG_MAX])
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a 64 */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)body[i];
		h *= 1099511628211ULL;
	}
	snprintf(out, CACHE_ETAG_MAX, "\"%016" PRIx64 "\"", h);
}

void
cache_unlock(struct cache *c, struct cache_entry *e)
{
	char lk[CACHE_KEY_MAX + 8];
	int n;

	if (!e->locked)
		return;
	e->locked = 0;
	n = snprintf(lk, sizeof(lk), "lk:%s", e->key);
	if (n > 0 && (size_t)n < sizeof(lk))
		memcached_delete_by_key(c->mc, e->key, strlen(e->key), lk,
		    (size_t)n, 0);
}

/* 1 when a value of vlen bytes under a key of klen cannot be an item. */
static int
cache_oversized(const struct cache *c, size_t klen, size_t vlen)
{
	size_t max = c->conf->cache_item_size_max;

	return max < CACHE_ITEM_OVERHEAD || klen + vlen > max -
	    CACHE_ITEM_OVERHEAD;
}

void
cache_store(struct cache *c, struct cache_entry *e, const char *body,
    size_t len)
{
	unsigned ttl = c->conf->cache_ttl_seconds;
	unsigned grace = ttl < CACHE_GRACE_MAX ? ttl : CACHE_GRACE_MAX;
	char header[CACHE_HEADER_MAX];
	memcached_return_t rc;
	uint32_t i;
	char *v;
	int n;

	cache_etag(body, len, e->etag);
	if (e->key[0] == '\0' || c->mc == NULL)
		return;
	i = cache_server_of(c, e->key, strlen(e->key));
	n = snprintf(header, sizeof(header), "CV1 %" PRIu64 " %s\n",
	    util_now_ms() + (uint64_t)ttl * 1000, e->etag);
	if (n < 0 || (size_t)n >= sizeof(header)) {
		cache_unlock(c, e);
		return;
	}
	if (cache_oversized(c, strlen(e->key), (size_t)n + len)) {
		/* served uncached; memcached would refuse it, and a refusal
		 * is not the server's fault (no breaker) */
		metrics_add(&c->metrics->cache_oversized, 1);
		cache_unlock(c, e);
		return;
	}
	if ((v = malloc((size_t)n + len)) == NULL) {
		cache_unlock(c, e);
		return;
	}
	memcpy(v, header, (size_t)n);
	memcpy(v + n, body, len);
	if (ttl + grace > 2592000)
		grace = 2592000 - ttl;
	rc = memcached_set(c->mc, e->key, strlen(e->key), v, (size_t)n + len,
	    (time_t)(ttl + grace), 0);
	free(v);
	if (rc == MEMCACHED_E2BIG || rc == MEMCACHED_SERVER_ERROR) {
		/* the server's limit is below cache.item_size_max, or it is
		 * full of unevictable items: it answered, so no breaker */
		metrics_add(&c->metrics->cache_oversized, 1);
		cache_unlock(c, e);
	} else if (!cache_ok(rc))
		cache_fail(c, i, rc, "set");
	else
		cache_unlock(c, e);
}

void
cache_entry_free(struct cache_entry *e)
{
	free(e->value);
	e->value = NULL;
	e->body = NULL;
}

int
cache_bump(struct cache *c, const char *const *namespaces, size_t n)
{
	memcached_return_t rc;
	size_t k;
	int ret = 0;

	for (k = 0; k < n; k++) {
		const char *ns = namespaces[k];
		size_t len = strlen(ns);
		uint32_t i = cache_server_of(c, ns, len);
		uint64_t value;
		char text[32];

		rc = MEMCACHED_FAILURE;
		if (c->mc != NULL && cache_usable(c, i)) {
			rc = memcached_increment(c->mc, ns, len, 1, &value);
			if (rc == MEMCACHED_NOTFOUND) {
				snprintf(text, sizeof(text), "%" PRIu64,
				    cache_random_generation());
				rc = memcached_add(c->mc, ns, len, text,
				    strlen(text), 0, 0);
				if (rc == MEMCACHED_NOTSTORED ||
				    rc == MEMCACHED_DATA_EXISTS)
					rc = memcached_increment(c->mc, ns,
					    len, 1, &value);
			}
		}
		metrics_add(&c->metrics->cache_invalidations, 1);
		if (rc == MEMCACHED_SUCCESS)
			continue;
		/* lost: no worker of this host reads this server until a
		 * probe has flushed it (see cache.h) */
		__atomic_store_n(&c->shared->lost[i], 1, __ATOMIC_SEQ_CST);
		cache_fail(c, i, rc, "bump");
		metrics_add(&c->metrics->cache_invalidation_failures, 1);
		log_msg(LOG_WARN, "event=cache_bump_lost namespace=%s server=%s",
		    ns, c->server_names[i]);
		ret = -1;
	}
	return ret;
}

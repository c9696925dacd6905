/*
 * cache.c: cache-aside over the near cache and libmemcached.  The design,
 * the key rule, the invalidation rule and its order argument are in
 * cache.h; this file implements lookups, stores, generations, deliveries
 * and the log record of a write.  Servers and the breaker are in
 * cache_server.c, host memory in cache_near.c, the poller in cache_sync.c.
 *
 * Value layout in memcached: "CV1 <soft-expiry-ms> <etag>\n<body>".  Every
 * memcached call names the namespace as its master key (the *_by_key
 * calls), so the namespace, its values and their locks share a server.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cache_near.h"
#include "cache_server.h"
#include "core_sql.h"
#include "db.h"
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

/*
 * Reads namespace ns (on server i), creating it with a random value when
 * missing.  0 and *gen, or -1 (bypass).
 */
static int
cache_generation(struct cache *c, uint32_t i, const char *ns, uint64_t *gen)
{
	size_t nslen = strlen(ns), vlen;
	uint32_t flags;
	memcached_return_t rc;
	char text[32], *v;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		v = memcached_get_by_key(c->mc, ns, nslen, ns, nslen, &vlen,
		    &flags, &rc);
		if (rc == MEMCACHED_SUCCESS) {
			int ok = util_parse_u64n(v, vlen, 1, UINT64_MAX, gen);
			free(v);
			if (ok == 0)
				return 0;
			/* garbage: replace it with a fresh value */
			*gen = cache_generation_new();
			snprintf(text, sizeof(text), "%" PRIu64, *gen);
			rc = memcached_set_by_key(c->mc, ns, nslen, ns, nslen,
			    text, strlen(text), 0, 0);
			if (rc == MEMCACHED_SUCCESS)
				return 0;
			break;
		}
		free(v);
		if (rc != MEMCACHED_NOTFOUND)
			break;
		*gen = cache_generation_new();
		snprintf(text, sizeof(text), "%" PRIu64, *gen);
		rc = memcached_add_by_key(c->mc, ns, nslen, ns, nslen, text,
		    strlen(text), 0, 0);
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
cache_get(struct cache *c, struct cache_entry *e, uint64_t *soft)
{
	memcached_return_t rc;
	uint32_t flags;
	size_t vlen;
	char *v;

	v = memcached_get_by_key(c->mc, e->ns, strlen(e->ns), e->key,
	    strlen(e->key), &vlen, &flags, &rc);
	if (rc == MEMCACHED_SUCCESS && v != NULL) {
		if (cache_parse(e, v, vlen, soft) == 0)
			return 1;
		free(v);
		return 0;
	}
	free(v);
	if (rc == MEMCACHED_NOTFOUND)
		return 0;
	cache_fail(c, e->server, rc, "get");
	return -1;
}

static int
cache_lock(struct cache *c, struct cache_entry *e)
{
	char lk[CACHE_KEY_MAX + 8];
	memcached_return_t rc;
	int n;

	n = snprintf(lk, sizeof(lk), "lk:%s", e->key);
	if (n < 0 || (size_t)n >= sizeof(lk))
		return 0;
	rc = memcached_add_by_key(c->mc, e->ns, strlen(e->ns), lk, (size_t)n,
	    "1", 1, CACHE_LOCK_TTL, 0);
	if (rc == MEMCACHED_SUCCESS) {
		e->locked = 1;
		return 1;
	}
	if (!cache_ok(rc))
		cache_fail(c, e->server, rc, "lock");
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
	struct cache_ns_memo *m = cache_memo(c, ns, nslen);

	memcpy(m->ns, ns, nslen + 1);
	m->generation = gen;
}

static int
cache_build_key(struct cache_entry *e, uint64_t gen)
{
	int n = snprintf(e->key, sizeof(e->key), "v1:%s:%" PRIu64, e->params,
	    gen);

	return n > 0 && (size_t)n < sizeof(e->key) &&
	    cache_key_valid(e->key, (size_t)n) ? 0 : -1;
}

/*
 * One mget, on the namespace's server, of the namespace and the key under
 * the remembered generation.  1: the namespace still has that value; e
 * holds the value if there was one (*found).  0: no memo or the namespace
 * moved (*gen is its new value when it came back).  -1: error (breaker
 * opened).
 */
static int
cache_fetch_optimistic(struct cache *c, struct cache_entry *e, uint64_t *gen,
    int *found, uint64_t *soft)
{
	size_t nslen = strlen(e->ns), keylen, lens[2];
	struct cache_ns_memo *m = cache_memo(c, e->ns, nslen);
	memcached_result_st result, *r;
	memcached_return_t rc;
	const char *keys[2];
	uint64_t seen = 0;
	int have_ns = 0, ret;
	char *value = NULL;
	size_t value_len = 0;

	*found = 0;
	if (m->generation == 0 || strcmp(m->ns, e->ns) != 0 ||
	    cache_build_key(e, m->generation) != 0)
		return 0;
	keylen = strlen(e->key);
	keys[0] = e->ns;
	lens[0] = nslen;
	keys[1] = e->key;
	lens[1] = keylen;
	rc = memcached_mget_by_key(c->mc, e->ns, nslen, keys, lens, 2);
	if (rc != MEMCACHED_SUCCESS) {
		cache_fail(c, e->server, rc, "mget");
		return -1;
	}
	if (memcached_result_create(c->mc, &result) == NULL)
		return -1;
	while ((r = memcached_fetch_result(c->mc, &result, &rc)) != NULL) {
		const char *k = memcached_result_key_value(r);
		size_t klen = memcached_result_key_length(r);
		const char *v = memcached_result_value(r);
		size_t vlen = memcached_result_length(r);

		if (klen == nslen && memcmp(k, e->ns, nslen) == 0) {
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
		/* one server answered both: the namespace's */
		cache_fail(c, e->server, rc, "fetch");
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
	}
	free(value);
	return ret;
}

/* The near cache's key: namespace and parameters. */
static int
cache_near_key(const struct cache_entry *e, char *out, size_t size)
{
	int n = snprintf(out, size, "%s|%s", e->ns, e->params);

	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Host memory: 1 (e holds the copy, soft expiry in *soft), 0 none. */
static int
cache_lookup_near(struct cache *c, struct cache_entry *e, uint64_t *soft)
{
	char key[CACHE_NS_MAX + CACHE_KEY_MAX + 2];
	char *value;
	size_t len;

	if (c->shared->near == NULL ||
	    cache_near_key(e, key, sizeof(key)) != 0 ||
	    !cache_near_get(c->shared, key, e->tag, e->near_epoch, &value,
	    &len, e->etag, soft))
		return 0;
	e->value = value;
	e->body = value;
	e->body_len = len;
	return 1;
}

static void
cache_store_near(struct cache *c, const struct cache_entry *e,
    const char *body, size_t len, uint64_t soft)
{
	char key[CACHE_NS_MAX + CACHE_KEY_MAX + 2];

	if (c->shared->near != NULL &&
	    cache_near_key(e, key, sizeof(key)) == 0)
		cache_near_put(c->shared, key, e->tag, e->near_epoch, body, len,
		    e->etag, soft);
}

/* The memcached part of a lookup; fills e, returns with e->status. */
static void
cache_lookup_memcached(struct cache *c, struct cache_entry *e, int verified)
{
	uint64_t gen = 0, soft = 0, waited = 0, step = 1;
	int got, found;

	if (!cache_usable(c, e->server))
		return;	/* BYPASS */
	got = cache_fetch_optimistic(c, e, &gen, &found, &soft);
	if (got < 0)
		return;
	if (got == 1) {
		got = found;
	} else {
		if (gen == 0 && cache_generation(c, e->server, e->ns, &gen) != 0)
			return;
		cache_remember(c, e->ns, gen);
		if (cache_build_key(e, gen) != 0)
			return;
		if ((got = cache_get(c, e, &soft)) < 0)
			return;
	}
	if (!verified) {
		/* a copy for a database outage only (cache.h, THE BOUND) */
		e->key[0] = '\0';
		return;
	}
	if (got == 1) {
		if (util_now_ms() < soft) {
			e->status = CACHE_HIT;
			cache_store_near(c, e, e->body, e->body_len, soft);
			return;
		}
		/* soft-expired: one worker refreshes, the rest serve it */
		e->status = CACHE_STALE;
		cache_lock(c, e);
		return;
	}
	e->status = CACHE_MISS;
	if (cache_lock(c, e))
		return;
	/* another worker is loading this key: wait for its store */
	metrics_add(&c->metrics->cache_stampede_waits, 1);
	while (waited < c->load_wait_ms) {
		struct timespec ts = { 0, (long)(step * 1000000) };

		nanosleep(&ts, NULL);
		waited += step;
		if (step < 16)
			step *= 2;
		if ((got = cache_get(c, e, &soft)) < 0) {
			e->status = CACHE_BYPASS;
			e->key[0] = '\0';
			return;
		}
		if (got == 1) {
			e->status = CACHE_HIT;
			cache_store_near(c, e, e->body, e->body_len, soft);
			return;
		}
	}
	/* load ourselves */
}

void
cache_lookup(struct cache *c, const char *ns, const char *params,
    struct cache_entry *e)
{
	uint64_t soft = 0;
	size_t nslen = strlen(ns), plen = strlen(params);
	int verified;

	memset(e, 0, sizeof(*e));
	e->status = CACHE_BYPASS;
	if (nslen >= sizeof(e->ns) || plen >= sizeof(e->params) ||
	    !cache_key_valid(ns, nslen))
		goto count;
	memcpy(e->ns, ns, nslen + 1);
	memcpy(e->params, params, plen + 1);
	/* the tag before anything is read (cache.h, ORDER ARGUMENT) */
	e->tag = __atomic_load_n(cache_near_tag(c->shared, ns),
	    __ATOMIC_SEQ_CST);
	e->near_epoch = __atomic_load_n(&c->shared->near_epoch,
	    __ATOMIC_SEQ_CST);
	verified = cache_synced(c);
	if (cache_lookup_near(c, e, &soft)) {
		if (verified && util_now_ms() < soft) {
			e->status = CACHE_HIT;
			e->near = 1;
			metrics_add(&c->metrics->cache_near_hits, 1);
			goto count;
		}
		if (!verified)
			goto count;	/* BYPASS, with a copy */
		cache_entry_free(e);	/* soft-expired: memcached decides */
	}
	if (c->mc == NULL)
		goto count;
	e->server = cache_server_of(c, ns, nslen);
	cache_lookup_memcached(c, e, verified);
count:
	if (e->status == CACHE_BYPASS)
		e->key[0] = '\0';
	cache_count(c, e->status == CACHE_HIT ? METRICS_CACHE_HIT :
	    e->status == CACHE_STALE ? METRICS_CACHE_STALE :
	    e->status == CACHE_MISS ? METRICS_CACHE_MISS : METRICS_CACHE_BYPASS);
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
		memcached_delete_by_key(c->mc, e->ns, strlen(e->ns), lk,
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
	uint64_t soft = util_now_ms() + (uint64_t)ttl * 1000;
	char header[CACHE_HEADER_MAX];
	memcached_return_t rc;
	char *v;
	int n;

	cache_etag(body, len, e->etag);
	if (e->ns[0] != '\0')	/* read under e->tag: host memory may keep it */
		cache_store_near(c, e, body, len, soft);
	if (e->key[0] == '\0' || c->mc == NULL)
		return;
	n = snprintf(header, sizeof(header), "CV1 %" PRIu64 " %s\n", soft,
	    e->etag);
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
	rc = memcached_set_by_key(c->mc, e->ns, strlen(e->ns), e->key,
	    strlen(e->key), v, (size_t)n + len, (time_t)(ttl + grace), 0);
	free(v);
	if (rc == MEMCACHED_E2BIG || rc == MEMCACHED_SERVER_ERROR) {
		/* the server's limit is below cache.item_size_max, or it is
		 * full of unevictable items: it answered, so no breaker */
		metrics_add(&c->metrics->cache_oversized, 1);
		cache_unlock(c, e);
	} else if (!cache_ok(rc))
		cache_fail(c, e->server, rc, "set");
	else
		cache_unlock(c, e);
}

void
cache_entry_free(struct cache_entry *e)
{
	free(e->value);
	e->value = NULL;
	e->body = NULL;
	e->body_len = 0;
}

int
cache_invalidation_add(struct cache_invalidation *inv, const char *ns)
{
	size_t i, len = strlen(ns);

	for (i = 0; i < inv->n; i++)
		if (strcmp(inv->ns[i], ns) == 0)
			return 0;
	if (inv->n >= CACHE_INVALIDATION_MAX || len >= CACHE_NS_MAX ||
	    !cache_key_valid(ns, len))
		return -1;
	memcpy(inv->ns[inv->n++], ns, len + 1);
	return 0;
}

int
cache_log_record(struct db *db, struct cache_invalidation *inv)
{
	char text[CACHE_INVALIDATION_MAX * CACHE_NS_MAX];
	struct db_val arg;
	size_t i, off = 0;

	for (i = 0; i < inv->n; i++) {
		size_t len = strlen(inv->ns[i]);

		if (i > 0)
			text[off++] = ' ';
		memcpy(text + off, inv->ns[i], len);
		off += len;
	}
	arg = db_str(text, off);
	return db_exec(db, STMT_CACHE_LOG_INSERT, &arg, 1, NULL,
	    &inv->log_id);
}

int
cache_deliver(struct cache *c, const char *ns, uint64_t log_id)
{
	uint32_t i = cache_server_of(c, ns, strlen(ns));
	struct cache_server_state *st = cache_state(c, i);
	memcached_return_t rc;
	uint64_t w;

	metrics_add(&c->metrics->cache_invalidations, 1);
	w = __atomic_load_n(&st->breaker, __ATOMIC_SEQ_CST);
	if (w != 0 && !(w & CACHE_PROBING)) {
		/* open: no time spent on it; the probe redelivers */
		cache_mark_undelivered(c, i, log_id);
		w = __atomic_load_n(&st->breaker, __ATOMIC_SEQ_CST);
		if (w != 0 && !(w & CACHE_PROBING))
			goto lost;
		/* a prober took the marks meanwhile: deliver it ourselves */
	}
	cache_refresh(c, i);
	if ((rc = cache_incr(c->mc, ns)) == MEMCACHED_SUCCESS)
		return 0;
	cache_mark_undelivered(c, i, log_id);
	cache_fail(c, i, rc, "deliver");
lost:
	metrics_add(&c->metrics->cache_invalidation_failures, 1);
	log_msg(LOG_DEBUG, "event=cache_delivery_deferred namespace=%s "
	    "server=%s log_id=%" PRIu64, ns, c->server_names[i], log_id);
	return -1;
}

int
cache_bump(struct cache *c, const struct cache_invalidation *inv)
{
	size_t k;
	int ret = 0;

	for (k = 0; k < inv->n; k++)
		if (c->mc == NULL ||
		    cache_deliver(c, inv->ns[k], inv->log_id) != 0)
			ret = -1;
	/* after memcached (cache.h, ORDER ARGUMENT) */
	for (k = 0; k < inv->n; k++)
		cache_near_bump(c->shared, inv->ns[k]);
	/* this host's poller need not move them a second time */
	if (ret == 0 && inv->log_id != 0 && inv->committed)
		__atomic_store_n(&c->shared->delivered[inv->log_id %
		    CACHE_DELIVERED], inv->log_id, __ATOMIC_SEQ_CST);
	if (ret != 0)
		log_msg(LOG_WARN, "event=cache_bump_deferred log_id=%" PRIu64
		    " namespaces=%zu", inv->log_id, inv->n);
	return ret;
}

/*
 * cache_server.c: the memcached servers behind struct cache: the canonical
 * server list, handles and their tuning, consistent hashing of namespaces
 * to servers, the host-wide circuit breaker and the undelivered marks the
 * poller's probe redelivers.  The rules are in cache.h (SERVERS, BREAKER);
 * cache.c builds lookups, stores and deliveries on top of this file.
 *
 * Every breaker word and mark lives in struct cache_shared and is changed
 * only with sequentially consistent atomics: a writer marks a server and
 * then reads its breaker, a prober sets its probing bit and then takes the
 * mark, so at least one of the two sees the other (cache.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cache_near.h"
#include "cache_server.h"
#include "log.h"
#include "util.h"

uint64_t
cache_clock_ms(void)
{
	return util_monotonic_us() / 1000;
}

struct cache_shared *
cache_shared_create(const struct conf *conf)
{
	size_t head = (sizeof(struct cache_shared) + 4095) & ~(size_t)4095;
	size_t near = conf->cache_near_bytes;
	struct cache_shared *s;
	void *p;

	p = mmap(NULL, head + near, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	s = p;
	memset(s, 0, sizeof(*s));	/* the near region is zero already */
	s->near_bytes = near;
	s->near = near > 0 ? (unsigned char *)p + head : NULL;
	cache_near_init(s);
	return s;
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
	if (util_parse_u64n(colon + 1, len - hl - 1, 1, 65535, &p) != 0)
		return -1;
	if (hl >= 2 && item[0] == '[' && item[hl - 1] == ']') {
		item++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostsize)
		return -1;
	memcpy(host, item, hl);
	host[hl] = '\0';
	*port = (unsigned)p;
	return 0;
}

/*
 * The canonical "address:port" of one list item: a numeric address
 * normalized by inet_ntop, a name resolved to its first IPv4 address
 * (else IPv6), so localhost, 127.0.0.1 and " 127.0.0.1 " are one server.
 */
static int
cache_canonical(const char *item, size_t len, char *out, size_t size)
{
	struct addrinfo hints, *ai = NULL;
	unsigned char addr[sizeof(struct in6_addr)];
	char host[256], text[INET6_ADDRSTRLEN];
	unsigned port;
	int family = 0, n, pass;

	if (cache_split(item, len, host, sizeof(host), &port) != 0)
		return -1;
	if (inet_pton(AF_INET, host, addr) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, host, addr) == 1)
		family = AF_INET6;
	for (pass = 0; family == 0 && pass < 2; pass++) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = pass == 0 ? AF_INET : AF_INET6;
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(host, NULL, &hints, &ai) != 0 || ai == NULL)
			continue;
		family = ai->ai_family;
		if (family == AF_INET)
			memcpy(addr, &((struct sockaddr_in *)ai->ai_addr)->
			    sin_addr, sizeof(struct in_addr));
		else
			memcpy(addr, &((struct sockaddr_in6 *)ai->ai_addr)->
			    sin6_addr, sizeof(struct in6_addr));
		freeaddrinfo(ai);
	}
	if (family == 0 || inet_ntop(family, addr, text, sizeof(text)) == NULL)
		return -1;
	n = snprintf(out, size, family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    text, port);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

static int
cache_name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* This handle's server i in the host-wide table, registered by name. */
static int
cache_register(struct cache *c, uint32_t i)
{
	struct cache_shared *s = c->shared;
	int found = -1, free_slot = -1, k;

	while (__atomic_exchange_n(&s->servers_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
	for (k = 0; k < CACHE_MAX_SERVERS && found < 0; k++) {
		if (strcmp(s->servers[k].name, c->server_names[i]) == 0)
			found = k;
		else if (s->servers[k].name[0] == '\0' && free_slot < 0)
			free_slot = k;
	}
	if (found < 0 && free_slot >= 0) {
		memcpy(s->servers[free_slot].name, c->server_names[i],
		    sizeof(s->servers[0].name));
		found = free_slot;
	}
	__atomic_store_n(&s->servers_lock, 0, __ATOMIC_RELEASE);
	if (found < 0)
		return -1;
	c->state_of[i] = (uint32_t)found;
	c->seen_epoch[i] = __atomic_load_n(&s->servers[found].epoch,
	    __ATOMIC_SEQ_CST);
	return 0;
}

/* The canonical list, its text and hash. */
static int
cache_parse_list(struct cache *c, const char *p)
{
	size_t i, off = 0;
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a 64 */

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *item = p;

		while (len > 0 && *item == ' ') {
			item++;
			len--;
		}
		while (len > 0 && item[len - 1] == ' ')
			len--;
		if (c->nservers >= CACHE_MAX_SERVERS ||
		    cache_canonical(item, len, c->server_names[c->nservers],
		    sizeof(c->server_names[0])) != 0) {
			log_msg(LOG_ERROR, "event=cache_server_bad item=\"%.*s\"",
			    (int)(len < 200 ? len : 200), item);
			return -1;
		}
		for (i = 0; i < c->nservers; i++)
			if (strcmp(c->server_names[i],
			    c->server_names[c->nservers]) == 0)
				break;
		if (i == c->nservers)
			c->nservers++;	/* else a duplicate: dropped */
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	qsort(c->server_names, c->nservers, sizeof(c->server_names[0]),
	    cache_name_cmp);
	for (i = 0; i < c->nservers; i++) {
		int n = snprintf(c->list + off, sizeof(c->list) - off, "%s%s",
		    i ? "," : "", c->server_names[i]);
		if (n < 0 || (size_t)n >= sizeof(c->list) - off)
			return -1;
		off += (size_t)n;
	}
	for (i = 0; i < off; i++) {
		h ^= (unsigned char)c->list[i];
		h *= 1099511628211ULL;
	}
	snprintf(c->list_hash, sizeof(c->list_hash), "%016" PRIx64, h);
	return c->nservers > 0 ? 0 : -1;
}

int
cache_open(struct cache *c, const struct conf *conf,
    struct cache_shared *shared, struct metrics *metrics)
{
	char host[256];
	unsigned port;
	uint32_t i;

	memset(c, 0, sizeof(*c));
	c->conf = conf;
	c->shared = shared;
	c->metrics = metrics;
	c->load_wait_ms = 500;
	if (cache_parse_list(c, conf->cache_servers) != 0)
		return -1;
	if ((c->mc = memcached_create(NULL)) == NULL)
		return -1;
	cache_tune(c->mc, conf);
	for (i = 0; i < c->nservers; i++) {
		if (cache_split(c->server_names[i], strlen(c->server_names[i]),
		    host, sizeof(host), &port) != 0 ||
		    memcached_server_add(c->mc, host, (in_port_t)port) !=
		    MEMCACHED_SUCCESS || cache_register(c, i) != 0) {
			cache_close(c);
			return -1;
		}
	}
	memcpy(shared->list_hash, c->list_hash, sizeof(shared->list_hash));
	return 0;
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
cache_server_of(struct cache *c, const char *ns, size_t len)
{
	uint32_t i = memcached_generate_hash(c->mc, ns, len);

	return i < c->nservers ? i : 0;
}

struct cache_server_state *
cache_state(struct cache *c, uint32_t i)
{
	return &c->shared->servers[c->state_of[i]];
}

memcached_st *
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

static uint64_t
cache_retry_ms(const struct cache *c)
{
	return (uint64_t)c->conf->cache_retry_seconds * 1000;
}

void
cache_fail(struct cache *c, uint32_t i, memcached_return_t rc,
    const char *op)
{
	struct cache_server_state *st = cache_state(c, i);
	uint64_t word = (cache_clock_ms() + cache_retry_ms(c)) << 1, old;

	metrics_add(&c->metrics->cache_errors, 1);
	/* an exchange, not a store of "open": a prober's close (a CAS from
	 * its probing word) fails after this */
	old = __atomic_exchange_n(&st->breaker, word, __ATOMIC_SEQ_CST);
	if (old == 0)
		log_msg(LOG_WARN, "event=cache_breaker_open server=%s op=%s "
		    "error=\"%s\" retry_s=%u", c->server_names[i], op,
		    memcached_strerror(c->mc, rc), c->conf->cache_retry_seconds);
}

void
cache_mark_undelivered(struct cache *c, uint32_t i, uint64_t log_id)
{
	struct cache_server_state *st = cache_state(c, i);
	uint64_t cur = __atomic_load_n(&st->undelivered_from, __ATOMIC_SEQ_CST);

	if (log_id == 0)
		log_id = 1;	/* unknown: everything the log holds */
	while (cur == 0 || log_id < cur)
		if (__atomic_compare_exchange_n(&st->undelivered_from, &cur,
		    log_id, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			break;
}

void
cache_refresh(struct cache *c, uint32_t i)
{
	uint64_t epoch = __atomic_load_n(&cache_state(c, i)->epoch,
	    __ATOMIC_SEQ_CST);

	if (epoch != c->seen_epoch[i]) {
		/* connections from before the outage may be half-read, or
		 * lead to a server that restarted since */
		memcached_quit(c->mc);
		c->seen_epoch[i] = epoch;
	}
}

int
cache_usable(struct cache *c, uint32_t i)
{
	if (__atomic_load_n(&cache_state(c, i)->breaker, __ATOMIC_SEQ_CST) != 0)
		return 0;
	cache_refresh(c, i);
	return 1;
}

uint64_t
cache_generation_new(void)
{
	uint64_t g = 0;

	if (util_random(&g, sizeof(g)) != 0)
		g = util_monotonic_us() ^ ((uint64_t)getpid() << 40);
	return (g >> 1) | 1;
}

memcached_return_t
cache_incr(memcached_st *mc, const char *ns)
{
	size_t len = strlen(ns);
	memcached_return_t rc;
	uint64_t value, g = 0;
	char text[32];

	rc = memcached_increment_by_key(mc, ns, len, ns, len, 1, &value);
	if (rc != MEMCACHED_NOTFOUND)
		return rc;
	/* missing: a random value, never a small counter (cache.h) */
	g = cache_generation_new();
	snprintf(text, sizeof(text), "%" PRIu64, g);
	rc = memcached_add_by_key(mc, ns, len, ns, len, text, strlen(text), 0,
	    0);
	if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS)
		rc = memcached_increment_by_key(mc, ns, len, ns, len, 1,
		    &value);
	return rc;
}

int
cache_probe_begin(struct cache *c, uint32_t i, uint64_t *word,
    uint64_t *from)
{
	struct cache_server_state *st = cache_state(c, i);
	uint64_t now = cache_clock_ms(), w;

	w = __atomic_load_n(&st->breaker, __ATOMIC_SEQ_CST);
	if (w == 0 || (w >> 1) > now)
		return 0;
	*word = ((now + cache_retry_ms(c)) << 1) | CACHE_PROBING;
	if (!__atomic_compare_exchange_n(&st->breaker, &w, *word, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return 0;
	/* taken before the redelivery: a mark made from here on stays */
	*from = __atomic_exchange_n(&st->undelivered_from, 0, __ATOMIC_SEQ_CST);
	return 1;
}

int
cache_probe_end(struct cache *c, uint32_t i, uint64_t word, uint64_t from,
    int ok)
{
	struct cache_server_state *st = cache_state(c, i);
	uint64_t w = word;

	if (!ok) {
		if (from != 0)
			cache_mark_undelivered(c, i, from);
		__atomic_compare_exchange_n(&st->breaker, &w,
		    word & ~CACHE_PROBING, 0, __ATOMIC_SEQ_CST,
		    __ATOMIC_SEQ_CST);
		metrics_add(&c->metrics->cache_errors, 1);
		return 0;
	}
	if (!__atomic_compare_exchange_n(&st->breaker, &w, 0, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return 0;	/* failed again meanwhile: stays open */
	__atomic_fetch_add(&st->epoch, 1, __ATOMIC_SEQ_CST);
	log_msg(LOG_INFO, "event=cache_breaker_closed server=%s",
	    c->server_names[i]);
	return 1;
}

int
cache_probe_get(struct cache *c, uint32_t i)
{
	memcached_st *one = cache_single(c, i);
	memcached_return_t rc;
	uint32_t flags;
	size_t len;
	char *v;

	if (one == NULL)
		return -1;
	memcached_quit(one);	/* a socket from before the outage */
	v = memcached_get(one, "probe", 5, &len, &flags, &rc);
	free(v);
	return rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND ? 0 : -1;
}

int
cache_ping(struct cache *c)
{
	uint32_t i;
	int ok = 0;

	for (i = 0; i < c->nservers; i++) {
		memcached_st *one;
		memcached_return_t rc = MEMCACHED_FAILURE;
		uint32_t flags;
		size_t len;
		char *v = NULL;

		if (!cache_usable(c, i)) {
			ok = -1;
			continue;
		}
		if ((one = cache_single(c, i)) != NULL) {
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

int
cache_synced(const struct cache *c)
{
	uint64_t applied = __atomic_load_n(&c->shared->sync_applied_ms,
	    __ATOMIC_SEQ_CST);

	return applied != 0 && cache_clock_ms() - applied <=
	    (uint64_t)CACHE_SYNC_LAG_FACTOR * c->conf->cache_sync_interval_ms;
}

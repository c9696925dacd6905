/*
 * cache.h: memcached cache-aside with namespace generations, a host-wide
 * circuit breaker and stampede protection.
 *
 * KEYS.  A cached response lives under
 *     v1:<kind>:<canonical parameters>:<generation>
 * where the parameters are the validated, defaulted request parameters in a
 * fixed order (never the raw query) and <generation> is the current value
 * of the one namespace that response depends on:
 *     g:all          the unfiltered product lists and the category list
 *     g:c:<slug>     every page and sort of one category's product list
 *     g:p:<id>       one product
 * Keys are at most CACHE_KEY_MAX bytes of [0-9A-Za-z:=._-]; callers build
 * them only from validated values, and cache_key_valid() rejects anything
 * else (a space would desynchronize the ASCII protocol).
 *
 * INVALIDATION RULE.  A reader reads the generation *before* it reads the
 * database; a writer bumps the generations *after* its transaction commits
 * and before it answers.  So an entry stored under generation G holds data
 * read after G was current; if a write committed after that data was read,
 * its bump came later still and moved the namespace past G: a late store
 * from a slow reader lands under a key nobody computes any more.  Nothing is
 * ever deleted by key.  A missing generation (evicted, or a restarted
 * server) is created with a random 64-bit value, never a small counter, so
 * entries left under an old value can never be resurrected.  A writer that
 * finds a generation missing creates one the same way.
 *
 * LOST BUMPS.  If a bump cannot reach its server, the write still succeeds,
 * the server is marked "lost" in the host-wide shared block and its breaker
 * is opened, so no worker of this host reads from it.  The first probe that
 * reaches it again flushes that one server before closing the breaker:
 * every generation it held is recreated with fresh random values.
 * (Several app hosts sharing memcached do not share this block; there the
 * TTL bounds staleness after a lost bump.)
 *
 * BREAKER.  libmemcached waits its full poll timeout on a server that
 * accepts connections but never answers, and never ejects it.  Any error
 * other than "not found"/"not stored" opens that server's breaker for
 * cache.retry_seconds in shared memory: every worker then answers from the
 * database (BYPASS) without touching it.  After that time exactly one worker
 * (compare-and-swap on the deadline) probes it through its own one-server
 * handle; success closes the breaker and every worker drops its old
 * connections.  Keys never move to another server when one fails (no
 * remove-failed-servers): a key always lives on one server or is bypassed,
 * which is what keeps the generation rule sound with several servers.
 *
 * ONE ROUND TRIP PER HIT.  Each handle remembers the generation it last saw
 * per namespace (a small direct-mapped table).  A lookup asks for the
 * namespace and the key built from the remembered generation in one mget;
 * the answer counts only if the namespace came back with that very value,
 * which is the same check as reading it first (the server answers the two
 * gets in order).  Otherwise the remembered value is replaced and the key
 * fetched again: the remembered value is a guess, never an authority.
 *
 * STAMPEDE.  Values carry a soft expiry (ttl) inside a short header; the
 * memcached expiry is ttl plus a grace period.  The first worker to miss
 * (or to see a soft-expired value) wins `add lk:<key>` and loads; the others
 * wait for its store in short sleeps (or serve the soft-expired copy at
 * once), and load themselves only if it never comes.  A stale copy is also
 * served when the database is down.  Soft-expired data is still within its
 * generation: no write has happened since it was read.
 */
#ifndef CORE_CACHE_H
#define CORE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <libmemcached/memcached.h>

#include "buf.h"
#include "conf.h"
#include "metrics.h"

#define CACHE_KEY_MAX		240
#define CACHE_MAX_SERVERS	32
#define CACHE_ETAG_MAX		24
#define CACHE_NS_MEMO		256	/* remembered generations per handle */
#define CACHE_NS_MAX		96

/* Host-wide state, mapped shared before the workers fork. */
struct cache_shared {
	uint64_t	breaker_until_ms[CACHE_MAX_SERVERS];	/* 0 = closed */
	uint64_t	lost[CACHE_MAX_SERVERS];	/* a bump failed */
	uint64_t	epoch[CACHE_MAX_SERVERS];	/* bumped on close */
};

struct cache_ns_memo {
	char		ns[CACHE_NS_MAX];
	uint64_t	generation;
};

struct cache {
	const struct conf	*conf;
	struct cache_ns_memo	 memo[CACHE_NS_MEMO];
	memcached_st		*mc;
	memcached_st		*single[CACHE_MAX_SERVERS];	/* probes */
	char			 server_names[CACHE_MAX_SERVERS][272];
	size_t			 nservers;
	struct cache_shared	*shared;
	struct metrics		*metrics;
	uint64_t		 seen_epoch[CACHE_MAX_SERVERS];
	uint64_t		 load_wait_ms;	/* stampede wait ceiling */
};

enum cache_status {
	CACHE_HIT = 0,		/* fresh value */
	CACHE_STALE,		/* soft-expired value, same generation */
	CACHE_MISS,		/* nothing stored */
	CACHE_BYPASS		/* server unreachable or breaker open */
};

/* What a lookup found.  body points into value (owned, free with
 * cache_entry_free). */
struct cache_entry {
	enum cache_status	 status;
	char			 key[CACHE_KEY_MAX + 1];
	char			*value;
	const char		*body;
	size_t			 body_len;
	char			 etag[CACHE_ETAG_MAX];
	int			 locked;	/* this worker holds lk:<key> */
};

struct cache_shared *cache_shared_create(void);

/* 0 or -1 (bad server list).  shared and metrics may be process-local. */
int cache_open(struct cache *c, const struct conf *conf,
    struct cache_shared *shared, struct metrics *metrics);
void cache_close(struct cache *c);

/* 0 when every server answers (health check), -1 otherwise. */
int cache_ping(struct cache *c);

/* 1 when key is made only of allowed characters and short enough. */
int cache_key_valid(const char *key, size_t len);

/*
 * Looks up the response for `params` ("products:c=tools:p=1:n=20:s=id")
 * in namespace `ns` ("g:c:tools").  Fills e->key with the full key, waits
 * for a concurrent loader when there is one, and returns with e->locked set
 * when this worker must load and cache_store() (or cache_unlock()).
 */
void cache_lookup(struct cache *c, const char *ns, const char *params,
    struct cache_entry *e);
/* Stores body under e->key with the configured TTL and releases the lock;
 * computes e->etag of body. */
void cache_store(struct cache *c, struct cache_entry *e, const char *body,
    size_t len);
void cache_unlock(struct cache *c, struct cache_entry *e);
void cache_entry_free(struct cache_entry *e);

/* ETag (quoted, strong) of a body, for uncached answers too. */
void cache_etag(const char *body, size_t len, char out[CACHE_ETAG_MAX]);

/*
 * Moves each namespace past every value a reader may have seen.  Called
 * after commit, before answering.  Returns 0, or -1 when a bump was lost
 * (already recorded host-wide; the write stands).
 */
int cache_bump(struct cache *c, const char *const *namespaces, size_t n);

#endif

/*
 * cache.h: a two-level cache-aside for the catalog's read routes: a near
 * cache in each host's shared memory (cache_near.c), memcached behind it
 * (cache.c, cache_server.c), and a durable invalidation log in MariaDB that
 * every host applies (cache_sync.c).
 *
 * KEYS.  A cached response belongs to exactly one namespace:
 *     g:all          the unfiltered product lists and the category list
 *     g:c:<slug>     every page and sort of one category's product list
 *     g:p:<id>       one product
 * and is named by its canonical parameters (the validated, defaulted
 * request parameters in a fixed order, never the raw query).  In memcached
 * it lives under
 *     v1:<parameters>:<generation of the namespace in memcached>
 * stored with the namespace as libmemcached's master key, so a namespace,
 * its values and their load locks are on one server: a hit is one mget to
 * one server, and one server of N down costs 1/N of the reads.  Keys are
 * at most CACHE_KEY_MAX bytes of [0-9A-Za-z:=._-]; cache_key_valid()
 * rejects anything else.
 *
 * SERVERS.  cache.servers is canonicalized before use: each host:port is
 * trimmed, its host resolved (numeric addresses normalized, names through
 * getaddrinfo to their first IPv4 address, else IPv6), duplicates dropped,
 * and the list sorted.
 * libmemcached hashes (ketama) by that canonical address, so every host
 * whose list names the same servers, however spelled, maps every key to
 * the same server.  The FNV-1a hash of the canonical list is published by
 * each host in the cache_hosts table; a host whose live peers use another
 * list says so in /healthz and /metrics.  A different list never makes a
 * host stale beyond the sync bound below: each host delivers every logged
 * invalidation to the servers *its* list names.
 *
 * THE LOG.  A write inserts one cache_invalidations row (its namespaces) in
 * its own transaction, as the last statement before COMMIT
 * (cache_log_record), so the invalidation commits, or not, with the data.
 * After COMMIT, and after a COMMIT whose answer was lost, the writer
 * delivers it itself (cache_bump): one incr per namespace on its server,
 * then one increment per namespace of this host's near-cache tag (and
 * notes the id, so this host's poller does not move them again).  Every
 * host runs one poller (a thread in each worker process; one of them holds
 * a lease in shared memory) that every cache.sync_interval_ms reads the
 * rows it has not applied and applies them the same way: memcached first,
 * near tags second.  Ids commit out of order, so the poller tracks ids
 * missing below the highest it has seen and asks for them again on every
 * poll (for CACHE_GAP_GIVE_UP_MS; a rolled-back write leaves a gap
 * forever).  Rows are pruned once older than the TTL, its grace and a
 * minute: by then every value that predates them has expired.
 *
 * ORDER ARGUMENT.  Every delivery of a write W (by its writer, by any
 * host's poller, or by a probe's redelivery) happens after W committed.
 * A reader reads, in this order: its host's near tag of the namespace, the
 * breaker of the namespace's server, the namespace's generation in
 * memcached (in the same mget as the value), and only then the database;
 * it stores what it read under the tag and the generation it read first.
 *   memcached: a value under generation G was loaded by a reader who read
 *   G before its database read.  If W committed after that database read,
 *   every incr of the namespace on that server that delivers W comes later
 *   still and moves it past G (a missing generation is recreated with a
 *   random 64-bit value, never a small counter, so G never comes back).
 *   So once W is delivered to the server, no key anyone computes from that
 *   server holds data older than W.
 *   Near cache: an entry is used only while its tag equals the host's
 *   current tag.  The host's tag moves after W was delivered to memcached
 *   (or recorded as undelivered, breaker open).  A reader that read the tag
 *   before that move stored under a tag that is now dead.  A reader that
 *   read it after the move then finds memcached already past W, or the
 *   breaker open (it reads the database), so what it stores is not older
 *   than W.  The writer moves its own host's tags before it answers:
 *   read-your-writes on the writing host, whatever memcached does.
 *   Lost messages: a delivery that fails (error, timeout, partition, server
 *   stopped) or is skipped (breaker open) marks the server "undelivered
 *   from log id N" before the tags move, and the server's breaker stays
 *   open; only the poller's probe closes it, after redelivering every row
 *   from N (or flushing the server when that is more than
 *   CACHE_REDELIVER_MAX namespaces).  A process that dies right after
 *   COMMIT delivers nothing: the pollers deliver W from the log.  A COMMIT
 *   whose answer was lost is delivered by the writer at once and again by
 *   the pollers once it is visible.
 * So the only staleness left is a host that has not yet applied W.
 *
 * THE BOUND.  A host answers from either level only while its poller's
 * last complete poll started less than CACHE_SYNC_LAG_FACTOR x
 * cache.sync_interval_ms ago (500 ms by default); otherwise it reads the
 * database (X-Cache: BYPASS) and falls back to a cached copy only when the
 * database cannot be reached.  Hence: the writing host shows a write to
 * the next read; every other host within that bound of the COMMIT, after
 * any of the faults above, including the poller's own process dying (the
 * lease passes on within CACHE_SYNC_LEASE_FACTOR intervals).  A write
 * whose id stays missing longer than CACHE_GAP_GIVE_UP_MS (its transaction
 * took that long between its log insert and its COMMIT) falls back on the
 * TTL, which is otherwise a safety net only.  Per fault (measured in
 * tests/it/65-multihost-cache.sh):
 *   fault at write time                 writing host   other hosts
 *   none                                next read      bound
 *   memcached stopped, hung, cut off    next read      bound
 *     (this host's breaker opens: it reads the database until its probe
 *     has redelivered; other hosts deliver themselves)
 *   writer dies right after COMMIT      bound          bound
 *   COMMIT answer lost (503)            bound          bound
 *   a failure during a probe            next read      bound
 *   hosts list different servers        next read      bound
 * On one host the contract's freshness (a GET after a write's answer is
 * not older than the write) holds exactly, whatever cache.sync_interval_ms.
 *
 * BREAKER.  libmemcached waits its full poll timeout on a server that
 * accepts connections but never answers, and never ejects it.  Any error
 * other than "not found"/"not stored" opens that server's breaker for
 * cache.retry_seconds in shared memory: every worker of the host then
 * skips it (reads go to the database, deliveries are marked undelivered).
 * Then the poller probes it: it sets the probing bit (compare-and-swap on
 * the deadline), takes the undelivered mark (exchange, before redelivery,
 * so a mark made during the probe is kept), redelivers, and closes the
 * breaker only by compare-and-swap from its own probing word: a failure
 * during the probe reopens the breaker and the close fails.  A writer that
 * marks a server while it is being probed or closed delivers itself.  Keys
 * never move to another server when one fails: a key lives on one server
 * or is bypassed.
 *
 * STAMPEDE.  Values carry a soft expiry (ttl) inside a short header; the
 * memcached expiry is ttl plus a grace period.  The first worker to miss
 * (or to see a soft-expired value) wins `add lk:<key>` and loads; the others
 * wait for its store in short sleeps (or serve the soft-expired copy at
 * once), and load themselves only if it never comes.  A soft-expired copy
 * is also served when the database is down.
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
#define CACHE_SERVER_NAME_MAX	64	/* "[v6 address]:port" */
#define CACHE_ETAG_MAX		24
#define CACHE_NS_MEMO		256	/* remembered generations per handle */
#define CACHE_NS_MAX		96
#define CACHE_TAGS		65536	/* near-cache namespace tags per host */
#define CACHE_INVALIDATION_MAX	128	/* namespaces of one write */
#define CACHE_SYNC_LEASE_FACTOR	4	/* poller lease, in intervals */
#define CACHE_SYNC_LAG_FACTOR	5	/* the bound, in intervals */
#define CACHE_GAP_GIVE_UP_MS	60000
#define CACHE_REDELIVER_MAX	4096	/* namespaces, else flush */
#define CACHE_DELIVERED		1024	/* log ids this host's writers
					   delivered whole, remembered */

struct cache_near;

/* One server as this host sees it (shared by its workers). */
struct cache_server_state {
	char		name[CACHE_SERVER_NAME_MAX];	/* canonical; "" free */
	uint64_t	breaker;	/* 0 closed, else deadline_ms << 1 |
					   probing */
	uint64_t	undelivered_from;	/* 0, or a log id */
	uint64_t	epoch;		/* bumped when the breaker closes */
};

/* Host-wide state, mapped shared by the master before the workers fork;
 * it outlives workers and configuration reloads. */
struct cache_shared {
	struct cache_server_state servers[CACHE_MAX_SERVERS];
	uint32_t	servers_lock;
	/* the poller (cache_sync.c) */
	uint64_t	sync_owner;	/* lease holder's token */
	uint64_t	sync_lease_until_ms;
	uint64_t	sync_applied_ms;	/* start of the last full poll */
	uint64_t	sync_low;	/* every id below is applied */
	uint64_t	sync_high;	/* highest id applied */
	uint64_t	sync_started;	/* 1 once the position is known */
	uint64_t	list_mismatch;	/* live hosts with another list */
	uint64_t	list_hosts;	/* live hosts seen */
	char		list_hash[17];
	uint64_t	delivered[CACHE_DELIVERED];	/* by id % size */
	/* near cache: tags, epoch and the entry region */
	uint64_t	near_epoch;
	size_t		near_bytes;
	uint64_t	tags[CACHE_TAGS];
	unsigned char	*near;		/* near_bytes, after this block */
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
	char			 server_names[CACHE_MAX_SERVERS][CACHE_SERVER_NAME_MAX];
	uint32_t		 state_of[CACHE_MAX_SERVERS];	/* in shared */
	size_t			 nservers;
	char			 list[CACHE_MAX_SERVERS * CACHE_SERVER_NAME_MAX];
	char			 list_hash[17];
	struct cache_shared	*shared;
	struct metrics		*metrics;
	uint64_t		 seen_epoch[CACHE_MAX_SERVERS];
	uint64_t		 load_wait_ms;	/* stampede wait ceiling */
};

enum cache_status {
	CACHE_HIT = 0,		/* fresh value */
	CACHE_STALE,		/* soft-expired value, same generation */
	CACHE_MISS,		/* nothing stored */
	CACHE_BYPASS		/* server unreachable, breaker open or this
				   host's poller behind: read the database */
};

/* What a lookup found.  body points into value (owned, free with
 * cache_entry_free).  With CACHE_BYPASS, body may still hold a copy that
 * may be served only when the database cannot be reached. */
struct cache_entry {
	enum cache_status	 status;
	char			 ns[CACHE_NS_MAX];
	char			 params[CACHE_KEY_MAX];
	char			 key[CACHE_KEY_MAX + 1];
	char			*value;
	const char		*body;
	size_t			 body_len;
	char			 etag[CACHE_ETAG_MAX];
	int			 locked;	/* this worker holds lk:<key> */
	int			 near;		/* answered from host memory */
	uint64_t		 tag;		/* near tag read first */
	uint64_t		 near_epoch;
	uint32_t		 server;
};

/* The namespaces one write touched, recorded in its transaction
 * (cache_log_record) and delivered after it (cache_bump). */
struct cache_invalidation {
	char		ns[CACHE_INVALIDATION_MAX][CACHE_NS_MAX];
	size_t		n;
	uint64_t	log_id;		/* 0 until recorded */
	int		committed;	/* COMMIT answered OK (not merely
					   sent): the poller may skip it */
};

/* Maps the host-wide block and the near cache (conf->cache_near_bytes).
 * NULL on failure. */
struct cache_shared *cache_shared_create(const struct conf *conf);

/* 0 or -1 (bad server list).  shared and metrics may be process-local. */
int cache_open(struct cache *c, const struct conf *conf,
    struct cache_shared *shared, struct metrics *metrics);
void cache_close(struct cache *c);

/* 0 when every server answers (health check), -1 otherwise. */
int cache_ping(struct cache *c);
/* 1 when this host's poller has applied the log within the bound. */
int cache_synced(const struct cache *c);

/* 1 when key is made only of allowed characters and short enough. */
int cache_key_valid(const char *key, size_t len);

/*
 * Looks up the response for `params` ("products:c=tools:p=1:n=20:s=id")
 * in namespace `ns` ("g:c:tools"): host memory first, then memcached.
 * Waits for a concurrent loader when there is one, and returns with
 * e->locked set when this worker must load and cache_store() (or
 * cache_unlock()).
 */
void cache_lookup(struct cache *c, const char *ns, const char *params,
    struct cache_entry *e);
/* Stores body in memcached (unless bypassed) and host memory with the
 * configured TTL and releases the lock; computes e->etag of body. */
void cache_store(struct cache *c, struct cache_entry *e, const char *body,
    size_t len);
void cache_unlock(struct cache *c, struct cache_entry *e);
void cache_entry_free(struct cache_entry *e);

/* ETag (quoted, strong) of a body, for uncached answers too. */
void cache_etag(const char *body, size_t len, char out[CACHE_ETAG_MAX]);

/* Adds a namespace (copied); -1 when full or too long. */
int cache_invalidation_add(struct cache_invalidation *inv, const char *ns);

/* Inside the write's transaction, as its last statement: records inv in
 * the log and sets inv->log_id.  A db.h outcome. */
struct db;
int cache_log_record(struct db *db, struct cache_invalidation *inv);

/*
 * Delivers inv: moves each namespace past every value a reader may have
 * seen, in memcached and in this host's memory.  Called after COMMIT (or a
 * COMMIT whose answer was lost), before answering.  Returns 0, or -1 when
 * a server could not be reached (recorded; the poller redelivers).
 */
int cache_bump(struct cache *c, const struct cache_invalidation *inv);

/* Delivers one namespace of log row log_id (the poller, redelivery). */
int cache_deliver(struct cache *c, const char *ns, uint64_t log_id);

#endif

/*
 * cache_sync.c: the host's invalidation poller; what it does and why is in
 * cache_sync.h and cache.h.
 *
 * Only the lease holder touches the shared position (sync_low, sync_high,
 * sync_applied_ms); the ids missing below sync_high (gaps) are this
 * thread's own, rebuilt by a new holder from the rows between sync_low and
 * sync_high.  Every delivery is idempotent (one more incr, one more tag
 * move), so a row applied twice, by two holders for a moment or by a new
 * holder after a crash, costs a few misses and nothing else.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache_near.h"
#include "cache_server.h"
#include "cache_sync.h"
#include "core_sql.h"
#include "log.h"
#include "util.h"

#define SYNC_SET_MAX		CACHE_REDELIVER_MAX	/* namespaces per set */
#define SYNC_REDELIVER_ROWS	200000	/* rows a redelivery reads at most */
#define SYNC_HOUSEKEEPING_MS	1000
#define SYNC_TEXT_MAX		(CACHE_INVALIDATION_MAX * CACHE_NS_MAX)

struct sync_gap {
	uint64_t	id;
	uint64_t	since_ms;
};

/* A set of distinct namespaces (open addressing, no removal). */
struct sync_set {
	char		(*ns)[CACHE_NS_MAX];
	size_t		n;
};

struct cache_sync {
	const struct conf	*conf;
	struct cache_shared	*shared;
	struct metrics		*metrics;
	struct cache		 cache;
	struct db		 db;
	pthread_t		 tid;
	int			 running;
	int			 stop;		/* atomic */
	uint64_t		 token;
	int			 leader;
	int			 rebuild;	/* gaps unknown: new holder */
	struct sync_gap		 gaps[CACHE_SYNC_GAPS_MAX];
	size_t			 ngaps;
	uint64_t		 housekeeping_ms;
	char			 host[256];
	struct sync_set		 set;
	char			 text[SYNC_TEXT_MAX + 1];
};

static uint64_t
sync_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

/* 1 added, 0 already there, -1 full. */
static int
sync_set_add(struct sync_set *set, const char *ns)
{
	size_t i = (size_t)(sync_hash(ns) % (SYNC_SET_MAX * 2)), k;

	for (k = 0; k < SYNC_SET_MAX * 2; k++, i = (i + 1) % (SYNC_SET_MAX * 2)) {
		if (set->ns[i][0] == '\0') {
			if (set->n >= SYNC_SET_MAX)
				return -1;
			memcpy(set->ns[i], ns, strlen(ns) + 1);
			set->n++;
			return 1;
		}
		if (strcmp(set->ns[i], ns) == 0)
			return 0;
	}
	return -1;
}

static void
sync_set_clear(struct sync_set *set)
{
	if (set->n > 0)
		memset(set->ns, 0, sizeof(set->ns[0]) * SYNC_SET_MAX * 2);
	set->n = 0;
}

/* Delivers the set (memcached, then tags) as of log row log_id. */
static void
sync_set_deliver(struct cache_sync *s, uint64_t log_id)
{
	size_t i;

	for (i = 0; i < SYNC_SET_MAX * 2; i++)
		if (s->set.ns[i][0] != '\0')
			cache_deliver(&s->cache, s->set.ns[i], log_id);
	for (i = 0; i < SYNC_SET_MAX * 2; i++)
		if (s->set.ns[i][0] != '\0')
			cache_near_bump(s->shared, s->set.ns[i]);
	sync_set_clear(&s->set);
}

/* Adds every namespace of one row to the set, delivering first when it is
 * full. */
static void
sync_add_row(struct cache_sync *s, char *text, uint64_t first_id)
{
	char *save = NULL, *ns;

	for (ns = strtok_r(text, " ", &save); ns != NULL;
	    ns = strtok_r(NULL, " ", &save)) {
		if (strlen(ns) >= CACHE_NS_MAX)
			continue;
		if (sync_set_add(&s->set, ns) < 0) {
			sync_set_deliver(s, first_id);
			sync_set_add(&s->set, ns);
		}
	}
	metrics_add(&s->metrics->cache_sync_rows, 1);
}

static void
sync_gap_remove(struct cache_sync *s, uint64_t id)
{
	size_t i;

	for (i = 0; i < s->ngaps; i++)
		if (s->gaps[i].id == id) {
			s->gaps[i] = s->gaps[--s->ngaps];
			return;
		}
}

/* Ids from..to (inclusive) are missing: remember them. */
static void
sync_gap_add(struct cache_sync *s, uint64_t from, uint64_t to, uint64_t now)
{
	uint64_t id;

	for (id = from; id <= to; id++) {
		if (s->ngaps >= CACHE_SYNC_GAPS_MAX) {
			/* a burst of rollbacks: the oldest gap is given up */
			metrics_add(&s->metrics->cache_sync_gaps_abandoned,
			    to - id + 1);
			log_msg(LOG_WARN, "event=cache_sync_gaps_full from=%"
			    PRIu64 " to=%" PRIu64, id, to);
			return;
		}
		s->gaps[s->ngaps].id = id;
		s->gaps[s->ngaps].since_ms = now;
		s->ngaps++;
	}
}

/*
 * Runs statement stmt (args) and applies each row.  *high receives the
 * highest id (when high is given, gaps below each row are recorded);
 * returns the number of rows, or DB_ERR.
 */
static int
sync_apply(struct cache_sync *s, unsigned stmt, struct db_val *args,
    size_t nargs, uint64_t *high, uint64_t now)
{
	struct db_val cols[2] = { db_out_i64(), db_out_str(s->text,
	    sizeof(s->text)) };
	MYSQL_STMT *cur;
	uint64_t first = 0;
	int rc, n = 0;

	if (db_query(&s->db, stmt, args, nargs, cols, 2, &cur) != DB_OK)
		return DB_ERR;
	while ((rc = db_fetch(&s->db, cur, cols, 2)) == 1) {
		uint64_t id = (uint64_t)cols[0].i;

		if (first == 0)
			first = id;
		if (high != NULL) {
			if (id > *high + 1)
				sync_gap_add(s, *high + 1, id - 1, now);
			if (id > *high)
				*high = id;
		}
		sync_gap_remove(s, id);
		n++;
		if (__atomic_load_n(&s->shared->delivered[id % CACHE_DELIVERED],
		    __ATOMIC_SEQ_CST) == id)
			continue;	/* this host's writer delivered it whole */
		s->text[cols[1].len] = '\0';
		sync_add_row(s, s->text, first);
	}
	db_done(cur);
	if (rc != 0)
		return DB_ERR;
	if (s->set.n > 0)
		sync_set_deliver(s, first);
	return n;
}

/* 1 while this thread holds the lease (renewing it), else 0. */
static int
sync_lease(struct cache_sync *s)
{
	struct cache_shared *sh = s->shared;
	uint64_t now = cache_clock_ms();
	uint64_t until = __atomic_load_n(&sh->sync_lease_until_ms,
	    __ATOMIC_SEQ_CST);
	uint64_t next = now + (uint64_t)CACHE_SYNC_LEASE_FACTOR *
	    s->conf->cache_sync_interval_ms;

	if (s->leader && __atomic_load_n(&sh->sync_owner,
	    __ATOMIC_SEQ_CST) == s->token && until > now) {
		if (__atomic_compare_exchange_n(&sh->sync_lease_until_ms,
		    &until, next, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return 1;
	} else if (until <= now && __atomic_compare_exchange_n(
	    &sh->sync_lease_until_ms, &until, next, 0, __ATOMIC_SEQ_CST,
	    __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&sh->sync_owner, s->token, __ATOMIC_SEQ_CST);
		if (!s->leader)
			log_msg(LOG_DEBUG, "event=cache_sync_lease pid=%d",
			    (int)getpid());
		s->leader = 1;
		s->rebuild = 1;
		return 1;
	}
	s->leader = 0;
	return 0;
}

/* The first position of this host: its row, else the log's end. */
static int
sync_position(struct cache_sync *s)
{
	struct cache_shared *sh = s->shared;
	char hash[17];
	struct db_val arg = db_cstr(s->host), cols[2] = { db_out_i64(),
	    db_out_str(hash, sizeof(hash)) };
	uint64_t high;
	int rc;

	rc = db_query_row(&s->db, STMT_CACHE_HOST_GET, &arg, 1, cols, 2);
	if (rc < 0)
		return DB_ERR;
	if (rc == 1 && strcmp(hash, s->cache.list_hash) == 0) {
		/* resumes where it stopped: what a crash left undelivered
		 * is delivered now */
		high = (uint64_t)cols[0].i;
	} else {
		struct db_val max = db_out_i64();
		if (db_query_row(&s->db, STMT_CACHE_LOG_MAX, NULL, 0, &max,
		    1) != 1)
			return DB_ERR;
		high = (uint64_t)max.i;
	}
	__atomic_store_n(&sh->sync_high, high, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->sync_low, high + 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->sync_started, 1, __ATOMIC_SEQ_CST);
	log_msg(LOG_INFO, "event=cache_sync_start host=\"%s\" position=%"
	    PRIu64 " servers=%s hash=%s", s->host, high, s->cache.list,
	    s->cache.list_hash);
	return DB_OK;
}

/* A new holder: which ids between low and high are still missing. */
static int
sync_rebuild(struct cache_sync *s, uint64_t low, uint64_t high,
    uint64_t now)
{
	uint64_t seen = low - 1;
	struct db_val arg;
	int n;

	s->ngaps = 0;
	while (seen < high) {
		uint64_t before = seen;

		arg = db_i64((int64_t)seen);
		if ((n = sync_apply(s, STMT_CACHE_LOG_AFTER, &arg, 1, &seen,
		    now)) < 0)
			return DB_ERR;
		if (n == 0 || seen == before)
			break;
	}
	if (seen < high)
		sync_gap_add(s, seen + 1, high, now);
	if (seen > high)	/* rows past high were applied too */
		__atomic_store_n(&s->shared->sync_high, seen, __ATOMIC_SEQ_CST);
	return DB_OK;
}

int
cache_sync_redeliver(struct cache_sync *s, uint32_t i, uint64_t from)
{
	struct cache *c = &s->cache;
	struct db_val cols[2] = { db_out_i64(), db_out_str(s->text,
	    sizeof(s->text)) };
	memcached_st *one = cache_single(c, i);
	uint64_t after = from - 1, rows = 0;
	size_t k;
	int rc, n, full = 0;

	if (one == NULL)
		return -1;
	sync_set_clear(&s->set);
	do {
		struct db_val arg = db_i64((int64_t)after);
		MYSQL_STMT *cur;

		if (db_query(&s->db, STMT_CACHE_LOG_AFTER, &arg, 1, cols, 2,
		    &cur) != DB_OK)
			goto fail;
		n = 0;
		while ((rc = db_fetch(&s->db, cur, cols, 2)) == 1) {
			char *save = NULL, *ns;

			after = (uint64_t)cols[0].i;
			s->text[cols[1].len] = '\0';
			n++;
			for (ns = strtok_r(s->text, " ", &save); ns != NULL &&
			    !full; ns = strtok_r(NULL, " ", &save))
				if (strlen(ns) < CACHE_NS_MAX &&
				    cache_server_of(c, ns, strlen(ns)) == i &&
				    sync_set_add(&s->set, ns) < 0)
					full = 1;
		}
		db_done(cur);
		if (rc != 0)
			goto fail;
		rows += (uint64_t)n;
	} while (n == CACHE_LOG_PAGE && !full && rows < SYNC_REDELIVER_ROWS);
	if (full || rows >= SYNC_REDELIVER_ROWS) {
		/* too much to redeliver: every generation there starts anew */
		sync_set_clear(&s->set);
		if (memcached_flush(one, 0) != MEMCACHED_SUCCESS)
			return -1;
		metrics_add(&s->metrics->cache_flushes, 1);
		log_msg(LOG_WARN, "event=cache_flushed server=%s "
		    "reason=lost_invalidations from=%" PRIu64,
		    c->server_names[i], from);
		return 0;
	}
	for (k = 0; k < SYNC_SET_MAX * 2; k++) {
		if (s->set.ns[k][0] == '\0')
			continue;
		if (cache_incr(one, s->set.ns[k]) != MEMCACHED_SUCCESS) {
			sync_set_clear(&s->set);
			return -1;
		}
		metrics_add(&s->metrics->cache_redeliveries, 1);
	}
	log_msg(LOG_INFO, "event=cache_redelivered server=%s from=%" PRIu64
	    " rows=%" PRIu64 " namespaces=%zu", c->server_names[i], from, rows,
	    s->set.n);
	sync_set_clear(&s->set);
	return 0;
fail:
	sync_set_clear(&s->set);
	return -1;
}

/* The due probes of this host's servers. */
static void
sync_probes(struct cache_sync *s)
{
	struct cache *c = &s->cache;
	uint64_t word, from;
	uint32_t i;
	int ok;

	for (i = 0; i < c->nservers; i++) {
		if (!cache_probe_begin(c, i, &word, &from))
			continue;
		ok = cache_probe_get(c, i) == 0 && (from == 0 ||
		    cache_sync_redeliver(s, i, from) == 0);
		cache_probe_end(c, i, word, from, ok);
	}
}

/* Once a second: this host's row, its peers' lists, the log's tail. */
static void
sync_housekeeping(struct cache_sync *s, uint64_t now)
{
	struct cache_shared *sh = s->shared;
	unsigned ttl = s->conf->cache_ttl_seconds;
	struct db_val a[4], cols[2] = { db_out_i64(), db_out_i64() };
	uint64_t applied = __atomic_load_n(&sh->sync_low, __ATOMIC_SEQ_CST);

	if (now - s->housekeeping_ms < SYNC_HOUSEKEEPING_MS)
		return;
	s->housekeeping_ms = now;
	a[0] = db_cstr(s->host);
	a[1] = db_cstr(s->cache.list_hash);
	a[2] = db_cstr(s->cache.list);
	a[3] = db_i64((int64_t)(applied > 0 ? applied - 1 : 0));
	(void)db_exec(&s->db, STMT_CACHE_HOST_PUT, a, 4, NULL, NULL);
	a[0] = db_cstr(s->cache.list_hash);
	if (db_query_row(&s->db, STMT_CACHE_HOSTS_LIVE, a, 1, cols, 2) == 1) {
		uint64_t was = __atomic_exchange_n(&sh->list_mismatch,
		    (uint64_t)cols[1].i, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sh->list_hosts, (uint64_t)cols[0].i,
		    __ATOMIC_SEQ_CST);
		if (cols[1].i > 0 && was == 0)
			log_msg(LOG_WARN, "event=cache_servers_mismatch "
			    "hosts=%" PRId64 " servers=%s hash=%s", cols[1].i,
			    s->cache.list, s->cache.list_hash);
	}
	/* kept as long as a value older than a row can live (cache.h) */
	a[0] = db_i64((int64_t)ttl + (ttl < 300 ? ttl : 300) + 60);
	(void)db_exec(&s->db, STMT_CACHE_LOG_PRUNE, a, 1, NULL, NULL);
}

int
cache_sync_round(struct cache_sync *s)
{
	struct cache_shared *sh = s->shared;
	uint64_t t0, high, low;
	struct db_val ids[CACHE_LOG_IDS], arg;
	size_t i, k;
	int n;

	sync_probes(s);
	t0 = cache_clock_ms();
	if (!__atomic_load_n(&sh->sync_started, __ATOMIC_SEQ_CST) &&
	    sync_position(s) != DB_OK)
		goto fail;
	high = __atomic_load_n(&sh->sync_high, __ATOMIC_SEQ_CST);
	low = __atomic_load_n(&sh->sync_low, __ATOMIC_SEQ_CST);
	if (s->rebuild) {
		if (low <= high && sync_rebuild(s, low, high, t0) != DB_OK)
			goto fail;
		s->rebuild = 0;
		high = __atomic_load_n(&sh->sync_high, __ATOMIC_SEQ_CST);
	}
	/* the ids missing below high, CACHE_LOG_IDS at a time */
	for (i = 0; i < s->ngaps; i += CACHE_LOG_IDS) {
		for (k = 0; k < CACHE_LOG_IDS; k++)
			ids[k] = db_i64((int64_t)s->gaps[i + k < s->ngaps ?
			    i + k : i].id);
		if (sync_apply(s, STMT_CACHE_LOG_IDS, ids, CACHE_LOG_IDS, NULL,
		    t0) < 0)
			goto fail;
	}
	/* the rows past high, a page at a time */
	do {
		arg = db_i64((int64_t)high);
		if ((n = sync_apply(s, STMT_CACHE_LOG_AFTER, &arg, 1, &high,
		    t0)) < 0)
			goto fail;
	} while (n == CACHE_LOG_PAGE &&
	    !__atomic_load_n(&s->stop, __ATOMIC_RELAXED));
	for (i = 0; i < s->ngaps;) {
		if (t0 - s->gaps[i].since_ms > CACHE_GAP_GIVE_UP_MS) {
			log_msg(LOG_WARN, "event=cache_sync_gap_abandoned id=%"
			    PRIu64, s->gaps[i].id);
			metrics_add(&s->metrics->cache_sync_gaps_abandoned, 1);
			s->gaps[i] = s->gaps[--s->ngaps];
		} else
			i++;
	}
	low = high + 1;
	for (i = 0; i < s->ngaps; i++)
		if (s->gaps[i].id < low)
			low = s->gaps[i].id;
	__atomic_store_n(&sh->sync_high, high, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->sync_low, low, __ATOMIC_SEQ_CST);
	/* everything committed before t0 is applied (cache.h, THE BOUND) */
	__atomic_store_n(&sh->sync_applied_ms, t0, __ATOMIC_SEQ_CST);
	sync_housekeeping(s, cache_clock_ms());
	return 0;
fail:
	metrics_add(&s->metrics->cache_sync_errors, 1);
	return -1;
}

static void *
sync_main(void *arg)
{
	struct cache_sync *s = arg;
	uint64_t ms = s->conf->cache_sync_interval_ms;

	mysql_thread_init();
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		struct timespec ts = { (time_t)(ms / 1000),
		    (long)(ms % 1000) * 1000000 };

		if (sync_lease(s))
			(void)cache_sync_round(s);
		nanosleep(&ts, NULL);
	}
	if (s->leader && __atomic_load_n(&s->shared->sync_owner,
	    __ATOMIC_SEQ_CST) == s->token)
		__atomic_store_n(&s->shared->sync_lease_until_ms, 0,
		    __ATOMIC_SEQ_CST);	/* the next holder starts now */
	db_close(&s->db);
	mysql_thread_end();
	return NULL;
}

struct cache_sync *
cache_sync_new(const struct conf *conf, struct cache_shared *shared,
    struct metrics *metrics)
{
	struct cache_sync *s;
	char hostname[128] = "";

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->set.ns = calloc(SYNC_SET_MAX * 2, sizeof(s->set.ns[0]))) ==
	    NULL) {
		free(s);
		return NULL;
	}
	s->conf = conf;
	s->shared = shared;
	s->metrics = metrics;
	s->token = (uint64_t)util_random_token();
	if (cache_open(&s->cache, conf, shared, metrics) != 0) {
		free(s->set.ns);
		free(s);
		return NULL;
	}
	db_init(&s->db, conf, NULL);
	gethostname(hostname, sizeof(hostname) - 1);
	/* cut to the column: a long app.listen path keeps its start */
	if (snprintf(s->host, sizeof(s->host), "%s:%s", hostname,
	    conf->app_listen) < 0)
		s->host[0] = '\0';
	return s;
}

void
cache_sync_free(struct cache_sync *s)
{
	if (s == NULL)
		return;
	cache_close(&s->cache);
	db_close(&s->db);
	free(s->set.ns);
	free(s);
}

struct cache *
cache_sync_cache(struct cache_sync *s)
{
	return &s->cache;
}

struct cache_sync *
cache_sync_start(const struct conf *conf, struct cache_shared *shared,
    struct metrics *metrics)
{
	struct cache_sync *s = cache_sync_new(conf, shared, metrics);

	if (s == NULL) {
		log_msg(LOG_ERROR, "event=cache_sync_failed error=\"setup\"");
		return NULL;
	}
	if (pthread_create(&s->tid, NULL, sync_main, s) != 0) {
		log_msg(LOG_ERROR, "event=cache_sync_failed error=\"thread\"");
		cache_sync_free(s);
		return NULL;
	}
	s->running = 1;
	return s;
}

void
cache_sync_stop(struct cache_sync *s)
{
	if (s == NULL)
		return;
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	if (s->running)
		pthread_join(s->tid, NULL);
	cache_sync_free(s);
}

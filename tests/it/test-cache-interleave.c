/*
 * test-cache-interleave.c: the cache's invalidation rule and its order
 * argument (common/cache.h) proved step by step against the fixture's real
 * memcached and MariaDB.
 *
 * Usage: test-cache-interleave CATALOG_CONF MEMCACHED_PID
 *
 * Each test plays readers, writers and pollers by hand in the order that
 * breaks naive cache-aside.  A "host" is one struct cache_shared (its
 * near cache, tags, breakers and poller position); two hosts share the
 * fixture's memcached and database as two app hosts would.  Pollers run
 * one round at a time (cache_sync_round), so each test decides exactly
 * what a host has applied.  The tests use their own parameter strings
 * ("itest:...") so they never disturb the app's entries, and restore
 * every row they change.
 */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "cache_server.h"
#include "cache_sync.h"
#include "conf.h"
#include "core_sql.h"
#include "db.h"
#include "log.h"
#include "util.h"
#include "cunit-main.h"

static struct conf conf;
static pid_t memcached_pid;

/* This driver's own statements (db.h: ids after the core's). */
enum { STMT_PRICE = STMT_CORE__MAX, STMT_BUMP_PRICE, STMT_TEST__MAX };
static const char *const test_sql[] = {
	"SELECT price_cents FROM products WHERE id = ?",
	"UPDATE products SET price_cents = price_cents + ? WHERE id = ?",
};
static const struct db_statements test_statements = {
	test_sql, STMT_CORE__MAX, STMT_TEST__MAX - STMT_CORE__MAX
};

/* One app host: its shared block and poller. */
struct host {
	struct cache_shared	*shared;
	struct cache_sync	*sync;
};

/* One worker of a host: its memcached handle and database link. */
struct side {
	struct cache		 cache;
	struct db		 db;
};

static void
host_open(struct host *h)
{
	h->shared = cache_shared_create(&conf);
	CU_ASSERT_FATAL(h->shared != NULL);
	h->sync = cache_sync_new(&conf, h->shared, metrics_local());
	CU_ASSERT_FATAL(h->sync != NULL);
}

static void
host_close(struct host *h)
{
	cache_sync_free(h->sync);
}

/* One poller round: the host applies the log up to now. */
static void
host_sync(struct host *h)
{
	uint64_t t = cache_clock_ms();

	CU_ASSERT_EQUAL_FATAL(cache_sync_round(h->sync), 0);
	if (cache_clock_ms() - t > 100)
		fprintf(stderr, "sync round: %" PRIu64 " ms\n",
		    cache_clock_ms() - t);
	CU_ASSERT_FATAL(cache_synced(cache_sync_cache(h->sync)));
}

static void
side_open(struct side *s, struct host *h)
{
	CU_ASSERT_FATAL(cache_open(&s->cache, &conf, h->shared,
	    metrics_local()) == 0);
	db_init(&s->db, &conf, &test_statements);
}

static void
side_close(struct side *s)
{
	cache_close(&s->cache);
	db_close(&s->db);
}

static int64_t
read_price(struct side *s, int64_t id)
{
	struct db_val arg = db_i64(id), col = db_out_i64();

	CU_ASSERT_FATAL(db_query_row(&s->db, STMT_PRICE, &arg, 1, &col,
	    1) == 1);
	return col.i;
}

/* A write as the app makes it: the row and its log record in one
 * transaction; inv is filled (log id included). */
struct write {
	int64_t				 id, delta;
	struct cache_invalidation	*inv;
};

static int
write_tx(struct db *db, void *arg)
{
	struct write *w = arg;
	struct db_val args[2] = { db_i64(w->delta), db_i64(w->id) };
	int rc;

	if ((rc = db_exec(db, STMT_BUMP_PRICE, args, 2, NULL, NULL)) != DB_OK)
		return rc;
	return cache_log_record(db, w->inv);
}

static void
commit_write(struct side *s, int64_t id, int64_t delta, const char *ns,
    struct cache_invalidation *inv)
{
	struct write w = { id, delta, inv };

	memset(inv, 0, sizeof(*inv));
	CU_ASSERT_FATAL(cache_invalidation_add(inv, ns) == 0);
	CU_ASSERT_EQUAL_FATAL(db_tx(&s->db, "itest", write_tx, &w), DB_OK);
	CU_ASSERT_FATAL(inv->log_id != 0);
}

/* A reader on side r looks up (ns, params); asserts the status. */
static void
lookup(struct side *r, const char *ns, const char *params,
    enum cache_status want, struct cache_entry *e)
{
	uint64_t t = cache_clock_ms();

	cache_lookup(&r->cache, ns, params, e);
	t = cache_clock_ms() - t;
	if (t > 50)
		fprintf(stderr, "lookup took %" PRIu64 " ms\n", t);
	if (e->status != want)
		fprintf(stderr, "lookup %s %s: status %d, want %d (synced %d, "
		    "usable %d)%s%.*s\n", ns, params, e->status, want,
		    cache_synced(&r->cache), cache_usable(&r->cache,
		    cache_server_of(&r->cache, ns, strlen(ns))),
		    e->body ? ", body " : "", e->body ? (int)e->body_len : 0,
		    e->body ? e->body : "");
	CU_ASSERT_EQUAL(e->status, want);
}

/* Stores body for (ns, params) from a fresh miss. */
static void
prime(struct side *r, const char *ns, const char *params, const char *body)
{
	struct cache_entry e;
	struct cache_invalidation inv;

	memset(&inv, 0, sizeof(inv));
	cache_invalidation_add(&inv, ns);
	cache_bump(&r->cache, &inv);	/* start from a fresh generation */
	lookup(r, ns, params, CACHE_MISS, &e);
	CU_ASSERT_FATAL(e.locked);
	cache_store(&r->cache, &e, body, strlen(body));
	cache_entry_free(&e);
}

static void
test_late_store_after_bump(void)
{
	const char *ns = "g:p:2";
	struct host h;
	struct side reader, writer, third;
	struct cache_invalidation inv;
	struct cache_entry e, seen;
	char body[64];
	int64_t old;

	host_open(&h);
	side_open(&reader, &h);
	side_open(&writer, &h);
	side_open(&third, &h);
	host_sync(&h);
	prime(&reader, ns, "itest:late:2", "warm");
	memset(&inv, 0, sizeof(inv));
	cache_invalidation_add(&inv, ns);
	cache_bump(&reader.cache, &inv);
	lookup(&reader, ns, "itest:late:2", CACHE_MISS, &e);	/* locked */
	old = read_price(&reader, 2);				/* old row */
	commit_write(&writer, 2, 1, ns, &inv);			/* commit */
	CU_ASSERT_EQUAL(cache_bump(&writer.cache, &inv), 0);
	snprintf(body, sizeof(body), "price=%" PRId64, old);
	cache_store(&reader.cache, &e, body, strlen(body));	/* late store */
	lookup(&third, ns, "itest:late:2", CACHE_MISS, &seen);	/* not near,
								   not memcached */
	CU_ASSERT_EQUAL(read_price(&third, 2), old + 1);
	cache_unlock(&third.cache, &seen);
	cache_entry_free(&seen);
	cache_entry_free(&e);
	commit_write(&writer, 2, -1, ns, &inv);
	cache_bump(&writer.cache, &inv);
	side_close(&reader);
	side_close(&writer);
	side_close(&third);
	host_close(&h);
}

static void
test_evicted_generation(void)
{
	const char *ns = "g:p:3";
	struct host h, other;
	struct side reader, writer, third;
	struct cache_invalidation inv;
	struct cache_entry e, seen;

	host_open(&h);
	host_open(&other);
	side_open(&reader, &h);
	side_open(&writer, &h);
	side_open(&third, &other);	/* no near copy: memcached decides */
	host_sync(&h);
	host_sync(&other);
	prime(&reader, ns, "itest:evict:3", "warm");
	memset(&inv, 0, sizeof(inv));
	cache_invalidation_add(&inv, ns);
	cache_bump(&reader.cache, &inv);
	lookup(&reader, ns, "itest:evict:3", CACHE_MISS, &e);
	(void)read_price(&reader, 3);
	/* the generation is evicted before the writer bumps it */
	memcached_delete_by_key(writer.cache.mc, ns, strlen(ns), ns,
	    strlen(ns), 0);
	commit_write(&writer, 3, 1, ns, &inv);
	CU_ASSERT_EQUAL(cache_bump(&writer.cache, &inv), 0);
	cache_store(&reader.cache, &e, "old", 3);
	host_sync(&other);
	lookup(&third, ns, "itest:evict:3", CACHE_MISS, &seen);
	cache_unlock(&third.cache, &seen);
	cache_entry_free(&seen);
	cache_entry_free(&e);
	commit_write(&writer, 3, -1, ns, &inv);
	cache_bump(&writer.cache, &inv);
	side_close(&reader);
	side_close(&writer);
	side_close(&third);
	host_close(&h);
	host_close(&other);
}

static void
test_store_then_hit_then_bump(void)
{
	const char *ns = "g:c:itest";
	struct cache_invalidation inv;
	struct host h;
	struct side s;
	struct cache_entry e;

	host_open(&h);
	side_open(&s, &h);
	host_sync(&h);
	prime(&s, ns, "itest:list", "v1");
	lookup(&s, ns, "itest:list", CACHE_HIT, &e);
	CU_ASSERT(e.near);	/* from host memory */
	CU_ASSERT(e.body_len == 2 && memcmp(e.body, "v1", 2) == 0);
	cache_entry_free(&e);
	memset(&inv, 0, sizeof(inv));
	cache_invalidation_add(&inv, ns);
	CU_ASSERT_EQUAL(cache_bump(&s.cache, &inv), 0);
	lookup(&s, ns, "itest:list", CACHE_MISS, &e);
	cache_unlock(&s.cache, &e);
	cache_entry_free(&e);
	side_close(&s);
	host_close(&h);
}

static void
test_concurrent_loader_waits(void)
{
	const char *ns = "g:c:itest-wait";
	struct cache_invalidation inv;
	struct host ha, hb;
	struct side a, b;
	struct cache_entry ea, eb;

	host_open(&ha);
	host_open(&hb);
	side_open(&a, &ha);
	side_open(&b, &hb);
	host_sync(&ha);
	host_sync(&hb);
	b.cache.load_wait_ms = 50;
	memset(&inv, 0, sizeof(inv));
	cache_invalidation_add(&inv, ns);
	cache_bump(&a.cache, &inv);
	lookup(&a, ns, "itest:wait", CACHE_MISS, &ea);
	CU_ASSERT(ea.locked);
	lookup(&b, ns, "itest:wait", CACHE_MISS, &eb);	/* waits, gives up */
	CU_ASSERT_FALSE(eb.locked);
	cache_entry_free(&eb);
	cache_store(&a.cache, &ea, "loaded", 6);
	cache_entry_free(&ea);
	lookup(&b, ns, "itest:wait", CACHE_HIT, &eb);
	CU_ASSERT_FALSE(eb.near);	/* from memcached, then kept */
	cache_entry_free(&eb);
	lookup(&b, ns, "itest:wait", CACHE_HIT, &eb);
	CU_ASSERT(eb.near);
	cache_entry_free(&eb);
	side_close(&a);
	side_close(&b);
	host_close(&ha);
	host_close(&hb);
}

/*
 * Two hosts: host B keeps a product in its memory; host A writes.  B may
 * answer the old copy only until its poller applies the log row (the
 * bound); after one round it misses, and a host whose poller stopped
 * stops answering from the cache at all.
 */
static void
test_other_host_applies_the_log(void)
{
	const char *ns = "g:p:5";
	struct cache_invalidation inv;
	struct host ha, hb;
	struct side a, b;
	struct cache_entry e;

	host_open(&ha);
	host_open(&hb);
	side_open(&a, &ha);
	side_open(&b, &hb);
	host_sync(&ha);
	host_sync(&hb);
	prime(&b, ns, "itest:host:5", "old");
	host_sync(&hb);
	lookup(&b, ns, "itest:host:5", CACHE_HIT, &e);
	CU_ASSERT(e.near);
	cache_entry_free(&e);
	commit_write(&a, 5, 1, ns, &inv);
	CU_ASSERT_EQUAL(cache_bump(&a.cache, &inv), 0);
	/* B has not applied it: its memory may still answer (within the
	 * bound; this is what the bound is) */
	lookup(&b, ns, "itest:host:5", CACHE_HIT, &e);
	cache_entry_free(&e);
	host_sync(&hb);
	lookup(&b, ns, "itest:host:5", CACHE_MISS, &e);
	cache_unlock(&b.cache, &e);
	cache_entry_free(&e);
	/* a host whose poller is behind the bound reads the database */
	usleep((CACHE_SYNC_LAG_FACTOR * conf.cache_sync_interval_ms + 50) *
	    1000);
	lookup(&b, ns, "itest:host:5", CACHE_BYPASS, &e);
	cache_entry_free(&e);
	commit_write(&a, 5, -1, ns, &inv);
	cache_bump(&a.cache, &inv);
	side_close(&a);
	side_close(&b);
	host_close(&ha);
	host_close(&hb);
}

/*
 * A process dies right after COMMIT: nothing delivered.  The pollers
 * deliver from the log, on the writing host too.
 */
static void
test_died_after_commit(void)
{
	const char *ns = "g:p:6";
	struct cache_invalidation inv;
	struct host ha, hb;
	struct side a, b;
	struct cache_entry e;

	host_open(&ha);
	host_open(&hb);
	side_open(&a, &ha);
	side_open(&b, &hb);
	host_sync(&ha);
	host_sync(&hb);
	prime(&a, ns, "itest:died:6", "old");
	prime(&b, ns, "itest:died:6b", "old");
	commit_write(&a, 6, 1, ns, &inv);	/* ... and no cache_bump */
	host_sync(&ha);
	host_sync(&hb);
	lookup(&a, ns, "itest:died:6", CACHE_MISS, &e);
	cache_unlock(&a.cache, &e);
	cache_entry_free(&e);
	lookup(&b, ns, "itest:died:6b", CACHE_MISS, &e);
	cache_unlock(&b.cache, &e);
	cache_entry_free(&e);
	commit_write(&a, 6, -1, ns, &inv);
	cache_bump(&a.cache, &inv);
	side_close(&a);
	side_close(&b);
	host_close(&ha);
	host_close(&hb);
}

/*
 * Log ids commit out of order: a row whose id is below one already
 * applied is still applied once it commits.
 */
static void
test_gap_applied_when_committed(void)
{
	const char *ns = "g:p:7";
	struct cache_invalidation slow, fast;
	struct host h;
	struct side a, b, r;
	struct cache_entry e;
	struct db_val args[2] = { db_i64(1), db_i64(7) };

	host_open(&h);
	side_open(&a, &h);
	side_open(&b, &h);
	side_open(&r, &h);
	host_sync(&h);
	prime(&r, ns, "itest:gap:7", "old");
	/* a takes the lower id and does not commit yet */
	memset(&slow, 0, sizeof(slow));
	cache_invalidation_add(&slow, ns);
	CU_ASSERT_FATAL(db_begin(&a.db) == DB_OK);
	CU_ASSERT_FATAL(db_exec(&a.db, STMT_BUMP_PRICE, args, 2, NULL,
	    NULL) == DB_OK);
	CU_ASSERT_FATAL(cache_log_record(&a.db, &slow) == DB_OK);
	/* b commits a higher id, about another namespace */
	commit_write(&b, 8, 0, "g:p:itest-other", &fast);
	CU_ASSERT(fast.log_id > slow.log_id);
	host_sync(&h);		/* sees fast, remembers slow's id missing */
	lookup(&r, ns, "itest:gap:7", CACHE_HIT, &e);
	CU_ASSERT(e.body_len == 3 && memcmp(e.body, "old", 3) == 0);
	cache_entry_free(&e);
	CU_ASSERT_FATAL(db_commit(&a.db) == DB_OK);	/* ... no bump */
	host_sync(&h);
	lookup(&r, ns, "itest:gap:7", CACHE_MISS, &e);
	cache_unlock(&r.cache, &e);
	cache_entry_free(&e);
	commit_write(&a, 7, -1, ns, &slow);
	cache_bump(&a.cache, &slow);
	side_close(&a);
	side_close(&b);
	side_close(&r);
	host_close(&h);
}

/*
 * A bump that cannot reach memcached (frozen with SIGSTOP): the host reads
 * the database while the breaker is open, and the probe redelivers the
 * row before anything is read there again: the old copy never returns.
 */
static void
test_lost_bump_is_redelivered(void)
{
	const char *ns = "g:p:4";
	struct cache_invalidation inv;
	struct host h, other;
	struct side reader, writer, third;
	struct cache_entry e;

	host_open(&h);
	host_open(&other);
	side_open(&reader, &h);
	side_open(&writer, &h);
	side_open(&third, &other);
	host_sync(&h);
	host_sync(&other);
	prime(&reader, ns, "itest:lost:4", "old");
	CU_ASSERT_FATAL(kill(memcached_pid, SIGSTOP) == 0);
	commit_write(&writer, 4, 1, ns, &inv);
	CU_ASSERT_EQUAL(cache_bump(&writer.cache, &inv), -1);	/* lost */
	kill(memcached_pid, SIGCONT);
	host_sync(&h);
	lookup(&reader, ns, "itest:lost:4", CACHE_BYPASS, &e);	/* open */
	cache_entry_free(&e);
	/* the other host never failed: it reads memcached, which still has
	 * the old generation until a delivery (its poller's) */
	host_sync(&other);
	usleep((conf.cache_retry_seconds * 1000 + 100) * 1000);
	host_sync(&h);			/* probe: redeliver, close */
	CU_ASSERT(cache_usable(&reader.cache,
	    cache_server_of(&reader.cache, ns, strlen(ns))));
	lookup(&reader, ns, "itest:lost:4", CACHE_MISS, &e);	/* not "old" */
	cache_unlock(&reader.cache, &e);
	cache_entry_free(&e);
	host_sync(&other);
	lookup(&third, ns, "itest:lost:4", CACHE_MISS, &e);
	cache_unlock(&third.cache, &e);
	cache_entry_free(&e);
	commit_write(&writer, 4, -1, ns, &inv);
	cache_bump(&writer.cache, &inv);
	side_close(&reader);
	side_close(&writer);
	side_close(&third);
	host_close(&h);
	host_close(&other);
}

/*
 * The probe window: a delivery that fails while the probe runs is kept
 * (its mark survives the probe, whose close then fails), and the next
 * probe redelivers it.  Without exchange-before-redelivery and the
 * compare-and-swap close, the second write's invalidation was erased.
 */
static void
test_probe_window_keeps_a_failure(void)
{
	const char *ns = "g:p:9";
	struct cache_invalidation w1, w2;
	struct host h;
	struct side reader, writer;
	struct cache *pc;
	struct cache_entry e;
	uint64_t word, from;
	uint32_t i;

	host_open(&h);
	side_open(&reader, &h);
	side_open(&writer, &h);
	pc = cache_sync_cache(h.sync);
	i = cache_server_of(pc, ns, strlen(ns));
	host_sync(&h);
	prime(&reader, ns, "itest:probe:9", "old");
	/* w1 lost: a partition from this host */
	cache_fail(&writer.cache, i, MEMCACHED_TIMEOUT, "itest");
	commit_write(&writer, 9, 1, ns, &w1);
	CU_ASSERT_EQUAL(cache_bump(&writer.cache, &w1), -1);
	usleep((conf.cache_retry_seconds * 1000 + 100) * 1000);
	/* the probe begins: it holds w1's mark */
	CU_ASSERT_FATAL(cache_probe_begin(pc, i, &word, &from));
	CU_ASSERT_EQUAL(from, w1.log_id);
	/* w2 fails during the probe (the server freezes for a moment) */
	CU_ASSERT_FATAL(kill(memcached_pid, SIGSTOP) == 0);
	commit_write(&writer, 9, 1, ns, &w2);
	CU_ASSERT_EQUAL(cache_bump(&writer.cache, &w2), -1);
	kill(memcached_pid, SIGCONT);
	/* the probe redelivers what it took and tries to close */
	CU_ASSERT_EQUAL(cache_sync_redeliver(h.sync, i, from), 0);
	CU_ASSERT_EQUAL(cache_probe_end(pc, i, word, from, 1), 0);
	CU_ASSERT_FALSE(cache_usable(&reader.cache, i));	/* still open */
	CU_ASSERT_EQUAL(cache_state(pc, i)->undelivered_from, w2.log_id);
	lookup(&reader, ns, "itest:probe:9", CACHE_BYPASS, &e);
	cache_entry_free(&e);
	/* the next probe redelivers w2 and closes */
	usleep((conf.cache_retry_seconds * 1000 + 100) * 1000);
	host_sync(&h);
	CU_ASSERT(cache_usable(&reader.cache, i));
	CU_ASSERT_EQUAL(cache_state(pc, i)->undelivered_from, 0);
	lookup(&reader, ns, "itest:probe:9", CACHE_MISS, &e);
	cache_unlock(&reader.cache, &e);
	cache_entry_free(&e);
	commit_write(&writer, 9, -2, ns, &w1);
	cache_bump(&writer.cache, &w1);
	side_close(&reader);
	side_close(&writer);
	host_close(&h);
}

/*
 * Two servers, one of them a closed port: namespaces on the dead one are
 * bypassed, the rest cached; a namespace and its values share a server, so
 * the share bypassed is the dead server's share of namespaces, nothing
 * more.
 */
static void
test_one_of_two_servers_down(void)
{
	struct conf two = conf;
	struct cache_shared *shared;
	struct cache_sync *sync;
	struct cache c;
	struct cache_entry e;
	char params[64], ns[64];
	int i, bypass = 0, cached = 0, on_dead = 0;
	uint32_t dead = 0;

	CU_ASSERT_FATAL(strlen(conf.cache_servers) + 13 <
	    sizeof(two.cache_servers));
	strcat(two.cache_servers, ",127.0.0.1:1");
	CU_ASSERT_FATAL((shared = cache_shared_create(&two)) != NULL);
	CU_ASSERT_FATAL((sync = cache_sync_new(&two, shared,
	    metrics_local())) != NULL);
	CU_ASSERT_FATAL(cache_open(&c, &two, shared, metrics_local()) == 0);
	CU_ASSERT_EQUAL(cache_sync_round(sync), 0);
	for (i = 0; i < (int)c.nservers; i++)
		if (strcmp(c.server_names[i], "127.0.0.1:1") == 0)
			dead = (uint32_t)i;
	for (i = 0; i < 40; i++) {
		snprintf(ns, sizeof(ns), "g:c:itest-two-%d", i);
		snprintf(params, sizeof(params), "itest:two:%d", i);
		if (cache_server_of(&c, ns, strlen(ns)) == dead)
			on_dead++;
		cache_lookup(&c, ns, params, &e);
		if (e.status == CACHE_BYPASS)
			bypass++;
		else if (e.status == CACHE_MISS) {
			cache_store(&c, &e, "x", 1);
			cached++;
		} else if (e.status == CACHE_HIT)
			cached++;	/* a run before this one stored it */
		cache_entry_free(&e);
	}
	/* ketama spreads 40 namespaces over both servers */
	CU_ASSERT(on_dead > 0 && on_dead < 40);
	CU_ASSERT_EQUAL(bypass, on_dead);
	CU_ASSERT_EQUAL(bypass + cached, 40);
	cache_close(&c);
	cache_sync_free(sync);
}

/* localhost, 127.0.0.1 and " 127.0.0.1 " name one server: the same
 * canonical list and hash (hence the same ketama points) everywhere. */
static void
test_canonical_server_names(void)
{
	struct conf a = conf, b = conf;
	struct cache ca, cb;
	const char *colon = strrchr(conf.cache_servers, ':');
	struct cache_shared *shared = cache_shared_create(&conf);

	CU_ASSERT_FATAL(colon != NULL && shared != NULL);
	snprintf(a.cache_servers, sizeof(a.cache_servers),
	    "localhost:%s,127.0.0.1:%s", colon + 1, colon + 1);
	snprintf(b.cache_servers, sizeof(b.cache_servers), " 127.0.0.1:%s ",
	    colon + 1);
	CU_ASSERT_FATAL(cache_open(&ca, &a, shared, metrics_local()) == 0);
	CU_ASSERT_FATAL(cache_open(&cb, &b, shared, metrics_local()) == 0);
	CU_ASSERT_EQUAL(ca.nservers, 1);
	CU_ASSERT_STRING_EQUAL(ca.list, cb.list);
	CU_ASSERT_STRING_EQUAL(ca.list_hash, cb.list_hash);
	CU_ASSERT_EQUAL(ca.state_of[0], cb.state_of[0]);
	cache_close(&ca);
	cache_close(&cb);
}

static const struct cunit_test tests[] = {
	{ "canonical server names: one server however spelled",
	    test_canonical_server_names },
	{ "one of two servers down: its namespaces bypass, the rest cache",
	    test_one_of_two_servers_down },
	{ "late store after a bump is never a hit", test_late_store_after_bump },
	{ "evicted generation is recreated, never reused",
	    test_evicted_generation },
	{ "store, hit from host memory, bump, miss",
	    test_store_then_hit_then_bump },
	{ "a second loader waits, then hits", test_concurrent_loader_waits },
	{ "another host applies the log; a host behind the bound bypasses",
	    test_other_host_applies_the_log },
	{ "a writer that dies after COMMIT: the pollers deliver",
	    test_died_after_commit },
	{ "a log id that commits late is applied when it commits",
	    test_gap_applied_when_committed },
	{ "a lost bump is redelivered before the server is read again",
	    test_lost_bump_is_redelivered },
	{ "a failure during the probe window is kept, then redelivered",
	    test_probe_window_keeps_a_failure },
};

int
main(int argc, char **argv)
{
	char err[CONF_ERR_MAX];

	if (argc != 3) {
		fprintf(stderr, "usage: %s CATALOG_CONF MEMCACHED_PID\n", argv[0]);
		return 64;
	}
	if (conf_load(argv[1], &conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 78;
	}
	memcached_pid = (pid_t)atoi(argv[2]);
	log_init("test-cache-interleave");
	log_set_level((enum log_level)log_level_parse(conf.log_level));
	return cunit_run("cache interleavings", tests, ARRAY_SIZE(tests));
}

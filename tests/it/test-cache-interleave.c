/*
 * test-cache-interleave.c: the cache's invalidation rule (common/cache.h)
 * proved step by step against the fixture's real memcached and MariaDB.
 *
 * Usage: test-cache-interleave CATALOG_CONF MEMCACHED_PID
 *
 * Each test plays a reader and a writer by hand in the order that breaks
 * naive cache-aside: the reader misses and reads the old row, the writer
 * commits and invalidates, then the reader stores what it read.  A third
 * party must never get that late store as a hit.  The tests use their own
 * parameter strings ("itest:...") so they never disturb the app's entries,
 * and restore every row they change.
 */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "conf.h"
#include "core_sql.h"
#include "db.h"
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

struct side {
	struct cache		 cache;
	struct db		 db;
	struct cache_shared	*shared;
};

static void
side_open(struct side *s, struct cache_shared *shared)
{
	s->shared = shared != NULL ? shared : cache_shared_create();
	CU_ASSERT_FATAL(s->shared != NULL);
	CU_ASSERT_FATAL(cache_open(&s->cache, &conf, s->shared,
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

static void
change_price(struct side *s, int64_t id, int64_t delta)
{
	struct db_val args[2] = { db_i64(delta), db_i64(id) };
	uint64_t n = 0;

	CU_ASSERT_FATAL(db_exec(&s->db, STMT_BUMP_PRICE, args, 2, &n, NULL) ==
	    DB_OK);
	CU_ASSERT_EQUAL(n, 1);
}

/* Reader misses and holds the load lock for a fresh key. */
static void
reader_miss(struct side *r, const char *ns, const char *params,
    struct cache_entry *e)
{
	const char *const one[] = { ns };

	cache_bump(&r->cache, one, 1);	/* start from a fresh generation */
	cache_lookup(&r->cache, ns, params, e);
	CU_ASSERT_EQUAL_FATAL(e->status, CACHE_MISS);
	CU_ASSERT_FATAL(e->locked);
}

static void
test_late_store_after_bump(void)
{
	const char *ns = "g:p:2";
	const char *const bump[] = { ns };
	struct side reader, writer, third;
	struct cache_entry e, seen;
	char body[64];
	int64_t old;

	side_open(&reader, NULL);
	side_open(&writer, NULL);
	side_open(&third, NULL);
	reader_miss(&reader, ns, "itest:late:2", &e);
	old = read_price(&reader, 2);			/* old row */
	change_price(&writer, 2, 1);			/* commit */
	CU_ASSERT_EQUAL(cache_bump(&writer.cache, bump, 1), 0);
	snprintf(body, sizeof(body), "price=%" PRId64, old);
	cache_store(&reader.cache, &e, body, strlen(body));	/* late store */
	cache_lookup(&third.cache, ns, "itest:late:2", &seen);
	CU_ASSERT_EQUAL(seen.status, CACHE_MISS);
	if (seen.status == CACHE_HIT)
		fprintf(stderr, "stale hit: %.*s\n", (int)seen.body_len,
		    seen.body);
	CU_ASSERT_EQUAL(read_price(&third, 2), old + 1);
	cache_unlock(&third.cache, &seen);
	cache_entry_free(&seen);
	cache_entry_free(&e);
	change_price(&writer, 2, -1);
	side_close(&reader);
	side_close(&writer);
	side_close(&third);
}

static void
test_evicted_generation(void)
{
	const char *ns = "g:p:3";
	const char *const bump[] = { ns };
	struct side reader, writer, third;
	struct cache_entry e, seen;

	side_open(&reader, NULL);
	side_open(&writer, NULL);
	side_open(&third, NULL);
	reader_miss(&reader, ns, "itest:evict:3", &e);
	(void)read_price(&reader, 3);
	/* the generation is evicted before the writer bumps it */
	memcached_delete(writer.cache.mc, ns, strlen(ns), 0);
	change_price(&writer, 3, 1);
	CU_ASSERT_EQUAL(cache_bump(&writer.cache, bump, 1), 0);
	cache_store(&reader.cache, &e, "old", 3);
	cache_lookup(&third.cache, ns, "itest:evict:3", &seen);
	CU_ASSERT_EQUAL(seen.status, CACHE_MISS);
	cache_unlock(&third.cache, &seen);
	cache_entry_free(&seen);
	cache_entry_free(&e);
	change_price(&writer, 3, -1);
	side_close(&reader);
	side_close(&writer);
	side_close(&third);
}

static void
test_store_then_hit_then_bump(void)
{
	const char *ns = "g:c:itest";
	const char *const bump[] = { ns };
	struct side s;
	struct cache_entry e;

	side_open(&s, NULL);
	reader_miss(&s, ns, "itest:list", &e);
	cache_store(&s.cache, &e, "v1", 2);
	cache_entry_free(&e);
	cache_lookup(&s.cache, ns, "itest:list", &e);
	CU_ASSERT_EQUAL(e.status, CACHE_HIT);
	CU_ASSERT(e.body_len == 2 && memcmp(e.body, "v1", 2) == 0);
	cache_entry_free(&e);
	CU_ASSERT_EQUAL(cache_bump(&s.cache, bump, 1), 0);
	cache_lookup(&s.cache, ns, "itest:list", &e);
	CU_ASSERT_EQUAL(e.status, CACHE_MISS);
	cache_unlock(&s.cache, &e);
	cache_entry_free(&e);
	side_close(&s);
}

static void
test_concurrent_loader_waits(void)
{
	const char *ns = "g:c:itest-wait";
	struct side a, b;
	struct cache_entry ea, eb;

	side_open(&a, NULL);
	side_open(&b, NULL);
	b.cache.load_wait_ms = 50;
	reader_miss(&a, ns, "itest:wait", &ea);
	cache_lookup(&b.cache, ns, "itest:wait", &eb);	/* waits, gives up */
	CU_ASSERT_EQUAL(eb.status, CACHE_MISS);
	CU_ASSERT_FALSE(eb.locked);
	cache_entry_free(&eb);
	cache_store(&a.cache, &ea, "loaded", 6);
	cache_entry_free(&ea);
	cache_lookup(&b.cache, ns, "itest:wait", &eb);
	CU_ASSERT_EQUAL(eb.status, CACHE_HIT);
	cache_entry_free(&eb);
	side_close(&a);
	side_close(&b);
}

/*
 * A bump that cannot reach memcached (frozen with SIGSTOP) must not leave
 * the old entry readable once memcached answers again: the host-wide block
 * makes every reader bypass, and the first probe flushes the server.
 */
static void
test_lost_bump_is_flushed(void)
{
	const char *ns = "g:p:4";
	const char *const bump[] = { ns };
	struct cache_shared *shared = cache_shared_create();
	struct side reader, writer;
	struct cache_entry e;

	side_open(&reader, shared);
	side_open(&writer, shared);
	reader_miss(&reader, ns, "itest:lost:4", &e);
	cache_store(&reader.cache, &e, "old", 3);
	cache_entry_free(&e);
	CU_ASSERT_FATAL(kill(memcached_pid, SIGSTOP) == 0);
	change_price(&writer, 4, 1);
	CU_ASSERT_EQUAL(cache_bump(&writer.cache, bump, 1), -1);	/* lost */
	kill(memcached_pid, SIGCONT);
	cache_lookup(&reader.cache, ns, "itest:lost:4", &e);
	CU_ASSERT_EQUAL(e.status, CACHE_BYPASS);	/* breaker open */
	cache_entry_free(&e);
	usleep((conf.cache_retry_seconds * 1000 + 200) * 1000);
	cache_lookup(&reader.cache, ns, "itest:lost:4", &e);
	CU_ASSERT_EQUAL(e.status, CACHE_MISS);	/* flushed, not "old" */
	cache_unlock(&reader.cache, &e);
	cache_entry_free(&e);
	change_price(&writer, 4, -1);
	side_close(&reader);
	side_close(&writer);
}

/*
 * Two servers, one of them a closed port: keys on the dead one are
 * bypassed (answered from the database by the app), keys on the live one
 * are cached as usual, and nothing fails.
 */
static void
test_one_of_two_servers_down(void)
{
	struct conf two = conf;
	struct cache c;
	struct cache_entry e;
	char params[64], ns[64];
	int i, bypass = 0, cached = 0;

	CU_ASSERT_FATAL(strlen(conf.cache_servers) + 13 <
	    sizeof(two.cache_servers));
	strcat(two.cache_servers, ",127.0.0.1:1");
	CU_ASSERT_FATAL(cache_open(&c, &two, cache_shared_create(),
	    metrics_local()) == 0);
	for (i = 0; i < 40; i++) {
		snprintf(ns, sizeof(ns), "g:c:itest-two-%d", i);
		snprintf(params, sizeof(params), "itest:two:%d", i);
		cache_lookup(&c, ns, params, &e);
		if (e.status == CACHE_BYPASS)
			bypass++;
		else if (e.status == CACHE_MISS) {
			cache_store(&c, &e, "x", 1);
			cached++;
		}
		cache_entry_free(&e);
	}
	/* ketama spreads 40 namespaces over both servers */
	CU_ASSERT(bypass > 0);
	CU_ASSERT(cached > 0);
	CU_ASSERT_EQUAL(bypass + cached, 40);
	cache_close(&c);
}

static const struct cunit_test tests[] = {
	{ "one of two servers down: its keys bypass, the rest cache",
	    test_one_of_two_servers_down },
	{ "late store after a bump is never a hit", test_late_store_after_bump },
	{ "evicted generation is recreated, never reused",
	    test_evicted_generation },
	{ "store, hit, bump, miss", test_store_then_hit_then_bump },
	{ "a second loader waits, then hits", test_concurrent_loader_waits },
	{ "a lost bump flushes the server before it is read again",
	    test_lost_bump_is_flushed },
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
	return cunit_run("cache interleavings", tests, ARRAY_SIZE(tests));
}

/*
 * order-ref.c: the reference for scripts/bench-orders.  It runs the
 * transaction of POST /api/orders itself (orders_place() of app/orders.c,
 * inside db_tx(), the app's own code and retry rule) straight against
 * MariaDB, with no HTTP, FastCGI, JSON or cache in the way: THREADS client
 * threads, one connection each (like the app's worker threads), each in a
 * closed loop for SECONDS, each order 1..3 random products out of
 * 1..PRODUCTS with quantities 1..3 (as scripts/bench-orders.lua asks for
 * them).  The unit ends, as the route's does, with the cache invalidation
 * log row (orders_log()).  The wrk script sends no Idempotency-Key, so
 * neither does this (no idempotency row): what the route adds to the unit
 * is that row and the rendering of its answer.
 *
 * Usage: order-ref CONFIG THREADS SECONDS PRODUCTS
 * Prints one line: orders/s p50_ms p99_ms orders failed
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_sql.h"
#include "cache.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "orders.h"
#include "util.h"

#define REF_THREADS_MAX	256
#define REF_LAT_MAX	(1u << 20)	/* latencies kept per thread */

struct ref_thread {
	pthread_t	 tid;
	struct conf	*conf;
	unsigned	 seed;
	uint64_t	 deadline_us;
	int64_t		 products;
	uint32_t	*lat_us;
	size_t		 n;
	uint64_t	 failed;
};

struct ref_order {
	struct order	*o;
	unsigned	 max_attempts;
};

/* The route's unit without its Idempotency-Key record (the invalidation
 * list is 12 KiB: one per thread, not on the stack). */
static int
ref_order_tx(struct db *db, void *arg)
{
	static __thread struct cache_invalidation inv;
	struct ref_order *r = arg;
	int rc;

	if ((rc = orders_place(db, r->o, r->max_attempts)) != DB_OK)
		return rc;
	return orders_log(db, r->o, &inv);
}

/* 1..3 products, 1..3 each, repeated products merged, sorted by id (what
 * orders_parse() makes of a body). */
static void
ref_pick(struct ref_thread *t, struct order *o, uint64_t count)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	for (i = 1 + (size_t)(rand_r(&t->seed) % 3); i > 0; i--) {
		int64_t p = 1 + rand_r(&t->seed) % t->products;

		/* at most 9 of one product: never over the limit */
		(void)orders_add_line(o, p, 1 + rand_r(&t->seed) % 3);
	}
	orders_sort_lines(o);
	snprintf(o->email, sizeof(o->email), "benchref%" PRIu64 "@example.com",
	    count);
}

static void *
ref_run(void *arg)
{
	struct ref_thread *t = arg;
	struct ref_order r;
	struct order *o;
	struct db db;
	uint64_t t0, count = 0;

	mysql_thread_init();
	db_init(&db, t->conf, &app_statements);
	if ((o = malloc(sizeof(*o))) == NULL)
		t->deadline_us = 0;
	r.o = o;
	r.max_attempts = t->conf->runner_max_attempts;
	while ((t0 = util_monotonic_us()) < t->deadline_us) {
		ref_pick(t, o, ++count);
		if (db_tx(&db, "order", ref_order_tx, &r) != DB_OK) {
			t->failed++;
			continue;
		}
		if (t->n < REF_LAT_MAX)
			t->lat_us[t->n++] = (uint32_t)(util_monotonic_us() - t0);
	}
	free(o);
	db_close(&db);
	mysql_thread_end();
	return NULL;
}

static int
ref_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static struct ref_thread th[REF_THREADS_MAX];
	static struct conf conf;
	char err[256];
	uint32_t *all;
	uint64_t start, failed = 0;
	size_t total = 0, k;
	long threads, seconds, products;
	int i;

	if (argc != 5 || (threads = atol(argv[2])) < 1 ||
	    threads > REF_THREADS_MAX || (seconds = atol(argv[3])) < 1 ||
	    (products = atol(argv[4])) < 1) {
		fprintf(stderr, "usage: order-ref CONFIG THREADS SECONDS "
		    "PRODUCTS\n");
		return 64;
	}
	log_init("order-ref");
	if (conf_load(argv[1], &conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "order-ref: %s\n", err);
		return 78;
	}
	if (mysql_library_init(0, NULL, NULL) != 0)
		return 1;
	start = util_monotonic_us();
	for (i = 0; i < threads; i++) {
		th[i].conf = &conf;
		th[i].seed = (unsigned)(start ^ ((uint64_t)i * 2654435761u));
		th[i].deadline_us = start + (uint64_t)seconds * 1000000;
		th[i].products = products;
		if ((th[i].lat_us = malloc(REF_LAT_MAX * sizeof(uint32_t))) ==
		    NULL || pthread_create(&th[i].tid, NULL, ref_run, &th[i]) !=
		    0) {
			fprintf(stderr, "order-ref: cannot start thread\n");
			return 1;
		}
	}
	for (i = 0; i < threads; i++) {
		pthread_join(th[i].tid, NULL);
		total += th[i].n;
		failed += th[i].failed;
	}
	if ((all = malloc((total + 1) * sizeof(*all))) == NULL)
		return 1;
	for (k = 0, i = 0; i < threads; i++) {
		memcpy(all + k, th[i].lat_us, th[i].n * sizeof(*all));
		k += th[i].n;
		free(th[i].lat_us);
	}
	qsort(all, total, sizeof(*all), ref_u32_cmp);
	printf("%.0f %.2f %.2f %zu %" PRIu64 "\n",
	    (double)total / (double)(util_monotonic_us() - start) * 1e6,
	    total ? all[total / 2] / 1000.0 : 0.0,
	    total ? all[(size_t)((double)total * 0.99)] / 1000.0 : 0.0,
	    total, failed);
	free(all);
	mysql_library_end();
	return failed > total / 100 ? 1 : 0;
}

/*
 * order-ref.c: the reference for scripts/bench-orders.  It issues the
 * transaction of POST /api/orders (app/orders.c) straight to MariaDB
 * through common/db.c, with no HTTP, FastCGI, JSON or cache in the way:
 * THREADS client threads, one connection each (like the app's worker
 * threads), each in a closed loop for SECONDS, each order 1..3 random
 * products out of 1..PRODUCTS with quantities 1..3 (as
 * scripts/bench-orders.lua asks for them).
 *
 * One order, the same statements in the same order as the app:
 *   START TRANSACTION
 *   SELECT ... FROM products WHERE id = ? FOR UPDATE    each product, by id
 *   UPDATE products SET stock = stock - ? WHERE id = ?   each product
 *   INSERT INTO orders ...
 *   INSERT INTO order_items ...                          each product
 *   INSERT INTO jobs ...                                 the confirmation job
 *   SELECT slug FROM categories WHERE id = ?             each distinct category
 *   COMMIT
 * A deadlock or lock wait timeout reruns the whole unit (up to 3 tries,
 * as the app does).  The wrk script sends no Idempotency-Key, so neither
 * does this (no idempotency row).
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

#include "conf.h"
#include "app_sql.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define REF_THREADS_MAX	256
#define REF_LAT_MAX	(1u << 20)	/* latencies kept per thread */
#define REF_TRIES	3

/* The statements of app/orders.c, by the same ids (app_sql.h). */

struct ref_line {
	int64_t	product_id;
	int64_t	quantity;
	int64_t	price;
	int64_t	category_id;
	char	sku[65];
	char	name[801];
};

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

static int
ref_line_cmp(const void *a, const void *b)
{
	const struct ref_line *x = a, *y = b;

	return x->product_id < y->product_id ? -1 :
	    x->product_id > y->product_id;
}

/* One attempt: DB_OK committed, DB_ERR rolled back. */
static int
ref_order(struct db *db, struct ref_line *l, size_t n, const char *email,
    unsigned max_attempts)
{
	struct db_val a[6], cols[6];
	char payload[64], key[64], slug[65];
	uint64_t id = 0;
	int64_t total = 0;
	size_t i, j;

	if (db_begin(db) != DB_OK)
		return DB_ERR;
	for (i = 0; i < n; i++) {
		a[0] = db_i64(l[i].product_id);
		cols[0] = db_out_i64();
		cols[1] = db_out_str(l[i].sku, sizeof(l[i].sku));
		cols[2] = db_out_str(l[i].name, sizeof(l[i].name));
		cols[3] = db_out_i64();
		cols[4] = db_out_i64();
		cols[5] = db_out_i64();
		if (db_query_row(db, STMT_ORDER_LOCK_PRODUCT, a, 1, cols,
		    6) != 1)
			goto fail;
		l[i].price = cols[3].i;
		l[i].category_id = cols[5].i;
		if (cols[4].i < l[i].quantity)
			goto fail;
		total += l[i].price * l[i].quantity;
	}
	for (i = 0; i < n; i++) {
		a[0] = db_i64(l[i].quantity);
		a[1] = db_i64(l[i].product_id);
		if (db_exec(db, STMT_ORDER_TAKE_STOCK, a, 2, NULL,
		    NULL) != DB_OK)
			goto fail;
	}
	a[0] = db_cstr(email);
	a[1] = db_i64(total);
	if (db_exec(db, STMT_ORDER_INSERT_ORDER, a, 2, NULL, &id) != DB_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		a[0] = db_i64((int64_t)id);
		a[1] = db_i64(l[i].product_id);
		a[2] = db_cstr(l[i].sku);
		a[3] = db_cstr(l[i].name);
		a[4] = db_i64(l[i].quantity);
		a[5] = db_i64(l[i].price);
		if (db_exec(db, STMT_ORDER_INSERT_ITEM, a, 6, NULL,
		    NULL) != DB_OK)
			goto fail;
	}
	snprintf(payload, sizeof(payload), "{\"order_id\":%" PRIu64 "}", id);
	snprintf(key, sizeof(key), "order-confirmation-%" PRIu64, id);
	a[0] = db_cstr(payload);
	a[1] = db_cstr(key);
	a[2] = db_i64(max_attempts);
	if (db_exec(db, STMT_ORDER_INSERT_JOB, a, 3, NULL, NULL) != DB_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (l[j].category_id == l[i].category_id)
				break;
		if (j < i)
			continue;
		a[0] = db_i64(l[i].category_id);
		cols[0] = db_out_str(slug, sizeof(slug));
		if (db_query_row(db, STMT_CATEGORY_SLUG_BY_ID, a, 1, cols,
		    1) < 0)
			goto fail;
	}
	if (db_commit(db) == DB_OK)
		return DB_OK;
fail:
	db_rollback(db);
	return DB_ERR;
}

static void *
ref_run(void *arg)
{
	struct ref_thread *t = arg;
	struct ref_line l[3];
	struct db db;
	char email[64];
	uint64_t t0, count = 0;
	size_t i, j, n;
	int try, rc;

	mysql_thread_init();
	db_init(&db, t->conf, &app_statements);
	while ((t0 = util_monotonic_us()) < t->deadline_us) {
		/* 1..3 products, 1..3 each, repeated products merged */
		n = 0;
		for (i = 1 + (size_t)(rand_r(&t->seed) % 3); i > 0; i--) {
			int64_t p = 1 + rand_r(&t->seed) % t->products;
			int64_t q = 1 + rand_r(&t->seed) % 3;

			for (j = 0; j < n && l[j].product_id != p; j++)
				;
			if (j < n) {
				l[j].quantity += q;
				continue;
			}
			memset(&l[n], 0, sizeof(l[n]));
			l[n].product_id = p;
			l[n].quantity = q;
			n++;
		}
		qsort(l, n, sizeof(l[0]), ref_line_cmp);
		snprintf(email, sizeof(email), "benchref%" PRIu64 "@example.com",
		    ++count);
		for (try = 1; try <= REF_TRIES; try++) {
			rc = ref_order(&db, l, n, email,
			    t->conf->runner_max_attempts);
			if (rc == DB_OK || (db_errno(&db) != 1213 &&
			    db_errno(&db) != 1205))
				break;
		}
		if (rc != DB_OK) {
			t->failed++;
			continue;
		}
		if (t->n < REF_LAT_MAX)
			t->lat_us[t->n++] = (uint32_t)(util_monotonic_us() - t0);
	}
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

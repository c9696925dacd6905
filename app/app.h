/*
 * app.h: the per-worker context every handler receives, and the route
 * table's handler type.
 *
 * A worker owns one database connection and one memcached handle for its
 * whole life; both reconnect by themselves (db.h, cache.h).  The metrics
 * and cache_shared blocks are shared by every worker of the master.
 */
#ifndef APP_APP_H
#define APP_APP_H

#include <stdint.h>

#include "cache.h"
#include "conf.h"
#include "db.h"
#include "http.h"
#include "app_metrics.h"

struct app {
	const struct conf	*conf;
	struct db		 db;
	struct cache		 cache;
	struct app_metrics	*metrics;
	struct cache_shared	*cache_shared;
	unsigned		 worker;	/* 0..app.workers-1 */
};

typedef void (*app_handler)(struct app *, struct request *,
    struct response *, uint64_t id);

/* router.c */
void router_dispatch(struct app *app, struct request *req,
    struct response *res);

/* health.c */
void health_get(struct app *, struct request *, struct response *, uint64_t);

/* Handlers of the catalog, orders and admin routes. */
void catalog_categories(struct app *, struct request *, struct response *,
    uint64_t);
void catalog_category(struct app *, struct request *, struct response *,
    uint64_t);
void catalog_products(struct app *, struct request *, struct response *,
    uint64_t);
void catalog_product(struct app *, struct request *, struct response *,
    uint64_t);
void metrics_page(struct app *, struct request *, struct response *, uint64_t);
/* openapi.c */
void openapi_get(struct app *, struct request *, struct response *, uint64_t);
/* orders.c */
void orders_create(struct app *, struct request *, struct response *,
    uint64_t);
void orders_get(struct app *, struct request *, struct response *, uint64_t);
/* admin.c */
void admin_product_create(struct app *, struct request *, struct response *,
    uint64_t);
void admin_product_update(struct app *, struct request *, struct response *,
    uint64_t);
void admin_product_delete(struct app *, struct request *, struct response *,
    uint64_t);
/* admin_jobs.c */
void admin_jobs_list(struct app *, struct request *, struct response *,
    uint64_t);
void admin_jobs_get(struct app *, struct request *, struct response *,
    uint64_t);
void admin_jobs_replay(struct app *, struct request *, struct response *,
    uint64_t);
void admin_stats_get(struct app *, struct request *, struct response *,
    uint64_t);
/* admin_category.c */
void admin_category_create(struct app *, struct request *, struct response *,
    uint64_t);
void admin_category_update(struct app *, struct request *, struct response *,
    uint64_t);
void admin_category_delete(struct app *, struct request *, struct response *,
    uint64_t);

/* worker.c */
int worker_main(const struct conf *conf, int listen_fd, unsigned index,
    struct app_metrics *metrics, struct cache_shared *shared);

#endif

/*
 * app_metrics.h: catalog-fcgi's counters: the core's (struct metrics:
 * cache, database) and the app's own (requests by route and status class,
 * their durations, worker restarts, orders).  One block, mapped shared by
 * the master before it forks (metrics.h says how counters are kept);
 * GET /metrics (metrics_page.c) exposes it.
 */
#ifndef APP_APP_METRICS_H
#define APP_APP_METRICS_H

#include <stdint.h>

#include "metrics.h"

/* The route label of catalog_http_requests_total (router.c sets it). */
enum metrics_route {
	METRICS_ROUTE_HEALTHZ = 0,
	METRICS_ROUTE_CATEGORIES,
	METRICS_ROUTE_PRODUCTS,
	METRICS_ROUTE_PRODUCT,
	METRICS_ROUTE_ORDERS,
	METRICS_ROUTE_ORDER,
	METRICS_ROUTE_ADMIN_PRODUCTS,
	METRICS_ROUTE_CATEGORY,
	METRICS_ROUTE_ADMIN_CATEGORIES,
	METRICS_ROUTE_METRICS,
	METRICS_ROUTE_OPENAPI,
	METRICS_ROUTE_ADMIN_JOBS,
	METRICS_ROUTE_OTHER,
	METRICS_ROUTES
};

/* status classes 1xx..5xx */
#define METRICS_STATUS_CLASSES 5
/* request duration histogram upper bounds, seconds */
#define METRICS_BUCKETS 12

struct app_metrics {
	struct metrics	core;		/* counted by common/ (cache, db) */
	uint64_t	http_requests[METRICS_ROUTES][METRICS_STATUS_CLASSES];
	uint64_t	http_duration_bucket[METRICS_BUCKETS];	/* cumulative at read */
	uint64_t	http_duration_count;
	uint64_t	http_duration_sum_us;
	uint64_t	worker_restarts;
	uint64_t	orders_created;
};

extern const double app_metrics_bucket_bounds[METRICS_BUCKETS];

/* Maps the shared block (before fork).  NULL on failure. */
struct app_metrics *app_metrics_create(void);

/* Counts one answered request. */
void app_metrics_observe(struct app_metrics *m, enum metrics_route route,
    int status, uint64_t duration_us);

#endif

/*
 * app_metrics.c: catalog-fcgi's counter block; see app_metrics.h.
 */
#include "config.h"

#include "app_metrics.h"

const double app_metrics_bucket_bounds[METRICS_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5
};

struct app_metrics *
app_metrics_create(void)
{
	return metrics_map_shared(sizeof(struct app_metrics));
}

void
app_metrics_observe(struct app_metrics *m, enum metrics_route route,
    int status, uint64_t duration_us)
{
	double seconds = (double)duration_us / 1e6;
	int cls = status / 100 - 1;
	size_t i;

	if (cls < 0 || cls >= METRICS_STATUS_CLASSES)
		cls = METRICS_STATUS_CLASSES - 1;
	if ((unsigned)route >= METRICS_ROUTES)
		route = METRICS_ROUTE_OTHER;
	metrics_add(&m->http_requests[route][cls], 1);
	/* stored per bucket, made cumulative at exposition time */
	for (i = 0; i < METRICS_BUCKETS; i++)
		if (seconds <= app_metrics_bucket_bounds[i]) {
			metrics_add(&m->http_duration_bucket[i], 1);
			break;
		}
	metrics_add(&m->http_duration_count, 1);
	metrics_add(&m->http_duration_sum_us, duration_us);
}

/*
 * admin_jobs.c: the job queue over HTTP, for operators and the dashboard
 * (GET /admin/, served by nginx): GET /api/admin/jobs, GET
 * /api/admin/jobs/{id}, POST /api/admin/jobs/{id}/replay and GET
 * /api/admin/stats.  The router has already checked the bearer token.
 *
 * Everything here goes through queue.h (queue_admin.c), the one owner of
 * the jobs and dead_letter_jobs tables, so a replay from this page is the
 * very transaction `job-runner dead replay ID` runs.  Answers are never
 * cached (Cache-Control: no-store): they are the queue as it is now.
 *
 * The cache counters in /api/admin/stats are this host's (the master's
 * shared block every worker adds to, the same numbers as /metrics): a
 * dashboard behind several app hosts shows the host that answered.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "app.h"
#include "params.h"
#include "queue.h"
#include "util.h"

static void
admin_jobs_json_ok(struct response *res)
{
	res->status = 200;
	res->content_type = "application/json";
	http_header(res, "Cache-Control", "no-store");
}

static void
admin_jobs_unavailable(struct response *res)
{
	buf_reset(&res->body);
	http_problem(res, 503, "database unavailable, try again");
}

/* The members every job shows, without the closing brace. */
static void
admin_jobs_row_json(struct buf *b, const struct queue_job_row *j)
{
	buf_printf(b, "{\"id\":%" PRId64 ",\"type\":", j->id);
	buf_json_string(b, j->type, strlen(j->type));
	buf_puts(b, ",\"status\":");
	buf_json_string(b, j->status, strlen(j->status));
	buf_printf(b, ",\"attempts\":%" PRId64 ",\"max_attempts\":%" PRId64
	    ",\"run_at\":", j->attempts, j->max_attempts);
	buf_json_string(b, j->run_at, strlen(j->run_at));
	buf_puts(b, ",\"last_error\":");
	if (j->last_error_null)
		buf_puts(b, "null");
	else
		buf_json_string(b, j->last_error, j->last_error_len);
	buf_puts(b, ",\"idempotency_key\":");
	buf_json_string(b, j->idempotency_key, strlen(j->idempotency_key));
	buf_puts(b, ",\"updated_at\":");
	buf_json_string(b, j->updated_at, strlen(j->updated_at));
}

/* The payload as the JSON value it holds; as a string when what is stored
 * is not one (cut at QUEUE_SHOW_MAX, or written by hand). */
static void
admin_jobs_payload_json(struct buf *b, const struct queue_job_detail *d)
{
	struct json_tokener *tok;
	json_object *obj = NULL;
	int whole = (int64_t)d->payload_read == d->payload_len;

	if (whole && (tok = json_tokener_new()) != NULL) {
		obj = json_tokener_parse_ex(tok, d->payload,
		    (int)d->payload_read);
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    json_tokener_get_parse_end(tok) != d->payload_read) {
			json_object_put(obj);
			obj = NULL;
		}
		json_tokener_free(tok);
	}
	if (obj != NULL)
		buf_puts(b, json_object_to_json_string_ext(obj,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		buf_json_string(b, d->payload, d->payload_read);
	json_object_put(obj);
}

static void
admin_jobs_detail_json(struct buf *b, const struct queue_job_detail *d)
{
	buf_reset(b);
	admin_jobs_row_json(b, &d->job);
	buf_puts(b, ",\"payload\":");
	admin_jobs_payload_json(b, d);
	if (d->dead_lettered) {
		buf_puts(b, ",\"dead_letter\":{\"failed_at\":");
		buf_json_string(b, d->failed_at, strlen(d->failed_at));
		buf_puts(b, ",\"replayed_at\":");
		if (d->replayed_at[0] == '\0')
			buf_puts(b, "null");
		else
			buf_json_string(b, d->replayed_at,
			    strlen(d->replayed_at));
		buf_puts(b, ",\"last_error\":");
		if (d->dead_error_null)
			buf_puts(b, "null");
		else
			buf_json_string(b, d->dead_error, d->dead_error_len);
		buf_puts(b, "}");
	}
	buf_puts(b, "}");
}

/* --- GET /api/admin/jobs ------------------------------------------------ */

struct admin_jobs_page {
	struct buf	*b;
	int		 first;
};

static int
admin_jobs_item(const struct queue_job_row *j, void *arg)
{
	struct admin_jobs_page *p = arg;

	if (!p->first)
		buf_puts(p->b, ",");
	p->first = 0;
	admin_jobs_row_json(p->b, j);
	buf_puts(p->b, "}");
	return 0;
}

void
admin_jobs_list(struct app *app, struct request *req, struct response *res,
    uint64_t unused)
{
	char detail[160];
	struct job_query q;
	struct queue_job_filter f;
	struct admin_jobs_page page = { &res->body, 1 };
	int64_t total;

	if (params_jobs(req->query, &q, detail, sizeof(detail)) != 0) {
		http_problem(res, 400, detail);
		return;
	}
	f.status = q.status;
	f.type = q.type[0] != '\0' ? q.type : NULL;
	f.key = q.key[0] != '\0' ? q.key : NULL;
	f.page = q.page;
	f.per_page = q.per_page;
	buf_reset(&res->body);
	buf_puts(&res->body, "{\"items\":[");
	if (queue_job_list(&app->db, &f, admin_jobs_item, &page,
	    &total) != DB_OK) {
		admin_jobs_unavailable(res);
		return;
	}
	buf_printf(&res->body, "],\"page\":%" PRIu64 ",\"per_page\":%" PRIu64
	    ",\"total\":%" PRId64 "}", q.page, q.per_page, total);
	admin_jobs_json_ok(res);
}

/* --- GET /api/admin/jobs/{id} ------------------------------------------- */

/* Answers the job (200), 404 or 503. */
static void
admin_jobs_answer(struct app *app, struct response *res, uint64_t id)
{
	struct queue_job_detail d;
	int rc;

	rc = queue_job_get(&app->db, (int64_t)id, &d);
	if (rc == QUEUE_NOT_FOUND) {
		http_problem(res, 404, "no such job");
		return;
	}
	if (rc != DB_OK) {
		admin_jobs_unavailable(res);
		return;
	}
	admin_jobs_detail_json(&res->body, &d);
	queue_job_detail_free(&d);
	admin_jobs_json_ok(res);
}

void
admin_jobs_get(struct app *app, struct request *req, struct response *res,
    uint64_t id)
{
	admin_jobs_answer(app, res, id);
}

/* --- POST /api/admin/jobs/{id}/replay ----------------------------------- */

void
admin_jobs_replay(struct app *app, struct request *req,
    struct response *res, uint64_t id)
{
	int64_t job = (int64_t)id, bad_id = 0;
	struct queue_job_detail d;
	uint64_t replayed;
	int rc;

	rc = queue_replay(&app->db, &job, 1, 0, &replayed, &bad_id);
	if (rc == QUEUE_NOT_FOUND) {
		/* not a dead job: none at all, or one in another state */
		rc = queue_job_get(&app->db, job, &d);
		if (rc == QUEUE_NOT_FOUND)
			http_problem(res, 404, "no such job");
		else if (rc != DB_OK)
			admin_jobs_unavailable(res);
		else {
			queue_job_detail_free(&d);
			http_problem(res, 409, "only a dead job can be replayed");
		}
		return;
	}
	if (rc != DB_OK) {
		admin_jobs_unavailable(res);
		return;
	}
	admin_jobs_answer(app, res, id);
}

/* --- GET /api/admin/stats ----------------------------------------------- */

static void
admin_stats_throughput(struct buf *b,
    const struct queue_minute m[QUEUE_THROUGHPUT_MINUTES])
{
	char minute[32];
	struct tm tm;
	time_t t;
	size_t i;

	buf_puts(b, ",\"throughput\":[");
	for (i = 0; i < QUEUE_THROUGHPUT_MINUTES; i++) {
		t = (time_t)m[i].start;
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(minute, sizeof(minute), "%Y-%m-%dT%H:%M:00Z",
		    &tm) == 0)
			minute[0] = '\0';
		buf_printf(b, "%s{\"minute\":\"%s\",\"done\":%" PRId64
		    ",\"retried\":%" PRId64 ",\"dead\":%" PRId64 "}",
		    i > 0 ? "," : "", minute, m[i].done, m[i].retried,
		    m[i].dead);
	}
	buf_puts(b, "]");
}

void
admin_stats_get(struct app *app, struct request *req, struct response *res,
    uint64_t unused)
{
	struct queue_minute minutes[QUEUE_THROUGHPUT_MINUTES];
	const struct metrics *m = &app->metrics->core;
	struct queue_counts c;
	struct buf *b = &res->body;
	int64_t done;

	if (queue_count(&app->db, &c) != DB_OK ||
	    queue_count_done(&app->db, &done) != DB_OK ||
	    queue_throughput(&app->db, minutes) != DB_OK) {
		admin_jobs_unavailable(res);
		return;
	}
	buf_reset(b);
	buf_printf(b, "{\"jobs\":{\"pending\":%" PRId64 ",\"running\":%"
	    PRId64 ",\"done\":%" PRId64 ",\"dead\":%" PRId64 "},"
	    "\"oldest_due_age_seconds\":%.3f,\"dead_letters\":%" PRId64 ","
	    "\"cache\":{\"hits\":%" PRIu64 ",\"misses\":%" PRIu64
	    ",\"bypass\":%" PRIu64 "}", c.pending, c.running, done, c.dead,
	    (double)c.oldest_due_age_us / 1e6, c.dead_letters_open,
	    metrics_get(&m->cache_requests[METRICS_CACHE_HIT]),
	    metrics_get(&m->cache_requests[METRICS_CACHE_MISS]),
	    metrics_get(&m->cache_requests[METRICS_CACHE_BYPASS]));
	admin_stats_throughput(b, minutes);
	buf_puts(b, "}");
	admin_jobs_json_ok(res);
}

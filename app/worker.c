/*
 * worker.c: one worker process: accept a FastCGI request, route it, send
 * the answer, log one line, count it; repeat until SIGTERM.
 *
 * The worker opens its own database and memcached connections after the
 * fork (sharing sockets across fork would interleave protocols).  SIGTERM
 * sets a flag and asks libfcgi to stop accepting; a request in hand is
 * finished first.  A request never ends the worker: every failure becomes
 * an HTTP answer.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "log.h"
#include "util.h"

static volatile sig_atomic_t worker_stop;

static void
worker_on_term(int sig)
{
	worker_stop = 1;
	FCGX_ShutdownPending();
}

static void
worker_log(const struct request *req, const struct response *res,
    uint64_t us)
{
	char path[300], id[80];

	if (!log_enabled(LOG_INFO))
		return;
	log_msg(LOG_INFO, "event=request request_id=%s method=%s path=%s "
	    "route=%s status=%d cache=%s duration_ms=%.3f",
	    log_quote(id, sizeof(id), req->request_id),
	    req->method_name[0] != '\0' ? req->method_name : "-",
	    log_quote(path, sizeof(path), req->path), req->route, res->status,
	    req->cache_result != NULL ? req->cache_result : "-",
	    (double)us / 1000.0);
}

static void
worker_handle(struct app *app, FCGX_Request *fcgi, struct response *res)
{
	struct request req;
	uint64_t us, db_errors = app->db.errors;

	http_request_init(&req, fcgi);
	http_response_reset(res);
	router_dispatch(app, &req, res);
	if (req.cache_result != NULL)
		http_header(res, "X-Cache", req.cache_result);
	if (http_send(&req, res) != 0)
		log_msg(LOG_WARN, "event=client_gone route=%s", req.route);
	us = util_monotonic_us() - req.started_us;
	if (app->db.errors != db_errors)
		metrics_add(&app->metrics->db_errors, app->db.errors - db_errors);
	metrics_observe_request(app->metrics, router_metric(req.route),
	    res->status, us);
	worker_log(&req, res, us);
	http_request_free(&req);
}

int
worker_main(const struct conf *conf, int listen_fd, unsigned index,
    struct metrics *metrics, struct cache_shared *shared)
{
	struct sigaction sa;
	struct response res;
	FCGX_Request fcgi;
	struct app app;
	char name[32];

	snprintf(name, sizeof(name), "catalog-fcgi[%u]", index);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: accept returns */
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	memset(&app, 0, sizeof(app));
	app.conf = conf;
	app.metrics = metrics;
	app.cache_shared = shared;
	app.worker = index;
	db_init(&app.db, conf);
	if (cache_open(&app.cache, conf, shared, metrics) != 0) {
		log_msg(LOG_ERROR, "event=cache_open_failed worker=%u", index);
		return 1;
	}
	/* connect now so the first request does not pay for it; failure is
	 * fine, db_ensure() retries on every request */
	db_ensure(&app.db);
	http_response_init(&res);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgi, listen_fd, 0) != 0) {
		log_msg(LOG_ERROR, "event=fcgi_init_failed worker=%u", index);
		return 1;
	}
	log_msg(LOG_DEBUG, "event=worker_ready worker=%u pid=%d", index,
	    (int)getpid());
	while (!worker_stop && FCGX_Accept_r(&fcgi) >= 0) {
		worker_handle(&app, &fcgi, &res);
		FCGX_Finish_r(&fcgi);
	}
	FCGX_Free(&fcgi, 1);
	http_response_free(&res);
	cache_close(&app.cache);
	db_close(&app.db);
	return 0;
}

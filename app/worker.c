/*
 * worker.c: one worker process: app.threads threads, each accepting a
 * FastCGI connection, routing its requests, sending the answers, logging
 * one line and counting each; repeat until SIGTERM.
 *
 * Why threads: libfcgi serves one connection at a time per FCGX_Request and
 * blocks on a kept-alive connection until nginx sends its next request.
 * With one loop per process, every idle connection in nginx's keepalive
 * cache parks a whole worker, and new connections queue behind them (we
 * measured p99 near a second).  With several loops per process a parked
 * loop costs one thread; the rule becomes: nginx keepalive x nginx workers
 * below app.workers x app.threads.
 *
 * Each thread opens its own database and memcached connections after the
 * fork.  SIGTERM (taken by the main thread with sigwait) stops accepting;
 * a request in hand is finished first.  A request never ends the worker:
 * every failure becomes an HTTP answer.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "app_sql.h"
#include "log.h"
#include "master.h"
#include "util.h"

/* Set by the main thread (after sigwait, not in a handler), read by every
 * accept loop: an atomic, not a volatile (ThreadSanitizer found the race). */
static int worker_stop;

static int
worker_stopping(void)
{
	return __atomic_load_n(&worker_stop, __ATOMIC_SEQ_CST);
}

struct worker_thread {
	pthread_t	 tid;
	struct app	 app;
	struct response	 res;
	FCGX_Request	 fcgi;
	int		 busy;	/* inside a request: never interrupted */
	int		 done;
};

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
		metrics_add(&app->metrics->core.db_errors,
		    app->db.errors - db_errors);
	app_metrics_observe(app->metrics, req.metric,
	    res->status, us);
	worker_log(&req, res, us);
	http_request_free(&req);
}

/*
 * One accept loop.  Each thread owns its database connection, memcached
 * handle and response buffer; only the shared counters and the breaker
 * block (atomics) are touched by several threads.
 */
static void *
worker_thread_main(void *arg)
{
	struct worker_thread *t = arg;

	mysql_thread_init();
	/* connect now so the first request does not pay for it; failure is
	 * fine, db_ensure() retries on every request */
	db_ensure(&t->app.db);
	while (!worker_stopping()) {
		if (FCGX_Accept_r(&t->fcgi) < 0) {
			if (worker_stopping())
				break;
			usleep(10000);	/* accept failed: do not spin */
			continue;
		}
		__atomic_store_n(&t->busy, 1, __ATOMIC_SEQ_CST);
		worker_handle(&t->app, &t->fcgi, &t->res);
		FCGX_Finish_r(&t->fcgi);
		__atomic_store_n(&t->busy, 0, __ATOMIC_SEQ_CST);
	}
	mysql_thread_end();
	__atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void
worker_wake(int sig)
{
	/* interrupts accept(2) or a read on an idle kept connection */
}

static int
worker_thread_init(struct worker_thread *t, const struct conf *conf,
    int listen_fd, unsigned index, struct app_metrics *metrics,
    struct cache_shared *shared)
{
	memset(t, 0, sizeof(*t));
	t->app.conf = conf;
	t->app.metrics = metrics;
	t->app.cache_shared = shared;
	t->app.worker = index;
	db_init(&t->app.db, conf, &app_statements);
	http_response_init(&t->res);
	if (cache_open(&t->app.cache, conf, shared, &metrics->core) != 0)
		return -1;
	return FCGX_InitRequest(&t->fcgi, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
}

static void
worker_thread_free(struct worker_thread *t)
{
	FCGX_Free(&t->fcgi, 1);
	http_response_free(&t->res);
	cache_close(&t->app.cache);
	db_close(&t->app.db);
}

/*
 * Waits for SIGTERM/SIGINT, then drains: no new requests are accepted,
 * requests in hand finish, idle threads are woken out of accept(2) or an
 * idle kept-alive connection.  Returns once every thread is done or
 * MASTER_DRAIN_SECONDS have passed.
 */
static unsigned
worker_wait_and_drain(struct worker_thread *threads, unsigned n)
{
	uint64_t deadline;
	sigset_t set;
	unsigned i, alive;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	while (sigwait(&set, &sig) != 0)
		;
	__atomic_store_n(&worker_stop, 1, __ATOMIC_SEQ_CST);
	FCGX_ShutdownPending();
	deadline = util_monotonic_us() + MASTER_DRAIN_SECONDS * 1000000ULL;
	do {
		alive = 0;
		for (i = 0; i < n; i++) {
			if (__atomic_load_n(&threads[i].done, __ATOMIC_SEQ_CST))
				continue;
			alive++;
			if (!__atomic_load_n(&threads[i].busy, __ATOMIC_SEQ_CST))
				pthread_kill(threads[i].tid, SIGUSR1);
		}
		if (alive > 0)
			usleep(20000);
	} while (alive > 0 && util_monotonic_us() < deadline);
	return alive;
}

int
worker_main(const struct conf *conf, int listen_fd, unsigned index,
    struct app_metrics *metrics, struct cache_shared *shared)
{
	struct worker_thread *threads;
	struct sigaction sa;
	sigset_t set;
	unsigned i, n = conf->app_threads, started = 0;
	int rc = 1;

	/* SIGTERM/SIGINT go to the main thread's sigwait(); SIGUSR1 wakes
	 * an idle thread (no SA_RESTART, so accept returns EINTR) */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_wake;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	if ((threads = calloc(n, sizeof(*threads))) == NULL ||
	    FCGX_Init() != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (worker_thread_init(&threads[i], conf, listen_fd, index,
		    metrics, shared) != 0) {
			log_msg(LOG_ERROR, "event=worker_init_failed worker=%u",
			    index);
			goto stop;
		}
		if (pthread_create(&threads[i].tid, NULL, worker_thread_main,
		    &threads[i]) != 0) {
			worker_thread_free(&threads[i]);
			log_msg(LOG_ERROR, "event=thread_failed worker=%u", index);
			goto stop;
		}
		started++;
	}
	log_msg(LOG_DEBUG, "event=worker_ready worker=%u pid=%d threads=%u",
	    index, (int)getpid(), n);
	rc = 0;
	if (worker_wait_and_drain(threads, started) > 0) {
		log_msg(LOG_WARN, "event=drain_timeout worker=%u", index);
		_exit(0);	/* threads still busy: do not free under them */
	}
	goto join;
stop:
	__atomic_store_n(&worker_stop, 1, __ATOMIC_SEQ_CST);
	FCGX_ShutdownPending();
	for (i = 0; i < started; i++)
		pthread_kill(threads[i].tid, SIGUSR1);
join:
	for (i = 0; i < started; i++) {
		while (!__atomic_load_n(&threads[i].done, __ATOMIC_SEQ_CST)) {
			pthread_kill(threads[i].tid, SIGUSR1);
			usleep(20000);
		}
		pthread_join(threads[i].tid, NULL);
		worker_thread_free(&threads[i]);
	}
out:
	free(threads);
	return rc;
}

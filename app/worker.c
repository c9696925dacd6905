/*
 * worker.c: one worker process.  Its FastCGI connections sit in one epoll
 * set; app.threads threads take turns on it, each serving one connection
 * at a time: read, parse (fcgi.c), route, answer, log, count.  Until
 * SIGTERM, then a drain.
 *
 * Why not libfcgi's accept loops: a libfcgi loop owns its connection
 * until the web server closes it, so with kept connections (nginx's
 * fastcgi_keep_conn + upstream keepalive) every connection nginx holds
 * parks a thread, and connections beyond the thread count wait in the
 * listen backlog behind connections that nginx keeps reusing.  Here a
 * quiet connection costs a file descriptor and a few hundred bytes, not a
 * thread; a request on any connection goes to the next free thread.
 *
 * The alternative kept libfcgi: enough accept loops that nginx's
 * connections never outnumber them, plus an idle timeout (SO_RCVTIMEO)
 * that hands a quiet kept connection back.  Both were built and measured
 * side by side with the same nginx keeping connections
 * (docs/BENCHMARKS.md, "Choosing the design").  The loops need a thread
 * and a database connection per connection nginx may open (256 of each
 * for the test), and at 1000 clients nginx opens more than that: the
 * rest waited in the backlog behind the connections it kept reusing
 * (650-750 requests over 2 s per 5-s run); this loop, with 16 threads,
 * had 0-88, and the better throughput and tail at 64 and 256 clients.  An
 * idle timeout short enough to free loops also races nginx reusing the
 * connection (a POST sent on it is a 502); here quiet connections stay
 * until the web server closes them.
 *
 * Ownership.  A connection is in the epoll set with EPOLLONESHOT, so an
 * event hands it to exactly one thread, which serves it and then re-arms
 * it (after which it must not touch it) or closes it; the hand-over also
 * passes through a striped lock, so that a race detector sees it (see
 * worker_arm()).  Nothing else reads its parser.  The listening socket
 * (non-blocking, shared by every worker) is in the set level-triggered: a
 * free thread that sees it accepts one connection and serves it at once,
 * and while more may be waiting every thread accepts another after each
 * connection it served (see worker_accept()).  A worker whose threads are
 * all busy accepts nothing, so new connections go to workers with a free
 * thread.  Each thread owns its database connection, memcached handle and
 * buffers; only the shared counters and the breaker block (atomics) are
 * touched by several threads.
 *
 * The list of open connections is guarded by conns_lock; a connection
 * joins it in the same critical section as its accept(2) and leaves it
 * under the lock before its descriptor is closed, so the main thread's
 * sweep, which shutdown(2)s connections idle longer than
 * app.idle_timeout_seconds (the thread that next sees the connection
 * closes it), never touches a reused descriptor, and the drain's count
 * never misses a connection being accepted.
 *
 * Drain (SIGTERM; the master sends it on stop and to the old workers on a
 * reload): the listening socket leaves this worker's set (other workers,
 * or the next generation, keep accepting); requests being read or handled
 * finish; kept connections are still served until the web server closes
 * them, since closing one ourselves races a request the server may be
 * sending on it at that very moment (nginx resends no POST).  A connection
 * being accepted as the drain begins counts as open (see worker_accept()).
 * The web server's upstream keepalive_timeout and keepalive_time
 * (nginx/catalog.conf: 2 s and 3 s) bound that; MASTER_DRAIN_SECONDS
 * bounds everything, after which quiet connections are closed.  A request
 * never ends the worker: every failure becomes an HTTP answer.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "app.h"
#include "app_sql.h"
#include "cache_sync.h"
#include "fcgi.h"
#include "log.h"
#include "master.h"
#include "util.h"

#define WORKER_READ_BUF		(64 * 1024)
#define WORKER_SEND_TIMEOUT_MS	30000	/* a web server not reading */
#define WORKER_STOP_GRACE_US	2000000	/* threads inside a request */
#define WORKER_HANDOVER_LOCKS	16

_Static_assert(HTTP_MAX_RESPONSE + HTTP_MAX_HEADERS + 256 <= FCGI_MAX_RESPONSE,
    "every answer http_render() makes fits the FastCGI encoder");

struct conn {
	int		 fd;
	int		 in_set;	/* added to the epoll set once */
	int		 busy;		/* a thread serves it (atomic) */
	uint64_t	 last_us;	/* last bytes read (atomic) */
	struct fcgi_parser parser;
	struct conn	*prev, *next;	/* conns list, under conns_lock */
};

struct worker;

struct worker_thread {
	pthread_t		 tid;
	struct worker		*w;
	struct app		 app;
	struct response		 res;
	struct fcgi_response	 out;
	unsigned char		 rbuf[WORKER_READ_BUF];
	int			 done;	/* atomic */
};

struct worker {
	const struct conf	*conf;
	int			 listen_fd, epfd, stop_fd;
	pthread_mutex_t		 conns_lock;
	struct conn		*conns;
	unsigned		 nconns;
	struct worker_thread	*threads;
	unsigned		 nthreads;
	uint64_t		 idle_us;
	int			 backlog;	/* connections may wait (atomic) */
	int			 draining;	/* accept nothing more (atomic) */
	pthread_mutex_t		 handover[WORKER_HANDOVER_LOCKS];
};

/* What serving a batch of bytes came to. */
enum worker_fed {
	WORKER_PARTIAL,		/* a request is still being read */
	WORKER_ANSWERED,	/* a request was answered: wait for the next */
	WORKER_CLOSE		/* the connection is done */
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

/* Writes every iovec, waiting for the web server to read; 0 or -1. */
static int
worker_writev(int fd, struct iovec *iov, int iovcnt)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	ssize_t n;

	while (iovcnt > 0) {
		n = writev(fd, iov, iovcnt > IOV_MAX ? IOV_MAX : iovcnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (poll(&pfd, 1, WORKER_SEND_TIMEOUT_MS) <= 0 &&
			    errno != EINTR)
				return -1;
			continue;
		}
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Routes one complete request and writes its answer; -1: close. */
static int
worker_handle(struct worker_thread *t, struct conn *c)
{
	struct app *app = &t->app;
	struct response *res = &t->res;
	struct request req;
	uint64_t us, db_errors = app->db.errors;
	int rc = 0;

	http_request_init(&req, &c->parser.req);
	http_response_reset(res);
	router_dispatch(app, &req, res);
	if (req.cache_result != NULL)
		http_header(res, "X-Cache", req.cache_result);
	http_render(&req, res);
	if (res->out.overflow ||
	    fcgi_response(&t->out, c->parser.req.id, res->out.data,
	    res->out.len) != 0 ||
	    worker_writev(c->fd, t->out.iov, t->out.iovcnt) != 0) {
		log_msg(LOG_WARN, "event=client_gone route=%s", req.route);
		rc = -1;
	}
	us = util_monotonic_us() - req.started_us;
	if (app->db.errors != db_errors)
		metrics_add(&app->metrics->core.db_errors, app->db.errors - db_errors);
	app_metrics_observe(app->metrics, req.metric, res->status, us);
	worker_log(&req, res, us);
	http_request_free(&req);
	return rc;
}

/* Feeds what was read to the connection's parser, answering each event. */
static enum worker_fed
worker_feed(struct worker_thread *t, struct conn *c, const unsigned char *d,
    size_t len)
{
	struct fcgi_parser *p = &c->parser;
	enum worker_fed fed = WORKER_PARTIAL;
	struct iovec iov;
	size_t used;
	int keep;

	while (len > 0) {
		switch (fcgi_parse(p, d, len, &used)) {
		case FCGI_MORE:
			break;
		case FCGI_REPLY:
			iov.iov_base = p->reply;
			iov.iov_len = p->reply_len;
			if (worker_writev(c->fd, &iov, 1) != 0)
				return WORKER_CLOSE;
			break;
		case FCGI_REQUEST:
			keep = p->req.keep_conn;
			if (worker_handle(t, c) != 0)
				return WORKER_CLOSE;
			fcgi_next(p);
			if (!keep)
				return WORKER_CLOSE;
			fed = WORKER_ANSWERED;
			break;
		case FCGI_BAD:
			log_msg(LOG_WARN, "event=fcgi_protocol_error fd=%d", c->fd);
			return WORKER_CLOSE;
		}
		d += used;
		len -= used;
	}
	return fed;
}

static void
worker_close(struct worker *w, struct conn *c)
{
	pthread_mutex_lock(&w->conns_lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	pthread_mutex_unlock(&w->conns_lock);
	close(c->fd);
	fcgi_free(&c->parser);
	free(c);
}

/*
 * The hand-over of a connection between threads.  epoll orders it (the
 * next event comes after the re-arm), but a race detector cannot see
 * that, and the thread re-arming still touches the descriptor in
 * epoll_ctl() after the connection may belong to another thread.  So the
 * re-arm happens under a lock the next owner takes once: a few
 * uncontended nanoseconds per request for hand-overs anyone can check.
 * The locks are striped by address and live in struct worker, never in a
 * connection that its next owner may free.
 */
static pthread_mutex_t *
worker_handover_lock(struct worker *w, const struct conn *c)
{
	return &w->handover[((uintptr_t)c >> 6) % WORKER_HANDOVER_LOCKS];
}

/* Takes a connection an event handed to this thread. */
static void
worker_take(struct worker *w, struct conn *c)
{
	pthread_mutex_t *lock = worker_handover_lock(w, c);

	pthread_mutex_lock(lock);
	__atomic_store_n(&c->busy, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(lock);
}

/* Puts the connection (back) in the set; from then on another thread may
 * own it.  -1 when that failed, and the caller still owns it. */
static int
worker_arm(struct worker *w, struct conn *c)
{
	pthread_mutex_t *lock = worker_handover_lock(w, c);
	struct epoll_event ev;
	int op = c->in_set ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, rc;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.ptr = c;
	c->in_set = 1;
	pthread_mutex_lock(lock);
	__atomic_store_n(&c->busy, 0, __ATOMIC_RELAXED);
	if ((rc = epoll_ctl(w->epfd, op, c->fd, &ev)) != 0)
		__atomic_store_n(&c->busy, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(lock);
	if (rc != 0) {
		log_msg(LOG_ERROR, "event=epoll_ctl_failed error=\"%s\"",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Serves what the connection has: reads until a request was answered (the
 * web server sends nothing more before it has our answer) or nothing is
 * left to read, then hands the connection back to the set.
 */
static void
worker_serve(struct worker_thread *t, struct conn *c)
{
	struct worker *w = t->w;
	enum worker_fed fed;
	ssize_t n;

	for (;;) {
		n = read(c->fd, t->rbuf, sizeof(t->rbuf));
		if (n > 0) {
			__atomic_store_n(&c->last_us, util_monotonic_us(),
			    __ATOMIC_RELAXED);
			fed = worker_feed(t, c, t->rbuf, (size_t)n);
			if (fed == WORKER_CLOSE)
				break;
			if (fed == WORKER_ANSWERED)
				goto arm;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			goto arm;
		break;	/* closed by the web server, or a read error */
	}
	worker_close(w, c);
	return;
arm:
	if (worker_arm(w, c) != 0)
		worker_close(w, c);
}

/* A new connection: listed, not yet in the set.  Under conns_lock. */
static struct conn *
worker_conn_new(struct worker *w, int fd)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->busy = 1;
	c->last_us = util_monotonic_us();
	fcgi_init(&c->parser, HTTP_MAX_BODY);
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	return c;
}

/*
 * Accepts one waiting connection and serves it at once (the web server
 * writes its request right after connecting).  While connections may still
 * be waiting (the last accept found one), every thread takes another after
 * each connection it served: with the listening socket coming round only
 * once per turn of the whole ready list, a burst of new connections would
 * wait in the backlog behind every busy kept connection (seconds, with
 * 1000 at once); this way a burst takes turns with them.  0 when none was
 * waiting.
 *
 * The draining test, accept4() and the listing happen under conns_lock,
 * the lock worker_drain() sets draining under: so a connection is either
 * listed before the drain counts, or never accepted here (it stays in the
 * socket's queue for another worker or the next generation).  Without
 * that, a thread woken for the socket just before the drain could accept
 * after the drain had counted no connections, serve one request and see
 * its connection closed at exit while the web server kept it.
 */
static int
worker_accept(struct worker_thread *t)
{
	struct worker *w = t->w;
	struct conn *c = NULL;
	int fd = -1, err = EAGAIN;

	pthread_mutex_lock(&w->conns_lock);
	if (!__atomic_load_n(&w->draining, __ATOMIC_RELAXED)) {
		fd = accept4(w->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			c = worker_conn_new(w, fd);
		else
			err = errno;
	}
	pthread_mutex_unlock(&w->conns_lock);
	if (fd < 0) {
		__atomic_store_n(&w->backlog, 0, __ATOMIC_RELAXED);
		if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
		    err == ENOMEM) {
			/* the socket stays readable: do not spin */
			log_msg(LOG_WARN, "event=accept_failed error=\"%s\"",
			    strerror(err));
			usleep(10000);
		}
		return 0;	/* EAGAIN: another thread or worker took it */
	}
	__atomic_store_n(&w->backlog, 1, __ATOMIC_RELAXED);
	if (c != NULL)
		worker_serve(t, c);
	return 1;
}

static void *
worker_thread_main(void *arg)
{
	struct worker_thread *t = arg;
	struct worker *w = t->w;
	struct epoll_event ev;
	int n;

	mysql_thread_init();
	/* connect now so the first request does not pay for it; failure is
	 * fine, db_ensure() retries on every request */
	db_ensure(&t->app.db);
	for (;;) {
		n = epoll_wait(w->epfd, &ev, 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_msg(LOG_ERROR, "event=epoll_wait_failed error=\"%s\"",
			    strerror(errno));
			break;
		}
		if (n == 0)
			continue;
		if (ev.data.ptr == &w->stop_fd)
			break;
		if (ev.data.ptr == &w->listen_fd) {
			worker_accept(t);
		} else {
			worker_take(w, ev.data.ptr);
			worker_serve(t, ev.data.ptr);
		}
		if (__atomic_load_n(&w->backlog, __ATOMIC_RELAXED) &&
		    !__atomic_load_n(&w->draining, __ATOMIC_RELAXED))
			worker_accept(t);
	}
	mysql_thread_end();
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Shuts down connections quiet for longer than app.idle_timeout_seconds. */
static void
worker_sweep(struct worker *w)
{
	uint64_t now = util_monotonic_us();
	struct conn *c;

	pthread_mutex_lock(&w->conns_lock);
	for (c = w->conns; c != NULL; c = c->next)
		if (!__atomic_load_n(&c->busy, __ATOMIC_ACQUIRE) &&
		    now - __atomic_load_n(&c->last_us, __ATOMIC_RELAXED) >
		    w->idle_us)
			shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&w->conns_lock);
}

static unsigned
worker_open_conns(struct worker *w)
{
	unsigned n;

	pthread_mutex_lock(&w->conns_lock);
	n = w->nconns;
	pthread_mutex_unlock(&w->conns_lock);
	return n;
}

/* epoll data pointers: the listening socket and the stop event. */
static int
worker_watch(struct worker *w, int fd, void *tag, uint32_t flags)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | flags;
	ev.data.ptr = tag;
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/*
 * Stops the threads: each finishes what it serves and then sees the stop
 * event (level-triggered, so every thread does).  1 when some thread is
 * still inside a request after the grace period.
 */
static int
worker_stop_threads(struct worker *w, unsigned started)
{
	uint64_t deadline = util_monotonic_us() + WORKER_STOP_GRACE_US;
	unsigned i, alive;

	if (eventfd_write(w->stop_fd, 1) != 0)
		log_msg(LOG_ERROR, "event=stop_failed error=\"%s\"",
		    strerror(errno));
	do {
		alive = 0;
		for (i = 0; i < started; i++)
			if (!__atomic_load_n(&w->threads[i].done,
			    __ATOMIC_ACQUIRE))
				alive++;
		if (alive > 0)
			usleep(10000);
	} while (alive > 0 && util_monotonic_us() < deadline);
	return alive > 0;
}

/*
 * SIGTERM: stop accepting, let connections finish (see the top), bounded
 * by MASTER_DRAIN_SECONDS.  Returns the connections still open then.
 */
static unsigned
worker_drain(struct worker *w)
{
	uint64_t deadline = util_monotonic_us() +
	    MASTER_DRAIN_SECONDS * 1000000ULL;
	unsigned open;

	/* under conns_lock: see worker_accept() */
	pthread_mutex_lock(&w->conns_lock);
	__atomic_store_n(&w->draining, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&w->conns_lock);
	if (epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen_fd, NULL) != 0)
		log_msg(LOG_ERROR, "event=epoll_ctl_failed error=\"%s\"",
		    strerror(errno));
	log_msg(LOG_DEBUG, "event=worker_draining pid=%d connections=%u",
	    (int)getpid(), worker_open_conns(w));
	while ((open = worker_open_conns(w)) > 0 &&
	    util_monotonic_us() < deadline) {
		worker_sweep(w);
		usleep(20000);
	}
	return open;
}

static int
worker_thread_init(struct worker_thread *t, struct worker *w,
    unsigned index, struct app_metrics *metrics, struct cache_shared *shared)
{
	t->w = w;
	t->app.conf = w->conf;
	t->app.metrics = metrics;
	t->app.cache_shared = shared;
	t->app.worker = index;
	db_init(&t->app.db, w->conf, &app_statements);
	http_response_init(&t->res);
	return cache_open(&t->app.cache, w->conf, shared, &metrics->core);
}

static void
worker_thread_free(struct worker_thread *t)
{
	http_response_free(&t->res);
	cache_close(&t->app.cache);
	db_close(&t->app.db);
}

int
worker_main(const struct conf *conf, int listen_fd, unsigned index,
    struct app_metrics *metrics, struct cache_shared *shared)
{
	struct worker w;
	struct conn *c;
	struct timespec tick = { 1, 0 };
	struct cache_sync *sync = NULL;
	sigset_t set;
	unsigned i, started = 0;
	int sig, rc = 1;

	/* SIGTERM/SIGINT are blocked (the master forked us with its mask)
	 * and taken by sigtimedwait() below; threads inherit the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&w, 0, sizeof(w));
	w.conf = conf;
	w.listen_fd = listen_fd;
	w.nthreads = conf->app_threads;
	w.idle_us = (uint64_t)conf->app_idle_timeout_seconds * 1000000ULL;
	w.stop_fd = w.epfd = -1;
	pthread_mutex_init(&w.conns_lock, NULL);
	for (i = 0; i < WORKER_HANDOVER_LOCKS; i++)
		pthread_mutex_init(&w.handover[i], NULL);
	if ((w.threads = calloc(w.nthreads, sizeof(*w.threads))) == NULL ||
	    (w.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (w.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    worker_watch(&w, w.stop_fd, &w.stop_fd, 0) != 0 ||
	    worker_watch(&w, listen_fd, &w.listen_fd, 0) != 0) {
		log_msg(LOG_ERROR, "event=worker_init_failed worker=%u "
		    "error=\"%s\"", index, strerror(errno));
		goto out;
	}
	for (i = 0; i < w.nthreads; i++) {
		if (worker_thread_init(&w.threads[i], &w, index, metrics,
		    shared) != 0) {
			worker_thread_free(&w.threads[i]);
			log_msg(LOG_ERROR, "event=worker_init_failed worker=%u",
			    index);
			goto stop;
		}
		if (pthread_create(&w.threads[i].tid, NULL, worker_thread_main,
		    &w.threads[i]) != 0) {
			worker_thread_free(&w.threads[i]);
			log_msg(LOG_ERROR, "event=thread_failed worker=%u", index);
			goto stop;
		}
		started++;
	}
	/* the host's invalidation poller; one worker's works (cache_sync.h) */
	sync = cache_sync_start(conf, shared, &metrics->core);
	log_msg(LOG_DEBUG, "event=worker_ready worker=%u pid=%d threads=%u",
	    index, (int)getpid(), w.nthreads);
	sigdelset(&set, SIGHUP);
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		worker_sweep(&w);
	}
	rc = 0;
	if (worker_drain(&w) > 0)
		log_msg(LOG_WARN, "event=drain_timeout worker=%u connections=%u",
		    index, worker_open_conns(&w));
stop:
	/* after the drain: requests it served still read this host's memory */
	cache_sync_stop(sync);
	if (worker_stop_threads(&w, started)) {
		log_msg(LOG_WARN, "event=drain_timeout worker=%u busy=1", index);
		_exit(rc);	/* a thread is still busy: do not free under it */
	}
	for (i = 0; i < started; i++) {
		pthread_join(w.threads[i].tid, NULL);
		worker_thread_free(&w.threads[i]);
	}
	/* quiet kept connections the web server had not closed in time */
	while ((c = w.conns) != NULL)
		worker_close(&w, c);
out:
	if (w.stop_fd >= 0)
		close(w.stop_fd);
	if (w.epfd >= 0)
		close(w.epfd);
	pthread_mutex_destroy(&w.conns_lock);
	for (i = 0; i < WORKER_HANDOVER_LOCKS; i++)
		pthread_mutex_destroy(&w.handover[i]);
	free(w.threads);
	return rc;
}

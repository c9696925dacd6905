/*
 * master.h: the catalog-fcgi process model.
 *
 * The master opens (or inherits) the FastCGI listening socket, maps the
 * shared counter and breaker blocks, forks app.workers workers and then
 * only supervises: a worker that dies is replaced (at most one restart per
 * slot per second, so a crash loop cannot spin); SIGHUP re-reads the
 * configuration file: a new generation of workers starts with it and the
 * old workers drain (they stop accepting and finish what they hold), while
 * a file that does not load is logged (file:line: key: reason) and changes
 * nothing; SIGTERM or SIGINT is passed to every worker, which drains the
 * same way; workers still alive MASTER_DRAIN_SECONDS (plus a grace) later
 * get SIGKILL.  The master never talks to the database or memcached and
 * never handles a request.
 *
 * Signals are blocked in the master and taken with sigtimedwait(2), never
 * by handlers: a signal that arrives while the master is busy stays
 * pending and is seen at the next wait, so no stop or reload can slip in
 * between a check and a blocking call.
 *
 * Socket sources, in order: systemd socket activation (LISTEN_PID/
 * LISTEN_FDS, fd 3), a listening socket on fd 0 (spawn-fcgi and other
 * FastCGI process managers), then app.listen.  A unix socket the master
 * creates gets app.socket_group and app.socket_mode before anyone can
 * connect.  The socket (and the cache block, below) is what a reload
 * keeps: app.listen, app.backlog, app.socket_mode and app.socket_group
 * take a restart.
 *
 * The cache's host block (cache_shared_create: breakers, the invalidation
 * poller's lease and position, the near cache of cache.near_bytes) is
 * mapped once, before the first fork, and handed to every worker of every
 * generation: it must outlive workers and reloads (a reload keeps it,
 * and its size).  Each worker runs a cache_sync poller thread (cache_sync.h); the
 * lease in that block lets one of them work at a time, so the master needs
 * no process of its own for it.
 */
#ifndef APP_MASTER_H
#define APP_MASTER_H

#include "conf.h"

#define MASTER_DRAIN_SECONDS 10

/* Runs until told to stop; returns the process exit code.  conf_path is
 * re-read on SIGHUP. */
int master_run(const struct conf *conf, const char *conf_path);

#endif

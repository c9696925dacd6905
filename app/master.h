/*
 * master.h: the catalog-fcgi process model.
 *
 * The master opens (or inherits) the FastCGI listening socket, maps the
 * shared counter and breaker blocks, forks app.workers workers and then
 * only supervises: a worker that dies is replaced (at most one restart per
 * slot per second, so a crash loop cannot spin); SIGTERM or SIGINT is
 * passed to every worker, which finishes its request in hand; workers still
 * alive after MASTER_DRAIN_SECONDS get SIGKILL.  The master never talks to
 * the database or memcached and never handles a request.
 *
 * Socket sources, in order: systemd socket activation (LISTEN_PID/
 * LISTEN_FDS, fd 3), a listening socket on fd 0 (spawn-fcgi and other
 * FastCGI process managers), then app.listen.
 */
#ifndef APP_MASTER_H
#define APP_MASTER_H

#include "conf.h"

#define MASTER_DRAIN_SECONDS 10

/* Runs until told to stop; returns the process exit code. */
int master_run(const struct conf *conf);

#endif

/*
 * master.c: listening socket, worker supervision, reload, graceful drain;
 * see master.h for the process model.
 *
 * The master keeps a table of worker processes.  Each entry belongs to a
 * generation (bumped by every successful reload) and a slot in it; an
 * entry is either running (pid > 0), waiting to be respawned (pid 0, not
 * before respawn_us), or retiring: sent SIGTERM by a reload, reaped when
 * it exits, never replaced, SIGKILLed at kill_us.  Every wait is a
 * sigtimedwait() bounded by the next of those deadlines.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include "app.h"
#include "log.h"
#include "master.h"
#include "util.h"

#define MASTER_MAX_WORKERS	256
#define MASTER_MAX_PROCS	(4 * MASTER_MAX_WORKERS)	/* with retiring */
#define MASTER_KILL_GRACE_US	2000000	/* past a worker's own drain */
#define MASTER_RESPAWN_US	1000000	/* crash loop guard, per slot */
#define MASTER_TICK_US		1000000

struct master_proc {
	int		 used;
	pid_t		 pid;		/* 0: waits for respawn_us */
	unsigned	 slot;		/* 0..app.workers-1 */
	unsigned	 generation;
	int		 retiring;	/* SIGTERM sent: reap, do not replace */
	uint64_t	 started_us, respawn_us, kill_us;
};

struct master {
	const char		*conf_path;
	const struct conf	*conf;		/* the current generation's */
	struct conf		*owned_conf;	/* heap copy since a reload */
	struct master_proc	 procs[MASTER_MAX_PROCS];
	unsigned		 generation;
	int			 listen_fd;
	struct app_metrics	*metrics;
	struct cache_shared	*shared;
	uint64_t		 test_pause_us;
};

static int
master_is_listening_socket(int fd)
{
	int val = 0;
	socklen_t len = sizeof(val);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) == 0 &&
	    val != 0;
}

/* app.socket_group as a gid: a number, or a name from the group database. */
static int
master_group(const char *name, gid_t *gid)
{
	struct group gr, *found = NULL;
	char buf[16384];
	uint64_t v;

	if (util_parse_u64(name, 0, INT32_MAX, &v) == 0) {
		*gid = (gid_t)v;
		return 0;
	}
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &found) != 0 ||
	    found == NULL)
		return -1;
	*gid = found->gr_gid;
	return 0;
}

/*
 * Binds the unix socket with umask 0177, so until it has its group and
 * mode only this user can connect.  -1 with errno, after logging the
 * reason; *config_error is set when a socket key is at fault.
 */
static int
master_listen_unix(const struct conf *conf, int *config_error)
{
	const char *path = conf->app_listen;
	struct sockaddr_un sun;
	struct stat st;
	gid_t gid = (gid_t)-1;
	mode_t old_umask;
	unsigned long mode = strtoul(conf->app_socket_mode, NULL, 8);
	const char *what = "bind";
	int fd, rc, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (util_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		return -1;
	if (conf->app_socket_group[0] != '\0' &&
	    master_group(conf->app_socket_group, &gid) != 0) {
		log_msg(LOG_ERROR, "event=listen_failed key=app.socket_group "
		    "group=%s error=\"no such group\"", conf->app_socket_group);
		*config_error = 1;
		errno = ENOENT;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* a socket file left by a killed master; refuse to remove others */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_msg(LOG_ERROR, "event=listen_failed path=%s "
			    "error=\"exists and is not a socket\"", path);
			close(fd);
			errno = EEXIST;
			return -1;
		}
		unlink(path);
	}
	old_umask = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (rc == 0 && gid != (gid_t)-1 &&
	    (rc = chown(path, (uid_t)-1, gid)) != 0) {
		what = "chown";
		*config_error = 1;
	}
	if (rc == 0 && (rc = chmod(path, (mode_t)mode)) != 0)
		what = "chmod";
	if (rc == 0 && (rc = listen(fd, (int)conf->app_backlog)) != 0)
		what = "listen";
	if (rc != 0) {
		e = errno;
		if (*config_error)
			log_msg(LOG_ERROR, "event=listen_failed "
			    "key=app.socket_group path=%s group=%s error=\"%s\" "
			    "hint=\"run as root or as a member of the group\"",
			    path, conf->app_socket_group, strerror(e));
		else
			log_msg(LOG_ERROR, "event=listen_failed path=%s "
			    "call=%s error=\"%s\"", path, what, strerror(e));
		if (strcmp(what, "bind") != 0)
			unlink(path);
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
master_listen_tcp(const char *hostport, int backlog)
{
	struct addrinfo hints, *ai = NULL, *p;
	char host[256];
	const char *colon = strrchr(hostport, ':');
	size_t hl;
	int fd = -1, one = 1;

	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - hostport);
	if (hl >= 2 && hostport[0] == '[') {
		hostport++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -1;
	for (p = ai; p != NULL; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC,
		    p->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, p->ai_addr, p->ai_addrlen) == 0 &&
		    listen(fd, backlog) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/*
 * Returns the listening fd, non-blocking (every worker accepts from it in
 * its event loop); *owned is 1 when we created a unix path.
 */
static int
master_open_socket(const struct conf *conf, int *owned, int *config_error)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	uint64_t v;
	int fd, flags;

	*owned = 0;
	if (pid != NULL && fds != NULL &&
	    util_parse_u64(pid, 1, INT32_MAX, &v) == 0 &&
	    (pid_t)v == getpid() && master_is_listening_socket(3)) {
		log_msg(LOG_INFO, "event=listen source=systemd fd=3");
		fd = 3;
	} else if (master_is_listening_socket(0)) {
		log_msg(LOG_INFO, "event=listen source=inherited fd=0");
		fd = 0;
	} else if (conf->app_listen[0] == '/') {
		if ((fd = master_listen_unix(conf, config_error)) >= 0)
			*owned = 1;
	} else {
		fd = master_listen_tcp(conf->app_listen, (int)conf->app_backlog);
	}
	if (fd >= 0 && ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)) {
		log_msg(LOG_ERROR, "event=listen_failed error=\"%s\"",
		    strerror(errno));
		return -1;
	}
	return fd;
}

static void
master_spawn(struct master *m, struct master_proc *p)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* the signal mask (SIGTERM, SIGHUP ... blocked) is inherited:
		 * the worker takes SIGTERM with sigtimedwait too */
		log_set_level((enum log_level)log_level_parse(m->conf->log_level));
		_exit(worker_main(m->conf, m->listen_fd, p->slot, m->metrics,
		    m->shared));
	}
	p->started_us = util_monotonic_us();
	if (pid < 0) {
		log_msg(LOG_ERROR, "event=fork_failed error=\"%s\"",
		    strerror(errno));
		p->pid = 0;
		p->respawn_us = p->started_us + MASTER_RESPAWN_US;
		return;
	}
	p->pid = pid;
}

static struct master_proc *
master_free_entry(struct master *m)
{
	size_t i;

	for (i = 0; i < MASTER_MAX_PROCS; i++)
		if (!m->procs[i].used)
			return &m->procs[i];
	return NULL;
}

static size_t
master_free_entries(const struct master *m)
{
	size_t i, n = 0;

	for (i = 0; i < MASTER_MAX_PROCS; i++)
		if (!m->procs[i].used)
			n++;
	return n;
}

/* Starts app.workers workers of the current generation. */
static void
master_spawn_generation(struct master *m)
{
	struct master_proc *p;
	unsigned i;

	for (i = 0; i < m->conf->app_workers; i++) {
		if ((p = master_free_entry(m)) == NULL)
			break;	/* checked by the caller */
		memset(p, 0, sizeof(*p));
		p->used = 1;
		p->slot = i;
		p->generation = m->generation;
		master_spawn(m, p);
	}
}

/* SIGTERM to every worker not of the current generation. */
static void
master_retire_old(struct master *m)
{
	uint64_t kill_us = util_monotonic_us() +
	    MASTER_DRAIN_SECONDS * 1000000ULL + MASTER_KILL_GRACE_US;
	size_t i;

	for (i = 0; i < MASTER_MAX_PROCS; i++) {
		struct master_proc *p = &m->procs[i];

		if (!p->used || p->retiring || p->generation == m->generation)
			continue;
		if (p->pid <= 0) {
			p->used = 0;	/* was waiting for a respawn */
			continue;
		}
		kill(p->pid, SIGTERM);
		p->retiring = 1;
		p->kill_us = kill_us;
	}
}

static void
master_reap(struct master *m)
{
	uint64_t now = util_monotonic_us();
	struct master_proc *p;
	int status;
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0, p = NULL; i < MASTER_MAX_PROCS; i++)
			if (m->procs[i].used && m->procs[i].pid == pid)
				p = &m->procs[i];
		if (p == NULL)
			continue;
		if (p->retiring) {
			log_msg(LOG_DEBUG, "event=worker_retired pid=%d "
			    "generation=%u", (int)pid, p->generation);
			p->used = 0;
			continue;
		}
		log_msg(LOG_WARN, "event=worker_died worker=%u pid=%d "
		    "status=%d signal=%d", p->slot, (int)pid,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		p->pid = 0;
		p->respawn_us = p->started_us + MASTER_RESPAWN_US;
		if (p->respawn_us < now)
			p->respawn_us = now;
	}
}

/* Respawns what is due, kills retiring stragglers; returns the wait (us)
 * until the next such deadline, at most MASTER_TICK_US. */
static uint64_t
master_timers(struct master *m)
{
	uint64_t now = util_monotonic_us(), wait = MASTER_TICK_US;
	size_t i;

	for (i = 0; i < MASTER_MAX_PROCS; i++) {
		struct master_proc *p = &m->procs[i];

		if (!p->used)
			continue;
		if (!p->retiring && p->pid == 0) {
			if (p->respawn_us <= now) {
				metrics_add(&m->metrics->worker_restarts, 1);
				master_spawn(m, p);
			} else if (p->respawn_us - now < wait) {
				wait = p->respawn_us - now;
			}
		} else if (p->retiring && p->pid > 0 && p->kill_us != 0) {
			if (p->kill_us <= now) {
				log_msg(LOG_WARN, "event=worker_killed pid=%d "
				    "reason=drain_timeout", (int)p->pid);
				kill(p->pid, SIGKILL);
				p->kill_us = 0;
			} else if (p->kill_us - now < wait) {
				wait = p->kill_us - now;
			}
		}
	}
	return wait;
}

/* The settings of the socket, which only a restart changes. */
static void
master_keep_socket_settings(const struct conf *cur, struct conf *next)
{
	static const char *const keys[] = { "app.listen", "app.backlog",
	    "app.socket_mode", "app.socket_group" };
	int changed[4];
	size_t i;

	changed[0] = strcmp(cur->app_listen, next->app_listen) != 0;
	changed[1] = cur->app_backlog != next->app_backlog;
	changed[2] = strcmp(cur->app_socket_mode, next->app_socket_mode) != 0;
	changed[3] = strcmp(cur->app_socket_group,
	    next->app_socket_group) != 0;
	for (i = 0; i < 4; i++)
		if (changed[i])
			log_msg(LOG_WARN, "event=reload_ignored key=%s "
			    "reason=\"the socket is kept: takes a restart\"",
			    keys[i]);
	memcpy(next->app_listen, cur->app_listen, sizeof(next->app_listen));
	next->app_backlog = cur->app_backlog;
	memcpy(next->app_socket_mode, cur->app_socket_mode,
	    sizeof(next->app_socket_mode));
	memcpy(next->app_socket_group, cur->app_socket_group,
	    sizeof(next->app_socket_group));
}

/* SIGHUP: a new generation with the file as it is now, or nothing. */
static void
master_reload(struct master *m)
{
	char err[CONF_ERR_MAX], quoted[CONF_ERR_MAX + 64];
	struct conf *next;

	if ((next = malloc(sizeof(*next))) == NULL) {
		log_msg(LOG_ERROR, "event=reload_failed error=\"out of memory\"");
		return;
	}
	if (conf_load(m->conf_path, next, err, sizeof(err)) != 0) {
		log_msg(LOG_ERROR, "event=reload_failed error=%s "
		    "result=\"the running configuration is kept\"",
		    log_quote(quoted, sizeof(quoted), err));
		free(next);
		return;
	}
	master_keep_socket_settings(m->conf, next);
	if (master_free_entries(m) < next->app_workers) {
		log_msg(LOG_ERROR, "event=reload_failed error=\"too many "
		    "workers still draining from earlier reloads\"");
		free(next);
		return;
	}
	/* The host block outlives the reload: its server states are keyed by
	 * canonical name (cache.h), so a new server list finds the servers
	 * it keeps as they were and starts the new ones closed.  Its size
	 * does not change: a new cache.near_bytes needs a restart. */
	if (next->cache_near_bytes != m->conf->cache_near_bytes)
		log_msg(LOG_WARN, "event=reload_partial key=cache.near_bytes "
		    "result=\"takes effect at the next restart\"");
	log_set_level((enum log_level)log_level_parse(next->log_level));
	m->conf = next;
	m->generation++;
	master_spawn_generation(m);
	master_retire_old(m);
	free(m->owned_conf);
	m->owned_conf = next;
	log_msg(LOG_INFO, "event=reloaded generation=%u workers=%u config=%s",
	    m->generation, next->app_workers, m->conf_path);
}

/* Stops every worker: SIGTERM, the drain, then SIGKILL. */
static void
master_stop_all(struct master *m, const sigset_t *set)
{
	uint64_t deadline = util_monotonic_us() +
	    MASTER_DRAIN_SECONDS * 1000000ULL + MASTER_KILL_GRACE_US;
	struct timespec tick = { 0, 100 * 1000000L };
	size_t i, alive;

	for (i = 0; i < MASTER_MAX_PROCS; i++)
		if (m->procs[i].used && m->procs[i].pid > 0)
			kill(m->procs[i].pid, SIGTERM);
	for (;;) {
		for (i = 0; i < MASTER_MAX_PROCS; i++)
			m->procs[i].retiring = 1;
		master_reap(m);
		for (i = 0, alive = 0; i < MASTER_MAX_PROCS; i++)
			if (m->procs[i].used && m->procs[i].pid > 0)
				alive++;
		if (alive == 0)
			return;
		if (util_monotonic_us() >= deadline)
			break;
		sigtimedwait(set, NULL, &tick);
	}
	for (i = 0; i < MASTER_MAX_PROCS; i++)
		if (m->procs[i].used && m->procs[i].pid > 0) {
			kill(m->procs[i].pid, SIGKILL);
			waitpid(m->procs[i].pid, NULL, 0);
		}
}

int
master_run(const struct conf *conf, const char *conf_path)
{
	struct master *m;
	struct timespec ts;
	sigset_t set;
	uint64_t wait, v;
	const char *pause;
	int owned, config_error = 0, sig, rc = 1;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return 1;
	m->conf = conf;
	m->conf_path = conf_path;
	/* fault injection for tests/it/25-process.sh: a pause before each
	 * wait, the window in which a stop must not be lost */
	if ((pause = getenv("CATALOG_TEST_MASTER_PAUSE_MS")) != NULL &&
	    util_parse_u64(pause, 0, 60000, &v) == 0)
		m->test_pause_us = v * 1000;

	/* blocked before any fork: workers inherit the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((m->listen_fd = master_open_socket(conf, &owned,
	    &config_error)) < 0) {
		log_msg(LOG_ERROR, "event=listen_failed listen=%s error=\"%s\"",
		    conf->app_listen, strerror(errno));
		rc = config_error ? CONF_EXIT : 1;
		goto out;
	}
	if ((m->metrics = app_metrics_create()) == NULL ||
	    (m->shared = cache_shared_create(conf)) == NULL) {
		log_msg(LOG_ERROR, "event=shm_failed error=\"%s\"",
		    strerror(errno));
		goto out;
	}
	log_msg(LOG_INFO, "event=start version=%s workers=%u listen=%s",
	    PACKAGE_VERSION, conf->app_workers, conf->app_listen);
	master_spawn_generation(m);
	for (;;) {
		if (m->test_pause_us > 0)
			usleep((useconds_t)m->test_pause_us);
		wait = master_timers(m);
		ts.tv_sec = (time_t)(wait / 1000000);
		ts.tv_nsec = (long)(wait % 1000000) * 1000;
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			master_reload(m);
		master_reap(m);
	}
	log_msg(LOG_INFO, "event=stopping signal=%d", sig);
	master_stop_all(m, &set);
	if (owned)
		unlink(conf->app_listen);
	close(m->listen_fd);
	log_msg(LOG_INFO, "event=stopped");
	rc = 0;
out:
	free(m->owned_conf);
	free(m);
	return rc;
}

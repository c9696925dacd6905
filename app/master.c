/*
 * master.c: listening socket, worker supervision, graceful drain; see
 * master.h for the process model.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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

#define MASTER_MAX_WORKERS 256

static volatile sig_atomic_t master_stop;

static void
master_on_term(int sig)
{
	master_stop = sig;
}

static int
master_is_listening_socket(int fd)
{
	int val = 0;
	socklen_t len = sizeof(val);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) == 0 &&
	    val != 0;
}

static int
master_listen_unix(const char *path, int backlog)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (util_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* a socket file left by a killed master; refuse to remove others */
	struct stat st;
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
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, 0666) != 0 || listen(fd, backlog) != 0) {
		int e = errno;
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

/* Returns the listening fd; *owned is 1 when we created a unix path. */
static int
master_open_socket(const struct conf *conf, int *owned)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	uint64_t v;

	*owned = 0;
	if (pid != NULL && fds != NULL &&
	    util_parse_u64(pid, 1, INT32_MAX, &v) == 0 &&
	    (pid_t)v == getpid() && master_is_listening_socket(3)) {
		log_msg(LOG_INFO, "event=listen source=systemd fd=3");
		return 3;
	}
	if (master_is_listening_socket(0)) {
		log_msg(LOG_INFO, "event=listen source=inherited fd=0");
		return 0;
	}
	if (conf->app_listen[0] == '/') {
		int fd = master_listen_unix(conf->app_listen,
		    (int)conf->app_backlog);
		if (fd >= 0)
			*owned = 1;
		return fd;
	}
	return master_listen_tcp(conf->app_listen, (int)conf->app_backlog);
}

static pid_t
master_spawn(const struct conf *conf, int fd, unsigned index,
    struct app_metrics *metrics, struct cache_shared *shared)
{
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		_exit(worker_main(conf, fd, index, metrics, shared));
	}
	if (pid < 0)
		log_msg(LOG_ERROR, "event=fork_failed error=\"%s\"",
		    strerror(errno));
	return pid;
}

static void
master_drain(pid_t *workers, unsigned n)
{
	time_t deadline = time(NULL) + MASTER_DRAIN_SECONDS;
	unsigned alive, i;

	for (i = 0; i < n; i++)
		if (workers[i] > 0)
			kill(workers[i], SIGTERM);
	for (;;) {
		alive = 0;
		for (i = 0; i < n; i++) {
			if (workers[i] <= 0)
				continue;
			if (waitpid(workers[i], NULL, WNOHANG) == workers[i])
				workers[i] = 0;
			else
				alive++;
		}
		if (alive == 0)
			return;
		if (time(NULL) >= deadline)
			break;
		usleep(20000);
	}
	for (i = 0; i < n; i++)
		if (workers[i] > 0) {
			kill(workers[i], SIGKILL);
			waitpid(workers[i], NULL, 0);
		}
}

int
master_run(const struct conf *conf)
{
	pid_t workers[MASTER_MAX_WORKERS];
	time_t last_start[MASTER_MAX_WORKERS];
	struct cache_shared *shared;
	struct app_metrics *metrics;
	struct sigaction sa;
	unsigned n = conf->app_workers, i;
	int fd, owned;

	if ((fd = master_open_socket(conf, &owned)) < 0) {
		log_msg(LOG_ERROR, "event=listen_failed listen=%s error=\"%s\"",
		    conf->app_listen, strerror(errno));
		return 1;
	}
	if ((metrics = app_metrics_create()) == NULL ||
	    (shared = cache_shared_create()) == NULL) {
		log_msg(LOG_ERROR, "event=shm_failed error=\"%s\"",
		    strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = master_on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	log_msg(LOG_INFO, "event=start version=%s workers=%u listen=%s",
	    PACKAGE_VERSION, n, conf->app_listen);
	for (i = 0; i < n; i++) {
		workers[i] = master_spawn(conf, fd, i, metrics, shared);
		last_start[i] = time(NULL);
	}
	while (!master_stop) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD) {
				sleep(1);	/* every fork failed; try again */
				pid = 0;
			} else
				break;
		}
		for (i = 0; i < n; i++) {
			if (pid != 0 && workers[i] != pid)
				continue;
			if (pid == 0 && workers[i] > 0)
				continue;
			if (pid != 0)
				log_msg(LOG_WARN, "event=worker_died worker=%u "
				    "pid=%d status=%d signal=%d", i, (int)pid,
				    WIFEXITED(status) ? WEXITSTATUS(status) : -1,
				    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
			if (master_stop)
				break;
			if (time(NULL) == last_start[i])
				sleep(1);	/* crash loop guard */
			metrics_add(&metrics->worker_restarts, 1);
			workers[i] = master_spawn(conf, fd, i, metrics, shared);
			last_start[i] = time(NULL);
		}
	}
	log_msg(LOG_INFO, "event=stopping signal=%d", (int)master_stop);
	master_drain(workers, n);
	if (owned)
		unlink(conf->app_listen);
	close(fd);
	log_msg(LOG_INFO, "event=stopped");
	return 0;
}

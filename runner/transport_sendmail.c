/*
 * transport_sendmail.c: pipes the message to a sendmail-compatible command.
 *
 * The command comes from mail.transport (`sendmail:/usr/sbin/sendmail -t
 * -i`), split on spaces and run with execv(2): no shell, so nothing in the
 * configuration or the message is ever interpreted.  The child gets the
 * message on stdin, /dev/null on stdout, and a pipe on stderr whose first
 * line becomes the error text.  It runs in its own process group and the
 * whole group is killed (SIGKILL) once runner.handler_timeout_seconds have
 * passed, so a hung MTA cannot hold a job past its lease.
 *
 * Outcome (job-runner(8), <sysexits.h>): exit 0 delivered; 75 EX_TEMPFAIL, a
 * signal or the timeout transient; any other exit permanent.  A command
 * that cannot be executed exits EX_TEMPFAIL: a broken installation is
 * fixed by an operator and should not kill every queued message at once.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "transport.h"
#include "util.h"

#define SENDMAIL_EX_TEMPFAIL	75
#define SENDMAIL_STDERR_MAX	512

enum transport_result
transport_sendmail_classify(int wait_status, int timed_out)
{
	if (timed_out)
		return TRANSPORT_TRANSIENT;
	if (WIFSIGNALED(wait_status))
		return TRANSPORT_TRANSIENT;
	if (!WIFEXITED(wait_status))
		return TRANSPORT_TRANSIENT;
	if (WEXITSTATUS(wait_status) == 0)
		return TRANSPORT_DELIVERED;
	if (WEXITSTATUS(wait_status) == SENDMAIL_EX_TEMPFAIL)
		return TRANSPORT_TRANSIENT;
	return TRANSPORT_PERMANENT;
}

int
transport_split_argv(const char *cmd, char *buf, size_t bufsize, char **argv)
{
	char *p, *word;
	int argc = 0;

	if (util_strlcpy(buf, cmd, bufsize) >= bufsize)
		return -1;
	for (p = buf; *p != '\0';) {
		while (*p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (argc >= TRANSPORT_ARGV_MAX - 1)
			return -1;
		word = p;
		while (*p != '\0' && *p != ' ')
			p++;
		argv[argc++] = word;
	}
	argv[argc] = NULL;
	return argc > 0 ? argc : -1;
}

/* In the child: wire the pipes and exec; never returns. */
static void
sendmail_child(char **argv, int in_fd, int err_fd)
{
	int null_fd;

	(void)setpgid(0, 0);
	if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
		_exit(SENDMAIL_EX_TEMPFAIL);
	if ((null_fd = open("/dev/null", O_WRONLY)) >= 0)
		(void)dup2(null_fd, STDOUT_FILENO);
	/* nothing else of ours (the database socket) reaches the MTA */
	(void)close_range(3, ~0U, 0);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], argv);
	dprintf(STDERR_FILENO, "cannot execute %s: %s\n", argv[0],
	    strerror(errno));
	_exit(SENDMAIL_EX_TEMPFAIL);
}

struct sendmail_io {
	int		 in_fd;		/* our end of the child's stdin */
	int		 err_fd;	/* our end of the child's stderr */
	const char	*msg;
	size_t		 left;
	char		 errtext[SENDMAIL_STDERR_MAX];
	size_t		 errlen;
};

/* One poll round: feed stdin, drain stderr.  -1 on a poll error. */
static int
sendmail_pump(struct sendmail_io *io, int timeout_ms)
{
	struct pollfd pfd[2];
	nfds_t n = 0;
	ssize_t r;
	char scratch[256];

	if (io->in_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = io->in_fd, .events = POLLOUT };
	if (io->err_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = io->err_fd, .events = POLLIN };
	if (n == 0)
		return 0;
	if (poll(pfd, n, timeout_ms) < 0)
		return errno == EINTR ? 0 : -1;
	for (nfds_t i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == io->in_fd) {
			r = write(io->in_fd, io->msg, io->left);
			if (r > 0) {
				io->msg += r;
				io->left -= (size_t)r;
			}
			if ((r < 0 && errno != EAGAIN && errno != EINTR) ||
			    io->left == 0) {
				/* EPIPE: the child stopped reading; its exit
				 * status says what it thought */
				close(io->in_fd);
				io->in_fd = -1;
			}
		} else {
			r = read(io->err_fd, scratch, sizeof(scratch));
			if (r <= 0 && !(r < 0 && (errno == EAGAIN ||
			    errno == EINTR))) {
				close(io->err_fd);
				io->err_fd = -1;
				continue;
			}
			if (r > 0 && io->errlen + 1 < sizeof(io->errtext)) {
				size_t k = (size_t)r;
				if (k > sizeof(io->errtext) - 1 - io->errlen)
					k = sizeof(io->errtext) - 1 - io->errlen;
				memcpy(io->errtext + io->errlen, scratch, k);
				io->errlen += k;
			}
		}
	}
	return 0;
}

/* Waits for pid until deadline_us; kills its group after.  Sets *status. */
static int
sendmail_wait(pid_t pid, struct sendmail_io *io, uint64_t deadline_us,
    int *status)
{
	pid_t w;

	for (;;) {
		uint64_t now = util_monotonic_us();

		if (now >= deadline_us) {
			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return 1;
		}
		if (io->in_fd >= 0 || io->err_fd >= 0) {
			uint64_t left_ms = (deadline_us - now) / 1000 + 1;
			if (sendmail_pump(io, left_ms > 100 ? 100 :
			    (int)left_ms) != 0)
				deadline_us = 0;	/* kill and reap */
		} else {
			struct timespec ts = { 0, 5 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -1;
	}
}

static void
sendmail_error_text(const struct sendmail_io *io, int status, int timed_out,
    char *err, size_t errsize)
{
	char first[SENDMAIL_STDERR_MAX];
	size_t n;

	memcpy(first, io->errtext, io->errlen);
	first[io->errlen] = '\0';
	n = strcspn(first, "\r\n");
	first[n] = '\0';
	if (timed_out)
		snprintf(err, errsize, "sendmail: timed out, killed");
	else if (WIFSIGNALED(status))
		snprintf(err, errsize, "sendmail: killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(err, errsize, "sendmail: exit %d%s%s",
		    WEXITSTATUS(status), first[0] != '\0' ? ": " : "", first);
}

enum transport_result
transport_sendmail_deliver(const struct transport *t, const char *name,
    const char *msg, size_t len, unsigned flags, char *err, size_t errsize)
{
	char words[TRANSPORT_ARG_MAX], *argv[TRANSPORT_ARGV_MAX];
	int in_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	struct sendmail_io io;
	enum transport_result r = TRANSPORT_TRANSIENT;
	int status = 0, timed_out;
	pid_t pid;

	if (transport_split_argv(t->arg, words, sizeof(words), argv) < 0) {
		util_strlcpy(err, "sendmail: bad command", errsize);
		return TRANSPORT_PERMANENT;
	}
	if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
		snprintf(err, errsize, "sendmail: pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errsize, "sendmail: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		sendmail_child(argv, in_pipe[0], err_pipe[1]);
	(void)setpgid(pid, pid);	/* also here: no race with kill(-pid) */
	close(in_pipe[0]);
	close(err_pipe[1]);
	in_pipe[0] = err_pipe[1] = -1;
	memset(&io, 0, sizeof(io));
	io.in_fd = in_pipe[1];
	io.err_fd = err_pipe[0];
	io.msg = msg;
	io.left = len;
	in_pipe[1] = err_pipe[0] = -1;	/* owned by io now */
	(void)fcntl(io.in_fd, F_SETFL, O_NONBLOCK);
	(void)fcntl(io.err_fd, F_SETFL, O_NONBLOCK);
	timed_out = sendmail_wait(pid, &io, util_monotonic_us() +
	    (uint64_t)t->timeout_seconds * 1000000, &status);
	if (io.in_fd >= 0)
		close(io.in_fd);
	if (io.err_fd >= 0)
		close(io.err_fd);
	if (timed_out < 0) {
		snprintf(err, errsize, "sendmail: wait: %s", strerror(errno));
		goto out;
	}
	r = transport_sendmail_classify(status, timed_out);
	if (r != TRANSPORT_DELIVERED)
		sendmail_error_text(&io, status, timed_out, err, errsize);
out:
	for (int i = 0; i < 2; i++) {
		if (in_pipe[i] >= 0)
			close(in_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
	}
	return r;
}

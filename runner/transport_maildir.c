/*
 * transport_maildir.c: exactly-once delivery into a maildir.
 *
 * The final name DIR/new/<name> is the job's idempotency key (made safe by
 * mail_key_token), not the usual time.pid.host, because the name is what
 * makes delivery idempotent:
 *
 *   1. write DIR/tmp/<name>.<host>.<pid> (O_EXCL: private to this process)
 *   2. fsync it: the bytes are on disk before the name appears
 *   3. link() it to DIR/new/<name>; EEXIST means an earlier attempt (ours,
 *      or a runner killed after its link) already delivered: success
 *   4. fsync DIR/new: the new name survives a crash
 *   5. unlink the tmp file
 *
 * A kill at any instant leaves either no message in new/ (before 3: the
 * job is retried and writes it) or exactly one (after 3: the retry finds
 * it).  link(), not rename(), because rename() would silently replace a
 * message that is already there.  A kill between 1 and 5 leaves a tmp
 * file behind; maildir readers ignore tmp/ (clean it after 36 h, as
 * qmail's maildir(5) says).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport.h"
#include "util.h"

static enum transport_result
maildir_error(char *err, size_t errsize, const char *what, const char *path)
{
	snprintf(err, errsize, "maildir: %s %s: %s", what, path,
	    strerror(errno));
	return TRANSPORT_TRANSIENT;
}

/* mkdir that treats an existing directory as success. */
static int
maildir_mkdir(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

static int
maildir_path(char *buf, size_t size, const char *dir, const char *sub,
    const char *name, const char *suffix)
{
	int n = snprintf(buf, size, "%s%s%s%s", dir, sub, name, suffix);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int
maildir_write_all(int fd, const char *msg, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, msg, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		msg += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
maildir_fsync_dir(const char *path)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Steps 1 and 2: a complete, synced file under tmp/. */
static enum transport_result
maildir_write_tmp(const char *tmp, const char *msg, size_t len, char *err,
    size_t errsize)
{
	int fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* left by a killed process that had our pid */
		(void)unlink(tmp);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return maildir_error(err, errsize, "open", tmp);
	if (maildir_write_all(fd, msg, len) != 0 || fsync(fd) != 0) {
		maildir_error(err, errsize, "write", tmp);
		close(fd);
		(void)unlink(tmp);
		return TRANSPORT_TRANSIENT;
	}
	if (close(fd) != 0) {
		maildir_error(err, errsize, "close", tmp);
		(void)unlink(tmp);
		return TRANSPORT_TRANSIENT;
	}
	return TRANSPORT_DELIVERED;
}

enum transport_result
transport_maildir_put(const char *dir, const char *name, const char *msg,
    size_t len, char *err, size_t errsize)
{
	char tmp[PATH_MAX], dst[PATH_MAX], newdir[PATH_MAX], suffix[320];
	char host[256];
	enum transport_result r;
	int linked;

	if (gethostname(host, sizeof(host)) != 0)
		util_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	/* '/' and ':' are not allowed in maildir names */
	for (char *p = host; *p != '\0'; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	snprintf(suffix, sizeof(suffix), ".%s.%ld", host, (long)getpid());
	if (maildir_path(tmp, sizeof(tmp), dir, "/tmp/", name, suffix) != 0 ||
	    maildir_path(dst, sizeof(dst), dir, "/new/", name, "") != 0 ||
	    maildir_path(newdir, sizeof(newdir), dir, "/new", "", "") != 0) {
		util_strlcpy(err, "maildir: path too long", errsize);
		return TRANSPORT_PERMANENT;
	}
	if (maildir_mkdir(dir) != 0)
		return maildir_error(err, errsize, "mkdir", dir);
	snprintf(suffix, sizeof(suffix), "%s/tmp", dir);
	if (maildir_mkdir(suffix) != 0 || maildir_mkdir(newdir) != 0)
		return maildir_error(err, errsize, "mkdir", suffix);
	snprintf(suffix, sizeof(suffix), "%s/cur", dir);
	(void)maildir_mkdir(suffix);
	if ((r = maildir_write_tmp(tmp, msg, len, err, errsize)) !=
	    TRANSPORT_DELIVERED)
		return r;
	linked = link(tmp, dst);
	if (linked != 0 && errno != EEXIST) {
		maildir_error(err, errsize, "link", dst);
		(void)unlink(tmp);
		return TRANSPORT_TRANSIENT;
	}
	if (maildir_fsync_dir(newdir) != 0) {
		/* the message may not survive a crash: deliver again later;
		 * the retry finds the name and succeeds */
		maildir_error(err, errsize, "fsync", newdir);
		(void)unlink(tmp);
		return TRANSPORT_TRANSIENT;
	}
	(void)unlink(tmp);
	return TRANSPORT_DELIVERED;
}

enum transport_result
transport_maildir_deliver(const struct transport *t, const char *name,
    const char *msg, size_t len, char *err, size_t errsize)
{
	return transport_maildir_put(t->arg, name, msg, len, err, errsize);
}

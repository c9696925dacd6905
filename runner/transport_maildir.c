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
 * In batch mode (transport.defer_sync, set by the claim loop) step 4 is
 * left out of each delivery and done once for the batch by
 * transport_maildir_sync(), before the transaction that marks the batch's
 * jobs done: a crash before that fsync may lose names, but then no job
 * was recorded done and each is delivered again.
 *
 * A kill at any instant leaves either no message in new/ (before 3: the
 * job is retried and writes it) or exactly one (after 3: the retry finds
 * it).  link(), not rename(), because rename() would silently replace a
 * message that is already there.
 *
 * A READER MAY HAVE MOVED IT.  A mail client (or Dovecot) that reads
 * new/<name> renames it cur/<name>:2,<flags>; the name before the ':' stays.
 * So when an earlier attempt may have delivered (TRANSPORT_MAYBE_DELIVERED:
 * a retry, a replay, `exec`), a link that succeeded is checked against cur/:
 * another file there with our base name means the message was delivered
 * and read meanwhile, and the link just made is taken back (by inode, so a
 * file that is not ours is never touched).  The check comes after the link,
 * not before it: a reader moving the first copy away can only do so before
 * our link succeeds, so the check always sees it.  A first attempt skips
 * the scan of cur/, which may hold many messages.
 *
 * A kill between 1 and 5 leaves a tmp file behind; maildir readers ignore
 * tmp/, and transport_maildir_clean_tmp() removes files untouched for 36 h,
 * as qmail's maildir(5) says (the claim loop runs it once per run).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "transport.h"
#include "util.h"

static enum transport_result
maildir_error(char *err, size_t errsize, const char *what, const char *path)
{
	int saved = errno;	/* the caller may look at it (ENOENT) */

	snprintf(err, errsize, "maildir: %s %s: %s", what, path,
	    strerror(saved));
	errno = saved;
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

/* Steps 1 and 2: a complete, synced file under tmp/.  With keep_fd, step
 * 2 is left out and the open descriptor handed back in *keep_fd. */
static enum transport_result
maildir_write_tmp(const char *tmp, const char *msg, size_t len, char *err,
    size_t errsize, int *keep_fd)
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
	if (maildir_write_all(fd, msg, len) != 0 ||
	    (keep_fd == NULL && fsync(fd) != 0)) {
		maildir_error(err, errsize, "write", tmp);
		close(fd);
		(void)unlink(tmp);
		return TRANSPORT_TRANSIENT;
	}
	if (keep_fd != NULL) {
		*keep_fd = fd;
		return TRANSPORT_DELIVERED;
	}
	if (close(fd) != 0) {
		maildir_error(err, errsize, "close", tmp);
		(void)unlink(tmp);
		return TRANSPORT_TRANSIENT;
	}
	return TRANSPORT_DELIVERED;
}

/* DIR, DIR/tmp, DIR/new and DIR/cur, when a delivery found one missing. */
static enum transport_result
maildir_make(const char *dir, char *err, size_t errsize)
{
	static const char *const subs[] = { "/tmp", "/new", "/cur" };
	char path[PATH_MAX];
	size_t i;

	if (maildir_mkdir(dir) != 0)
		return maildir_error(err, errsize, "mkdir", dir);
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (maildir_path(path, sizeof(path), dir, subs[i], "", "") != 0)
			return maildir_error(err, errsize, "mkdir", dir);
		if (maildir_mkdir(path) != 0)
			return maildir_error(err, errsize, "mkdir", path);
	}
	return TRANSPORT_DELIVERED;
}

/* 1 when entry is name itself or name followed by maildir info (":2,S"). */
static int
maildir_same_message(const char *entry, const char *name, size_t nlen)
{
	return strncmp(entry, name, nlen) == 0 &&
	    (entry[nlen] == '\0' || entry[nlen] == ':');
}

/*
 * Looks in DIR/cur for a message named name (with any info suffix).  1 one
 * that is not inode ours is there (delivered and read before); its inode
 * in *theirs.  0 none.  -1 cur/ unreadable.
 */
static int
maildir_in_cur(const char *dir, const char *name, ino_t ours)
{
	char cur[PATH_MAX];
	struct dirent *e;
	size_t nlen = strlen(name);
	DIR *d;
	int found = 0;

	if (maildir_path(cur, sizeof(cur), dir, "/cur", "", "") != 0)
		return -1;
	if ((d = opendir(cur)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (!found && (e = readdir(d)) != NULL)
		if (maildir_same_message(e->d_name, name, nlen) &&
		    e->d_ino != ours)
			found = 1;
	closedir(d);
	return found;
}

/*
 * After link(tmp, dst) made a new message: 1 when a reader had already
 * moved an earlier delivery of it to cur/, in which case the new link is
 * removed again (only while dst is still our inode); 0 when ours is the
 * only one; -1 when cur/ could not be read (treated as a transient
 * failure: the retry looks again).
 */
static int
maildir_taken_back(const char *dir, const char *name, const char *dst,
    const char *tmp)
{
	struct stat ours, now;
	int rc;

	if (lstat(tmp, &ours) != 0)
		return -1;
	if ((rc = maildir_in_cur(dir, name, ours.st_ino)) <= 0)
		return rc;
	if (lstat(dst, &now) == 0 && now.st_ino == ours.st_ino)
		(void)unlink(dst);
	return 1;
}

/*
 * Steps 1 to 5; sync_dir 0 leaves step 4 to the caller
 * (transport_maildir_sync), which must run it before recording the
 * delivery anywhere.
 */
static enum transport_result
maildir_put(const char *dir, const char *name, const char *msg, size_t len,
    unsigned flags, int sync_dir, char *err, size_t errsize, int *keep_fd,
    char *tmp_out, char *dst_out)
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
	/* the directories exist after the first delivery: create them only
	 * when the tmp file cannot be made (saves 4 mkdir calls a message) */
	r = maildir_write_tmp(tmp, msg, len, err, errsize, keep_fd);
	if (r != TRANSPORT_DELIVERED &&
	    (errno == ENOENT || errno == ENOTDIR)) {
		if ((r = maildir_make(dir, err, errsize)) != TRANSPORT_DELIVERED)
			return r;
		r = maildir_write_tmp(tmp, msg, len, err, errsize, keep_fd);
	}
	if (r != TRANSPORT_DELIVERED)
		return r;
	if (keep_fd != NULL) {
		/* batch mode: fsync, link, unlink in maildir_batch_run() */
		if (util_strlcpy(tmp_out, tmp, PATH_MAX) >= PATH_MAX ||
		    util_strlcpy(dst_out, dst, PATH_MAX) >= PATH_MAX) {
			close(*keep_fd);
			(void)unlink(tmp);
			util_strlcpy(err, "maildir: path too long", errsize);
			return TRANSPORT_PERMANENT;
		}
		return TRANSPORT_DELIVERED;
	}
	linked = link(tmp, dst);
	if (linked != 0 && errno == ENOENT && maildir_mkdir(newdir) == 0)
		linked = link(tmp, dst);
	if (linked != 0 && errno != EEXIST) {
		maildir_error(err, errsize, "link", dst);
		(void)unlink(tmp);
		return TRANSPORT_TRANSIENT;
	}
	if (linked == 0 && (flags & TRANSPORT_MAYBE_DELIVERED) &&
	    maildir_taken_back(dir, name, dst, tmp) < 0) {
		maildir_error(err, errsize, "read cur/ for", dst);
		(void)unlink(dst);
		(void)unlink(tmp);
		return TRANSPORT_TRANSIENT;
	}
	if (sync_dir && maildir_fsync_dir(newdir) != 0) {
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
transport_maildir_put(const char *dir, const char *name, const char *msg,
    size_t len, unsigned flags, char *err, size_t errsize)
{
	return maildir_put(dir, name, msg, len, flags, 1, err, errsize, NULL,
	    NULL, NULL);
}

unsigned
transport_maildir_clean_tmp(const char *dir, unsigned max_age)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	time_t now = time(NULL);
	unsigned removed = 0;
	DIR *d;

	if (maildir_path(tmp, sizeof(tmp), dir, "/tmp", "", "") != 0 ||
	    (d = opendir(tmp)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' ||
		    maildir_path(path, sizeof(path), tmp, "/", e->d_name,
		    "") != 0 || lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		/* atime too, as maildir(5) says: a file being read is kept */
		if (now - st.st_mtime > (time_t)max_age &&
		    now - st.st_atime > (time_t)max_age && unlink(path) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

/* tmp/ leftovers of killed deliveries: 36 hours, as maildir(5) says. */
#define MAILDIR_TMP_MAX_AGE	(36 * 3600)

void
transport_maildir_housekeeping(const struct transport *t)
{
	(void)transport_maildir_clean_tmp(t->arg, MAILDIR_TMP_MAX_AGE);
}

/*
 * Batch mode (transport_batch(), the claim loop with an idempotent
 * transport): deliver() does step 1 and keeps the file open; the batch's
 * files are fsynced by a few threads at once (concurrent fsyncs share the
 * disk's cache flushes; one after the other each waits for its own), then
 * linked (step 3) one by one, then DIR/new is fsynced once (step 4), then
 * the tmp names go (step 5).  Every file is still synced before its link,
 * and every link is synced before transport_sync() returns, which is
 * before the transaction that records the deliveries.  Any failure on the
 * way fails the whole batch (transient): the deliveries that did reach
 * new/ are found there by the retries.
 */
#define MAILDIR_BATCH_FDS	128	/* open tmp files before a flush */
#define MAILDIR_SYNC_THREADS	4

struct maildir_pending {
	int	 fd;
	int	 rc;		/* fsync: 0 or errno */
	unsigned flags;		/* deliver()'s */
	char	*tmp;
	char	*dst;
	char	*name;
};

struct maildir_batch {
	struct maildir_pending	 p[MAILDIR_BATCH_FDS];
	size_t			 n;
	size_t			 next;		/* fsync work queue */
	pthread_mutex_t		 lock;
	int			 linked;	/* names not yet dir-synced */
	int			 failed;	/* sticky until sync */
	char			 err[256];
	char			 dir[PATH_MAX];
	char			 newdir[PATH_MAX];
};

static void *
maildir_fsync_worker(void *arg)
{
	struct maildir_batch *b = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		i = b->next++;
		pthread_mutex_unlock(&b->lock);
		if (i >= b->n)
			return NULL;
		b->p[i].rc = fsync(b->p[i].fd) == 0 ? 0 : errno;
	}
}

/* Steps 2, 3 and 5 for the open files; remembers a failure. */
static void
maildir_batch_run(struct maildir_batch *b)
{
	pthread_t th[MAILDIR_SYNC_THREADS];
	size_t i, nth = 0, want;

	b->next = 0;
	want = b->n / 2 < MAILDIR_SYNC_THREADS ? b->n / 2 :
	    MAILDIR_SYNC_THREADS;
	for (i = 0; i < want; i++)
		if (pthread_create(&th[nth], NULL, maildir_fsync_worker, b) == 0)
			nth++;
	maildir_fsync_worker(b);	/* this thread works too */
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < b->n; i++) {
		struct maildir_pending *q = &b->p[i];

		if (close(q->fd) != 0 && q->rc == 0)
			q->rc = errno;
		if (q->rc != 0 && !b->failed) {
			errno = q->rc;
			maildir_error(b->err, sizeof(b->err), "fsync", q->tmp);
			b->failed = 1;
		}
		if (q->rc == 0 && !b->failed) {
			int rc = link(q->tmp, q->dst);

			if (rc != 0 && errno == ENOENT &&
			    maildir_mkdir(b->newdir) == 0)
				rc = link(q->tmp, q->dst);
			if (rc == 0 && (q->flags & TRANSPORT_MAYBE_DELIVERED) &&
			    maildir_taken_back(b->dir, q->name, q->dst,
			    q->tmp) < 0) {
				maildir_error(b->err, sizeof(b->err),
				    "read cur/ for", q->dst);
				(void)unlink(q->dst);
				b->failed = 1;
			} else if (rc == 0 || errno == EEXIST)
				b->linked = 1;
			else {
				maildir_error(b->err, sizeof(b->err), "link",
				    q->dst);
				b->failed = 1;
			}
		}
		(void)unlink(q->tmp);
		free(q->tmp);
		free(q->dst);
		free(q->name);
	}
	b->n = 0;
}

int
transport_maildir_batch(struct transport *t, int on)
{
	struct maildir_batch *b = t->batch;

	if (!on) {
		if (b != NULL) {
			/* never synced (the run failed before recording
			 * them): dropped, their jobs deliver them again */
			for (size_t i = 0; i < b->n; i++) {
				close(b->p[i].fd);
				(void)unlink(b->p[i].tmp);
				free(b->p[i].tmp);
				free(b->p[i].dst);
				free(b->p[i].name);
			}
			pthread_mutex_destroy(&b->lock);
			free(b);
		}
		t->batch = NULL;
		t->defer_sync = 0;
		return 0;
	}
	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return -1;
		pthread_mutex_init(&b->lock, NULL);
		if (maildir_path(b->newdir, sizeof(b->newdir), t->arg, "/new",
		    "", "") != 0)
			b->newdir[0] = '\0';	/* deliveries fail anyway */
		util_strlcpy(b->dir, t->arg, sizeof(b->dir));
		t->batch = b;
	}
	t->defer_sync = 1;
	return 0;
}

enum transport_result
transport_maildir_deliver(const struct transport *t, const char *name,
    const char *msg, size_t len, unsigned flags, char *err, size_t errsize)
{
	struct maildir_batch *b = t->batch;
	struct maildir_pending *q;
	char tmp[PATH_MAX], dst[PATH_MAX];
	enum transport_result r;
	int fd = -1;

	if (b == NULL || !t->defer_sync)
		return maildir_put(t->arg, name, msg, len, flags,
		    !t->defer_sync, err, errsize, NULL, NULL, NULL);
	if (b->n == MAILDIR_BATCH_FDS)
		maildir_batch_run(b);	/* bounded open files */
	r = maildir_put(t->arg, name, msg, len, flags, 0, err, errsize, &fd,
	    tmp, dst);
	if (r != TRANSPORT_DELIVERED)
		return r;
	q = &b->p[b->n];
	q->fd = fd;
	q->rc = 0;
	q->flags = flags;
	q->tmp = strdup(tmp);
	q->dst = strdup(dst);
	q->name = strdup(name);
	if (q->tmp == NULL || q->dst == NULL || q->name == NULL) {
		close(fd);
		(void)unlink(tmp);
		free(q->tmp);
		free(q->dst);
		free(q->name);
		util_strlcpy(err, "maildir: out of memory", errsize);
		return TRANSPORT_TRANSIENT;
	}
	b->n++;
	return TRANSPORT_DELIVERED;
}

/* Steps 2 to 5 for every message delivered since the last call: their
 * fsyncs at once, their links, one fsync of DIR/new. */
enum transport_result
transport_maildir_sync(const struct transport *t, char *err, size_t errsize)
{
	struct maildir_batch *b = t->batch;
	char newdir[PATH_MAX];
	int failed = 0;

	if (b != NULL) {
		maildir_batch_run(b);
		failed = b->failed;
		if (failed)
			util_strlcpy(err, b->err, errsize);
		b->failed = 0;
		if (!b->linked && !failed)
			return TRANSPORT_DELIVERED;	/* nothing new */
		b->linked = 0;
	}
	if (maildir_path(newdir, sizeof(newdir), t->arg, "/new", "", "") != 0) {
		util_strlcpy(err, "maildir: path too long", errsize);
		return TRANSPORT_PERMANENT;
	}
	if (maildir_fsync_dir(newdir) != 0)
		return maildir_error(err, errsize, "fsync", newdir);
	return failed ? TRANSPORT_TRANSIENT : TRANSPORT_DELIVERED;
}

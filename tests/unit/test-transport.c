/*
 * test-transport.c: the mail transports without a database: the sysexits
 * classification (with real child processes, so the wait statuses are the
 * kernel's), command splitting, maildir delivery into a temporary
 * directory (including "already delivered"), and sendmail against real
 * commands (cat, false, sleep with a timeout, a missing binary).
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cunit-main.h"
#include "transport.h"
#include "util.h"

/* The wait status of a child that exits with code, or dies of sig. */
static int
status_of(int code, int sig)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		if (sig != 0)
			raise(sig);
		_exit(code);
	}
	waitpid(pid, &status, 0);
	return status;
}

static void
test_classify(void)
{
	static const struct {
		int code, sig, timed_out;
		enum transport_result want;
	} rows[] = {
		{ 0, 0, 0, TRANSPORT_DELIVERED },
		{ 75, 0, 0, TRANSPORT_TRANSIENT },	/* EX_TEMPFAIL */
		{ 0, SIGKILL, 0, TRANSPORT_TRANSIENT },
		{ 0, SIGTERM, 0, TRANSPORT_TRANSIENT },
		{ 0, 0, 1, TRANSPORT_TRANSIENT },	/* timeout */
		{ 1, 0, 0, TRANSPORT_PERMANENT },
		{ 64, 0, 0, TRANSPORT_PERMANENT },	/* EX_USAGE */
		{ 65, 0, 0, TRANSPORT_PERMANENT },	/* EX_DATAERR */
		{ 67, 0, 0, TRANSPORT_PERMANENT },	/* EX_NOUSER */
		{ 69, 0, 0, TRANSPORT_PERMANENT },	/* EX_UNAVAILABLE */
		{ 74, 0, 0, TRANSPORT_PERMANENT },	/* EX_IOERR */
		{ 76, 0, 0, TRANSPORT_PERMANENT },	/* EX_PROTOCOL */
		{ 78, 0, 0, TRANSPORT_PERMANENT },	/* EX_CONFIG */
		{ 255, 0, 0, TRANSPORT_PERMANENT },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int st = status_of(rows[i].code, rows[i].sig);
		CU_ASSERT_EQUAL(transport_sendmail_classify(st,
		    rows[i].timed_out), rows[i].want);
	}
}

static void
test_split_argv(void)
{
	char buf[TRANSPORT_ARG_MAX], *argv[TRANSPORT_ARGV_MAX], many[512];
	int i;

	CU_ASSERT_EQUAL(transport_split_argv("/usr/sbin/sendmail -t -i", buf,
	    sizeof(buf), argv), 3);
	CU_ASSERT_STRING_EQUAL(argv[0], "/usr/sbin/sendmail");
	CU_ASSERT_STRING_EQUAL(argv[2], "-i");
	CU_ASSERT_PTR_NULL(argv[3]);
	CU_ASSERT_EQUAL(transport_split_argv("  /bin/x   'a b'  ", buf,
	    sizeof(buf), argv), 3);	/* no quoting: words are words */
	CU_ASSERT_STRING_EQUAL(argv[1], "'a");
	CU_ASSERT_EQUAL(transport_split_argv("", buf, sizeof(buf), argv), -1);
	CU_ASSERT_EQUAL(transport_split_argv("   ", buf, sizeof(buf), argv),
	    -1);
	many[0] = '\0';
	for (i = 0; i < 40; i++)
		strcat(many, "/x ");
	CU_ASSERT_EQUAL(transport_split_argv(many, buf, sizeof(buf), argv), -1);
}

static char *
read_file(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL)
		return NULL;
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_maildir_exactly_once(void)
{
	char root[] = "/tmp/test-maildir.XXXXXX", path[PATH_MAX], got[256];
	char err[256] = "", cmd[PATH_MAX + 16];
	struct transport t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
	snprintf(path, sizeof(path), "maildir:%s/md", root);
	CU_ASSERT_EQUAL_FATAL(transport_open(&t, path, 5, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(t.name, "maildir");
	/* the directory and its tmp/new/cur are created on first use */
	CU_ASSERT_EQUAL(t.deliver(&t, "order-confirmation-1", "first\n", 6, 0,
	    err, sizeof(err)), TRANSPORT_DELIVERED);
	snprintf(path, sizeof(path), "%s/md/new/order-confirmation-1", root);
	CU_ASSERT_PTR_NOT_NULL(read_file(path, got, sizeof(got)));
	CU_ASSERT_STRING_EQUAL(got, "first\n");
	/* again, as a retry after a kill would: success, nothing replaced */
	CU_ASSERT_EQUAL(t.deliver(&t, "order-confirmation-1", "second\n", 7,
	    TRANSPORT_MAYBE_DELIVERED, err, sizeof(err)), TRANSPORT_DELIVERED);
	CU_ASSERT_PTR_NOT_NULL(read_file(path, got, sizeof(got)));
	CU_ASSERT_STRING_EQUAL(got, "first\n");
	snprintf(path, sizeof(path), "%s/md/new", root);
	CU_ASSERT_EQUAL(count_entries(path), 1);
	snprintf(path, sizeof(path), "%s/md/tmp", root);
	CU_ASSERT_EQUAL(count_entries(path), 0);
	/* a second key is a second message */
	CU_ASSERT_EQUAL(t.deliver(&t, "order-confirmation-2", "x", 1, 0, err,
	    sizeof(err)), TRANSPORT_DELIVERED);
	snprintf(path, sizeof(path), "%s/md/new", root);
	CU_ASSERT_EQUAL(count_entries(path), 2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/*
 * A mail client read the first delivery: new/<name> became
 * cur/<name>:2,S.  A retry that says an earlier attempt may have delivered
 * recognises it there (no second message, in one-by-one and batch mode);
 * a first attempt does not look (it cannot have a predecessor).
 */
static void
test_maildir_read_by_a_client(void)
{
	char root[] = "/tmp/test-maildir.XXXXXX", path[PATH_MAX], to[PATH_MAX];
	char err[256] = "", cmd[PATH_MAX + 16], spec[PATH_MAX];
	struct transport t;
	int batch;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
	snprintf(spec, sizeof(spec), "maildir:%s/md", root);
	for (batch = 0; batch <= 1; batch++) {
		const char *name = batch ? "order-confirmation-8" :
		    "order-confirmation-7";

		CU_ASSERT_EQUAL_FATAL(transport_open(&t, spec, 5, err,
		    sizeof(err)), 0);
		CU_ASSERT_EQUAL(t.deliver(&t, name, "first\n", 6, 0, err,
		    sizeof(err)), TRANSPORT_DELIVERED);
		snprintf(path, sizeof(path), "%s/md/new/%s", root, name);
		snprintf(to, sizeof(to), "%s/md/cur/%s:2,S", root, name);
		CU_ASSERT_EQUAL(rename(path, to), 0);
		if (batch)
			CU_ASSERT_EQUAL(transport_batch(&t, 1), 0);
		CU_ASSERT_EQUAL(t.deliver(&t, name, "second\n", 7,
		    TRANSPORT_MAYBE_DELIVERED, err, sizeof(err)),
		    TRANSPORT_DELIVERED);
		CU_ASSERT_EQUAL(transport_sync(&t, err, sizeof(err)),
		    TRANSPORT_DELIVERED);
		CU_ASSERT_EQUAL(access(path, F_OK), -1);
		CU_ASSERT_EQUAL(transport_batch(&t, 0), 0);
	}
	snprintf(path, sizeof(path), "%s/md/new", root);
	CU_ASSERT_EQUAL(count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/md/cur", root);
	CU_ASSERT_EQUAL(count_entries(path), 2);
	snprintf(path, sizeof(path), "%s/md/tmp", root);
	CU_ASSERT_EQUAL(count_entries(path), 0);
	/* a name that only starts like one in cur/ is another message */
	CU_ASSERT_EQUAL(t.deliver(&t, "order-confirmation-70", "x", 1,
	    TRANSPORT_MAYBE_DELIVERED, err, sizeof(err)), TRANSPORT_DELIVERED);
	snprintf(path, sizeof(path), "%s/md/new", root);
	CU_ASSERT_EQUAL(count_entries(path), 1);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/* maildir(5): tmp/ files untouched for 36 h go; newer ones stay. */
static void
test_maildir_clean_tmp(void)
{
	char root[] = "/tmp/test-maildir.XXXXXX", path[PATH_MAX];
	char cmd[PATH_MAX + 16];
	struct timespec old[2];
	int fd, i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/tmp", root);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/tmp/leftover-%d", root, i);
		fd = open(path, O_WRONLY | O_CREAT, 0600);
		CU_ASSERT(fd >= 0);
		close(fd);
	}
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 37 * 3600;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/tmp/leftover-%d", root, i);
		CU_ASSERT_EQUAL(utimensat(AT_FDCWD, path, old, 0), 0);
	}
	/* 35 hours old: kept */
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 35 * 3600;
	snprintf(path, sizeof(path), "%s/tmp/leftover-2", root);
	CU_ASSERT_EQUAL(utimensat(AT_FDCWD, path, old, 0), 0);
	CU_ASSERT_EQUAL(transport_maildir_clean_tmp(root, 36 * 3600), 2);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/tmp", root);
	CU_ASSERT_EQUAL(count_entries(path), 1);
	/* no maildir at all: nothing to do, no error */
	snprintf(path, sizeof(path), "%s/none", root);
	CU_ASSERT_EQUAL(transport_maildir_clean_tmp(path, 36 * 3600), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void
test_maildir_failures_are_transient(void)
{
	char root[] = "/tmp/test-maildir.XXXXXX", path[PATH_MAX];
	char err[256] = "", cmd[PATH_MAX + 16];
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
	/* a file where the maildir should be */
	snprintf(path, sizeof(path), "%s/file", root);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CU_ASSERT(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/file/md", root);
	CU_ASSERT_EQUAL(transport_maildir_put(path, "k", "m", 1, 0, err,
	    sizeof(err)), TRANSPORT_TRANSIENT);
	CU_ASSERT(strstr(err, "maildir: mkdir") != NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static enum transport_result
sendmail(const char *spec, unsigned timeout, const char *msg, size_t len,
    char *err, size_t errsize)
{
	struct transport t;

	if (transport_open(&t, spec, timeout, err, errsize) != 0)
		return (enum transport_result)-1;
	return t.deliver(&t, "name", msg, len, 0, err, errsize);
}

static void
test_sendmail_commands(void)
{
	char err[256], *big;
	size_t bigsize = 4 * 1024 * 1024;
	uint64_t start;

	signal(SIGPIPE, SIG_IGN);	/* as the runner does */
	CU_ASSERT_EQUAL(sendmail("sendmail:/bin/cat", 5, "hello\n", 6, err,
	    sizeof(err)), TRANSPORT_DELIVERED);
	err[0] = '\0';
	CU_ASSERT_EQUAL(sendmail("sendmail:/bin/false", 5, "x", 1, err,
	    sizeof(err)), TRANSPORT_PERMANENT);
	CU_ASSERT_STRING_EQUAL(err, "sendmail: exit 1");
	CU_ASSERT_EQUAL(sendmail("sendmail:/nonexistent/sendmail -t", 5, "x",
	    1, err, sizeof(err)), TRANSPORT_TRANSIENT);
	CU_ASSERT(strstr(err, "exit 75: cannot execute") != NULL);
	/* more than a pipe holds: stdin is fed as the child reads */
	big = malloc(bigsize);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'a', bigsize);
	CU_ASSERT_EQUAL(sendmail("sendmail:/bin/cat", 5, big, bigsize, err,
	    sizeof(err)), TRANSPORT_DELIVERED);
	/* a child that exits without reading: its exit status decides */
	CU_ASSERT_EQUAL(sendmail("sendmail:/bin/true", 5, big, bigsize, err,
	    sizeof(err)), TRANSPORT_DELIVERED);
	free(big);
	start = util_monotonic_us();
	CU_ASSERT_EQUAL(sendmail("sendmail:/bin/sleep 30", 1, "x", 1, err,
	    sizeof(err)), TRANSPORT_TRANSIENT);
	CU_ASSERT_STRING_EQUAL(err, "sendmail: timed out, killed");
	CU_ASSERT(util_monotonic_us() - start < 5000000);
	CU_ASSERT_EQUAL(sendmail("smtp:mx.example.com", 5, "x", 1, err,
	    sizeof(err)), (enum transport_result)-1);
}

static const struct cunit_test tests[] = {
	{ "sendmail exit status classification (sysexits)", test_classify },
	{ "command split on spaces, no shell", test_split_argv },
	{ "maildir: delivered once, again is success", test_maildir_exactly_once },
	{ "maildir: a message a client moved to cur/ is not delivered again",
	    test_maildir_read_by_a_client },
	{ "maildir: tmp/ leftovers older than 36 h are removed",
	    test_maildir_clean_tmp },
	{ "maildir: errors are transient", test_maildir_failures_are_transient },
	{ "sendmail: real commands, big input, timeout", test_sendmail_commands },
};

CUNIT_MAIN("transport", tests)

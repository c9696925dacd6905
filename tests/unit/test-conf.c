/*
 * test-conf.c: the configuration parser: a good file, defaults, and one
 * row per kind of bad line, each checked for its file:line: key: message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "cunit-main.h"

static int
parse(const char *text, struct conf *c, char *err, size_t errsize)
{
	return conf_parse("test.conf", text, strlen(text), c, err, errsize);
}

static void
test_good_file(void)
{
	static const char text[] =
	    "# catalog\n"
	    "\n"
	    "db.socket = /run/mysqld/mysqld.sock\n"
	    "db.user=catalog\n"
	    "db.password = pa#ss word  # trailing comment\n"
	    "db.name = catalog\n"
	    "cache.servers = 127.0.0.1:11211, 10.0.0.2:11212\n"
	    "cache.ttl_seconds = 300\n"
	    "http.admin_token = 0123456789abcdef0123\n"
	    "app.listen = 127.0.0.1:9000\n"
	    "app.workers = 8\n"
	    "runner.batch_size = 50\n"
	    "runner.max_attempts = 5\n"
	    "runner.backoff_base_ms = 2000\n"
	    "runner.backoff_cap_ms = 3600000\n"
	    "runner.lease_seconds = 300\n"
	    "mail.transport = sendmail:/usr/sbin/sendmail -t -i\n"
	    "mail.from = shop@example.com\n"
	    "log.level = debug\n";
	struct conf c;
	char err[CONF_ERR_MAX] = "";

	CU_ASSERT_EQUAL_FATAL(parse(text, &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.db_socket, "/run/mysqld/mysqld.sock");
	CU_ASSERT_STRING_EQUAL(c.db_password, "pa#ss word");
	CU_ASSERT_STRING_EQUAL(c.cache_servers,
	    "127.0.0.1:11211, 10.0.0.2:11212");
	CU_ASSERT_EQUAL(c.app_workers, 8);
	CU_ASSERT_STRING_EQUAL(c.app_listen, "127.0.0.1:9000");
	CU_ASSERT_STRING_EQUAL(c.mail_transport,
	    "sendmail:/usr/sbin/sendmail -t -i");
	CU_ASSERT_STRING_EQUAL(c.log_level, "debug");
}

static void
test_defaults(void)
{
	struct conf c;
	char err[CONF_ERR_MAX] = "";

	CU_ASSERT_EQUAL_FATAL(parse("", &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.db_socket, "/run/mysqld/mysqld.sock");
	CU_ASSERT_EQUAL(c.cache_ttl_seconds, 300);
	CU_ASSERT_EQUAL(c.app_workers, 4);
	CU_ASSERT_EQUAL(c.runner_batch_size, 50);
	CU_ASSERT_EQUAL(c.runner_max_attempts, 5);
	CU_ASSERT_EQUAL(c.runner_backoff_base_ms, 2000);
	CU_ASSERT_EQUAL(c.runner_backoff_cap_ms, 3600000);
	CU_ASSERT_EQUAL(c.runner_lease_seconds, 300);
	CU_ASSERT(strncmp(c.mail_transport, "maildir:/", 9) == 0);
	CU_ASSERT_STRING_EQUAL(c.http_admin_token, "");
}

/* Each bad input and the exact start of its message. */
static const struct {
	const char *text;
	const char *message;
} bad_rows[] = {
	{ "nosuch.key = 1\n", "test.conf:1: nosuch.key: unknown key" },
	{ "\n\napp.workers = 0\n", "test.conf:3: app.workers: bad value: must be an integer in 1..256" },
	{ "app.workers = 257\n", "test.conf:1: app.workers: bad value" },
	{ "app.workers = -1\n", "test.conf:1: app.workers: bad value" },
	{ "app.workers = 4x\n", "test.conf:1: app.workers: bad value" },
	{ "app.workers =\n", "test.conf:1: app.workers: bad value" },
	{ "app.workers = 99999999999999999999999\n", "test.conf:1: app.workers: bad value" },
	{ "cache.ttl_seconds = 2592001\n", "test.conf:1: cache.ttl_seconds: bad value" },
	{ "just some words\n", "test.conf:1: expected `key = value`" },
	{ "= value\n", "test.conf:1: missing key before `=`" },
	{ "app.workers = 2\napp.workers = 3\n", "test.conf:2: app.workers: duplicate key (first set on line 1)" },
	{ "db.socket = relative/path\n", "test.conf:1: db.socket: bad value: must be an absolute path" },
	{ "db.socket = /s\ndb.host = db.example\n", "test.conf:2: db.host: db.socket and db.host are mutually exclusive" },
	{ "db.host = bad host\n", "test.conf:1: db.host: bad value" },
	{ "db.port = 65536\n", "test.conf:1: db.port: bad value" },
	{ "db.name = cat;alog\n", "test.conf:1: db.name: bad value" },
	{ "db.user =\n", "test.conf:1: db.user: bad value: must not be empty" },
	{ "cache.servers = localhost\n", "test.conf:1: cache.servers: bad value" },
	{ "cache.servers = 127.0.0.1:0\n", "test.conf:1: cache.servers: bad value" },
	{ "cache.servers = 127.0.0.1:11211,,\n", "test.conf:1: cache.servers: bad value" },
	{ "http.admin_token = short\n", "test.conf:1: http.admin_token: bad value: must be at least 16 characters" },
	{ "app.listen = nowhere\n", "test.conf:1: app.listen: bad value" },
	{ "mail.transport = smtp:mail.example.com\n", "test.conf:1: mail.transport: bad value" },
	{ "mail.transport = maildir:relative\n", "test.conf:1: mail.transport: bad value" },
	{ "mail.from = not-an-address\n", "test.conf:1: mail.from: bad value" },
	{ "mail.from = a@b.example\r\nX: y\n", "test.conf:2: expected `key = value`" },
	{ "log.level = loud\n", "test.conf:1: log.level: bad value" },
	{ "runner.backoff_base_ms = 5000\nrunner.backoff_cap_ms = 1000\n", "test.conf: runner.backoff_base_ms: must not exceed" },
	{ "runner.lease_seconds = 10\nrunner.handler_timeout_seconds = 10\n", "test.conf: runner.handler_timeout_seconds: must be at most runner.lease_seconds - 2 (10)" },
	{ "runner.lease_seconds = 10\nrunner.handler_timeout_seconds = 9\n", "test.conf: runner.handler_timeout_seconds: must be at most runner.lease_seconds - 2 (10)" },
	{ "db.password = \x01secret\n", "test.conf:1: db.password: bad value: contains control characters" },
};

static void
test_bad_lines(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		struct conf c;
		char err[CONF_ERR_MAX] = "";
		int rc = parse(bad_rows[i].text, &c, err, sizeof(err));

		CU_ASSERT_EQUAL(rc, -1);
		if (strncmp(err, bad_rows[i].message,
		    strlen(bad_rows[i].message)) != 0) {
			fprintf(stderr, "row %zu: got \"%s\", want \"%s\"\n",
			    i, err, bad_rows[i].message);
			CU_FAIL("message mismatch");
		}
	}
}

static void
test_nul_and_long_lines(void)
{
	char text[5000], err[CONF_ERR_MAX] = "";
	struct conf c;

	memset(text, 'a', sizeof(text));
	text[sizeof(text) - 1] = '\n';
	CU_ASSERT_EQUAL(conf_parse("t", text, sizeof(text), &c, err,
	    sizeof(err)), -1);
	CU_ASSERT(strstr(err, "line longer than") != NULL);
	CU_ASSERT_EQUAL(conf_parse("t", "app.workers = 1\0x\n", 18, &c, err,
	    sizeof(err)), -1);
	CU_ASSERT(strstr(err, "NUL byte") != NULL);
}

static void
test_load_missing_file(void)
{
	struct conf c;
	char err[CONF_ERR_MAX] = "";

	CU_ASSERT_EQUAL(conf_load("/nonexistent/catalog.conf", &c, err,
	    sizeof(err)), -1);
	CU_ASSERT(strstr(err, "/nonexistent/catalog.conf") != NULL);
}

static void
test_load_file(void)
{
	char path[] = "/tmp/test-conf-XXXXXX", err[CONF_ERR_MAX] = "";
	struct conf c;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, "app.workers = 3\nbogus = 1\n", 26) == 26);
	close(fd);
	CU_ASSERT_EQUAL(conf_load(path, &c, err, sizeof(err)), -1);
	CU_ASSERT(strstr(err, ":2: bogus: unknown key") != NULL);
	unlink(path);
}

static void
test_key_table(void)
{
	size_t i, n = conf_key_count();

	CU_ASSERT(n >= 17);
	for (i = 0; i < n; i++)
		CU_ASSERT_PTR_NOT_NULL(conf_key_name(i));
	CU_ASSERT_PTR_NULL(conf_key_name(n));
}

static const struct cunit_test tests[] = {
	{ "good file", test_good_file },
	{ "defaults", test_defaults },
	{ "each kind of bad line", test_bad_lines },
	{ "NUL and overlong lines", test_nul_and_long_lines },
	{ "missing file", test_load_missing_file },
	{ "load names file and line", test_load_file },
	{ "key table", test_key_table },
};

CUNIT_MAIN("conf", tests)

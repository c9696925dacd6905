/*
 * conf.c: the key table and the parser for catalog.conf.
 *
 * Each key is declared once in conf_keys[]: its name, where it lives in
 * struct conf, its kind (bounded unsigned, bounded string) and an optional
 * validator that only computes.  The parser never stores a value it has not
 * validated, and cross-key rules (db.socket versus db.host, backoff base
 * below cap, handler timeout plus a margin within the lease) are checked
 * once the whole file is read.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "util.h"

#define CONF_FILE_MAX	(256 * 1024)
#define CONF_LINE_MAX	4096

enum conf_kind {
	CONF_UINT,
	CONF_STRING
};

typedef int (*conf_validator)(const char *value, char *why, size_t whysize);

struct conf_key {
	const char	*name;
	enum conf_kind	 kind;
	size_t		 offset;
	size_t		 size;		/* string buffer size */
	unsigned	 min, max;	/* UINT bounds */
	conf_validator	 validate;	/* optional, strings */
};

static int conf_check_path(const char *, char *, size_t);
static int conf_check_host(const char *, char *, size_t);
static int conf_check_word(const char *, char *, size_t);
static int conf_check_dbname(const char *, char *, size_t);
static int conf_check_servers(const char *, char *, size_t);
static int conf_check_token(const char *, char *, size_t);
static int conf_check_listen(const char *, char *, size_t);
static int conf_check_transport(const char *, char *, size_t);
static int conf_check_email(const char *, char *, size_t);
static int conf_check_level(const char *, char *, size_t);
static int conf_check_mode(const char *, char *, size_t);
static int conf_check_group(const char *, char *, size_t);

#define U(key, field, lo, hi) \
	{ key, CONF_UINT, offsetof(struct conf, field), 0, lo, hi, NULL }
#define S(key, field, check) \
	{ key, CONF_STRING, offsetof(struct conf, field), \
	  sizeof(((struct conf *)0)->field), 0, 0, check }

static const struct conf_key conf_keys[] = {
	S("db.socket",		db_socket,		conf_check_path),
	S("db.host",		db_host,		conf_check_host),
	U("db.port",		db_port,		1, 65535),
	S("db.user",		db_user,		conf_check_word),
	S("db.password",	db_password,		NULL),
	S("db.name",		db_name,		conf_check_dbname),
	U("db.timeout_ms",	db_timeout_ms,		100, 600000),
	S("cache.servers",	cache_servers,		conf_check_servers),
	U("cache.ttl_seconds",	cache_ttl_seconds,	1, 2592000),
	U("cache.timeout_ms",	cache_timeout_ms,	1, 10000),
	U("cache.retry_seconds", cache_retry_seconds,	1, 3600),
	U("cache.item_size_max", cache_item_size_max,	1024, 1073741824),
	U("cache.sync_interval_ms", cache_sync_interval_ms, 10, 1000),
	U("cache.near_bytes",	cache_near_bytes,	0, 1073741824),
	S("http.admin_token",	http_admin_token,	conf_check_token),
	S("app.listen",		app_listen,		conf_check_listen),
	U("app.workers",	app_workers,		1, 256),
	U("app.threads",	app_threads,		1, 64),
	U("app.backlog",	app_backlog,		1, 65535),
	U("app.idle_timeout_seconds", app_idle_timeout_seconds, 1, 86400),
	S("app.socket_mode",	app_socket_mode,	conf_check_mode),
	S("app.socket_group",	app_socket_group,	conf_check_group),
	U("runner.batch_size",	runner_batch_size,	1, 1000),
	U("runner.max_attempts", runner_max_attempts,	1, 100),
	U("runner.backoff_base_ms", runner_backoff_base_ms, 1, 86400000),
	U("runner.backoff_cap_ms", runner_backoff_cap_ms, 1, 604800000),
	U("runner.lease_seconds", runner_lease_seconds,	5, 86400),
	U("runner.poll_ms",	runner_poll_ms,		10, 60000),
	U("runner.handler_timeout_seconds", runner_handler_timeout_seconds,
	    1, 3600),
	S("mail.transport",	mail_transport,		conf_check_transport),
	S("mail.from",		mail_from,		conf_check_email),
	S("log.level",		log_level,		conf_check_level),
};

#undef U
#undef S

size_t
conf_key_count(void)
{
	return ARRAY_SIZE(conf_keys);
}

const char *
conf_key_name(size_t i)
{
	return i < ARRAY_SIZE(conf_keys) ? conf_keys[i].name : NULL;
}

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->db_port = 3306;
	util_strlcpy(c->db_user, "catalog", sizeof(c->db_user));
	util_strlcpy(c->db_name, "catalog", sizeof(c->db_name));
	c->db_timeout_ms = 5000;
	util_strlcpy(c->cache_servers, "127.0.0.1:11211",
	    sizeof(c->cache_servers));
	c->cache_ttl_seconds = 300;
	c->cache_timeout_ms = 100;
	c->cache_item_size_max = 1048576;
	c->cache_retry_seconds = 2;
	c->cache_sync_interval_ms = 100;
	c->cache_near_bytes = 16777216;
	util_strlcpy(c->app_listen, "/run/catalog/app.sock",
	    sizeof(c->app_listen));
	c->app_workers = 4;
	c->app_threads = 4;
	c->app_backlog = 1024;
	c->app_idle_timeout_seconds = 120;
	util_strlcpy(c->app_socket_mode, "0660", sizeof(c->app_socket_mode));
	util_strlcpy(c->app_socket_group, "www-data",
	    sizeof(c->app_socket_group));
	c->runner_batch_size = 50;
	c->runner_max_attempts = 5;
	c->runner_backoff_base_ms = 2000;
	c->runner_backoff_cap_ms = 3600000;
	c->runner_lease_seconds = 300;
	c->runner_poll_ms = 1000;
	c->runner_handler_timeout_seconds = 30;
	util_strlcpy(c->mail_transport, "maildir:" LOCALSTATEDIR
	    "/spool/catalog/maildir", sizeof(c->mail_transport));
	util_strlcpy(c->mail_from, "shop@example.com", sizeof(c->mail_from));
	util_strlcpy(c->log_level, "info", sizeof(c->log_level));
}

static int
conf_why(char *why, size_t size, const char *msg)
{
	util_strlcpy(why, msg, size);
	return -1;
}

static int
conf_check_path(const char *v, char *why, size_t n)
{
	if (v[0] != '/')
		return conf_why(why, n, "must be an absolute path");
	return 0;
}

static int
conf_check_hostname(const char *h, size_t len)
{
	size_t i;

	if (len == 0 || len > 253)
		return -1;
	for (i = 0; i < len; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == ':' || c == '_'))
			return -1;
	}
	return 0;
}

static int
conf_check_host(const char *v, char *why, size_t n)
{
	if (conf_check_hostname(v, strlen(v)) != 0)
		return conf_why(why, n, "must be a host name or address");
	return 0;
}

static int
conf_check_word(const char *v, char *why, size_t n)
{
	const char *p;

	if (*v == '\0')
		return conf_why(why, n, "must not be empty");
	for (p = v; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return conf_why(why, n,
			    "must be visible ASCII without spaces");
	return 0;
}

static int
conf_check_dbname(const char *v, char *why, size_t n)
{
	const char *p;

	if (*v == '\0')
		return conf_why(why, n, "must not be empty");
	for (p = v; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '$'))
			return conf_why(why, n,
			    "must be letters, digits, _ or $");
	return 0;
}

/* host:port, with [v6]:port allowed. */
static int
conf_check_hostport(const char *v, size_t len)
{
	const char *colon;
	uint64_t port;
	size_t hostlen;

	if (len == 0)
		return -1;
	if (v[0] == '[') {
		const char *close = memchr(v, ']', len);
		if (close == NULL || (size_t)(close - v) + 1 >= len ||
		    close[1] != ':')
			return -1;
		colon = close + 1;
		if (conf_check_hostname(v + 1, (size_t)(close - v) - 1) != 0)
			return -1;
	} else {
		colon = NULL;
		for (size_t i = 0; i < len; i++)
			if (v[i] == ':')
				colon = v + i;
		if (colon == NULL)
			return -1;
		hostlen = (size_t)(colon - v);
		if (memchr(v, ':', hostlen) != NULL ||
		    conf_check_hostname(v, hostlen) != 0)
			return -1;
	}
	return util_parse_u64n(colon + 1, len - (size_t)(colon + 1 - v), 1,
	    65535, &port);
}

static int
conf_check_servers(const char *v, char *why, size_t n)
{
	const char *p = v;
	int count = 0;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (conf_check_hostport(p, len) != 0)
			return conf_why(why, n,
			    "must be a comma-separated list of host:port");
		if (++count > 32)
			return conf_why(why, n, "at most 32 servers");
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 0;
}

static int
conf_check_token(const char *v, char *why, size_t n)
{
	if (*v == '\0')
		return 0;	/* admin endpoints disabled */
	if (conf_check_word(v, why, n) != 0)
		return -1;
	if (strlen(v) < 16)
		return conf_why(why, n, "must be at least 16 characters");
	return 0;
}

static int
conf_check_listen(const char *v, char *why, size_t n)
{
	if (v[0] == '/') {
		/* sockaddr_un.sun_path is 108 bytes on Linux */
		if (strlen(v) >= 108)
			return conf_why(why, n,
			    "unix socket path must be shorter than 108 bytes");
		return 0;
	}
	if (conf_check_hostport(v, strlen(v)) != 0)
		return conf_why(why, n,
		    "must be an absolute unix socket path or host:port");
	return 0;
}

static int
conf_check_transport(const char *v, char *why, size_t n)
{
	if (strncmp(v, "maildir:", 8) == 0) {
		if (v[8] != '/')
			return conf_why(why, n,
			    "maildir: needs an absolute directory");
		return 0;
	}
	if (strncmp(v, "sendmail:", 9) == 0) {
		if (v[9] != '/')
			return conf_why(why, n,
			    "sendmail: needs an absolute command path");
		return 0;
	}
	return conf_why(why, n, "must be maildir:DIR or sendmail:COMMAND ARGS");
}

static int
conf_check_email(const char *v, char *why, size_t n)
{
	if (!util_valid_email(v, strlen(v)))
		return conf_why(why, n, "must be an address like shop@example.com");
	return 0;
}

static int
conf_check_level(const char *v, char *why, size_t n)
{
	if (strcmp(v, "error") != 0 && strcmp(v, "warn") != 0 &&
	    strcmp(v, "info") != 0 && strcmp(v, "debug") != 0)
		return conf_why(why, n, "must be error, warn, info or debug");
	return 0;
}

/* An octal file mode for the socket: 3 or 4 digits, at most 0777. */
static int
conf_check_mode(const char *v, char *why, size_t n)
{
	size_t len = strlen(v), i;

	if (len < 3 || len > 4 || (len == 4 && v[0] != '0'))
		return conf_why(why, n, "must be an octal mode such as 0660");
	for (i = 0; i < len; i++)
		if (v[i] < '0' || v[i] > '7')
			return conf_why(why, n,
			    "must be an octal mode such as 0660");
	return 0;
}

/* Empty (keep the program's group), a group name, or a numeric gid. */
static int
conf_check_group(const char *v, char *why, size_t n)
{
	const char *p;

	if (v[0] == '-')
		return conf_why(why, n, "must not begin with -");
	for (p = v; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    *p == '.'))
			return conf_why(why, n,
			    "must be a group name (letters, digits, . _ -) or a gid");
	return 0;
}

static int
conf_error(char *err, size_t size, const char *name, unsigned line,
    const char *key, const char *fmt, ...)
{
	char msg[CONF_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key != NULL && line == 0)	/* a rule across keys, no one line */
		snprintf(err, size, "%s: %s: %s", name, key, msg);
	else if (key != NULL)
		snprintf(err, size, "%s:%u: %s: %s", name, line, key, msg);
	else
		snprintf(err, size, "%s:%u: %s", name, line, msg);
	return -1;
}

static const struct conf_key *
conf_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(conf_keys); i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* Strips a `#` comment that starts a line or follows a blank. */
static void
conf_strip_comment(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

static int
conf_set(struct conf *c, const struct conf_key *k, const char *value,
    char *why, size_t whysize)
{
	char *field = (char *)c + k->offset;
	uint64_t u;

	if (k->kind == CONF_UINT) {
		if (util_parse_u64(value, k->min, k->max, &u) != 0) {
			snprintf(why, whysize, "must be an integer in %u..%u",
			    k->min, k->max);
			return -1;
		}
		*(unsigned *)(void *)field = (unsigned)u;
		return 0;
	}
	if (strlen(value) >= k->size) {
		snprintf(why, whysize, "longer than %zu bytes", k->size - 1);
		return -1;
	}
	if (!util_valid_utf8_text(value, strlen(value), 0)) {
		snprintf(why, whysize, "contains control characters or bad UTF-8");
		return -1;
	}
	if (k->validate != NULL && k->validate(value, why, whysize) != 0)
		return -1;
	util_strlcpy(field, value, k->size);
	return 0;
}

/* Rules that involve more than one key, checked after the last line. */
static int
conf_check_all(const char *name, struct conf *c, const unsigned *seen,
    char *err, size_t errsize)
{
	size_t socket_i = 0, host_i = 0, i;

	for (i = 0; i < ARRAY_SIZE(conf_keys); i++) {
		if (strcmp(conf_keys[i].name, "db.socket") == 0)
			socket_i = i;
		if (strcmp(conf_keys[i].name, "db.host") == 0)
			host_i = i;
	}
	if (seen[socket_i] && seen[host_i])
		return conf_error(err, errsize, name, seen[host_i], "db.host",
		    "db.socket and db.host are mutually exclusive");
	if (c->db_socket[0] == '\0' && c->db_host[0] == '\0')
		util_strlcpy(c->db_socket, "/run/mysqld/mysqld.sock",
		    sizeof(c->db_socket));
	if (c->cache_near_bytes != 0 && c->cache_near_bytes < 1048576)
		return conf_error(err, errsize, name, 0, "cache.near_bytes",
		    "must be 0 (off) or at least 1048576");
	if (c->runner_backoff_base_ms > c->runner_backoff_cap_ms)
		return conf_error(err, errsize, name, 0,
		    "runner.backoff_base_ms",
		    "must not exceed runner.backoff_cap_ms (%u)",
		    c->runner_backoff_cap_ms);
	if (c->runner_handler_timeout_seconds + CONF_LEASE_MARGIN_SECONDS >
	    c->runner_lease_seconds)
		return conf_error(err, errsize, name, 0,
		    "runner.handler_timeout_seconds",
		    "must be at most runner.lease_seconds - %u (%u): a job's "
		    "lease must outlast its longest attempt",
		    CONF_LEASE_MARGIN_SECONDS, c->runner_lease_seconds);
	return 0;
}

int
conf_parse(const char *name, const char *text, size_t len, struct conf *c,
    char *err, size_t errsize)
{
	/* line where each key was set; 0 = not set */
	unsigned seen_line[ARRAY_SIZE(conf_keys)];
	char line[CONF_LINE_MAX];
	size_t pos = 0;
	unsigned lineno = 0;

	conf_defaults(c);
	memset(seen_line, 0, sizeof(seen_line));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t linelen = nl ? (size_t)(nl - (text + pos)) : len - pos;
		const struct conf_key *k;
		char why[256], *key, *value, *eq;
		size_t ki;

		lineno++;
		if (linelen >= sizeof(line))
			return conf_error(err, errsize, name, lineno, NULL,
			    "line longer than %d bytes", CONF_LINE_MAX - 1);
		memcpy(line, text + pos, linelen);
		line[linelen] = '\0';
		pos += linelen + (nl ? 1 : 0);
		if (memchr(line, '\0', linelen) != NULL)
			return conf_error(err, errsize, name, lineno, NULL,
			    "NUL byte in line");
		conf_strip_comment(line);
		key = util_trim(line);
		if (*key == '\0')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL)
			return conf_error(err, errsize, name, lineno, NULL,
			    "expected `key = value`");
		*eq = '\0';
		value = util_trim(eq + 1);
		key = util_trim(key);
		if (*key == '\0')
			return conf_error(err, errsize, name, lineno, NULL,
			    "missing key before `=`");
		if ((k = conf_find(key)) == NULL)
			return conf_error(err, errsize, name, lineno, key,
			    "unknown key");
		ki = (size_t)(k - conf_keys);
		if (seen_line[ki] != 0)
			return conf_error(err, errsize, name, lineno, key,
			    "duplicate key (first set on line %u)",
			    seen_line[ki]);
		if (conf_set(c, k, value, why, sizeof(why)) != 0)
			return conf_error(err, errsize, name, lineno, key,
			    "bad value: %s", why);
		seen_line[ki] = lineno;
	}
	return conf_check_all(name, c, seen_line, err, errsize) == 0 ? 0 : -1;
}

int
conf_load(const char *path, struct conf *c, char *err, size_t errsize)
{
	FILE *fp;
	char *text = NULL;
	size_t len;
	int rc = -1;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((text = malloc(CONF_FILE_MAX + 1)) == NULL) {
		snprintf(err, errsize, "%s: out of memory", path);
		goto out;
	}
	len = fread(text, 1, CONF_FILE_MAX + 1, fp);
	if (ferror(fp)) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (len > CONF_FILE_MAX) {
		snprintf(err, errsize, "%s: larger than %d bytes", path,
		    CONF_FILE_MAX);
		goto out;
	}
	rc = conf_parse(path, text, len, c, err, errsize);
out:
	free(text);
	fclose(fp);
	return rc;
}

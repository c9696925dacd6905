/*
 * conf.h: the configuration file shared by catalog-fcgi and job-runner.
 *
 * Format (docs/CONFIGURATION.md, catalog.conf(5)): `key = value` lines; blank lines are ignored; `#`
 * starts a comment at the beginning of a line or after a space or tab, as in
 * sh(1), so `key = value  # note` works and a password such as `pa#ss`
 * keeps its `#`.
 * Every key is declared once in conf.c's table with its type, bounds and
 * default; an unknown key, a duplicate key or a bad value is an error that
 * names the file, the line and the key, and the caller exits EX_CONFIG (78).
 *
 * Strings are stored in fixed buffers; a value longer than its buffer is an
 * error, never a silent cut.
 */
#ifndef CORE_CONF_H
#define CORE_CONF_H

#include <limits.h>
#include <stddef.h>

#define CONF_EXIT 78			/* EX_CONFIG from sysexits.h */
#define CONF_ERR_MAX 512
#define CONF_DEFAULT_PATH SYSCONFDIR "/catalog/catalog.conf"
/*
 * A runner starts an attempt only while the job's lease has at least
 * runner.handler_timeout_seconds + CONF_LEASE_MARGIN_SECONDS left (it renews
 * first otherwise), so the longest attempt and the recording of its outcome
 * end before anyone else may claim the job: a live runner's job is never
 * reclaimed.  Hence handler timeout + margin <= lease.
 */
#define CONF_LEASE_MARGIN_SECONDS 2

struct conf {
	/* database: socket, or host + port */
	char		db_socket[PATH_MAX];
	char		db_host[256];
	unsigned	db_port;
	char		db_user[128];
	char		db_password[256];
	char		db_name[64];
	unsigned	db_timeout_ms;		/* connect, read and write */

	/* cache */
	char		cache_servers[1024];	/* host:port,host:port */
	unsigned	cache_ttl_seconds;
	unsigned	cache_timeout_ms;	/* per memcached call */
	unsigned	cache_retry_seconds;	/* circuit breaker open time */
	unsigned	cache_item_size_max;	/* memcached's -I */
	unsigned	cache_sync_interval_ms;	/* invalidation log poll */
	unsigned	cache_near_bytes;	/* host memory cache, 0 = off */

	/* http */
	char		http_admin_token[256];

	/* app */
	char		app_listen[PATH_MAX];	/* unix path or host:port */
	unsigned	app_workers;
	unsigned	app_threads;		/* request threads per worker */
	unsigned	app_backlog;
	unsigned	app_idle_timeout_seconds; /* quiet connection closed */
	char		app_socket_mode[8];	/* octal, of a unix app.listen */
	char		app_socket_group[64];	/* group of that socket */

	/* runner */
	unsigned	runner_batch_size;
	unsigned	runner_max_attempts;
	unsigned	runner_backoff_base_ms;
	unsigned	runner_backoff_cap_ms;
	unsigned	runner_lease_seconds;
	unsigned	runner_poll_ms;
	unsigned	runner_handler_timeout_seconds;

	/* mail */
	char		mail_transport[1024];	/* maildir:DIR | sendmail:CMD ARGS */
	char		mail_from[256];

	/* log */
	char		log_level[16];
};

/* Fills c with every default. */
void conf_defaults(struct conf *c);

/*
 * Reads path into c (defaults first).  Returns 0, or -1 with a message
 * "path:line: key: reason" in err.
 */
int conf_load(const char *path, struct conf *c, char *err, size_t errsize);

/* Parses one buffer as if it were the file `name` (for tests and fuzzing). */
int conf_parse(const char *name, const char *text, size_t len, struct conf *c,
    char *err, size_t errsize);

/* Iteration over the declared keys (documentation tests). */
size_t conf_key_count(void);
const char *conf_key_name(size_t i);

#endif

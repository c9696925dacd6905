/*
 * fuzz-conf.c: libFuzzer target for the configuration parser (conf_parse).
 *
 * On success the cross-key rules must hold and every string must be
 * NUL-terminated inside its buffer; on failure the message must name the
 * file, as catalog.conf(5) promises.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-conf: invariant broken: %s\n", what);
		abort();
	}
}

#define TERMINATED(c, f) (memchr((c)->f, '\0', sizeof((c)->f)) != NULL)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c;	/* large (PATH_MAX buffers): not on the stack */
	char err[CONF_ERR_MAX];

	err[0] = '\0';
	if (conf_parse("fuzz.conf", (const char *)data, size, &c, err,
	    sizeof(err)) != 0) {
		check(strncmp(err, "fuzz.conf:", 10) == 0,
		    "the error names the file");
		return 0;
	}
	check(TERMINATED(&c, db_socket) && TERMINATED(&c, db_host) &&
	    TERMINATED(&c, db_user) && TERMINATED(&c, db_password) &&
	    TERMINATED(&c, db_name) && TERMINATED(&c, cache_servers) &&
	    TERMINATED(&c, http_admin_token) && TERMINATED(&c, app_listen) &&
	    TERMINATED(&c, mail_transport) && TERMINATED(&c, mail_from) &&
	    TERMINATED(&c, log_level), "strings terminated");
	check((c.db_socket[0] != '\0') != (c.db_host[0] != '\0'),
	    "exactly one of db.socket and db.host");
	check(c.runner_backoff_base_ms <= c.runner_backoff_cap_ms,
	    "backoff base <= cap");
	check(c.runner_handler_timeout_seconds < c.runner_lease_seconds,
	    "handler timeout < lease");
	check(c.db_port >= 1 && c.db_port <= 65535, "db.port bounds");
	check(c.app_workers >= 1 && c.app_threads >= 1, "workers and threads");
	return 0;
}

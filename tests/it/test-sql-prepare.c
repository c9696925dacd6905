/*
 * test-sql-prepare.c: prepares every statement of the core, catalog-fcgi
 * and job-runner on the fixture's real server (tests/it/55-security.sh),
 * so a typo in a statement's text, or a column the schema does not have,
 * fails the suite instead of the one request that would run it.
 *
 * Usage: test-sql-prepare CONFIG   (exit 0, or 1 naming the statement)
 */
#include "config.h"

#include <stdio.h>

#include "app_sql.h"
#include "conf.h"
#include "db.h"
#include "runner_sql.h"

static int
check(const struct conf *conf, const char *what,
    const struct db_statements *program)
{
	struct db db;
	unsigned failed = 0;
	int rc;

	db_init(&db, conf, program);
	rc = db_prepare_all(&db, &failed);
	db_close(&db);
	if (rc != DB_OK) {
		fprintf(stderr, "test-sql-prepare: %s: statement %u does not "
		    "prepare\n", what, failed);
		return 1;
	}
	printf("%s: %u statements prepared\n", what, program->first +
	    program->n);
	return 0;
}

int
main(int argc, char **argv)
{
	char err[CONF_ERR_MAX];
	struct conf conf;
	int bad = 0;

	if (argc != 2 || conf_load(argv[1], &conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "usage: test-sql-prepare CONFIG (%s)\n",
		    argc == 2 ? err : "");
		return 2;
	}
	bad |= check(&conf, "catalog-fcgi", &app_statements);
	bad |= check(&conf, "job-runner", &runner_statements);
	mysql_library_end();
	return bad;
}

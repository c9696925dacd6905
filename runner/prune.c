/*
 * prune.c: `job-runner prune --older-than DAYS`: deletes `done` jobs whose
 * last change is older than DAYS days (queue_prune, in batches of 1000
 * rows, each its own transaction, so a big prune never holds the queue).
 * pending, running and dead jobs are never pruned; dead letters stay.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "db.h"
#include "log.h"
#include "queue.h"
#include "runner.h"
#include "runner_sql.h"
#include "util.h"

#define PRUNE_DAYS_MAX	36500

static int
prune_usage(void)
{
	fprintf(stderr, "usage: job-runner prune --older-than DAYS\n");
	return RUNNER_EXIT_USAGE;
}

int
runner_cmd_prune(const struct conf *conf, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "older-than", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	struct db db;
	uint64_t days = 0, deleted = 0;
	int ch, have_days = 0, rc = RUNNER_EXIT_RUNTIME;

	optind = 0;	/* glibc: re-initialise, main() scanned with "+" */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'o' || util_parse_u64(optarg, 0, PRUNE_DAYS_MAX,
		    &days) != 0)
			return prune_usage();
		have_days = 1;
	}
	if (!have_days || optind != argc)
		return prune_usage();
	db_init(&db, conf, &runner_statements);
	if (queue_prune(&db, (unsigned)days, &deleted) == DB_OK) {
		log_msg(LOG_INFO, "event=prune older_than_days=%llu deleted=%llu",
		    (unsigned long long)days, (unsigned long long)deleted);
		printf("pruned %llu done job%s\n", (unsigned long long)deleted,
		    deleted == 1 ? "" : "s");
		rc = RUNNER_EXIT_OK;
	}
	db_close(&db);
	return rc;
}

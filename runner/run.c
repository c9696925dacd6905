/*
 * run.c: `job-runner run --once|--loop`: the claim loop.
 *
 * Foundation version: connects to the database and reports the due jobs;
 * claiming and handlers arrive with the runner issue.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "runner.h"
#include "util.h"

static const char sql_due[] =
    "SELECT COUNT(*) FROM jobs WHERE status = 'pending' AND run_at <= NOW(6)";

int
runner_cmd_run(const struct conf *conf, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "loop", no_argument, NULL, 'l' },
		{ "max-runtime", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 }
	};
	struct db db;
	struct db_val col = db_out_i64();
	uint64_t max_runtime = 0;
	int ch, once = 0, loop = 0, rc = RUNNER_EXIT_RUNTIME;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': once = 1; break;
		case 'l': loop = 1; break;
		case 'm':
			if (util_parse_u64(optarg, 1, 86400 * 7, &max_runtime) != 0) {
				fprintf(stderr, "job-runner: --max-runtime: "
				    "expected seconds in 1..604800\n");
				return RUNNER_EXIT_USAGE;
			}
			break;
		default:
			return RUNNER_EXIT_USAGE;
		}
	}
	if (once == loop || optind != argc) {
		fprintf(stderr, "usage: job-runner run --once [--max-runtime SEC]"
		    " | --loop\n");
		return RUNNER_EXIT_USAGE;
	}
	db_init(&db, conf);
	if (db_query_row(&db, sql_due, NULL, 0, &col, 1) != 1)
		goto out;
	log_msg(LOG_INFO, "event=run_summary claimed=0 done=0 retried=0 dead=0 "
	    "due=%lld", (long long)col.i);
	rc = RUNNER_EXIT_OK;
out:
	db_close(&db);
	return rc;
}

int
runner_cmd_dead(const struct conf *conf, int argc, char **argv)
{
	fprintf(stderr, "job-runner: dead: not implemented yet\n");
	return RUNNER_EXIT_RUNTIME;
}

int
runner_cmd_exec(const struct conf *conf, int argc, char **argv)
{
	fprintf(stderr, "job-runner: exec: not implemented yet\n");
	return RUNNER_EXIT_RUNTIME;
}

int
runner_cmd_prune(const struct conf *conf, int argc, char **argv)
{
	fprintf(stderr, "job-runner: prune: not implemented yet\n");
	return RUNNER_EXIT_RUNTIME;
}

/*
 * dead.c: `job-runner dead list|show|replay`: the operator's view of the
 * dead letters (CONTRACT §5).
 *
 * IDs on the command line are job ids, as the per-attempt log lines and
 * `dead list` show them; a job that died several times (replayed, died
 * again) has one dead_letter_jobs row per death and `show` prints the
 * latest.  Replay is jobs_replay(): every named job back to pending with
 * attempts reset and its open dead letter stamped replayed_at, all in one
 * transaction; one id that is not a dead job rolls back the whole command.
 *
 * Output goes to stdout; text from the database is printed with control
 * characters replaced, so a payload or error cannot drive the terminal.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "jobs.h"
#include "log.h"
#include "runner.h"
#include "runner_sql.h"
#include "util.h"

#define DEAD_LIST_MAX	1000
#define DEAD_IDS_MAX	1000
#define DEAD_SHOW_MAX	(1024 * 1024)	/* payload / error shown */
#define DEAD_ERROR_COL	200

/* Prints s with control characters (but newlines when keep_nl) as '?'. */
static void
dead_print_clean(const char *s, int keep_nl)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		putchar((*p < 0x20 && !(keep_nl && (*p == '\n' ||
		    *p == '\t'))) || *p == 0x7f ? '?' : *p);
}

static int
dead_list(struct db *db, int all)
{
	char type[JOBS_TYPE_MAX + 1], failed[32], error[DEAD_ERROR_COL * 4 + 1];
	char replayed[32];
	struct db_val cols[7];
	MYSQL_STMT *cur;
	int rc, rows = 0;

	cols[0] = db_out_i64();
	cols[1] = db_out_i64();
	cols[2] = db_out_str(type, sizeof(type));
	cols[3] = db_out_i64();
	cols[4] = db_out_str(failed, sizeof(failed));
	cols[5] = db_out_str(error, sizeof(error));
	cols[6] = db_out_str(replayed, sizeof(replayed));
	if (db_query(db, all ? STMT_DEAD_LIST_ALL : STMT_DEAD_LIST_OPEN, NULL,
	    0, cols, 7,
	    &cur) != DB_OK)
		return RUNNER_EXIT_RUNTIME;
	printf("%-10s %-8s %-26s %-8s %-19s %s%s\n", "JOB_ID", "DEAD_ID",
	    "TYPE", "ATTEMPTS", "FAILED_AT (UTC)", all ? "REPLAYED_AT (UTC)  " :
	    "", "ERROR");
	while ((rc = db_fetch(db, cur, cols, 7)) == 1) {
		if (++rows > DEAD_LIST_MAX) {
			printf("... more than %d dead letters, showing the "
			    "oldest\n", DEAD_LIST_MAX);
			break;
		}
		printf("%-10lld %-8lld ", (long long)cols[0].i,
		    (long long)cols[1].i);
		dead_print_clean(type, 0);
		printf("%*s %-8lld %-19s ", (int)(strlen(type) < 26 ?
		    26 - strlen(type) : 0), "", (long long)cols[3].i, failed);
		if (all)
			printf("%-19s ", replayed);
		dead_print_clean(error, 0);
		putchar('\n');
	}
	db_done(cur);
	if (rc < 0)
		return RUNNER_EXIT_RUNTIME;
	return RUNNER_EXIT_OK;
}

struct dead_show_bufs {
	char	*error;
	char	*payload;
};

static int
dead_show(struct db *db, int64_t job_id)
{
	char type[JOBS_TYPE_MAX + 1], failed[40], replayed[40], status[16];
	struct db_val p = db_i64(job_id), cols[9];
	struct dead_show_bufs b = { NULL, NULL };
	int rc = RUNNER_EXIT_RUNTIME, found;

	if ((b.error = malloc(DEAD_SHOW_MAX * 4 + 1)) == NULL ||
	    (b.payload = malloc(DEAD_SHOW_MAX * 4 + 1)) == NULL)
		goto out;
	cols[0] = db_out_i64();
	cols[1] = db_out_str(type, sizeof(type));
	cols[2] = db_out_i64();
	cols[3] = db_out_str(failed, sizeof(failed));
	cols[4] = db_out_str(replayed, sizeof(replayed));
	cols[5] = db_out_str(status, sizeof(status));
	cols[6] = db_out_i64();
	cols[7] = db_out_str(b.error, DEAD_SHOW_MAX * 4 + 1);
	cols[8] = db_out_str(b.payload, DEAD_SHOW_MAX * 4 + 1);
	if ((found = db_query_row(db, STMT_DEAD_SHOW, &p, 1, cols, 9)) < 0)
		goto out;
	if (found == 0) {
		fprintf(stderr, "job-runner: dead show: no dead letter for "
		    "job %lld\n", (long long)job_id);
		goto out;
	}
	printf("job_id:       %lld\ndead_letter:  %lld\ntype:         ",
	    (long long)job_id, (long long)cols[0].i);
	dead_print_clean(type, 0);
	printf("\nattempts:     %lld\nfailed_at:    %s UTC\n"
	    "replayed_at:  %s\njob_status:   %s\nerror:\n",
	    (long long)cols[2].i, failed, replayed, status);
	dead_print_clean(b.error, 1);
	printf("\npayload (%lld bytes%s):\n", (long long)cols[6].i,
	    cols[6].i > DEAD_SHOW_MAX ? ", cut" : "");
	dead_print_clean(b.payload, 1);
	putchar('\n');
	rc = RUNNER_EXIT_OK;
out:
	free(b.error);
	free(b.payload);
	return rc;
}

static int
dead_replay(struct db *db, int argc, char **argv)
{
	int64_t ids[DEAD_IDS_MAX], bad = 0;
	uint64_t replayed = 0;
	size_t n = 0;
	int i, all = 0, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			all = 1;
		else if (n == DEAD_IDS_MAX || util_parse_i64(argv[i], 1,
		    INT64_MAX, &ids[n++]) != 0) {
			fprintf(stderr, "job-runner: dead replay: bad job id "
			    "(or more than %d): %s\n", DEAD_IDS_MAX, argv[i]);
			return RUNNER_EXIT_USAGE;
		}
	}
	if (all == (n > 0)) {
		fprintf(stderr, "usage: job-runner dead replay ID... | --all\n");
		return RUNNER_EXIT_USAGE;
	}
	rc = jobs_replay(db, ids, n, all, &replayed, &bad);
	if (rc == JOBS_NOT_FOUND) {
		fprintf(stderr, "job-runner: dead replay: job %lld is not "
		    "dead; nothing replayed\n", (long long)bad);
		return RUNNER_EXIT_RUNTIME;
	}
	if (rc != DB_OK)
		return RUNNER_EXIT_RUNTIME;
	log_msg(LOG_INFO, "event=dead_replay replayed=%llu",
	    (unsigned long long)replayed);
	printf("replayed %llu job%s\n", (unsigned long long)replayed,
	    replayed == 1 ? "" : "s");
	return RUNNER_EXIT_OK;
}

static int
dead_usage(void)
{
	fprintf(stderr, "usage: job-runner dead list [--all]\n"
	    "       job-runner dead show JOB_ID\n"
	    "       job-runner dead replay JOB_ID... | --all\n");
	return RUNNER_EXIT_USAGE;
}

int
runner_cmd_dead(const struct conf *conf, int argc, char **argv)
{
	struct db db;
	int64_t id;
	int rc;

	if (argc < 2)
		return dead_usage();
	if (strcmp(argv[1], "list") == 0) {
		if (argc > 3 || (argc == 3 && strcmp(argv[2], "--all") != 0))
			return dead_usage();
	} else if (strcmp(argv[1], "show") == 0) {
		if (argc != 3 || util_parse_i64(argv[2], 1, INT64_MAX, &id) != 0)
			return dead_usage();
	} else if (strcmp(argv[1], "replay") != 0)
		return dead_usage();
	db_init(&db, conf, &runner_statements);
	if (db_ensure(&db) != DB_OK)
		rc = RUNNER_EXIT_RUNTIME;
	else if (strcmp(argv[1], "list") == 0)
		rc = dead_list(&db, argc == 3);
	else if (strcmp(argv[1], "show") == 0)
		rc = dead_show(&db, id);
	else
		rc = dead_replay(&db, argc - 1, argv + 1);
	db_close(&db);
	return rc;
}

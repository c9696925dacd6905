/*
 * dead.c: `job-runner dead list|show|replay`: the operator's view of the
 * dead letters (job-runner(8)).  The SQL is the queue's (queue_admin.c);
 * this file parses arguments and prints.
 *
 * IDs on the command line are job ids, as the per-attempt log lines and
 * `dead list` show them; a job that died several times (replayed, died
 * again) has one dead_letter_jobs row per death and `show` prints the
 * latest; `show ID --payload` prints only its payload, byte for byte as
 * stored, for `exec TYPE FILE`.  Replay is queue_replay(): every named job
 * back to pending with attempts reset and its open dead letter stamped
 * replayed_at, all in one transaction; one id that is not a dead job rolls
 * back the whole command.
 *
 * Output goes to stdout; text from the database is printed with control
 * characters replaced, so a payload or error cannot drive the terminal
 * (but by --payload, whose output is meant for a file or a pipe).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "queue.h"
#include "runner.h"
#include "runner_sql.h"
#include "util.h"

#define DEAD_IDS_MAX	1000

/* Prints s with control characters (but newlines when keep_nl) as '?'. */
static void
dead_print_clean(const char *s, int keep_nl)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		putchar((*p < 0x20 && !(keep_nl && (*p == '\n' ||
		    *p == '\t'))) || *p == 0x7f ? '?' : *p);
}

struct dead_list_ctx {
	int	all;
	int	rows;
};

static int
dead_list_row(const struct queue_dead_row *r, void *arg)
{
	struct dead_list_ctx *c = arg;
	size_t tlen = strlen(r->type);

	if (++c->rows > QUEUE_DEAD_LIST_MAX) {
		printf("... more than %d dead letters, showing the oldest\n",
		    QUEUE_DEAD_LIST_MAX);
		return 1;
	}
	printf("%-10lld %-8lld ", (long long)r->job_id, (long long)r->id);
	dead_print_clean(r->type, 0);
	printf("%*s %-8lld %-19s ", (int)(tlen < 26 ? 26 - tlen : 0), "",
	    (long long)r->attempts, r->failed_at);
	if (c->all)
		printf("%-19s ", r->replayed_at);
	dead_print_clean(r->error, 0);
	putchar('\n');
	return 0;
}

static int
dead_list(struct db *db, int all)
{
	struct dead_list_ctx c = { all, 0 };

	printf("%-10s %-8s %-26s %-8s %-19s %s%s\n", "JOB_ID", "DEAD_ID",
	    "TYPE", "ATTEMPTS", "FAILED_AT (UTC)", all ? "REPLAYED_AT (UTC)  " :
	    "", "ERROR");
	return queue_dead_list(db, all, dead_list_row, &c) == DB_OK ?
	    RUNNER_EXIT_OK : RUNNER_EXIT_RUNTIME;
}

/* The dead letter for people: fields, error, payload (cleaned). */
static void
dead_show_all(int64_t job_id, const struct queue_dead_letter *dl)
{
	printf("job_id:       %lld\ndead_letter:  %lld\ntype:         ",
	    (long long)job_id, (long long)dl->id);
	dead_print_clean(dl->type, 0);
	printf("\nattempts:     %lld\nfailed_at:    %s UTC\n"
	    "replayed_at:  %s\njob_status:   %s\nerror:\n",
	    (long long)dl->attempts, dl->failed_at, dl->replayed_at,
	    dl->job_status);
	dead_print_clean(dl->error, 1);
	printf("\npayload (%lld bytes%s):\n", (long long)dl->payload_len,
	    (int64_t)dl->payload_read < dl->payload_len ? ", cut" : "");
	dead_print_clean(dl->payload, 1);
	putchar('\n');
}

/*
 * The payload alone, byte for byte as stored (no cleaning, no newline
 * added), for `exec TYPE FILE`.  A payload this command could only print
 * cut is refused rather than cut.
 */
static int
dead_show_payload(int64_t job_id, const struct queue_dead_letter *dl)
{
	if ((int64_t)dl->payload_read != dl->payload_len) {
		fprintf(stderr, "job-runner: dead show: the payload of job %lld "
		    "is %lld bytes, more than --payload prints\n",
		    (long long)job_id, (long long)dl->payload_len);
		return RUNNER_EXIT_RUNTIME;
	}
	if (fwrite(dl->payload, 1, dl->payload_read, stdout) !=
	    dl->payload_read || fflush(stdout) != 0) {
		fprintf(stderr, "job-runner: dead show: cannot write the "
		    "payload\n");
		return RUNNER_EXIT_RUNTIME;
	}
	return RUNNER_EXIT_OK;
}

static int
dead_show(struct db *db, int64_t job_id, int payload_only)
{
	struct queue_dead_letter dl;
	int rc;

	if ((rc = queue_dead_get(db, job_id, &dl)) == QUEUE_NOT_FOUND) {
		fprintf(stderr, "job-runner: dead show: no dead letter for "
		    "job %lld\n", (long long)job_id);
		return RUNNER_EXIT_RUNTIME;
	}
	if (rc != DB_OK)
		return RUNNER_EXIT_RUNTIME;
	if (payload_only)
		rc = dead_show_payload(job_id, &dl);
	else {
		dead_show_all(job_id, &dl);
		rc = RUNNER_EXIT_OK;
	}
	queue_dead_letter_free(&dl);
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
	rc = queue_replay(db, ids, n, all, &replayed, &bad);
	if (rc == QUEUE_NOT_FOUND) {
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
	    "       job-runner dead show JOB_ID [--payload]\n"
	    "       job-runner dead replay JOB_ID... | --all\n");
	return RUNNER_EXIT_USAGE;
}

int
runner_cmd_dead(const struct conf *conf, int argc, char **argv)
{
	struct db db;
	int64_t id;
	int rc, payload_only = 0;

	if (argc < 2)
		return dead_usage();
	if (strcmp(argv[1], "list") == 0) {
		if (argc > 3 || (argc == 3 && strcmp(argv[2], "--all") != 0))
			return dead_usage();
	} else if (strcmp(argv[1], "show") == 0) {
		/* ID and --payload in either order */
		if (argc == 4 && strcmp(argv[2], "--payload") == 0) {
			payload_only = 1;
			argv[2] = argv[3];
		} else if (argc == 4 && strcmp(argv[3], "--payload") == 0)
			payload_only = 1;
		else if (argc != 3)
			return dead_usage();
		if (util_parse_i64(argv[2], 1, INT64_MAX, &id) != 0)
			return dead_usage();
	} else if (strcmp(argv[1], "replay") != 0)
		return dead_usage();
	db_init(&db, conf, &runner_statements);
	if (db_ensure(&db) != DB_OK)
		rc = RUNNER_EXIT_RUNTIME;
	else if (strcmp(argv[1], "list") == 0)
		rc = dead_list(&db, argc == 3);
	else if (strcmp(argv[1], "show") == 0)
		rc = dead_show(&db, id, payload_only);
	else
		rc = dead_replay(&db, argc - 1, argv + 1);
	db_close(&db);
	return rc;
}

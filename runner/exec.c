/*
 * exec.c: `job-runner exec TYPE FILE|- [--dry-run]`: one payload through
 * its handler on this machine, outside the queue (no job row is read or
 * written).
 *
 * The handler behaves as in the queue: the same checks (handler_run), the
 * same status check, the same transport, and on success its effect is
 * recorded in a transaction of its own.  The idempotency key is the one
 * the producer gives the type's job about the payload's subject (jobs_key),
 * so a message sent through exec and the queued job's message share a name
 * and a maildir receives one.  The payload of a dead letter is what `dead
 * show ID --payload` prints.
 * --dry-run prints the message on stdout, delivers nothing and records
 * nothing (and shows it even when the order's confirmation was sent).
 *
 * Exit: 0 the handler succeeded, 1 it failed (the reason is logged), 64
 * usage.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "handler.h"
#include "log.h"
#include "queue.h"
#include "runner.h"
#include "runner_sql.h"
#include "transport.h"
#include "util.h"

/* Reads FILE or stdin ("-") into a malloc'd string; at most
 * JOBS_PAYLOAD_MAX bytes.  NULL with a message on stderr. */
static char *
exec_read_payload(const char *path, size_t *len)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *buf = NULL;

	if (fp == NULL) {
		fprintf(stderr, "job-runner: exec: %s: %s\n", path,
		    strerror(errno));
		return NULL;
	}
	if ((buf = malloc(JOBS_PAYLOAD_MAX + 2)) == NULL)
		goto out;
	*len = fread(buf, 1, JOBS_PAYLOAD_MAX + 1, fp);
	if (ferror(fp) || *len > JOBS_PAYLOAD_MAX) {
		fprintf(stderr, "job-runner: exec: %s: %s\n", path,
		    ferror(fp) ? "read error" : "payload too big");
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[*len] = '\0';
out:
	if (fp != stdin)
		fclose(fp);
	return buf;
}

static int
exec_record_tx(struct db *db, void *arg)
{
	const struct queue_effect *e = arg;

	return e->apply(db, e->arg);
}

/* The handler's effect, in its own transaction. */
static int
exec_record(struct db *db, const struct queue_effect *e)
{
	struct queue_effect copy = *e;

	if (copy.apply == NULL)
		return DB_OK;
	return db_tx(db, "exec_record", exec_record_tx, &copy) == DB_OK ?
	    DB_OK : DB_ERR;
}

static int
exec_usage(void)
{
	fprintf(stderr, "usage: job-runner exec TYPE FILE|- [--dry-run]\n");
	return RUNNER_EXIT_USAGE;
}

int
runner_cmd_exec(const struct conf *conf, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct handler_result res;
	struct handler_ctx ctx;
	struct transport transport;
	struct queue_job job;
	struct db db;
	char err[256], qerr[2 * JOBS_ERROR_MAX], qtype[2 * JOBS_TYPE_MAX + 8];
	int ch, dry_run = 0, rc = RUNNER_EXIT_RUNTIME;

	optind = 0;	/* glibc: re-initialise, main() scanned with "+" */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'n')
			return exec_usage();
		dry_run = 1;
	}
	if (argc - optind != 2 || strlen(argv[optind]) > JOBS_TYPE_MAX)
		return exec_usage();
	memset(&job, 0, sizeof(job));
	util_strlcpy(job.type, argv[optind], sizeof(job.type));
	job.attempt = job.max_attempts = 1;
	if ((job.payload = exec_read_payload(argv[optind + 1],
	    &job.payload_len)) == NULL)
		return RUNNER_EXIT_RUNTIME;
	if (transport_open(&transport, conf->mail_transport,
	    conf->runner_handler_timeout_seconds, err, sizeof(err)) != 0) {
		fprintf(stderr, "job-runner: %s\n", err);
		queue_job_free(&job);
		return RUNNER_EXIT_RUNTIME;
	}
	signal(SIGPIPE, SIG_IGN);
	db_init(&db, conf, &runner_statements);
	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = conf;
	ctx.db = &db;
	ctx.transport = &transport;
	ctx.dry_run = dry_run ? stdout : NULL;
	handler_run(&ctx, &job, &res);
	log_quote(qtype, sizeof(qtype), job.type);
	if (res.outcome != JOBS_OUTCOME_DONE)
		log_msg(LOG_ERROR, "event=exec type=%s outcome=%s error=%s",
		    qtype, jobs_outcome_name(res.outcome),
		    log_quote(qerr, sizeof(qerr), res.error));
	else if (exec_record(&db, &res.effect) != DB_OK)
		log_msg(LOG_ERROR, "event=exec type=%s outcome=done "
		    "error=\"delivered, but recording it failed\"", qtype);
	else {
		log_msg(LOG_INFO, "event=exec type=%s outcome=done%s%s", qtype,
		    dry_run ? " dry_run=1" : "",
		    res.skipped ? " note=already_sent" : "");
		rc = RUNNER_EXIT_OK;
	}
	db_close(&db);
	queue_job_free(&job);
	return rc;
}

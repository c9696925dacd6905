/*
 * run.c: `job-runner run --once|--loop`: the claim loop.
 *
 * One process, one database connection, one job at a time:
 *
 *   claim a batch (queue_claim: up to runner.batch_size due jobs, one
 *   transaction) -> let the handlers load the batch's data (one query per
 *   50 orders) -> for each job: renew the lease unless it outlasts the
 *   longest attempt (run_lease_short), run the handler, decide
 *   (jobs_decide), record the outcome -> next batch.
 *
 * Recording: retries and dead letters get their own fenced transaction at
 * once.  Successes, when the transport's delivery is idempotent by name
 * (maildir), are held and recorded together (run_flush): the transport
 * makes the batch's deliveries durable (maildir: the files fsynced by a few
 * threads at once, each before its link into new/, then one fsync of
 * DIR/new; transport_maildir.c), then one
 * transaction marks them all done with their effects, each still fenced
 * by its own lease token (queue_complete_batch), and only then is each
 * one's logfmt line written.  A kill before that commit leaves the jobs
 * running; they are reclaimed when their lease runs out and delivered
 * again, which the maildir name turns into "already there".  The held
 * successes are also recorded before a lease renewal, before a stop and
 * at the end of the batch.  With a transport that cannot tell a
 * redelivery (sendmail) every success is recorded at once, as before.
 *
 * --once stops when a claim comes back empty (nothing due) or when
 * --max-runtime is up; --loop sleeps runner.poll_ms when idle.  SIGTERM and
 * SIGINT set a flag: the job in hand finishes and is recorded, the rest of
 * the batch is released (back to pending, attempt not counted), exit 0.
 *
 * A job claimed more often than its max_attempts (its runners kept dying
 * while it ran, e.g. a payload that crashes the handler) is dead-lettered
 * without being run again, so no payload is retried forever.
 *
 * Exit: 0 (failed jobs are normal outcomes), 1 when the database cannot be
 * reached (--once; --loop keeps trying once it has connected), 64 usage.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "handler.h"
#include "jobs.h"
#include "log.h"
#include "metrics_file.h"
#include "queue.h"
#include "runner.h"
#include "runner_sql.h"
#include "transport.h"
#include "util.h"

struct run_totals {
	uint64_t	claimed;
	uint64_t	done;
	uint64_t	retried;
	uint64_t	dead;
	uint64_t	lease_lost;
	uint64_t	last_success_ms;	/* wall clock */
};

/* What the log line of a held success needs. */
struct run_held {
	uint64_t	start_us;
	int		skipped;
};

struct run_state {
	const struct conf	*conf;
	struct db		 db;
	struct transport	 transport;
	struct handler_ctx	 ctx;
	struct queue_runner	 runner;
	struct jobs_policy	 policy;	/* the retry rule (jobs.h) */
	struct queue_job		*batch;
	int			 defer;		/* hold successes (run_flush) */
	struct queue_done	*held;		/* successes not yet recorded */
	struct run_held		*held_info;
	size_t			 nheld;
	int			 once;
	uint64_t		 started_us;
	uint64_t		 deadline_us;	/* 0: none */
	const char		*metrics_path;
	struct run_totals	 totals;
	struct run_totals	 written;	/* in the metrics file */
	int			 run_reported;	/* this run counted there */
};

static volatile sig_atomic_t run_stop;

static void
run_on_signal(int sig)
{
	(void)sig;
	run_stop = 1;
}

/* SIGTERM/SIGINT interrupt sleeps (no SA_RESTART) and set run_stop. */
static void
run_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = run_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);	/* a sendmail that exits early */
}

static int
run_time_up(const struct run_state *s)
{
	return s->deadline_us != 0 && util_monotonic_us() >= s->deadline_us;
}

static void
run_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);	/* a signal ends it early */
}

static uint64_t
run_random(void)
{
	uint64_t r = 0;

	if (util_random(&r, sizeof(r)) != 0)
		r = util_monotonic_us();
	return r;
}

/* The per-attempt logfmt line (job-runner(8), DIAGNOSTICS). */
static void
run_log_attempt(const struct queue_job *j, const struct jobs_decision *d,
    const struct handler_result *res, uint64_t duration_us)
{
	char type[2 * JOBS_TYPE_MAX + 8], err[2 * JOBS_ERROR_MAX], extra[64];

	log_quote(type, sizeof(type), j->type);
	extra[0] = '\0';
	if (d->next == JOBS_PENDING)
		snprintf(extra, sizeof(extra), " retry_in_ms=%llu",
		    (unsigned long long)d->delay_ms);
	else if (d->next == JOBS_DONE && res->skipped)
		util_strlcpy(extra, " note=already_sent", sizeof(extra));
	if (d->next == JOBS_DONE)
		log_msg(LOG_INFO, "event=job job_id=%lld type=%s attempt=%u/%u "
		    "outcome=done duration_ms=%llu%s", (long long)j->id, type,
		    j->attempt, j->max_attempts,
		    (unsigned long long)(duration_us / 1000), extra);
	else
		log_msg(d->next == JOBS_DEAD ? LOG_WARN : LOG_INFO,
		    "event=job job_id=%lld type=%s attempt=%u/%u outcome=%s "
		    "duration_ms=%llu%s error=%s",
		    (long long)j->id, type, j->attempt, j->max_attempts,
		    jobs_state_verb(d->next),
		    (unsigned long long)(duration_us / 1000), extra,
		    log_quote(err, sizeof(err), res->error));
}

/* Records the decision; DB_OK, QUEUE_LEASE_LOST or DB_ERR. */
static int
run_record(struct run_state *s, const struct queue_job *j,
    const struct jobs_decision *d, const struct handler_result *res)
{
	switch (d->next) {
	case JOBS_DONE:
		return queue_complete(&s->db, j, &res->effect);
	case JOBS_PENDING:
		return queue_retry(&s->db, j, d->delay_ms, res->error);
	default:
		return queue_dead(&s->db, j, res->error);
	}
}

static void
run_count(struct run_state *s, const struct jobs_decision *d)
{
	switch (d->next) {
	case JOBS_DONE:
		s->totals.done++;
		s->totals.last_success_ms = util_now_ms();
		break;
	case JOBS_PENDING:
		s->totals.retried++;
		break;
	default:
		s->totals.dead++;
		break;
	}
}

/* 1 when the run touched no job at all. */
static int
run_idle(const struct run_totals *t)
{
	return t->claimed == 0 && t->done == 0 && t->retried == 0 &&
	    t->dead == 0 && t->lease_lost == 0;
}

static void
run_log_lost(struct run_state *s, const struct queue_job *j)
{
	s->totals.lease_lost++;
	log_msg(LOG_WARN, "event=lease_lost job_id=%lld attempt=%u/%u "
	    "note=\"lease lost: reclaimed by another runner, outcome "
	    "dropped\"", (long long)j->id, j->attempt, j->max_attempts);
}

/*
 * Records the held successes: the transport's sync, then one transaction.
 * 0, or -1 when the database failed (the jobs stay running; their leases
 * bring them back).  A failed sync turns them into transient failures.
 */
static int
run_flush(struct run_state *s)
{
	struct handler_result res;
	struct jobs_decision d;
	char err[JOBS_ERROR_MAX];
	uint64_t now;
	size_t i, n = s->nheld;
	int rc, failed = 0;

	if (n == 0)
		return 0;
	s->nheld = 0;
	err[0] = '\0';
	if (transport_sync(&s->transport, err, sizeof(err)) !=
	    TRANSPORT_DELIVERED) {
		/* not durable: nothing is recorded done; each job goes the
		 * way of a transient failure (retry or, last attempt, dead) */
		for (i = 0; i < n; i++) {
			const struct queue_job *j = s->held[i].job;

			memset(&res, 0, sizeof(res));
			handler_fail(&res, JOBS_OUTCOME_TRANSIENT, "%s", err);
			jobs_decide(j->attempt, j->max_attempts,
			    res.outcome, &s->policy.backoff, run_random(), &d);
			rc = run_record(s, j, &d, &res);
			if (rc == DB_OK) {
				run_log_attempt(j, &d, &res,
				    util_monotonic_us() -
				    s->held_info[i].start_us);
				run_count(s, &d);
			} else if (rc == QUEUE_LEASE_LOST)
				run_log_lost(s, j);
			else
				failed = 1;
		}
		return failed ? -1 : 0;
	}
	if (queue_complete_batch(&s->db, s->held, n) != DB_OK) {
		for (i = 0; i < n; i++)
			log_msg(LOG_ERROR, "event=job_record_failed job_id=%lld "
			    "attempt=%u/%u", (long long)s->held[i].job->id,
			    s->held[i].job->attempt,
			    s->held[i].job->max_attempts);
		return -1;
	}
	now = util_monotonic_us();
	memset(&d, 0, sizeof(d));
	d.next = JOBS_DONE;
	for (i = 0; i < n; i++) {
		const struct queue_job *j = s->held[i].job;

		if (s->held[i].rc != DB_OK) {
			run_log_lost(s, j);
			continue;
		}
		memset(&res, 0, sizeof(res));
		res.skipped = s->held_info[i].skipped;
		run_log_attempt(j, &d, &res, now - s->held_info[i].start_us);
		run_count(s, &d);
	}
	return 0;
}

/*
 * 1 when the lease of j, taken at j->leased_us (after the claim's COMMIT,
 * so this errs early against the database's clock), has less left than the
 * longest attempt plus the margin for recording it (conf.h): renew first,
 * or another runner could claim a job this runner is still delivering.
 */
static int
run_lease_short(const struct run_state *s, const struct queue_job *j,
    uint64_t now_us)
{
	uint64_t need = ((uint64_t)s->conf->runner_handler_timeout_seconds +
	    CONF_LEASE_MARGIN_SECONDS) * 1000000;
	uint64_t lease = (uint64_t)s->runner.lease_seconds * 1000000;
	uint64_t used = now_us - j->leased_us;

	return used >= lease || lease - used < need;
}

/* One attempt of one claimed job.  -1 when the database failed. */
static int
run_one(struct run_state *s, struct queue_job *j)
{
	struct handler_result res;
	struct jobs_decision d;
	uint64_t start = util_monotonic_us();
	int rc;

	if (run_lease_short(s, j, start)) {
		/* the held successes share this lease's age: record them
		 * while it is still ours */
		if (run_flush(s) != 0)
			return -1;
		if ((rc = queue_renew(&s->db, &s->runner, j)) != DB_OK)
			goto lost;
	}
	memset(&res, 0, sizeof(res));
	if (j->attempt > j->max_attempts)
		handler_fail(&res, JOBS_OUTCOME_PERMANENT, "claimed %u times "
		    "without an outcome (runner killed while running it?)",
		    j->attempt - 1);
	else
		handler_run(&s->ctx, j, &res);
	jobs_decide(j->attempt, j->max_attempts, res.outcome, &s->policy.backoff,
	    run_random(), &d);
	if (d.next == JOBS_DONE && s->defer) {
		s->held[s->nheld].job = j;
		s->held[s->nheld].effect = res.effect;
		s->held[s->nheld].rc = DB_OK;
		s->held_info[s->nheld].start_us = start;
		s->held_info[s->nheld].skipped = res.skipped;
		s->nheld++;
		return 0;
	}
	rc = run_record(s, j, &d, &res);
	if (rc == DB_OK) {
		run_log_attempt(j, &d, &res, util_monotonic_us() - start);
		run_count(s, &d);
		return 0;
	}
lost:
	if (rc == QUEUE_LEASE_LOST) {
		run_log_lost(s, j);
		return 0;
	}
	log_msg(LOG_ERROR, "event=job_record_failed job_id=%lld attempt=%u/%u",
	    (long long)j->id, j->attempt, j->max_attempts);
	return -1;
}

/* Gives back the claimed jobs [from, n) that will not run. */
static void
run_release(struct run_state *s, size_t from, size_t n)
{
	size_t i;

	for (i = from; i < n; i++)
		if (queue_release(&s->db, &s->batch[i]) == DB_OK)
			s->totals.claimed--;
}

/* Claims and runs one batch.  Returns jobs claimed, or -1. */
static int
run_batch(struct run_state *s)
{
	size_t n = 0, i;
	int failed = 0;

	if (queue_claim(&s->db, &s->runner, s->batch, s->conf->runner_batch_size,
	    &n) != DB_OK)
		return -1;
	s->totals.claimed += n;
	s->nheld = 0;
	if (n > 1)
		handler_prefetch(&s->ctx, s->batch, n);
	for (i = 0; i < n; i++) {
		if (run_stop || run_time_up(s) || failed) {
			if (!failed && run_flush(s) != 0)
				failed = 1;
			run_release(s, i, n);
			break;
		}
		if (run_one(s, &s->batch[i]) != 0)
			failed = 1;
	}
	if (!failed && run_flush(s) != 0)
		failed = 1;
	s->nheld = 0;
	handler_prefetch_free(&s->ctx);
	for (i = 0; i < n; i++)
		queue_job_free(&s->batch[i]);
	return failed ? -1 : (int)n;
}

/*
 * Adds what this process counted since its last write to the textfile
 * (metrics_file.h: summed across runs, under a lock).  A failed write
 * keeps the difference for the next one.
 */
static void
run_write_metrics(struct run_state *s)
{
	struct metrics_file_values d;
	const struct run_totals *t = &s->totals, *w = &s->written;

	if (s->metrics_path == NULL)
		return;
	memset(&d, 0, sizeof(d));
	d.counter[MF_RUNS] = s->run_reported ? 0 : 1;
	/* releases happen inside a batch, so claimed never drops below
	 * what was written after the previous one */
	d.counter[MF_CLAIMED] = t->claimed - w->claimed;
	d.counter[MF_DONE] = t->done - w->done;
	d.counter[MF_RETRIED] = t->retried - w->retried;
	d.counter[MF_DEAD] = t->dead - w->dead;
	d.counter[MF_LEASE_LOST] = t->lease_lost - w->lease_lost;
	d.last_success_ms = t->last_success_ms;
	d.last_run_ms = util_now_ms();
	if (metrics_file_update(s->metrics_path, &d,
	    (double)(util_monotonic_us() - s->started_us) / 1e6) == 0) {
		s->written = *t;
		s->run_reported = 1;
	}
}

/* The main loop.  Returns the exit code. */
static int
run_loop(struct run_state *s)
{
	int connected = 0, n;

	while (!run_stop && !run_time_up(s)) {
		if ((n = run_batch(s)) < 0) {
			if (s->once || !connected)
				return RUNNER_EXIT_RUNTIME;
			run_sleep_ms(s->conf->runner_poll_ms);
			continue;
		}
		connected = 1;
		run_write_metrics(s);
		if (n > 0)
			continue;
		if (s->once)
			break;
		run_sleep_ms(s->conf->runner_poll_ms);
	}
	return RUNNER_EXIT_OK;
}

static int
run_setup(struct run_state *s, const struct conf *conf)
{
	char host[256], err[256];
	int n;

	s->conf = conf;
	s->started_us = util_monotonic_us();
	if (gethostname(host, sizeof(host)) != 0)
		util_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	n = snprintf(s->runner.id, sizeof(s->runner.id), "%.100s:%ld", host,
	    (long)getpid());
	if (n < 0)
		return -1;
	jobs_policy_init(&s->policy, conf);
	s->runner.lease_seconds = conf->runner_lease_seconds;
	s->runner.max_attempts = s->policy.max_attempts;
	if (transport_open(&s->transport, conf->mail_transport,
	    conf->runner_handler_timeout_seconds, err, sizeof(err)) != 0) {
		log_msg(LOG_ERROR, "event=config_error error=%s", err);
		return -1;
	}
	if ((s->batch = calloc(conf->runner_batch_size,
	    sizeof(*s->batch))) == NULL ||
	    (s->held = calloc(conf->runner_batch_size,
	    sizeof(*s->held))) == NULL ||
	    (s->held_info = calloc(conf->runner_batch_size,
	    sizeof(*s->held_info))) == NULL)
		return -1;
	transport_housekeeping(&s->transport);
	/* hold successes only where a redelivery after a crash is harmless */
	s->defer = s->transport.idempotent;
	if (s->defer && transport_batch(&s->transport, 1) != 0)
		return -1;
	db_init(&s->db, conf, &runner_statements);
	s->ctx.conf = conf;
	s->ctx.db = &s->db;
	s->ctx.transport = &s->transport;
	return 0;
}

static int
run_usage(void)
{
	fprintf(stderr, "usage: job-runner run --once [--max-runtime SEC] "
	    "[--metrics-file PATH]\n"
	    "       job-runner run --loop [--metrics-file PATH]\n");
	return RUNNER_EXIT_USAGE;
}

int
runner_cmd_run(const struct conf *conf, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "loop", no_argument, NULL, 'l' },
		{ "max-runtime", required_argument, NULL, 'm' },
		{ "metrics-file", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 }
	};
	struct run_state s;
	uint64_t max_runtime = 0;
	int ch, loop = 0, rc;

	memset(&s, 0, sizeof(s));
	optind = 0;	/* glibc: re-initialise, main() scanned with "+" */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': s.once = 1; break;
		case 'l': loop = 1; break;
		case 'm':
			if (util_parse_u64(optarg, 1, 86400 * 7,
			    &max_runtime) != 0) {
				fprintf(stderr, "job-runner: --max-runtime: "
				    "expected seconds in 1..604800\n");
				return RUNNER_EXIT_USAGE;
			}
			break;
		case 'M': s.metrics_path = optarg; break;
		default:
			return run_usage();
		}
	}
	if (s.once == loop || optind != argc || (loop && max_runtime != 0))
		return run_usage();
	if (run_setup(&s, conf) != 0) {
		free(s.batch);
		free(s.held);
		free(s.held_info);
		return RUNNER_EXIT_RUNTIME;
	}
	if (max_runtime != 0)
		s.deadline_us = s.started_us + max_runtime * 1000000;
	run_signals();
	rc = run_loop(&s);
	run_write_metrics(&s);
	/* an idle pass (a timer every few seconds) says nothing at info */
	log_msg(rc != 0 ? LOG_ERROR : run_idle(&s.totals) ? LOG_DEBUG :
	    LOG_INFO, "event=run_summary mode=%s "
	    "runner=%s claimed=%llu done=%llu retried=%llu dead=%llu "
	    "lease_lost=%llu duration_ms=%llu exit=%d", s.once ? "once" : "loop",
	    s.runner.id, (unsigned long long)s.totals.claimed,
	    (unsigned long long)s.totals.done,
	    (unsigned long long)s.totals.retried,
	    (unsigned long long)s.totals.dead,
	    (unsigned long long)s.totals.lease_lost,
	    (unsigned long long)((util_monotonic_us() - s.started_us) / 1000),
	    rc);
	db_close(&s.db);
	(void)transport_batch(&s.transport, 0);
	free(s.batch);
	free(s.held);
	free(s.held_info);
	return rc;
}

/*
 * handler.h: job handlers, one per job type, and the dispatch table that
 * is the only link between the runner's commands (run.c, exec.c) and them.
 * The table is built from the type list (job_types.h): a type's line names
 * its handler, a `const struct handler` defined in the type's own file
 * (handler_email.c).  docs/JOBS.md shows how to add one.
 *
 * A handler gets one job whose type, payload size and payload shape
 * handler_run() has already checked (an unknown type, a payload over
 * JOBS_PAYLOAD_MAX or not of the type's shape is a permanent failure
 * before any handler runs), and says how the attempt went; the claim loop
 * or `exec` turns that into the job's next state.  A handler never changes
 * the jobs table itself.
 *
 * Idempotency rule for every handler: check first whether the effect is
 * already recorded (status check), act, and return the record of the
 * effect as a queue_effect, which the caller applies in the transaction
 * that marks the job done.  Outcomes of its database reads follow db.h and
 * are turned into a jobs_outcome here, at the handler's edge: a missing row
 * or a value that can never fit is permanent, a database failure is
 * transient.
 */
#ifndef RUNNER_HANDLER_H
#define RUNNER_HANDLER_H

#include <stdio.h>

#include "conf.h"
#include "db.h"
#include "jobs.h"
#include "queue.h"
#include "transport.h"

struct handler_ctx {
	const struct conf	*conf;
	struct db		*db;
	const struct transport	*transport;
	FILE			*dry_run;	/* non-NULL: print, do not deliver */
	void			*prefetched[JOBS_TYPE__MAX];	/* per type */
};

/* One job as its handler sees it. */
struct handler_call {
	const struct queue_job	*job;		/* id 0 under `exec` */
	int64_t			 subject;	/* the payload's id */
	const char		*key;		/* idempotency key: the row's, or
						   under `exec` the one the
						   producer would have used */
	void			*prefetched;	/* its type's, or NULL */
};

struct handler_result {
	enum jobs_outcome	outcome;
	char			error[JOBS_ERROR_MAX];	/* on failure */
	struct queue_effect	effect;			/* on success */
	int			skipped;		/* already done before */
};

/* What a job type's file provides. */
struct handler {
	/* Runs one attempt; fills res (zeroed, outcome done, on entry). */
	void	(*run)(const struct handler_ctx *, const struct handler_call *,
		    struct handler_result *);
	/*
	 * Optional batch loading: before running a claimed batch, the claim
	 * loop hands each type the subjects of its jobs (two or more), so it
	 * can read what they need with a few queries instead of a few per
	 * job.  Only a cache: a job whose data is not there (not prefetched,
	 * or the prefetch failed) is served by the handler's own queries,
	 * with the same results and the same failure classes.  Returns what
	 * run() later finds in call->prefetched, or NULL.
	 */
	void	*(*prefetch)(const struct handler_ctx *, const int64_t *subjects,
		    size_t n);
	void	 (*prefetch_free)(void *);
};

/* Each type's handler, as job_types.h names it. */
#define HANDLER_DECLARE(id, name, key, subject, ops) \
	extern const struct handler ops;
JOBS_TYPES(HANDLER_DECLARE)
#undef HANDLER_DECLARE

/* Runs job through its type's handler after the checks above.  Always
 * fills res. */
void handler_run(const struct handler_ctx *ctx, const struct queue_job *job,
    struct handler_result *res);

/* Lets each type with a prefetch load its jobs of jobs[0..n) (not on a
 * dry run); handler_prefetch_free() drops what was loaded. */
void handler_prefetch(struct handler_ctx *ctx, const struct queue_job *jobs,
    size_t n);
void handler_prefetch_free(struct handler_ctx *ctx);

/* Sets res to a failure with a formatted reason. */
void handler_fail(struct handler_result *res, enum jobs_outcome outcome,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

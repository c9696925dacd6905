/*
 * handler.h: job handlers, one per jobs.type, found through a table
 * (handler.c).  A handler gets one claimed job and says how the attempt
 * went; the claim loop (run.c) or `exec` (exec.c) turns that into the
 * job's next state.  A handler never changes the jobs table itself.
 *
 * Idempotency rule for every handler: check first whether the effect is
 * already recorded (status check), act, and return the record of the
 * effect as a jobs_effect, which the caller applies in the transaction
 * that marks the job done.  Unknown types and malformed payloads are
 * permanent failures.
 */
#ifndef RUNNER_HANDLER_H
#define RUNNER_HANDLER_H

#include <stdio.h>

#include "conf.h"
#include "db.h"
#include "jobs.h"
#include "transport.h"

struct handler_ctx {
	const struct conf	*conf;
	struct db		*db;
	const struct transport	*transport;
	FILE			*dry_run;	/* non-NULL: print, do not deliver */
	void			*prefetched;	/* handler_prefetch(), or NULL */
};

struct handler_result {
	enum jobs_outcome	outcome;
	char			error[JOBS_ERROR_MAX];	/* on failure */
	struct jobs_effect	effect;			/* on success */
	int			skipped;		/* already done before */
};

typedef void (*handler_fn)(const struct handler_ctx *, const struct jobs_job *,
    struct handler_result *);

/* The handler for type, or NULL. */
handler_fn handler_find(const char *type);

/* Runs job through its handler; unknown type and payload problems are
 * permanent.  Always fills res. */
void handler_run(const struct handler_ctx *ctx, const struct jobs_job *job,
    struct handler_result *res);

/*
 * Batch loading: before running a claimed batch, the claim loop lets the
 * handlers read what the batch's jobs need with a few queries instead of
 * a few per job (the email handler: the orders and their items).  Only a
 * cache: a job whose data is not there (not prefetched, or the prefetch
 * failed) is served by the handler's own queries, with the same results
 * and the same failure classes.  handler_prefetch_free() drops it.
 */
void handler_prefetch(struct handler_ctx *ctx, const struct jobs_job *jobs,
    size_t n);
void handler_prefetch_free(struct handler_ctx *ctx);

/* Sets res to a failure with a formatted reason. */
void handler_fail(struct handler_result *res, enum jobs_outcome outcome,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* handler_email.c */
void handler_email_run(const struct handler_ctx *, const struct jobs_job *,
    struct handler_result *);
void *handler_email_prefetch(const struct handler_ctx *,
    const struct jobs_job *, size_t);
void handler_email_prefetch_free(void *);

#endif

/*
 * handler.c: the dispatch table (one handler per job type, built from
 * job_types.h) and the checks every job passes before its handler sees it:
 * a known type, a payload within JOBS_PAYLOAD_MAX, a payload of the type's
 * shape ({"SUBJECT": N}).  run.c and exec.c reach handlers only through
 * here.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"
#include "util.h"

static const struct handler *const handlers[JOBS_TYPE__MAX] = {
#define HANDLER_ROW(id, name, key, subject, ops) \
	[JOBS_TYPE_##id] = &ops,
	JOBS_TYPES(HANDLER_ROW)
#undef HANDLER_ROW
};

void
handler_fail(struct handler_result *res, enum jobs_outcome outcome,
    const char *fmt, ...)
{
	va_list ap;

	res->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
}

/* The job's type and subject: 0, or -1 with res set to the permanent
 * failure. */
static int
handler_check(const struct queue_job *job, enum jobs_type *t,
    int64_t *subject, struct handler_result *res)
{
	if (jobs_type_find(job->type, t) != 0) {
		handler_fail(res, JOBS_OUTCOME_PERMANENT, "unknown job type");
		return -1;
	}
	if (job->payload == NULL) {
		handler_fail(res, JOBS_OUTCOME_PERMANENT,
		    "payload of %zu bytes is over the %d byte limit",
		    job->payload_len, JOBS_PAYLOAD_MAX);
		return -1;
	}
	if (jobs_payload_parse(*t, job->payload, job->payload_len,
	    subject) != 0) {
		handler_fail(res, JOBS_OUTCOME_PERMANENT, "malformed payload: "
		    "want {\"%s\": positive integer}", jobs_type_subject(*t));
		return -1;
	}
	return 0;
}

void
handler_run(const struct handler_ctx *ctx, const struct queue_job *job,
    struct handler_result *res)
{
	struct handler_call call;
	char key[JOBS_KEY_MAX + 1];
	enum jobs_type t;

	memset(res, 0, sizeof(*res));
	res->outcome = JOBS_OUTCOME_DONE;
	memset(&call, 0, sizeof(call));
	if (handler_check(job, &t, &call.subject, res) != 0)
		return;
	call.job = job;
	call.key = job->idempotency_key;
	if (call.key[0] == '\0') {
		/* `exec` runs payloads without a row: the producer's key, so
		 * the effect is named as the queued job's would be */
		if (jobs_key(t, call.subject, key, sizeof(key)) != 0) {
			handler_fail(res, JOBS_OUTCOME_PERMANENT,
			    "no idempotency key for this subject");
			return;
		}
		call.key = key;
	}
	call.prefetched = ctx->prefetched[t];
	handlers[t]->run(ctx, &call, res);
	/* a handler that forgot to say why still yields a readable error */
	if (res->outcome != JOBS_OUTCOME_DONE && res->error[0] == '\0')
		util_strlcpy(res->error, "handler failed without a reason",
		    sizeof(res->error));
}

/* The subjects of type t's runnable jobs among jobs[0..n). */
static size_t
handler_subjects(enum jobs_type t, const struct queue_job *jobs, size_t n,
    int64_t *subjects)
{
	enum jobs_type jt;
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		if (jobs[i].payload != NULL &&
		    jobs[i].attempt <= jobs[i].max_attempts &&
		    jobs_type_find(jobs[i].type, &jt) == 0 && jt == t &&
		    jobs_payload_parse(t, jobs[i].payload, jobs[i].payload_len,
		    &subjects[m]) == 0)
			m++;
	return m;
}

void
handler_prefetch(struct handler_ctx *ctx, const struct queue_job *jobs,
    size_t n)
{
	int64_t *subjects;
	size_t t, m;

	handler_prefetch_free(ctx);
	if (ctx->dry_run != NULL || n < 2 ||
	    (subjects = calloc(n, sizeof(*subjects))) == NULL)
		return;
	for (t = 0; t < JOBS_TYPE__MAX; t++) {
		if (handlers[t]->prefetch == NULL)
			continue;
		m = handler_subjects((enum jobs_type)t, jobs, n, subjects);
		if (m >= 2)
			ctx->prefetched[t] = handlers[t]->prefetch(ctx,
			    subjects, m);
	}
	free(subjects);
}

void
handler_prefetch_free(struct handler_ctx *ctx)
{
	size_t t;

	for (t = 0; t < JOBS_TYPE__MAX; t++) {
		if (ctx->prefetched[t] != NULL)
			handlers[t]->prefetch_free(ctx->prefetched[t]);
		ctx->prefetched[t] = NULL;
	}
}

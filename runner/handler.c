/*
 * handler.c: the table of job types and the checks every job passes before
 * its handler sees it (a known type, a payload within JOBS_PAYLOAD_MAX).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "handler.h"
#include "util.h"

static const struct {
	const char	*type;
	handler_fn	 fn;
} handlers[] = {
	{ "order_confirmation_email",	handler_email_run },
};

handler_fn
handler_find(const char *type)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(handlers); i++)
		if (strcmp(handlers[i].type, type) == 0)
			return handlers[i].fn;
	return NULL;
}

void
handler_prefetch(struct handler_ctx *ctx, const struct jobs_job *jobs,
    size_t n)
{
	handler_prefetch_free(ctx);
	if (ctx->dry_run == NULL)
		ctx->prefetched = handler_email_prefetch(ctx, jobs, n);
}

void
handler_prefetch_free(struct handler_ctx *ctx)
{
	handler_email_prefetch_free(ctx->prefetched);
	ctx->prefetched = NULL;
}

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

void
handler_run(const struct handler_ctx *ctx, const struct jobs_job *job,
    struct handler_result *res)
{
	handler_fn fn;

	memset(res, 0, sizeof(*res));
	res->outcome = JOBS_OUTCOME_DONE;
	if ((fn = handler_find(job->type)) == NULL) {
		handler_fail(res, JOBS_OUTCOME_PERMANENT, "unknown job type");
		return;
	}
	if (job->payload == NULL) {
		handler_fail(res, JOBS_OUTCOME_PERMANENT,
		    "payload of %zu bytes is over the %d byte limit",
		    job->payload_len, JOBS_PAYLOAD_MAX);
		return;
	}
	fn(ctx, job, res);
	/* a handler that forgot to say why still yields a readable error */
	if (res->outcome != JOBS_OUTCOME_DONE && res->error[0] == '\0')
		util_strlcpy(res->error, "handler failed without a reason",
		    sizeof(res->error));
}

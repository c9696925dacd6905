/*
 * job_types.h: every type of job the queue carries, one line each.  This
 * list is the job contract: the producer (the app, inside the transaction
 * that makes the job necessary) and the consumer (the runner) both read it,
 * and nothing else spells a type's name, key or payload.
 *
 *   X(ID, NAME, KEY_PREFIX, SUBJECT, HANDLER)
 *
 *   ID          the enum jobs_type constant: JOBS_TYPE_<ID>
 *   NAME        jobs.type, as stored and as `job-runner exec TYPE` takes it
 *   KEY_PREFIX  jobs.idempotency_key is KEY_PREFIX followed by the subject
 *               id in decimal: one job per subject, enforced by the UNIQUE
 *               key, and the name of the job's side effect (a maildir file,
 *               a Message-ID)
 *   SUBJECT     the payload is {"SUBJECT": N}, N the positive id of the row
 *               the job is about.  A payload names a row, never copies it:
 *               the handler reads the row when it runs, so it acts on the
 *               current state and can check whether its effect was already
 *               recorded there (the idempotency rule of runner/handler.h)
 *   HANDLER     the runner's `const struct handler` that runs the type
 *               (runner/handler.h).  Only the runner's expansion of this
 *               list refers to it; the core and the app never do.
 *
 * jobs.c expands the list into the name/key/payload table, the runner's
 * handler.c into its dispatch table.  docs/JOBS.md walks through adding a
 * type.
 */
#ifndef CORE_JOB_TYPES_H
#define CORE_JOB_TYPES_H

#define JOBS_TYPES(X) \
	X(ORDER_CONFIRMATION, "order_confirmation_email", \
	    "order-confirmation-", "order_id", handler_email)

#endif

/*
 * transport.h: how a rendered message leaves the runner.
 *
 * One unit per transport (transport_maildir.c, transport_sendmail.c); a new
 * one (SMTP) adds a file and a row in transport.c's table, and nothing in
 * the job code changes.  mail.transport names the transport and its
 * argument: `maildir:DIR` or `sendmail:COMMAND ARGS`.
 *
 * deliver() gets the message and a name derived from the job's
 * idempotency key (mail_key_token), which a transport that can use it for
 * de-duplication must (maildir does: exactly once).  It answers with one of
 * the three results below and, on failure, a reason in err.
 * TRANSPORT_MAYBE_DELIVERED in its flags says an earlier attempt may have
 * delivered this very name (a retry, a replayed job, `exec`): a transport
 * that can recognise such a delivery must look for it.
 */
#ifndef RUNNER_TRANSPORT_H
#define RUNNER_TRANSPORT_H

#include <stddef.h>

#define TRANSPORT_ARG_MAX	1024
#define TRANSPORT_ARGV_MAX	32

/* deliver() flags */
#define TRANSPORT_MAYBE_DELIVERED	0x1

enum transport_result {
	TRANSPORT_DELIVERED = 0,
	TRANSPORT_TRANSIENT,		/* try again later */
	TRANSPORT_PERMANENT		/* will never work: dead letter */
};

struct transport {
	const char	*name;		/* "maildir", "sendmail" */
	char		 arg[TRANSPORT_ARG_MAX];	/* after the colon */
	unsigned	 timeout_seconds;
	enum transport_result (*deliver)(const struct transport *,
			    const char *name, const char *msg, size_t len,
			    unsigned flags, char *err, size_t errsize);
	/*
	 * Batch mode, for transports whose delivery is idempotent by name
	 * (maildir): a redelivery after a crash is harmless, so the caller
	 * may deliver several messages and record them done in one
	 * transaction.  With defer_sync set, deliver() leaves out what can
	 * be made durable for many messages at once (maildir: the fsync of
	 * DIR/new) and sync() does it; the caller calls sync() after the
	 * last delivery and before the commit that records them.
	 */
	int		 idempotent;
	int		 defer_sync;
	enum transport_result (*sync)(const struct transport *, char *err,
			    size_t errsize);
	int		(*batch_mode)(struct transport *, int on);
	void		*batch;		/* the transport's batch state */
	/* once per run: what a transport keeps tidy (maildir: tmp/) */
	void		(*housekeeping)(const struct transport *);
};

/* Parses spec (mail.transport).  0, or -1 with a reason in err. */
int transport_open(struct transport *t, const char *spec,
    unsigned timeout_seconds, char *err, size_t errsize);

const char *transport_result_name(enum transport_result r);
/* Runs t->housekeeping, if any (the claim loop, once per run). */
void transport_housekeeping(const struct transport *t);

/* maildir: DIR/tmp/<name>.<host>.<pid>, fsync, link to DIR/new/<name>
 * (EEXIST: delivered before; with TRANSPORT_MAYBE_DELIVERED also a message
 * of that name a reader moved to DIR/cur), fsync DIR/new, unlink the tmp
 * file.  In batch mode only the first step; transport_maildir_sync() does
 * the rest for the whole batch. */
enum transport_result transport_maildir_deliver(const struct transport *t,
    const char *name, const char *msg, size_t len, unsigned flags,
    char *err, size_t errsize);
/* fsync of DIR/new: what defer_sync left out of the deliveries. */
enum transport_result transport_maildir_sync(const struct transport *t,
    char *err, size_t errsize);
/* Turns batch mode (defer_sync) on or off; off releases its state.  0, or
 * -1 (out of memory).  A transport without one just sets defer_sync. */
int transport_batch(struct transport *t, int on);
int transport_maildir_batch(struct transport *t, int on);
/* Runs t->sync, if any (defer_sync mode).  TRANSPORT_DELIVERED: durable. */
enum transport_result transport_sync(const struct transport *t, char *err,
    size_t errsize);
/* The same on a plain directory path (unit tests). */
enum transport_result transport_maildir_put(const char *dir, const char *name,
    const char *msg, size_t len, unsigned flags, char *err, size_t errsize);
/* maildir(5): removes files in DIR/tmp untouched for more than max_age
 * seconds (36 h in the claim loop: what a killed delivery left behind).
 * Returns how many it removed. */
unsigned transport_maildir_clean_tmp(const char *dir, unsigned max_age);
void transport_maildir_housekeeping(const struct transport *t);

/* sendmail: fork/exec of the command split on spaces, the message on
 * stdin, killed after timeout_seconds. */
enum transport_result transport_sendmail_deliver(const struct transport *t,
    const char *name, const char *msg, size_t len, unsigned flags,
    char *err, size_t errsize);
/* The sysexits mapping: waitpid(2) status -> result (pure).  exit 0
 * delivered; 75 (EX_TEMPFAIL), a signal or timed_out transient; any other
 * exit permanent. */
enum transport_result transport_sendmail_classify(int wait_status,
    int timed_out);
/* Splits cmd on spaces into argv (no quoting, no shell).  Returns argc, or
 * -1 when empty or more than TRANSPORT_ARGV_MAX - 1 words.  buf receives
 * the words; argv points into it. */
int transport_split_argv(const char *cmd, char *buf, size_t bufsize,
    char **argv);

#endif

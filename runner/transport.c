/*
 * transport.c: the table of transports and the mail.transport parser.
 * conf.c has already checked the spec's shape (an absolute path after the
 * colon); this only picks the unit that delivers.
 */
#include "config.h"

#include <string.h>

#include "transport.h"
#include "util.h"

static const struct {
	const char	*prefix;
	const char	*name;
	enum transport_result (*deliver)(const struct transport *,
			    const char *, const char *, size_t, unsigned,
			    char *, size_t);
	enum transport_result (*sync)(const struct transport *, char *,
			    size_t);
	int		(*batch_mode)(struct transport *, int);
	void		(*housekeeping)(const struct transport *);
	int		 idempotent;
} transports[] = {
	{ "maildir:",	"maildir",	transport_maildir_deliver,
	    transport_maildir_sync, transport_maildir_batch,
	    transport_maildir_housekeeping, 1 },
	{ "sendmail:",	"sendmail",	transport_sendmail_deliver, NULL, NULL,
	    NULL, 0 },
};

int
transport_open(struct transport *t, const char *spec, unsigned timeout_seconds,
    char *err, size_t errsize)
{
	size_t i, plen;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < ARRAY_SIZE(transports); i++) {
		plen = strlen(transports[i].prefix);
		if (strncmp(spec, transports[i].prefix, plen) != 0)
			continue;
		if (spec[plen] == '\0' || util_strlcpy(t->arg, spec + plen,
		    sizeof(t->arg)) >= sizeof(t->arg)) {
			util_strlcpy(err, "mail.transport: bad argument",
			    errsize);
			return -1;
		}
		t->name = transports[i].name;
		t->deliver = transports[i].deliver;
		t->sync = transports[i].sync;
		t->batch_mode = transports[i].batch_mode;
		t->housekeeping = transports[i].housekeeping;
		t->idempotent = transports[i].idempotent;
		t->timeout_seconds = timeout_seconds;
		return 0;
	}
	util_strlcpy(err, "mail.transport: unknown transport", errsize);
	return -1;
}

int
transport_batch(struct transport *t, int on)
{
	if (t->batch_mode != NULL)
		return t->batch_mode(t, on);
	t->defer_sync = on;
	return 0;
}

void
transport_housekeeping(const struct transport *t)
{
	if (t->housekeeping != NULL)
		t->housekeeping(t);
}

enum transport_result
transport_sync(const struct transport *t, char *err, size_t errsize)
{
	if (!t->defer_sync || t->sync == NULL)
		return TRANSPORT_DELIVERED;
	return t->sync(t, err, errsize);
}

const char *
transport_result_name(enum transport_result r)
{
	switch (r) {
	case TRANSPORT_DELIVERED:
		return "delivered";
	case TRANSPORT_TRANSIENT:
		return "transient";
	case TRANSPORT_PERMANENT:
		return "permanent";
	}
	return "unknown";
}

/*
 * mail.h: the order confirmation as an RFC 5322 message.
 *
 * Rendering only computes: no I/O, no clock (the caller passes the date).
 * Header injection is impossible by construction: every header value is
 * checked before it is written (no CR, LF or other control character, ASCII
 * only), addresses must pass util_valid_email(), and a value that fails is
 * an error, never a silent repair.  Body text (item names from the
 * database) is UTF-8 with control characters replaced by spaces, so a name
 * can neither end the headers early nor forge lines.
 *
 * Lines end in LF, the local convention of maildir files and of what
 * sendmail(8) reads on stdin; the MTA turns them into CRLF on the wire.
 */
#ifndef RUNNER_MAIL_H
#define RUNNER_MAIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define MAIL_MAX		(256 * 1024)	/* a rendered message */
#define MAIL_TOKEN_MAX		200		/* file name / Message-ID part */
#define MAIL_ITEMS_MAX		1000
#define MAIL_DATE_MAX		40

struct mail_item {
	const char	*sku;
	const char	*name;
	int64_t		 quantity;
	int64_t		 unit_price_cents;
};

struct mail_confirmation {
	int64_t			 order_id;
	const char		*from;
	const char		*to;
	const char		*idempotency_key;
	int64_t			 total_cents;
	time_t			 date;
	const struct mail_item	*items;
	size_t			 nitems;
};

/*
 * Renders the message into out (reset first).  0, or -1 with a reason in
 * err (a refused header value, too many items, too big).
 */
int mail_render_confirmation(const struct mail_confirmation *m,
    struct buf *out, char *err, size_t errsize);

/* 1 when s may be a header value: printable ASCII and spaces only. */
int mail_header_value_ok(const char *s);

/* "Fri, 27 Nov 2026 05:00:51 +0000" (RFC 5322 §3.3, UTC).  0 or -1. */
int mail_format_date(time_t t, char *buf, size_t size);

/*
 * Maps an idempotency key onto [A-Za-z0-9._-] plus %XX escapes: safe as a
 * file name and as a Message-ID left part, and one-to-one, so two keys
 * never share a name.  0, or -1 when the key is empty or the result is
 * longer than MAIL_TOKEN_MAX.
 */
int mail_key_token(const char *key, char *buf, size_t size);

/* "<token@domain-of-from>".  0 or -1. */
int mail_message_id(const char *key, const char *from, char *buf,
    size_t size);

/* "12.34" for 1234 cents (and "-0.05" for -5). */
void mail_format_cents(int64_t cents, char *buf, size_t size);

#endif

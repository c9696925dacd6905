/*
 * mail.c: renders the order confirmation (see mail.h for the safety rules).
 *
 * The message, RFC 5322 with MIME (RFC 2045) headers:
 *
 *   From: <mail.from>
 *   To: <order email>
 *   Subject: Your order #N
 *   Date: RFC 5322 date, UTC
 *   Message-ID: <token of the idempotency key@domain of From>
 *   MIME-Version: 1.0
 *   Content-Type: text/plain; charset=utf-8
 *   Content-Transfer-Encoding: 8bit
 *
 *   a body listing every item (name, sku, quantity, unit price, line
 *   total) and the order total.
 *
 * The Message-ID depends only on the idempotency key, so a message that is
 * rendered again (retry, replay, exec) is recognisably the same message.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mail.h"
#include "util.h"

#define MAIL_LINE_MAX	512

int
mail_header_value_ok(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

int
mail_format_date(time_t t, char *buf, size_t size)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return -1;
	n = snprintf(buf, size, "%s, %d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
mail_key_token(const char *key, char *buf, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t o = 0;

	if (*key == '\0' || size == 0)
		return -1;
	for (p = (const unsigned char *)key; *p != '\0'; p++) {
		int plain = (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || (*p == '.' && o > 0);
		size_t need = plain ? 1 : 3;

		if (o + need > MAIL_TOKEN_MAX || o + need >= size)
			return -1;
		if (plain)
			buf[o++] = (char)*p;
		else {
			buf[o++] = '%';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 0xf];
		}
	}
	/* a dot-atom may not end in a dot either */
	if (buf[o - 1] == '.') {
		if (o + 2 >= size || o + 2 > MAIL_TOKEN_MAX)
			return -1;
		buf[o - 1] = '%';
		buf[o++] = '2';
		buf[o++] = 'E';
	}
	buf[o] = '\0';
	return 0;
}

int
mail_message_id(const char *key, const char *from, char *buf, size_t size)
{
	char token[MAIL_TOKEN_MAX + 1];
	const char *at = strrchr(from, '@');
	int n;

	if (at == NULL || at[1] == '\0' ||
	    mail_key_token(key, token, sizeof(token)) != 0)
		return -1;
	n = snprintf(buf, size, "<%s@%s>", token, at + 1);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

void
mail_format_cents(int64_t cents, char *buf, size_t size)
{
	uint64_t mag = cents < 0 ? (uint64_t)0 - (uint64_t)cents :
	    (uint64_t)cents;

	snprintf(buf, size, "%s%llu.%02llu", cents < 0 ? "-" : "",
	    (unsigned long long)(mag / 100), (unsigned long long)(mag % 100));
}

/* Copies text into buf with controls turned into spaces and bad UTF-8
 * into '?', cut at a character boundary to fit. */
static void
mail_clean_text(const char *s, char *buf, size_t size)
{
	size_t i, o = 0, len = strlen(s);

	for (i = 0; i < len && o + 1 < size;) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

		if (c < 0x20 || c == 0x7f) {
			buf[o++] = ' ';
			i++;
		} else if (n > 1 && (i + n > len ||
		    !util_valid_utf8_text(s + i, n, 0))) {
			buf[o++] = '?';
			i++;
		} else if (o + n < size) {
			memcpy(buf + o, s + i, n);
			o += n;
			i += n;
		} else
			break;
	}
	buf[o] = '\0';
}

static int
mail_fail(char *err, size_t errsize, const char *why)
{
	util_strlcpy(err, why, errsize);
	return -1;
}

static int
mail_check_headers(const struct mail_confirmation *m, char *err,
    size_t errsize)
{
	if (!mail_header_value_ok(m->from) ||
	    !util_valid_email(m->from, strlen(m->from)))
		return mail_fail(err, errsize, "invalid From address");
	if (!mail_header_value_ok(m->to) ||
	    !util_valid_email(m->to, strlen(m->to)))
		return mail_fail(err, errsize, "invalid To address");
	if (!mail_header_value_ok(m->idempotency_key))
		return mail_fail(err, errsize,
		    "idempotency key has control characters");
	if (m->nitems == 0 || m->nitems > MAIL_ITEMS_MAX)
		return mail_fail(err, errsize, "order has no items or too many");
	return 0;
}

static void
mail_render_headers(const struct mail_confirmation *m, const char *date,
    const char *msgid, struct buf *out)
{
	buf_printf(out, "From: %s\n", m->from);
	buf_printf(out, "To: %s\n", m->to);
	buf_printf(out, "Subject: Your order #%lld\n", (long long)m->order_id);
	buf_printf(out, "Date: %s\n", date);
	buf_printf(out, "Message-ID: %s\n", msgid);
	buf_puts(out, "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n");
}

static void
mail_render_body(const struct mail_confirmation *m, struct buf *out)
{
	char name[MAIL_LINE_MAX], sku[128], unit[32], line[32], total[32];
	size_t i;

	buf_printf(out, "Thank you for your order #%lld.\n\n",
	    (long long)m->order_id);
	buf_puts(out, "Items:\n");
	for (i = 0; i < m->nitems; i++) {
		const struct mail_item *it = &m->items[i];

		mail_clean_text(it->name, name, sizeof(name));
		mail_clean_text(it->sku, sku, sizeof(sku));
		mail_format_cents(it->unit_price_cents, unit, sizeof(unit));
		mail_format_cents(it->unit_price_cents * it->quantity, line,
		    sizeof(line));
		buf_printf(out, "  %lld x %s (%s) at %s = %s\n",
		    (long long)it->quantity, name, sku, unit, line);
	}
	mail_format_cents(m->total_cents, total, sizeof(total));
	buf_printf(out, "\nTotal: %s\n", total);
}

int
mail_render_confirmation(const struct mail_confirmation *m, struct buf *out,
    char *err, size_t errsize)
{
	char date[MAIL_DATE_MAX], msgid[MAIL_TOKEN_MAX + 300];

	buf_reset(out);
	if (mail_check_headers(m, err, errsize) != 0)
		return -1;
	if (mail_format_date(m->date, date, sizeof(date)) != 0)
		return mail_fail(err, errsize, "date out of range");
	if (mail_message_id(m->idempotency_key, m->from, msgid,
	    sizeof(msgid)) != 0)
		return mail_fail(err, errsize,
		    "idempotency key too long for a Message-ID");
	mail_render_headers(m, date, msgid, out);
	mail_render_body(m, out);
	if (out->overflow)
		return mail_fail(err, errsize, "message larger than MAIL_MAX");
	return 0;
}

/*
 * test-mail.c: the confirmation message: headers, date, Message-ID, body,
 * and the refusals that make header injection impossible.
 */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "cunit-main.h"
#include "mail.h"

static const struct mail_item two_items[] = {
	{ "SKU-1", "Grüner Tee «Sencha»", 2, 1299 },
	{ "SKU-2", "Mug", 1, 500 },
};

static void
confirmation(struct mail_confirmation *m)
{
	memset(m, 0, sizeof(*m));
	m->order_id = 42;
	m->from = "shop@example.com";
	m->to = "alice@example.org";
	m->idempotency_key = "order-confirmation-42";
	m->total_cents = 3098;
	m->date = 1795756194;	/* Fri, 27 Nov 2026 05:09:54 UTC */
	m->items = two_items;
	m->nitems = 2;
}

static int
render(const struct mail_confirmation *m, struct buf *b)
{
	char err[256];

	buf_init(b, MAIL_MAX);
	return mail_render_confirmation(m, b, err, sizeof(err));
}

/* 1 when some line of the message starts with prefix. */
static int
has_line(const char *msg, const char *prefix)
{
	const char *p = msg;
	size_t n = strlen(prefix);

	for (;;) {
		if (strncmp(p, prefix, n) == 0)
			return 1;
		if ((p = strchr(p, '\n')) == NULL)
			return 0;
		p++;
	}
}

static void
test_headers_and_body(void)
{
	static const char want_headers[] =
	    "From: shop@example.com\n"
	    "To: alice@example.org\n"
	    "Subject: Your order #42\n"
	    "Date: Fri, 27 Nov 2026 05:09:54 +0000\n"
	    "Message-ID: <order-confirmation-42@example.com>\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n";
	struct mail_confirmation m;
	struct buf b;

	confirmation(&m);
	CU_ASSERT_EQUAL_FATAL(render(&m, &b), 0);
	CU_ASSERT(strncmp(b.data, want_headers, strlen(want_headers)) == 0);
	CU_ASSERT(strstr(b.data,
	    "  2 x Grüner Tee «Sencha» (SKU-1) at 12.99 = 25.98\n") != NULL);
	CU_ASSERT(strstr(b.data, "  1 x Mug (SKU-2) at 5.00 = 5.00\n") != NULL);
	CU_ASSERT(strstr(b.data, "\nTotal: 30.98\n") != NULL);
	CU_ASSERT(strchr(b.data, '\r') == NULL);
	buf_free(&b);
}

static void
test_date_format(void)
{
	char d[MAIL_DATE_MAX];

	CU_ASSERT_EQUAL(mail_format_date(0, d, sizeof(d)), 0);
	CU_ASSERT_STRING_EQUAL(d, "Thu, 1 Jan 1970 00:00:00 +0000");
	CU_ASSERT_EQUAL(mail_format_date(951782400, d, sizeof(d)), 0);
	CU_ASSERT_STRING_EQUAL(d, "Tue, 29 Feb 2000 00:00:00 +0000");
	CU_ASSERT_EQUAL(mail_format_date(0, d, 10), -1);
}

static void
test_header_injection_refused(void)
{
	static const char *bad_to[] = {
		"alice@example.org\r\nBcc: evil@example.net",
		"alice@example.org\nBcc: evil@example.net",
		"alice@example.org\r",
		"alice@example.org, evil@example.net",
		"Alice <alice@example.org>",
		"alice@exa\tmple.org",
		"al\x7f" "ice@example.org",
		"ålice@example.org",
		"",
	};
	struct mail_confirmation m;
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(bad_to) / sizeof(bad_to[0]); i++) {
		confirmation(&m);
		m.to = bad_to[i];
		CU_ASSERT_EQUAL(render(&m, &b), -1);
		CU_ASSERT(b.len == 0);
		buf_free(&b);
	}
	confirmation(&m);
	m.from = "shop@example.com\nBcc: evil@example.net";
	CU_ASSERT_EQUAL(render(&m, &b), -1);
	buf_free(&b);
	confirmation(&m);
	m.idempotency_key = "order-1\r\nBcc: evil@example.net";
	CU_ASSERT_EQUAL(render(&m, &b), -1);
	buf_free(&b);
	CU_ASSERT(mail_header_value_ok("plain value"));
	CU_ASSERT(!mail_header_value_ok("a\rb"));
	CU_ASSERT(!mail_header_value_ok("a\nb"));
	CU_ASSERT(!mail_header_value_ok("a\x01" "b"));
}

static void
test_body_text_cannot_forge_lines(void)
{
	static const struct mail_item evil[] = {
		{ "S\r\nX", "Tea\r\nBcc: evil@example.net\n\nFake: 1", 1, 100 },
		{ "S2", "bad \xff\xfe utf8 \xc3", 1, 100 },
	};
	struct mail_confirmation m;
	struct buf b;

	confirmation(&m);
	m.items = evil;
	m.nitems = 2;
	m.total_cents = 200;
	CU_ASSERT_EQUAL_FATAL(render(&m, &b), 0);
	CU_ASSERT(!has_line(b.data, "Bcc:"));
	CU_ASSERT(!has_line(b.data, "Fake:"));
	CU_ASSERT(strstr(b.data, "Tea  Bcc: evil@example.net  Fake: 1") != NULL);
	CU_ASSERT(strstr(b.data, "bad ?? utf8 ?") != NULL);
	CU_ASSERT(strchr(b.data, '\r') == NULL);
	buf_free(&b);
}

static void
test_no_items_refused(void)
{
	struct mail_confirmation m;
	struct buf b;

	confirmation(&m);
	m.nitems = 0;
	CU_ASSERT_EQUAL(render(&m, &b), -1);
	buf_free(&b);
}

static void
test_key_token(void)
{
	static const struct {
		const char *key, *want;
	} rows[] = {
		{ "order-confirmation-1", "order-confirmation-1" },
		{ "a/b:c", "a%2Fb%3Ac" },
		{ "../etc", "%2E.%2Fetc" },
		{ ".hidden", "%2Ehidden" },
		{ "x.", "x%2E" },
		{ "x.y", "x.y" },
		{ "100%", "100%25" },
		{ "ü", "%C3%BC" },
	};
	char tok[MAIL_TOKEN_MAX + 1], longkey[400], id[512];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		CU_ASSERT_EQUAL(mail_key_token(rows[i].key, tok,
		    sizeof(tok)), 0);
		CU_ASSERT_STRING_EQUAL(tok, rows[i].want);
	}
	CU_ASSERT_EQUAL(mail_key_token("", tok, sizeof(tok)), -1);
	memset(longkey, 'k', MAIL_TOKEN_MAX);
	longkey[MAIL_TOKEN_MAX] = '\0';
	CU_ASSERT_EQUAL(mail_key_token(longkey, tok, sizeof(tok)), 0);
	longkey[MAIL_TOKEN_MAX - 1] = '/';
	CU_ASSERT_EQUAL(mail_key_token(longkey, tok, sizeof(tok)), -1);
	CU_ASSERT_EQUAL(mail_message_id("order-confirmation-7",
	    "shop@example.com", id, sizeof(id)), 0);
	CU_ASSERT_STRING_EQUAL(id, "<order-confirmation-7@example.com>");
}

static void
test_cents(void)
{
	char s[32];

	mail_format_cents(0, s, sizeof(s));
	CU_ASSERT_STRING_EQUAL(s, "0.00");
	mail_format_cents(5, s, sizeof(s));
	CU_ASSERT_STRING_EQUAL(s, "0.05");
	mail_format_cents(123456, s, sizeof(s));
	CU_ASSERT_STRING_EQUAL(s, "1234.56");
	mail_format_cents(-5, s, sizeof(s));
	CU_ASSERT_STRING_EQUAL(s, "-0.05");
	mail_format_cents(INT64_MIN, s, sizeof(s));
	CU_ASSERT_STRING_EQUAL(s, "-92233720368547758.08");
}

static const struct cunit_test tests[] = {
	{ "render: headers, items and total", test_headers_and_body },
	{ "date: RFC 5322 format in UTC", test_date_format },
	{ "header injection attempts are refused", test_header_injection_refused },
	{ "body text cannot forge header lines", test_body_text_cannot_forge_lines },
	{ "an order without items is refused", test_no_items_refused },
	{ "idempotency key -> safe one-to-one token", test_key_token },
	{ "cents formatting", test_cents },
};

CUNIT_MAIN("mail", tests)

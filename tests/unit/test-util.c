/*
 * test-util.c: checked number parsing, UTF-8 validation, email syntax,
 * constant-time compare, bounded buffers, JSON string escaping and hex
 * digits.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "buf.h"
#include "cunit-main.h"
#include "util.h"

static void
test_parse_u64(void)
{
	uint64_t v;

	CU_ASSERT(util_parse_u64("0", 0, 10, &v) == 0 && v == 0);
	CU_ASSERT(util_parse_u64("10", 0, 10, &v) == 0 && v == 10);
	CU_ASSERT(util_parse_u64("11", 0, 10, &v) == -1);
	CU_ASSERT(util_parse_u64("", 0, 10, &v) == -1);
	CU_ASSERT(util_parse_u64(" 1", 0, 10, &v) == -1);
	CU_ASSERT(util_parse_u64("1 ", 0, 10, &v) == -1);
	CU_ASSERT(util_parse_u64("+1", 0, 10, &v) == -1);
	CU_ASSERT(util_parse_u64("-1", 0, 10, &v) == -1);
	CU_ASSERT(util_parse_u64("0x1", 0, 10, &v) == -1);
	CU_ASSERT(util_parse_u64("1e3", 0, 10000, &v) == -1);
	CU_ASSERT(util_parse_u64("18446744073709551615", 0, UINT64_MAX, &v) == 0 &&
	    v == UINT64_MAX);
	CU_ASSERT(util_parse_u64("18446744073709551616", 0, UINT64_MAX, &v) == -1);
	CU_ASSERT(util_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v) == -1);
	CU_ASSERT(util_parse_u64(NULL, 0, 1, &v) == -1);
}

static void
test_parse_i64(void)
{
	int64_t v;

	CU_ASSERT(util_parse_i64("-5", -10, 10, &v) == 0 && v == -5);
	CU_ASSERT(util_parse_i64("-11", -10, 10, &v) == -1);
	CU_ASSERT(util_parse_i64("-9223372036854775808", INT64_MIN, 0, &v) == 0 &&
	    v == INT64_MIN);
	CU_ASSERT(util_parse_i64("9223372036854775808", 0, INT64_MAX, &v) == -1);
	CU_ASSERT(util_parse_i64("-", -1, 1, &v) == -1);
}

static void
test_utf8(void)
{
	CU_ASSERT(util_valid_utf8_text("plain", 5, 0));
	CU_ASSERT(util_valid_utf8_text("caf\xc3\xa9", 5, 0));
	CU_ASSERT(util_valid_utf8_text("\xf0\x9f\x98\x80", 4, 0));
	CU_ASSERT(!util_valid_utf8_text("caf\xc3", 4, 0));	/* truncated */
	CU_ASSERT(!util_valid_utf8_text("\xc0\xaf", 2, 0));	/* overlong */
	CU_ASSERT(!util_valid_utf8_text("\xed\xa0\x80", 3, 0));	/* surrogate */
	CU_ASSERT(!util_valid_utf8_text("\xf4\x90\x80\x80", 4, 0)); /* > U+10FFFF */
	CU_ASSERT(!util_valid_utf8_text("a\0b", 3, 0));
	CU_ASSERT(!util_valid_utf8_text("a\nb", 3, 0));
	CU_ASSERT(util_valid_utf8_text("a\nb", 3, 1));
	CU_ASSERT(!util_valid_utf8_text("\x7f", 1, 1));
}

static void
test_email(void)
{
	static const char *good[] = { "a@b.co", "first.last+tag@mail.example.com",
	    "x_y@sub-domain.example.org" };
	static const char *bad[] = { "", "plain", "@example.com", "a@", "a@b",
	    "a..b@example.com", ".a@example.com", "a.@example.com",
	    "a b@example.com", "a@exa mple.com", "a@-example.com",
	    "a@example-.com", "a@example..com", "a@example.com\r\nBcc: x@y.z",
	    "a\n@example.com", "\"quoted\"@example.com", "a@b@example.com" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CU_ASSERT(util_valid_email(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (util_valid_email(bad[i], strlen(bad[i]))) {
			fprintf(stderr, "accepted bad email: %s\n", bad[i]);
			CU_FAIL("bad email accepted");
		}
}

static void
test_ct_equal(void)
{
	CU_ASSERT(util_ct_equal("abc", 3, "abc", 3));
	CU_ASSERT(!util_ct_equal("abc", 3, "abd", 3));
	CU_ASSERT(!util_ct_equal("abc", 3, "abcd", 4));
	CU_ASSERT(util_ct_equal("", 0, "", 0));
}

static void
test_buf_limit(void)
{
	struct buf b;

	buf_init(&b, 8);
	CU_ASSERT(buf_puts(&b, "1234") == 0);
	CU_ASSERT(buf_puts(&b, "5678") == 0);
	CU_ASSERT(buf_puts(&b, "9") == -1);
	CU_ASSERT(b.overflow);
	CU_ASSERT(buf_puts(&b, "") == -1);	/* sticky */
	CU_ASSERT_EQUAL(b.len, 8);
	CU_ASSERT_STRING_EQUAL(b.data, "12345678");
	buf_free(&b);
}

static void
test_json_string(void)
{
	struct buf b;
	const char in[] = "a\"b\\c\n\x01\x7f" "caf\xc3\xa9/";

	buf_init(&b, 1024);
	buf_json_string(&b, in, sizeof(in) - 1);
	CU_ASSERT_STRING_EQUAL(b.data,
	    "\"a\\\"b\\\\c\\n\\u0001\\u007fcaf\xc3\xa9/\"");
	buf_free(&b);
}

static void
test_hex_digit(void)
{
	const char digits[] = "0123456789abcdef";
	int c, n = 0;

	for (c = 0; c < 16; c++) {
		CU_ASSERT_EQUAL(util_hex_digit(digits[c]), c);
		CU_ASSERT_EQUAL(util_hex_digit(toupper((unsigned char)digits[c])), c);
	}
	/* nothing else is a digit: not 'g', '/', ':', '@', '`', NUL or 0x80+ */
	for (c = 0; c < 256; c++)
		if (util_hex_digit(c) >= 0)
			n++;
	CU_ASSERT_EQUAL(n, 22);
	CU_ASSERT_EQUAL(util_hex_digit('g'), -1);
	CU_ASSERT_EQUAL(util_hex_digit('G'), -1);
	CU_ASSERT_EQUAL(util_hex_digit('/'), -1);
	CU_ASSERT_EQUAL(util_hex_digit(':'), -1);
	CU_ASSERT_EQUAL(util_hex_digit('@'), -1);
	CU_ASSERT_EQUAL(util_hex_digit('`'), -1);
	CU_ASSERT_EQUAL(util_hex_digit(0), -1);
	CU_ASSERT_EQUAL(util_hex_digit(0xe9), -1);
}

static const struct cunit_test tests[] = {
	{ "parse u64", test_parse_u64 },
	{ "parse i64", test_parse_i64 },
	{ "utf8 validation", test_utf8 },
	{ "email syntax", test_email },
	{ "constant-time compare", test_ct_equal },
	{ "buf limit", test_buf_limit },
	{ "json string escaping", test_json_string },
	{ "hex digits", test_hex_digit },
};

CUNIT_MAIN("util", tests)

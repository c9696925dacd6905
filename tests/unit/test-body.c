/*
 * test-body.c: the JSON body parser's boundary (body_parse_json): what
 * json-c would accept or quietly alter and the service refuses, and the
 * escapes it must keep accepting.
 */
#include "config.h"

#include <string.h>

#include "body.h"
#include "cunit-main.h"

/* The status body_parse_json answers for text (0: parsed). */
static int
parse(const char *text)
{
	json_object *o = NULL;
	const char *detail = NULL;
	int status = body_parse_json(text, strlen(text), &o, &detail);

	CU_ASSERT(status == 0 ? o != NULL : o == NULL && detail != NULL);
	json_object_put(o);
	return status;
}

/* The decoded string member "n" of text, or NULL. */
static const char *
decoded(const char *text, char *out, size_t size)
{
	json_object *o = NULL, *n;
	const char *detail;

	out[0] = '\0';
	if (body_parse_json(text, strlen(text), &o, &detail) != 0)
		return NULL;
	if (json_object_object_get_ex(o, "n", &n))
		snprintf(out, size, "%s", json_object_get_string(n));
	json_object_put(o);
	return out;
}

static void
test_lone_surrogates_refused(void)
{
	static const char *bad[] = {
		"{\"n\":\"a\\ud800b\"}",		/* high half alone */
		"{\"n\":\"a\\uDBFF\"}",			/* at the end */
		"{\"n\":\"a\\udc00b\"}",		/* low half alone */
		"{\"n\":\"\\ude00\\ud83d\"}",		/* halves swapped */
		"{\"n\":\"\\ud83d\\ud83d\\ude00\"}",	/* high, high, low */
		"{\"n\":\"\\ud83d\\u0041\"}",		/* high, then not low */
		"{\"n\":\"\\ud83d\\n\"}",		/* high, then \n */
		"{\"\\ud800\":1}",			/* in a member name */
		"{\"n\":[\"ok\",\"\\udfff\"]}",		/* in an array */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(parse(bad[i]), 400);
}

static void
test_escapes_kept(void)
{
	char out[64];

	/* a pair is one character: U+1F600, four bytes */
	CU_ASSERT_STRING_EQUAL(decoded("{\"n\":\"\\ud83d\\ude00\"}", out,
	    sizeof(out)), "\xf0\x9f\x98\x80");
	CU_ASSERT_STRING_EQUAL(decoded("{\"n\":\"\\uD83D\\uDE00!\"}", out,
	    sizeof(out)), "\xf0\x9f\x98\x80!");
	/* an escaped backslash before "u" is text, not an escape */
	CU_ASSERT_STRING_EQUAL(decoded("{\"n\":\"\\\\ud800\"}", out,
	    sizeof(out)), "\\ud800");
	CU_ASSERT_STRING_EQUAL(decoded("{\"n\":\"\\\\\\u00e9\"}", out,
	    sizeof(out)), "\\\xc3\xa9");
	/* a real U+FFFD is a character like any other */
	CU_ASSERT_STRING_EQUAL(decoded("{\"n\":\"\\ufffd\"}", out,
	    sizeof(out)), "\xef\xbf\xbd");
	CU_ASSERT_EQUAL(parse("{\"n\":\"\\\"\\/\\b\\f\\n\\r\\t\"}"), 0);
}

static void
test_not_json_refused(void)
{
	CU_ASSERT_EQUAL(parse(""), 400);
	CU_ASSERT_EQUAL(parse("[]"), 400);
	CU_ASSERT_EQUAL(parse("{} x"), 400);
	CU_ASSERT_EQUAL(parse("{\"n\":\"a\xff\"}"), 400);
	CU_ASSERT_EQUAL(parse("{\"n\":\"\\u12\"}"), 400);
	CU_ASSERT_EQUAL(parse("[[[[[[[[[[]]]]]]]]]]"), 400);
	CU_ASSERT_EQUAL(parse("{\"n\":1}"), 0);
}

static const struct cunit_test tests[] = {
	{ "a lone surrogate escape is a 400, not U+FFFD",
	    test_lone_surrogates_refused },
	{ "surrogate pairs and other escapes decode as sent",
	    test_escapes_kept },
	{ "not JSON, not an object, too deep: 400", test_not_json_refused },
};

CUNIT_MAIN("body", tests)

/*
 * test-params.c: the catalog query parser and its canonical cache keys.
 * Every bad value docs/API.md names (and more) gives a 400 detail; every
 * spelling of the same query gives the same key; keys stay within
 * memcached's rules whatever the client sends.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "cunit-main.h"
#include "params.h"

static int
parse(const char *q, struct product_query *pq)
{
	char detail[128];

	return params_products(q, pq, detail, sizeof(detail));
}

static void
test_defaults(void)
{
	struct product_query q;

	CU_ASSERT_EQUAL_FATAL(parse("", &q), 0);
	CU_ASSERT_STRING_EQUAL(q.category, "");
	CU_ASSERT_EQUAL(q.page, 1);
	CU_ASSERT_EQUAL(q.per_page, 20);
	CU_ASSERT_EQUAL(q.sort, SORT_ID);
}

static void
test_good_values(void)
{
	struct product_query q;

	CU_ASSERT_EQUAL_FATAL(parse("category=garden-tools&page=3&per_page=100"
	    "&sort=-price", &q), 0);
	CU_ASSERT_STRING_EQUAL(q.category, "garden-tools");
	CU_ASSERT_EQUAL(q.page, 3);
	CU_ASSERT_EQUAL(q.per_page, 100);
	CU_ASSERT_EQUAL(q.sort, SORT_PRICE_DESC);
	CU_ASSERT_EQUAL(parse("page=1000000&per_page=1&sort=name", &q), 0);
	CU_ASSERT_EQUAL(q.page, 1000000);
	CU_ASSERT_EQUAL(parse("sort=price&&&", &q), 0);
	CU_ASSERT_EQUAL(q.sort, SORT_PRICE);
	CU_ASSERT_EQUAL(parse("page=007", &q), 0);
	CU_ASSERT_EQUAL(q.page, 7);
}

static const struct {
	const char *query;
	const char *detail;	/* prefix */
} bad[] = {
	{ "page=0", "page must be" }, { "page=-1", "page must be" },
	{ "page=abc", "page must be" }, { "page=1000001", "page must be" },
	{ "page=", "page must be" }, { "page", "page must be" },
	{ "page=1.0", "page must be" }, { "page=+1", "page must be" },
	{ "page=%201", "page must be" }, { "page=1e3", "page must be" },
	{ "page=18446744073709551617", "page must be" },
	{ "per_page=0", "per_page must be" }, { "per_page=101", "per_page must be" },
	{ "per_page=-20", "per_page must be" },
	{ "sort=foo", "sort must be" }, { "sort=", "sort must be" },
	{ "sort=ID", "sort must be" }, { "sort=price%00", "malformed" },
	{ "category=", "category must be" }, { "category=A", "category must be" },
	{ "category=a_b", "category must be" }, { "category=-a", "category must be" },
	{ "category=a-", "category must be" }, { "category=a%20b", "category must be" },
	{ "category=a%0ab", "category must be" }, { "category=%zz", "malformed" },
	{ "category=%4", "malformed" }, { "category=%", "malformed" },
	{ "category=caf%C3%A9", "category must be" },
	{ "category=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "category must be" },	/* 65 */
	{ "page=1&page=1", "page given more than once" },
	{ "sort=id&sort=id", "sort given more than once" },
	{ "pa%zzge=1", "malformed" },
};

static void
test_bad_values(void)
{
	struct product_query q;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char detail[128] = "";
		int rc = params_products(bad[i].query, &q, detail,
		    sizeof(detail));

		if (rc != -1 || strncmp(detail, bad[i].detail,
		    strlen(bad[i].detail)) != 0) {
			fprintf(stderr, "?%s: rc %d detail \"%s\"\n",
			    bad[i].query, rc, detail);
			CU_FAIL("bad query accepted or wrong detail");
		}
	}
}

static void
test_unknown_ignored(void)
{
	struct product_query q;
	char longkey[400];

	CU_ASSERT_EQUAL(parse("utm_source=x&fbclid=%zz&category=toys", &q), 0);
	CU_ASSERT_STRING_EQUAL(q.category, "toys");
	memset(longkey, 'k', sizeof(longkey) - 3);
	memcpy(longkey + sizeof(longkey) - 3, "=1", 3);
	CU_ASSERT_EQUAL(parse(longkey, &q), 0);
}

static void
test_too_long(void)
{
	char big[PARAMS_QUERY_MAX + 10];
	struct product_query q;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(parse(big, &q), -1);
}

static void
key_of(const char *query, char *out, size_t size)
{
	struct product_query q;

	CU_ASSERT_EQUAL_FATAL(parse(query, &q), 0);
	CU_ASSERT_EQUAL_FATAL(params_products_key(&q, out, size), 0);
}

static void
test_canonical_keys(void)
{
	static const char *same[] = {
		"category=x", "page=1&category=x&per_page=20",
		"category=x&utm=y", "sort=id&category=x", "%63ategory=x",
		"category=x&page=01", "per_page=20&page=1&sort=id&category=x&z",
	};
	char first[CACHE_KEY_MAX], key[CACHE_KEY_MAX];
	size_t i;

	key_of(same[0], first, sizeof(first));
	CU_ASSERT_STRING_EQUAL(first, "products:c=x:p=1:n=20:s=id");
	for (i = 1; i < sizeof(same) / sizeof(same[0]); i++) {
		key_of(same[i], key, sizeof(key));
		if (strcmp(key, first) != 0) {
			fprintf(stderr, "?%s -> %s\n", same[i], key);
			CU_FAIL("different key for the same query");
		}
	}
	key_of("", key, sizeof(key));
	CU_ASSERT_STRING_EQUAL(key, "products:c=_all:p=1:n=20:s=id");
	key_of("sort=-price&page=2", key, sizeof(key));
	CU_ASSERT_STRING_EQUAL(key, "products:c=_all:p=2:n=20:s=-price");
}

static void
test_keys_valid_for_memcached(void)
{
	static const char *queries[] = {
		"category=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "&page=1000000&per_page=100&sort=-price",
		"sort=name", "",
	};
	char key[CACHE_KEY_MAX], full[CACHE_KEY_MAX + 32];
	size_t i;

	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		key_of(queries[i], key, sizeof(key));
		/* as cache_lookup builds it: v1:<params>:<20-digit gen> */
		snprintf(full, sizeof(full), "v1:%s:18446744073709551615", key);
		CU_ASSERT(cache_key_valid(full, strlen(full)));
	}
	CU_ASSERT_FALSE(cache_key_valid("a b", 3));
	CU_ASSERT_FALSE(cache_key_valid("a\nb", 3));
	CU_ASSERT_FALSE(cache_key_valid("", 0));
}

static void
test_slug(void)
{
	CU_ASSERT(params_valid_slug("kitchen-dining", 14));
	CU_ASSERT(params_valid_slug("a", 1));
	CU_ASSERT_FALSE(params_valid_slug("Kitchen", 7));
	CU_ASSERT_FALSE(params_valid_slug("", 0));
}

static const struct cunit_test tests[] = {
	{ "defaults", test_defaults },
	{ "good values", test_good_values },
	{ "every bad value is a 400 with its detail", test_bad_values },
	{ "unknown parameters are ignored", test_unknown_ignored },
	{ "overlong query string", test_too_long },
	{ "equivalent queries share a canonical key", test_canonical_keys },
	{ "keys obey memcached's rules", test_keys_valid_for_memcached },
	{ "slugs", test_slug },
};

CUNIT_MAIN("params", tests)

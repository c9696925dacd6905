/*
 * fuzz-params.c: libFuzzer target for the catalog query string
 * (params_products) and its canonical cache key (params_products_key).
 *
 * Invariants checked on every input that parses:
 *   - every field is within docs/API.md's bounds;
 *   - the key fits the buffer catalog.c gives it, and the full memcached
 *     key built from it ("v1:<key>:<generation>", cache.c) is
 *     cache_key_valid() for the largest generation;
 *   - the key is canonical: the query rebuilt from the parsed struct parses
 *     to the same key.
 * An input that does not parse must leave a non-empty detail.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-params: invariant broken: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct product_query q, q2;
	char detail[128], key[CACHE_KEY_MAX], key2[CACHE_KEY_MAX];
	char full[CACHE_KEY_MAX + 64], canonical[256];
	char *query;
	int n;

	/* QUERY_STRING is a C string: libfcgi cuts it at the first NUL */
	if ((query = malloc(size + 1)) == NULL)
		return 0;
	memcpy(query, data, size);
	query[size] = '\0';
	detail[0] = '\0';
	if (params_products(query, &q, detail, sizeof(detail)) != 0) {
		check(detail[0] != '\0', "a refusal without a detail");
		free(query);
		return 0;
	}
	check(q.page >= 1 && q.page <= PARAMS_PAGE_MAX, "page bounds");
	check(q.per_page >= 1 && q.per_page <= PARAMS_PER_PAGE_MAX,
	    "per_page bounds");
	check(q.sort < SORT__MAX, "sort in range");
	check(q.category[0] == '\0' ||
	    params_valid_slug(q.category, strlen(q.category)), "category slug");
	check(params_products_key(&q, key, sizeof(key)) == 0, "key fits");
	check(cache_key_valid(key, strlen(key)), "key is a memcached key");
	n = snprintf(full, sizeof(full), "v1:%s:%llu", key,
	    (unsigned long long)UINT64_MAX);
	check(n > 0 && (size_t)n < sizeof(full) &&
	    cache_key_valid(full, (size_t)n), "full key is a memcached key");

	n = snprintf(canonical, sizeof(canonical),
	    "%s%s%spage=%llu&per_page=%llu&sort=%s",
	    q.category[0] != '\0' ? "category=" : "", q.category,
	    q.category[0] != '\0' ? "&" : "", (unsigned long long)q.page,
	    (unsigned long long)q.per_page, params_sort_names[q.sort]);
	check(n > 0 && (size_t)n < sizeof(canonical), "canonical query fits");
	check(params_products(canonical, &q2, detail, sizeof(detail)) == 0,
	    "canonical query parses");
	check(params_products_key(&q2, key2, sizeof(key2)) == 0 &&
	    strcmp(key, key2) == 0, "canonical query gives the same key");
	free(query);
	return 0;
}

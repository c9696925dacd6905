/*
 * params.h: query-string parsing and validation for the catalog routes.
 *
 * Each route declares its parameters once, in a table in params.c (name,
 * kind, bounds, default); params_parse() turns a raw QUERY_STRING into a
 * typed struct or a problem detail.  Handlers never see raw strings.
 * Rules: keys and values are percent-decoded ('+' is a space); a bad
 * escape, an empty or out-of-range value, or a known key given twice is a
 * 400; unknown keys are ignored.  Canonical cache parameters are built only
 * from the parsed struct, so equivalent queries share one cache entry.
 */
#ifndef APP_PARAMS_H
#define APP_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#define PARAMS_SLUG_MAX		64
#define PARAMS_QUERY_MAX	4096
#define PARAMS_PAGE_MAX		1000000
#define PARAMS_PER_PAGE_MAX	100
#define PARAMS_PER_PAGE_DEFAULT	20
#define PARAMS_KEYS_MAX		8	/* keys one route declares, at most */
#define PARAMS_JOB_TYPE_MAX	64	/* jobs.type */
#define PARAMS_JOB_KEY_MAX	191	/* jobs.idempotency_key */
/* the longest decoded value of any key */
#define PARAMS_VALUE_MAX	PARAMS_JOB_KEY_MAX
#define PARAMS_JOB_STATUSES	4

enum product_sort {
	SORT_ID = 0,
	SORT_PRICE,
	SORT_PRICE_DESC,
	SORT_NAME,
	SORT__MAX
};

struct product_query {
	char			category[PARAMS_SLUG_MAX + 1];	/* "" = all */
	uint64_t		page;
	uint64_t		per_page;
	enum product_sort	sort;
};

extern const char *const params_sort_names[SORT__MAX];

/* 0, or -1 with a problem detail for a 400. */
int params_products(const char *query, struct product_query *q,
    char *detail, size_t detailsize);

/* GET /api/admin/jobs: every filter is optional ("" or NULL: any). */
struct job_query {
	const char	*status;	/* one of params_job_statuses or NULL */
	char		 type[PARAMS_JOB_TYPE_MAX + 1];
	char		 key[PARAMS_JOB_KEY_MAX + 1];
	uint64_t	 page;
	uint64_t	 per_page;
};

extern const char *const params_job_statuses[PARAMS_JOB_STATUSES];

/* 0, or -1 with a problem detail for a 400. */
int params_jobs(const char *query, struct job_query *q, char *detail,
    size_t detailsize);

/* "products:c=<slug|_all>:p=<page>:n=<per_page>:s=<sort>" */
int params_products_key(const struct product_query *q, char *out,
    size_t size);

/* 1 when s is a category slug: [a-z0-9-], 1..64, no leading/trailing '-'. */
int params_valid_slug(const char *s, size_t len);

/* Percent-decodes src[0..len) into dst (size bytes, NUL-terminated).
 * Returns the decoded length, -1 for a bad escape or a NUL byte, -2 when
 * it does not fit. */
int params_decode(const char *src, size_t len, char *dst, size_t size);

#endif

/*
 * params.c: the parameter tables of the catalog routes and the one parser
 * that applies them; see params.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "params.h"
#include "util.h"

const char *const params_sort_names[SORT__MAX] = {
	"id", "price", "-price", "name"
};

enum param_kind {
	PARAM_SLUG,
	PARAM_UINT,
	PARAM_SORT,
	PARAM_JOB_STATUS,
	PARAM_JOB_WORD,
	PARAM_JOB_KEY
};

struct param_spec {
	const char	*name;
	enum param_kind	 kind;
	uint64_t	 min, max;
	const char	*rule;		/* the problem detail's wording */
};

enum { P_CATEGORY, P_PAGE, P_PER_PAGE, P_SORT, P__MAX };

static const struct param_spec product_params[P__MAX] = {
	[P_CATEGORY] = { "category", PARAM_SLUG, 0, 0,
	    "category must be a category slug (a-z, 0-9, -)" },
	[P_PAGE] = { "page", PARAM_UINT, 1, PARAMS_PAGE_MAX,
	    "page must be an integer from 1 to 1000000" },
	[P_PER_PAGE] = { "per_page", PARAM_UINT, 1, PARAMS_PER_PAGE_MAX,
	    "per_page must be an integer from 1 to 100" },
	[P_SORT] = { "sort", PARAM_SORT, 0, 0,
	    "sort must be one of id, price, -price, name" },
};

int
params_decode(const char *src, size_t len, char *dst, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)src[i];

		if (c == '+')
			c = ' ';
		else if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return -1;
			hi = util_hex_digit((unsigned char)src[i + 1]);
			lo = util_hex_digit((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0)
			return -1;
		if (o + 1 >= size)
			return -2;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return (int)o;
}

int
params_valid_slug(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > PARAMS_SLUG_MAX || s[0] == '-' ||
	    s[len - 1] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* Applies one spec to a decoded value. */
static int
params_apply(const struct param_spec *spec, int which, const char *v,
    size_t vlen, struct product_query *q)
{
	uint64_t n;
	size_t i;

	switch (spec->kind) {
	case PARAM_SLUG:
		if (!params_valid_slug(v, vlen))
			return -1;
		memcpy(q->category, v, vlen + 1);
		return 0;
	case PARAM_UINT:
		if (util_parse_u64n(v, vlen, spec->min, spec->max, &n) != 0)
			return -1;
		if (which == P_PAGE)
			q->page = n;
		else
			q->per_page = n;
		return 0;
	case PARAM_SORT:
		for (i = 0; i < SORT__MAX; i++)
			if (strcmp(v, params_sort_names[i]) == 0) {
				q->sort = (enum product_sort)i;
				return 0;
			}
		return -1;
	default:	/* the jobs route's kinds: params_apply_job() */
		return -1;
	}
	return -1;
}

/*
 * The one loop over a query string: each known key (specs[i].name) once,
 * its value decoded and handed to apply(i, value, len, ctx), which
 * returns -1 to refuse it with specs[i].rule.  Unknown keys are ignored.
 */
static int
params_scan(const char *query, const struct param_spec *specs, size_t n,
    int (*apply)(size_t, const char *, size_t, void *), void *ctx,
    char *detail, size_t detailsize)
{
	int seen[PARAMS_KEYS_MAX] = { 0 };
	const char *p = query;

	if (strlen(query) > PARAMS_QUERY_MAX) {
		snprintf(detail, detailsize, "query string too long");
		return -1;
	}
	while (*p != '\0') {
		const char *amp = strchr(p, '&'), *eq;
		size_t len = amp ? (size_t)(amp - p) : strlen(p), i;
		char key[64], value[PARAMS_VALUE_MAX + 1];
		int klen, vlen;

		eq = memchr(p, '=', len);
		klen = params_decode(p, eq ? (size_t)(eq - p) : len, key,
		    sizeof(key));
		if (klen == -2)
			goto next;	/* too long to be one of ours */
		if (klen < 0) {
			snprintf(detail, detailsize, "malformed query string");
			return -1;
		}
		for (i = 0; i < n; i++)
			if (strcmp(key, specs[i].name) == 0)
				break;
		if (i == n)
			goto next;	/* unknown parameters are ignored */
		if (seen[i]++) {
			snprintf(detail, detailsize, "%s given more than once",
			    specs[i].name);
			return -1;
		}
		vlen = eq ? params_decode(eq + 1, len - (size_t)(eq - p) - 1,
		    value, sizeof(value)) : 0;
		if (vlen == -1) {
			snprintf(detail, detailsize, "malformed query string");
			return -1;
		}
		if (vlen <= 0 || apply(i, value, (size_t)vlen, ctx) != 0) {
			snprintf(detail, detailsize, "%s", specs[i].rule);
			return -1;
		}
next:
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return 0;
}

static int
params_apply_product(size_t which, const char *v, size_t vlen, void *ctx)
{
	return params_apply(&product_params[which], (int)which, v, vlen, ctx);
}

int
params_products(const char *query, struct product_query *q, char *detail,
    size_t detailsize)
{
	memset(q, 0, sizeof(*q));
	q->page = 1;
	q->per_page = PARAMS_PER_PAGE_DEFAULT;
	q->sort = SORT_ID;
	return params_scan(query, product_params, P__MAX,
	    params_apply_product, q, detail, detailsize);
}

/* --- GET /api/admin/jobs ------------------------------------------------ */

enum { J_STATUS, J_TYPE, J_KEY, J_PAGE, J_PER_PAGE, J__MAX };

static const struct param_spec job_params[J__MAX] = {
	[J_STATUS] = { "status", PARAM_JOB_STATUS, 0, 0,
	    "status must be one of pending, running, done, dead" },
	[J_TYPE] = { "type", PARAM_JOB_WORD, 1, PARAMS_JOB_TYPE_MAX,
	    "type must be a job type: 1 to 64 of a-z, 0-9, '.', '_', '-'" },
	[J_KEY] = { "key", PARAM_JOB_KEY, 1, PARAMS_JOB_KEY_MAX,
	    "key must be an idempotency key: 1 to 191 of a-z, 0-9, '.', "
	    "'_', '-', ':'" },
	[J_PAGE] = { "page", PARAM_UINT, 1, PARAMS_PAGE_MAX,
	    "page must be an integer from 1 to 1000000" },
	[J_PER_PAGE] = { "per_page", PARAM_UINT, 1, PARAMS_PER_PAGE_MAX,
	    "per_page must be an integer from 1 to 100" },
};

_Static_assert(P__MAX <= PARAMS_KEYS_MAX && J__MAX <= PARAMS_KEYS_MAX,
    "raise PARAMS_KEYS_MAX");

const char *const params_job_statuses[PARAMS_JOB_STATUSES] = {
	"pending", "running", "done", "dead"
};

/* [a-z0-9._-], and ':' in a key */
static int
params_valid_word(const char *s, size_t len, int colon)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-' || (colon && s[i] == ':')))
			return 0;
	return 1;
}

static int
params_apply_job(size_t which, const char *v, size_t vlen, void *ctx)
{
	const struct param_spec *spec = &job_params[which];
	struct job_query *q = ctx;
	size_t i;

	switch (which) {
	case J_STATUS:
		for (i = 0; i < PARAMS_JOB_STATUSES; i++)
			if (strcmp(v, params_job_statuses[i]) == 0) {
				q->status = params_job_statuses[i];
				return 0;
			}
		return -1;
	case J_TYPE:
	case J_KEY:
		if (vlen > spec->max ||
		    !params_valid_word(v, vlen, which == J_KEY))
			return -1;
		memcpy(which == J_TYPE ? q->type : q->key, v, vlen + 1);
		return 0;
	case J_PAGE:
		return util_parse_u64n(v, vlen, spec->min, spec->max,
		    &q->page);
	case J_PER_PAGE:
		return util_parse_u64n(v, vlen, spec->min, spec->max,
		    &q->per_page);
	}
	return -1;
}

int
params_jobs(const char *query, struct job_query *q, char *detail,
    size_t detailsize)
{
	memset(q, 0, sizeof(*q));
	q->page = 1;
	q->per_page = PARAMS_PER_PAGE_DEFAULT;
	return params_scan(query, job_params, J__MAX, params_apply_job, q,
	    detail, detailsize);
}

int
params_products_key(const struct product_query *q, char *out, size_t size)
{
	int n = snprintf(out, size, "products:c=%s:p=%llu:n=%llu:s=%s",
	    q->category[0] != '\0' ? q->category : "_all",
	    (unsigned long long)q->page, (unsigned long long)q->per_page,
	    params_sort_names[q->sort]);

	return n > 0 && (size_t)n < size ? 0 : -1;
}

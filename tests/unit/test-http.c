/*
 * test-http.c: the request path as the four front ends send it.  Each row
 * is what one web server passes for one request (SCRIPT_NAME, PATH_INFO,
 * REQUEST_URI; NULL = not sent) and the path or the status the app must
 * make of it, whatever the server.  And the request id: nginx's, or one
 * the app makes (and sends as X-Request-Id) behind servers that send none.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cunit-main.h"
#include "http.h"

static const struct {
	const char	*script_name, *path_info, *request_uri;
	int		 status;
	const char	*path;
} rows[] = {
	/* GET /api/products/7?x=1, mounted at / */
	{ "/api/products/7", NULL, "/api/products/7?x=1", 0,
	    "/api/products/7" },				/* nginx, Apache */
	{ "/api", "/products/7", "/api/products/7?x=1", 0,
	    "/api/products/7" },				/* lighttpd */
	{ "", "/api/products/7", "/api/products/7?x=1", 0,
	    "/api/products/7" },			/* lighttpd fix-root, h2o */
	{ NULL, NULL, "/api/products/7?x=1", 0, "/api/products/7" },
	/* h2o does not merge slashes; the app does */
	{ "", "//api//products///7", "//api//products///7", 0,
	    "/api/products/7" },
	{ "/", "/api/products/7", NULL, 0, "/api/products/7" },
	/* SCRIPT_NAME + PATH_INFO win over REQUEST_URI (nginx rewrites) */
	{ "/api/products", NULL, "/nocache/api/products", 0, "/api/products" },
	{ NULL, "/healthz", "/other", 0, "/healthz" },
	/* REQUEST_URI alone: decoded, dot segments removed */
	{ NULL, NULL, "/api/pro%64ucts/../products/%37", 0, "/api/products/7" },
	{ NULL, NULL, "/api/./products/%2e%2e/products/7", 0,
	    "/api/products/7" },
	{ NULL, NULL, "/api/products/7%2F8", 0, "/api/products/7/8" },
	{ NULL, NULL, "/api/products?category=a/../b", 0, "/api/products" },
	{ NULL, NULL, "/a/b/..", 0, "/a/" },
	{ NULL, NULL, "/a/b/.", 0, "/a/b/" },
	{ NULL, NULL, "/a/..", 0, "/" },
	/* a trailing slash is a different resource and is kept */
	{ "/admin/", NULL, NULL, 0, "/admin/" },
	{ NULL, NULL, "/admin/", 0, "/admin/" },
	/* nothing at all */
	{ NULL, NULL, NULL, 0, "/" },
	{ "", "", NULL, 0, "/" },
	{ NULL, NULL, "", 0, "/" },
	{ NULL, NULL, "?a=b", 0, "/" },
	/* bad input: 400, never a path */
	{ NULL, NULL, "/api/products/7%00", 400, "/" },
	{ NULL, NULL, "/api/%zzproducts", 400, "/" },
	{ NULL, NULL, "/api/products%4", 400, "/" },
	{ NULL, NULL, "/api/products%", 400, "/" },
	{ NULL, NULL, "/..", 400, "/" },
	{ NULL, NULL, "/api/../../etc/passwd", 400, "/" },
	{ "/..", NULL, NULL, 400, "/" },
	{ NULL, NULL, "/%2e%2e/x", 400, "/" },
};

static void
test_rows(void)
{
	char out[HTTP_MAX_PATH];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(out, 'x', sizeof(out));
		rc = http_request_path(rows[i].script_name, rows[i].path_info,
		    rows[i].request_uri, out, sizeof(out));
		if (rc != rows[i].status || strcmp(out, rows[i].path) != 0)
			printf("row %zu: got %d \"%s\", want %d \"%s\"\n", i, rc,
			    out, rows[i].status, rows[i].path);
		CU_ASSERT_EQUAL(rc, rows[i].status);
		CU_ASSERT_STRING_EQUAL(out, rows[i].path);
	}
}

/* A path that does not fit is a 414, at exactly one byte too many. */
static void
test_length_bound(void)
{
	char in[64], out[16];

	memset(in, 'a', sizeof(in));
	in[0] = '/';
	in[15] = '\0';		/* "/" + 14 bytes: fits 16 with the NUL */
	CU_ASSERT_EQUAL(http_request_path(in, NULL, NULL, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(strlen(out), 15);
	in[15] = 'a';
	in[16] = '\0';
	CU_ASSERT_EQUAL(http_request_path(in, NULL, NULL, out, sizeof(out)),
	    414);
	CU_ASSERT_STRING_EQUAL(out, "/");
	/* dot segments shrink the path as it is built: what never fits
	 * is a 414 even when a later ".." would drop it */
	CU_ASSERT_EQUAL(http_request_path(NULL, NULL,
	    "/aaaaaaaa/../bbbbbbbb/../c", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "/c");
	CU_ASSERT_EQUAL(http_request_path(NULL, NULL,
	    "/aaaaaaaaaaaaaaaaaaaa/../c", out, sizeof(out)), 414);
	CU_ASSERT_EQUAL(http_request_path(NULL, NULL, "/aaaaaaaa/../c", out,
	    sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "/c");
	CU_ASSERT_EQUAL(http_request_path(NULL, NULL, "/", out, 1), 414);
}

/* Renders a 200 for req; the answer's bytes, NUL-terminated, in res. */
static void
render(struct request *req, struct response *res)
{
	http_response_reset(res);
	http_json(res, 200, "{}", 2);
	http_render(req, res);
	buf_append(&res->out, "", 1);
}

static int
is_hex32(const char *s)
{
	size_t i;

	for (i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[32] == '\0';
}

static void
test_request_id(void)
{
	struct fcgi_param vars[] = {
		{ "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/healthz" },
		{ "REQUEST_ID", "0123456789abcdef0123456789abcdef" }
	};
	struct fcgi_request f;
	struct request a, b;
	struct response res;
	char want[64];

	memset(&f, 0, sizeof(f));
	f.params = vars;
	http_response_init(&res);
	/* nginx: its id, and no header of ours (nginx adds its own) */
	f.nparams = 3;
	http_request_init(&a, &f);
	CU_ASSERT_STRING_EQUAL(a.request_id, vars[2].value);
	CU_ASSERT_FALSE(a.request_id_own);
	render(&a, &res);
	CU_ASSERT_PTR_NULL(strstr(res.out.data, "X-Request-Id"));
	http_request_free(&a);
	/* lighttpd, Apache, h2o: none sent (or empty): one made per request */
	f.nparams = 2;
	http_request_init(&a, &f);
	vars[2].value = "";
	f.nparams = 3;
	http_request_init(&b, &f);
	CU_ASSERT_TRUE(a.request_id_own && b.request_id_own);
	CU_ASSERT_TRUE(is_hex32(a.request_id) && is_hex32(b.request_id));
	CU_ASSERT_STRING_NOT_EQUAL(a.request_id, b.request_id);
	render(&a, &res);
	snprintf(want, sizeof(want), "\r\nX-Request-Id: %s\r\n", a.request_id);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out.data, want));
	http_request_free(&a);
	http_request_free(&b);
	http_response_free(&res);
}

static const struct cunit_test tests[] = {
	{ "request path from each front end's variables", test_rows },
	{ "request path length bound", test_length_bound },
	{ "request id: nginx's, else one made and sent", test_request_id },
};

CUNIT_MAIN("http", tests)

/*
 * test-http.c: the request path as the four front ends send it.  Each row
 * is what one web server passes for one request (SCRIPT_NAME, PATH_INFO,
 * REQUEST_URI; NULL = not sent) and the path or the status the app must
 * make of it, whatever the server.
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

static const struct cunit_test tests[] = {
	{ "request path from each front end's variables", test_rows },
	{ "request path length bound", test_length_bound },
};

CUNIT_MAIN("http", tests)

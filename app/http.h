/*
 * http.h: one FastCGI request in, one HTTP response out.
 *
 * A struct request holds the CGI variables the web server sent (method,
 * the request path, the raw query string, the headers we use) and, after
 * http_read_body(), the body bounded by HTTP_MAX_BODY.
 *
 * The request path is read the way RFC 3875 defines it, so nginx,
 * lighttpd (mod_fastcgi), Apache (mod_proxy_fcgi) and h2o mounting the app
 * at `/` all give the same one (see http_request_path()).  A struct
 * response collects the status, a few headers and the body;
 * http_render() turns it into the CGI answer (status line, headers, body)
 * in res->out, which the worker sends as one write.  Handlers never see
 * the FastCGI connection: the worker owns it (worker.c, fcgi.h).
 *
 * Errors are RFC 9457 problems: http_problem() fills the response with
 * application/problem+json {type,title,status,detail}; detail is a fixed
 * or validated string, never server error text.
 */
#ifndef APP_HTTP_H
#define APP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "app_metrics.h"
#include "fcgi.h"

#define HTTP_MAX_BODY		(64 * 1024)
/* The largest answer (the category list is the only one that grows with
 * the data: 100k categories of 100 characters fit); buffers grown past
 * HTTP_KEEP_CAPACITY for one answer are given back after it. */
#define HTTP_MAX_RESPONSE	(64 * 1024 * 1024)
#define HTTP_KEEP_CAPACITY	(256 * 1024)
#define HTTP_MAX_HEADERS	1024
#define HTTP_MAX_PATH		2048	/* a longer request path is a 414 */

enum http_method {
	HTTP_OTHER = 0,
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PATCH,
	HTTP_DELETE,
	HTTP_PUT
};

struct request {
	const struct fcgi_request *fcgi;
	enum http_method	 method;
	const char		*method_name;
	const char		*path;		/* decoded, normalized: path_buf */
	/* 0, or the status every answer gets before routing: 400/414 for
	 * an unusable path, 431/400 for unusable variables */
	int			 invalid;
	const char		*invalid_detail;
	const char		*query;		/* QUERY_STRING, raw */
	const char		*content_type;
	const char		*content_length;
	const char		*if_none_match;
	const char		*authorization;
	const char		*idempotency_key;
	/* REQUEST_ID from the web server (nginx's $request_id, which nginx
	 * also puts in X-Request-Id), or one made here (request_id_buf) for
	 * servers that send none: then http_render() adds X-Request-Id */
	const char		*request_id;
	int			 request_id_own;
	const char		*remote_addr;
	struct buf		 body;
	uint64_t		 started_us;
	/* filled by the router and handlers for the access log and metrics */
	const char		*route;
	const char		*path_slug;	/* a route's /:slug, valid */
	enum metrics_route	 metric;
	const char		*cache_result;	/* HIT, MISS, BYPASS or NULL */
	char			 path_buf[HTTP_MAX_PATH];
	char			 request_id_buf[33];	/* 32 hex digits */
};

struct response {
	int		 status;
	const char	*content_type;
	struct buf	 headers;	/* extra "Name: value\r\n" lines */
	struct buf	 body;
	struct buf	 out;		/* the whole record, reused per thread */
};

void http_request_init(struct request *req, const struct fcgi_request *fcgi);
/*
 * The request path from the CGI variables (any may be NULL), in precedence:
 *
 *   1. SCRIPT_NAME + PATH_INFO (RFC 3875 4.1.13 and 4.1.5), when either is
 *      sent: the server has already percent-decoded them and removed dot
 *      segments.  nginx sends the whole path as SCRIPT_NAME, Apache too,
 *      h2o and lighttpd (fix-root-scriptname) an empty SCRIPT_NAME and the
 *      path as PATH_INFO, lighttpd otherwise splits it after the first
 *      segment;
 *   2. else REQUEST_URI up to its `?`, percent-decoded here with its dot
 *      segments removed (RFC 3986 5.2.4);
 *   3. else "/".
 *
 * Runs of `/` become one (nginx, Apache and lighttpd merge them, h2o does
 * not), a trailing `/` is kept, and the result starts with `/`.  Returns 0
 * with the path in out, or 400 (a bad or NUL escape, a `..` above the
 * root) or 414 (longer than outsize - 1 bytes at any point while it is
 * built, even if a later `..` would shorten it).
 */
int http_request_path(const char *script_name, const char *path_info,
    const char *request_uri, char *out, size_t outsize);
void http_request_free(struct request *req);
/* Takes the body; 0, or an HTTP status (400, 413) on failure. */
int http_read_body(struct request *req);

void http_response_init(struct response *res);
void http_response_reset(struct response *res);
void http_response_free(struct response *res);
void http_header(struct response *res, const char *name, const char *value);
void http_json(struct response *res, int status, const char *body,
    size_t len);
void http_problem(struct response *res, int status, const char *detail);
/*
 * The CGI answer in res->out: "Status:", Content-Type, Content-Length,
 * X-Request-Id when the app made the id, the extra headers, the body (none
 * for HEAD, 204 and 304).  A response
 * that is missing or over HTTP_MAX_RESPONSE becomes a 500 problem.
 */
void http_render(const struct request *req, struct response *res);

const char *http_status_text(int status);

#endif

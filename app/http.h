/*
 * http.h: one FastCGI request in, one HTTP response out.
 *
 * A struct request holds the CGI variables nginx sent (method, the
 * normalized path, the raw query string, the headers we use) and, after
 * http_read_body(), the body bounded by HTTP_MAX_BODY.  A struct response
 * collects the status, a few headers and the body; http_send() writes
 * header block and body with one FCGX_PutStr so a cache hit costs one
 * write to nginx.  Handlers never write to the FastCGI stream themselves.
 *
 * Errors are RFC 9457 problems: http_problem() fills the response with
 * application/problem+json {type,title,status,detail}; detail is a fixed
 * or validated string, never server error text.
 */
#ifndef APP_HTTP_H
#define APP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>

#include "buf.h"
#include "app_metrics.h"

#define HTTP_MAX_BODY		(64 * 1024)
/* The largest answer (the category list is the only one that grows with
 * the data: 100k categories of 100 characters fit); buffers grown past
 * HTTP_KEEP_CAPACITY for one answer are given back after it. */
#define HTTP_MAX_RESPONSE	(64 * 1024 * 1024)
#define HTTP_KEEP_CAPACITY	(256 * 1024)
#define HTTP_MAX_HEADERS	1024

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
	FCGX_Request		*fcgi;
	enum http_method	 method;
	const char		*method_name;
	const char		*path;		/* DOCUMENT_URI, decoded */
	const char		*query;		/* QUERY_STRING, raw */
	const char		*content_type;
	const char		*content_length;
	const char		*if_none_match;
	const char		*authorization;
	const char		*idempotency_key;
	const char		*request_id;
	const char		*remote_addr;
	struct buf		 body;
	uint64_t		 started_us;
	/* filled by the router and handlers for the access log and metrics */
	const char		*route;
	enum metrics_route	 metric;
	const char		*cache_result;	/* HIT, MISS, BYPASS or NULL */
};

struct response {
	int		 status;
	const char	*content_type;
	struct buf	 headers;	/* extra "Name: value\r\n" lines */
	struct buf	 body;
	struct buf	 out;		/* the whole record, reused per thread */
};

void http_request_init(struct request *req, FCGX_Request *fcgi);
void http_request_free(struct request *req);
/* Reads the body; 0, or an HTTP status (400, 411, 413) on failure. */
int http_read_body(struct request *req);

void http_response_init(struct response *res);
void http_response_reset(struct response *res);
void http_response_free(struct response *res);
void http_header(struct response *res, const char *name, const char *value);
void http_json(struct response *res, int status, const char *body,
    size_t len);
void http_problem(struct response *res, int status, const char *detail);
/* 0 on success; -1 when the client went away. */
int http_send(struct request *req, struct response *res);

const char *http_status_text(int status);

#endif

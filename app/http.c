/*
 * http.c: CGI variables in, one buffered response out; see http.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "util.h"

static const struct {
	const char		*name;
	enum http_method	 method;
} http_methods[] = {
	{ "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "POST", HTTP_POST },
	{ "PATCH", HTTP_PATCH }, { "DELETE", HTTP_DELETE }, { "PUT", HTTP_PUT },
};

static const char *
http_param(const struct fcgi_request *fcgi, const char *name)
{
	return fcgi_param(fcgi, name);
}

/*
 * The path being built: out[0..len) always starts with `/`; the segment
 * being read starts at seg.  A finished segment is dropped (empty, "."),
 * pops the one before it (".."), or is kept followed by `/`.
 */
struct http_path {
	char	*out;
	size_t	 size, len, seg;
};

static int
http_path_byte(struct http_path *p, char c)
{
	if (p->len + 1 >= p->size)
		return 414;
	p->out[p->len++] = c;
	return 0;
}

static int
http_path_segment_end(struct http_path *p, int last)
{
	size_t n = p->len - p->seg;
	const char *s = p->out + p->seg;

	if (n == 0 || (n == 1 && s[0] == '.')) {
		p->len = p->seg;
	} else if (n == 2 && s[0] == '.' && s[1] == '.') {
		if (p->seg == 1)
			return 400;	/* above the root */
		p->len = p->seg - 1;
		while (p->out[p->len - 1] != '/')
			p->len--;
	} else if (!last) {
		if (http_path_byte(p, '/') != 0)
			return 414;
	}
	p->seg = p->len;
	return 0;
}

/* Feeds s (percent-decoded when decode is set) up to its end or `?`. */
static int
http_path_feed(struct http_path *p, const char *s, int decode)
{
	int rc, hi, lo;
	char c;

	for (; *s != '\0'; s++) {
		c = *s;
		if (decode && c == '?')
			break;
		if (decode && c == '%') {
			if ((hi = util_hex_digit(s[1])) < 0 ||
			    (lo = util_hex_digit(s[2])) < 0)
				return 400;
			c = (char)(hi << 4 | lo);
			if (c == '\0')
				return 400;
			s += 2;
		}
		rc = c == '/' ? http_path_segment_end(p, 0) :
		    http_path_byte(p, c);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
http_request_path(const char *script_name, const char *path_info,
    const char *request_uri, char *out, size_t outsize)
{
	struct http_path p = { out, outsize, 1, 1 };
	int rc = 0;

	if (outsize < 2)
		return 414;
	out[0] = '/';
	if (script_name != NULL || path_info != NULL) {
		if (script_name != NULL)
			rc = http_path_feed(&p, script_name, 0);
		if (rc == 0 && path_info != NULL)
			rc = http_path_feed(&p, path_info, 0);
	} else if (request_uri != NULL) {
		rc = http_path_feed(&p, request_uri, 1);
	}
	if (rc == 0)
		rc = http_path_segment_end(&p, 1);
	out[rc == 0 ? p.len : 1] = '\0';
	return rc;
}

/*
 * A request id for a web server that sends none (only nginx's snippet
 * passes REQUEST_ID): 128 random bits as 32 hex digits, the shape of
 * nginx's $request_id, so every answer carries X-Request-Id behind any
 * server and the log line can be found from it.
 */
static void
http_request_id_make(struct request *req)
{
	unsigned char r[16];
	uint64_t t;

	if (util_random(r, sizeof(r)) != 0) {
		/* no entropy: unique enough to follow a request in the logs */
		t = util_monotonic_us() ^ ((uint64_t)getpid() << 40);
		memcpy(r, &t, sizeof(t));
		t = (uint64_t)(uintptr_t)req;
		memcpy(r + sizeof(t), &t, sizeof(t));
	}
	util_hex(r, sizeof(r), req->request_id_buf);
	req->request_id = req->request_id_buf;
	req->request_id_own = 1;
}

void
http_request_init(struct request *req, const struct fcgi_request *fcgi)
{
	size_t i;

	memset(req, 0, sizeof(*req));
	req->fcgi = fcgi;
	req->started_us = util_monotonic_us();
	req->method_name = http_param(fcgi, "REQUEST_METHOD");
	if (req->method_name == NULL)
		req->method_name = "";
	for (i = 0; i < ARRAY_SIZE(http_methods); i++)
		if (strcmp(req->method_name, http_methods[i].name) == 0)
			req->method = http_methods[i].method;
	req->invalid = http_request_path(http_param(fcgi, "SCRIPT_NAME"),
	    http_param(fcgi, "PATH_INFO"), http_param(fcgi, "REQUEST_URI"),
	    req->path_buf, sizeof(req->path_buf));
	req->path = req->path_buf;
	if (req->invalid != 0)
		req->invalid_detail = req->invalid == 414 ?
		    "the request path is too long" :
		    "the request path has a bad escape or leaves the root";
	if (fcgi->status != 0) {
		req->invalid = fcgi->status;
		req->invalid_detail = fcgi->status == 431 ?
		    "the request headers are too large" :
		    "a request header or the path contains a NUL byte";
	}
	req->query = http_param(fcgi, "QUERY_STRING");
	if (req->query == NULL) {
		const char *uri = http_param(fcgi, "REQUEST_URI");

		req->query = uri != NULL && strchr(uri, '?') != NULL ?
		    strchr(uri, '?') + 1 : "";
	}
	req->content_type = http_param(fcgi, "CONTENT_TYPE");
	req->content_length = http_param(fcgi, "CONTENT_LENGTH");
	req->if_none_match = http_param(fcgi, "HTTP_IF_NONE_MATCH");
	req->authorization = http_param(fcgi, "HTTP_AUTHORIZATION");
	req->idempotency_key = http_param(fcgi, "HTTP_IDEMPOTENCY_KEY");
	req->request_id = http_param(fcgi, "REQUEST_ID");
	if (req->request_id == NULL || req->request_id[0] == '\0')
		http_request_id_make(req);
	req->remote_addr = http_param(fcgi, "REMOTE_ADDR");
	buf_init(&req->body, HTTP_MAX_BODY);
}

void
http_request_free(struct request *req)
{
	buf_free(&req->body);
}

int
http_read_body(struct request *req)
{
	const struct buf *in = &req->fcgi->body;
	uint64_t expect = 0;

	if (req->content_length != NULL && req->content_length[0] != '\0' &&
	    util_parse_u64(req->content_length, 0, UINT64_MAX / 2, &expect) != 0)
		return 400;
	if (expect > HTTP_MAX_BODY || req->fcgi->body_overflow)
		return 413;
	if (in->len > 0 && buf_append(&req->body, in->data, in->len) != 0)
		return 413;
	if (req->body.len != expect)
		return 400;	/* truncated upload */
	if (req->body.data == NULL)
		buf_append(&req->body, "", 0);
	return 0;
}

void
http_response_init(struct response *res)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->headers, HTTP_MAX_HEADERS);
	buf_init(&res->body, HTTP_MAX_RESPONSE);
	buf_init(&res->out, HTTP_MAX_RESPONSE + HTTP_MAX_HEADERS + 256);
}

/* Empties b; gives back a capacity one large answer left behind. */
static void
http_buf_recycle(struct buf *b)
{
	size_t limit = b->limit;

	if (b->cap <= HTTP_KEEP_CAPACITY) {
		buf_reset(b);
		return;
	}
	buf_free(b);
	buf_init(b, limit);
}

void
http_response_reset(struct response *res)
{
	res->status = 0;
	res->content_type = NULL;
	buf_reset(&res->headers);
	http_buf_recycle(&res->body);
	http_buf_recycle(&res->out);
}

void
http_response_free(struct response *res)
{
	buf_free(&res->headers);
	buf_free(&res->body);
	buf_free(&res->out);
}

void
http_header(struct response *res, const char *name, const char *value)
{
	buf_printf(&res->headers, "%s: %s\r\n", name, value);
}

void
http_json(struct response *res, int status, const char *body, size_t len)
{
	res->status = status;
	res->content_type = "application/json";
	buf_reset(&res->body);
	buf_append(&res->body, body, len);
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 431: return "Request Header Fields Too Large";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

void
http_problem(struct response *res, int status, const char *detail)
{
	res->status = status;
	res->content_type = "application/problem+json";
	buf_reset(&res->body);
	buf_puts(&res->body, "{\"type\":\"about:blank\",\"title\":");
	buf_json_string(&res->body, http_status_text(status),
	    strlen(http_status_text(status)));
	buf_printf(&res->body, ",\"status\":%d,\"detail\":", status);
	buf_json_string(&res->body, detail, strlen(detail));
	buf_puts(&res->body, "}");
}

void
http_render(const struct request *req, struct response *res)
{
	struct buf *out = &res->out;
	int with_body;

	if (res->status == 0)
		http_problem(res, 500, "the handler produced no response");
	if (res->body.overflow || res->headers.overflow) {
		buf_reset(&res->headers);
		http_problem(res, 500, "response too large");
	}
	with_body = res->status != 204 && res->status != 304 &&
	    req->method != HTTP_HEAD;
	/* one buffer, one write to the web server; the buffer keeps its
	 * capacity between requests */
	buf_reset(out);
	buf_printf(out, "Status: %d %s\r\n", res->status,
	    http_status_text(res->status));
	if (res->content_type != NULL && res->status != 204 &&
	    res->status != 304)
		buf_printf(out, "Content-Type: %s\r\n", res->content_type);
	if (with_body)
		buf_printf(out, "Content-Length: %zu\r\n", res->body.len);
	if (req->request_id_own)
		buf_printf(out, "X-Request-Id: %s\r\n", req->request_id);
	if (res->headers.len > 0)
		buf_append(out, res->headers.data, res->headers.len);
	buf_append(out, "\r\n", 2);
	if (with_body && res->body.len > 0)
		buf_append(out, res->body.data, res->body.len);
}

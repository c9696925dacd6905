/*
 * fuzz-fcgi-params.c: libFuzzer target for what a FastCGI request carries
 * into the app: the CGI variables nginx passes and the body.  One input is
 *
 *   REQUEST_METHOD \0 SCRIPT_NAME \0 QUERY_STRING \0 CONTENT_TYPE \0
 *   CONTENT_LENGTH \0 HTTP_IF_NONE_MATCH \0 HTTP_AUTHORIZATION \0
 *   HTTP_IDEMPOTENCY_KEY \0 body...
 *
 * (a variable missing at the end of the input is absent; NUL ends a
 * value here, and inside one it is the parser's 400).  The request goes
 * through exactly what worker.c does with it: encoded as the records a web
 * server sends, read back by fcgi_parse(), then http_request_init(),
 * router_dispatch() and http_render().
 *
 * The app it runs against has no servers: the database is a socket path
 * that does not exist (the connect fails at once, ENOENT) and memcached is
 * 127.0.0.1:1 (refused; the breaker then stays open for the whole run).
 * So every route runs its validation and then its database-down path,
 * without network waits.  The admin token is FUZZ_ADMIN_TOKEN, which the
 * seed corpus uses to reach the admin handlers.
 *
 * Invariants: never a 500 (docs/API.md allows only 503, for the database
 * being down); header lines are printable ASCII (nothing a client sends
 * can split or add a header); every 4xx/5xx body is an RFC 9457 problem
 * whose status member matches.  catalog_etag_matches() is also run on the
 * If-None-Match value, since with no cache and no database the router
 * never reaches it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "app.h"
#include "app_sql.h"
#include "catalog.h"
#include "log.h"

#define FUZZ_ADMIN_TOKEN	"fuzz-admin-token-0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_vars[] = {
	"REQUEST_METHOD", "SCRIPT_NAME", "QUERY_STRING", "CONTENT_TYPE",
	"CONTENT_LENGTH", "HTTP_IF_NONE_MATCH", "HTTP_AUTHORIZATION",
	"HTTP_IDEMPOTENCY_KEY",
};
#define FUZZ_NVARS (sizeof(fuzz_vars) / sizeof(fuzz_vars[0]))

static struct conf	 fuzz_conf;
static struct app	 fuzz_app;
static struct response	 fuzz_res;

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-fcgi-params: invariant broken: %s\n", what);
		abort();
	}
}

static void
fuzz_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	log_init("fuzz-fcgi-params");
	log_set_level(LOG_ERROR);
	conf_defaults(&fuzz_conf);
	snprintf(fuzz_conf.db_socket, sizeof(fuzz_conf.db_socket),
	    "/nonexistent/fuzz-mysqld.sock");
	fuzz_conf.db_timeout_ms = 100;
	snprintf(fuzz_conf.cache_servers, sizeof(fuzz_conf.cache_servers),
	    "127.0.0.1:1");
	fuzz_conf.cache_timeout_ms = 1;
	fuzz_conf.cache_retry_seconds = 3600;
	snprintf(fuzz_conf.http_admin_token, sizeof(fuzz_conf.http_admin_token),
	    "%s", FUZZ_ADMIN_TOKEN);
	fuzz_app.conf = &fuzz_conf;
	fuzz_app.metrics = calloc(1, sizeof(*fuzz_app.metrics));
	fuzz_conf.cache_near_bytes = 1048576;
	fuzz_app.cache_shared = cache_shared_create(&fuzz_conf);
	check(fuzz_app.metrics != NULL && fuzz_app.cache_shared != NULL,
	    "init: memory");
	db_init(&fuzz_app.db, &fuzz_conf, &app_statements);
	check(cache_open(&fuzz_app.cache, &fuzz_conf, fuzz_app.cache_shared,
	    &fuzz_app.metrics->core) == 0, "init: cache_open");
	http_response_init(&fuzz_res);
}

/* Appends data as records of type, then the empty record that ends them. */
static void
fuzz_stream(struct buf *rec, unsigned type, const void *data, size_t len)
{
	const char *d = data;
	size_t n;

	while (len > 0) {
		n = len > FCGI_MAX_CONTENT ? FCGI_MAX_CONTENT : len;
		fcgi_encode_header(rec, type, 1, n);
		buf_append(rec, d, n);
		d += n;
		len -= n;
	}
	fcgi_encode_header(rec, type, 1, 0);
}

/* The status line, header lines and, for errors, the problem body. */
static void
fuzz_check_response(const struct request *req, const unsigned char *out,
    size_t len)
{
	const unsigned char *end, *p;
	json_tokener *tok;
	json_object *o, *m;
	int status;

	check(len > 8 && memcmp(out, "Status: ", 8) == 0, "status line");
	status = atoi((const char *)out + 8);
	if (getenv("FUZZ_VERBOSE") != NULL)	/* replay: what each input got */
		printf("%s %s -> %d\n", req->method_name, req->path, status);
	check(status >= 200 && status <= 599, "status range");
	check(status != 500, "never a 500");
	end = memmem(out, len, "\r\n\r\n", 4);
	check(end != NULL, "end of headers");
	for (p = out; p < end; p++)
		check((*p >= 0x20 && *p <= 0x7e) ||
		    (p[0] == '\r' && p[1] == '\n') ||
		    (p[0] == '\n' && p[-1] == '\r'), "header bytes");
	if (status < 400 || req->method == HTTP_HEAD)
		return;
	end += 4;
	check((tok = json_tokener_new()) != NULL, "json_tokener_new");
	o = json_tokener_parse_ex(tok, (const char *)end,
	    (int)(len - (size_t)(end - out)));
	json_tokener_free(tok);
	check(o != NULL && json_object_is_type(o, json_type_object),
	    "problem body is a JSON object");
	check(json_object_object_get_ex(o, "status", &m) &&
	    json_object_get_int(m) == status, "problem status member");
	check(json_object_object_get_ex(o, "type", NULL) &&
	    json_object_object_get_ex(o, "title", NULL) &&
	    json_object_object_get_ex(o, "detail", &m) &&
	    json_object_is_type(m, json_type_string), "problem members");
	json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char begin[8] = { 0, FCGI_RESPONDER,
	    FCGI_KEEP_CONN };
	struct fcgi_parser parser;
	struct request req;
	struct buf params, rec;
	size_t pos = 0, i, used;
	const char *copy = (const char *)data;
	int ev;

	fuzz_init();
	buf_init(&params, 2 * FCGI_MAX_PARAMS_LEN);
	buf_init(&rec, 4 * FCGI_MAX_PARAMS_LEN + 2 * HTTP_MAX_BODY);
	fcgi_init(&parser, HTTP_MAX_BODY);
	for (i = 0; i < FUZZ_NVARS && pos < size; i++) {
		const char *nul = memchr(copy + pos, '\0', size - pos);
		size_t n = nul != NULL ? (size_t)(nul - (copy + pos)) : size - pos;

		fcgi_encode_pair(&params, fuzz_vars[i], strlen(fuzz_vars[i]),
		    copy + pos, n);
		pos += n + 1;
	}
	fcgi_encode_pair(&params, "REQUEST_ID", 10, "fuzz", 4);
	fcgi_encode_pair(&params, "REMOTE_ADDR", 11, "127.0.0.1", 9);
	/* the records a web server sends for it, through the real parser */
	fcgi_encode_header(&rec, FCGI_BEGIN_REQUEST, 1, sizeof(begin));
	buf_append(&rec, begin, sizeof(begin));
	fuzz_stream(&rec, FCGI_PARAMS, params.data, params.len);
	fuzz_stream(&rec, FCGI_STDIN, copy + (pos < size ? pos : size),
	    pos < size ? size - pos : 0);
	check(!params.overflow && !rec.overflow, "encoding");
	ev = fcgi_parse(&parser, rec.data, rec.len, &used);
	check(ev == FCGI_REQUEST && used == rec.len, "parsed as one request");

	http_request_init(&req, &parser.req);
	http_response_reset(&fuzz_res);
	router_dispatch(&fuzz_app, &req, &fuzz_res);
	http_render(&req, &fuzz_res);
	check(!fuzz_res.out.overflow, "rendered");
	fuzz_check_response(&req, (const unsigned char *)fuzz_res.out.data,
	    fuzz_res.out.len);
	(void)catalog_etag_matches(req.if_none_match, "\"0123456789abcdef\"");
	http_request_free(&req);
	fcgi_free(&parser);
	buf_free(&params);
	buf_free(&rec);
	return 0;
}

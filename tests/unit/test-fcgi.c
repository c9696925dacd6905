/*
 * test-fcgi.c: the FastCGI record parser and encoder.  Requests as web
 * servers send them, whole and split at every byte; the client-caused
 * limits that complete a request with a status (431, 400, an oversized
 * body); the management records; what a web server never sends, which
 * is FCGI_BAD.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cunit-main.h"
#include "fcgi.h"

#define MAX_BODY 1024

/* BEGIN_REQUEST for id with role and flags. */
static void
begin(struct buf *b, unsigned id, unsigned role, unsigned flags)
{
	unsigned char body[8] = { 0 };

	body[0] = (unsigned char)(role >> 8);
	body[1] = (unsigned char)role;
	body[2] = (unsigned char)flags;
	fcgi_encode_header(b, FCGI_BEGIN_REQUEST, id, 8);
	buf_append(b, body, 8);
}

static void
record(struct buf *b, unsigned type, unsigned id, const void *data,
    size_t len)
{
	fcgi_encode_header(b, type, id, len);
	buf_append(b, data, len);
}

static void
pair(struct buf *b, const char *name, const char *value)
{
	fcgi_encode_pair(b, name, strlen(name), value, strlen(value));
}

/* A whole request: the variables, a body, the way nginx sends them. */
static void
request(struct buf *b, unsigned id, int keep, const char *body)
{
	struct buf p;

	buf_init(&p, 1 << 20);
	pair(&p, "REQUEST_METHOD", body != NULL ? "POST" : "GET");
	pair(&p, "SCRIPT_NAME", "/api/products");
	pair(&p, "QUERY_STRING", "page=2");
	begin(b, id, FCGI_RESPONDER, keep ? FCGI_KEEP_CONN : 0);
	record(b, FCGI_PARAMS, id, p.data, p.len);
	record(b, FCGI_PARAMS, id, "", 0);
	if (body != NULL)
		record(b, FCGI_STDIN, id, body, strlen(body));
	record(b, FCGI_STDIN, id, "", 0);
	buf_free(&p);
}

/* Feeds all of b in pieces of `step` bytes; the first event other than
 * FCGI_MORE, with *consumed the bytes taken up to it. */
static int
feed(struct fcgi_parser *p, const struct buf *b, size_t step,
    size_t *consumed)
{
	size_t pos = 0, used, n;
	int ev = FCGI_MORE;

	while (pos < b->len) {
		n = b->len - pos < step ? b->len - pos : step;
		ev = fcgi_parse(p, b->data + pos, n, &used);
		pos += used;
		if (ev != FCGI_MORE)
			break;
		CU_ASSERT_EQUAL(used, n);
	}
	*consumed = pos;
	return ev;
}

static void
test_get_whole_and_split(void)
{
	struct fcgi_parser p;
	struct buf b;
	size_t step, used;

	buf_init(&b, 1 << 20);
	request(&b, 1, 1, NULL);
	for (step = 1; step <= b.len; step++) {
		fcgi_init(&p, MAX_BODY);
		CU_ASSERT_EQUAL_FATAL(feed(&p, &b, step, &used), FCGI_REQUEST);
		CU_ASSERT_EQUAL(used, b.len);
		CU_ASSERT_EQUAL(p.req.id, 1);
		CU_ASSERT_EQUAL(p.req.keep_conn, 1);
		CU_ASSERT_EQUAL(p.req.status, 0);
		CU_ASSERT_EQUAL(p.req.nparams, 3);
		CU_ASSERT_STRING_EQUAL(fcgi_param(&p.req, "REQUEST_METHOD"),
		    "GET");
		CU_ASSERT_STRING_EQUAL(fcgi_param(&p.req, "SCRIPT_NAME"),
		    "/api/products");
		CU_ASSERT_STRING_EQUAL(fcgi_param(&p.req, "QUERY_STRING"),
		    "page=2");
		CU_ASSERT_PTR_NULL(fcgi_param(&p.req, "PATH_INFO"));
		CU_ASSERT_EQUAL(p.req.body.len, 0);
		CU_ASSERT(fcgi_in_request(&p));
		fcgi_next(&p);
		CU_ASSERT(!fcgi_in_request(&p));
		fcgi_free(&p);
	}
	buf_free(&b);
}

/* Kept connection: requests one after the other, buffers reused. */
static void
test_kept_connection(void)
{
	struct fcgi_parser p;
	struct buf b;
	size_t used, pos = 0;
	int i;

	buf_init(&b, 1 << 20);
	request(&b, 1, 1, "{\"a\":1}");
	request(&b, 1, 1, NULL);
	request(&b, 7, 0, "second body");
	fcgi_init(&p, MAX_BODY);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL_FATAL(fcgi_parse(&p, b.data + pos, b.len - pos,
		    &used), FCGI_REQUEST);
		pos += used;
		if (i == 0)
			CU_ASSERT_STRING_EQUAL(p.req.body.data, "{\"a\":1}");
		if (i == 1)
			CU_ASSERT_EQUAL(p.req.body.len, 0);
		if (i == 2) {
			CU_ASSERT_EQUAL(p.req.id, 7);
			CU_ASSERT_EQUAL(p.req.keep_conn, 0);
			CU_ASSERT_STRING_EQUAL(p.req.body.data, "second body");
		}
		CU_ASSERT_STRING_EQUAL(fcgi_param(&p.req, "QUERY_STRING"),
		    "page=2");
		/* not answered yet: the parser refuses to go on */
		CU_ASSERT_EQUAL(fcgi_parse(&p, b.data + pos, b.len - pos,
		    &used), FCGI_BAD);
		fcgi_next(&p);
	}
	CU_ASSERT_EQUAL(pos, b.len);
	fcgi_free(&p);
	buf_free(&b);
}

/* STDIN over several records with padding; long (4-byte) lengths. */
static void
test_body_records_padding_long_values(void)
{
	struct fcgi_parser p;
	struct buf b, params;
	char longval[300];
	unsigned char h[8];
	size_t used;

	memset(longval, 'v', sizeof(longval) - 1);
	longval[sizeof(longval) - 1] = '\0';
	buf_init(&b, 1 << 20);
	buf_init(&params, 1 << 20);
	pair(&params, "HTTP_X_LONG", longval);
	begin(&b, 3, FCGI_RESPONDER, 0);
	record(&b, FCGI_PARAMS, 3, params.data, params.len);
	record(&b, FCGI_PARAMS, 3, "", 0);
	/* a STDIN record with 5 bytes of padding, written by hand */
	fcgi_encode_header(&b, FCGI_STDIN, 3, 3);
	b.data[b.len - 2] = 5;
	buf_append(&b, "abc", 3);
	buf_append(&b, "PPPPP", 5);
	record(&b, FCGI_STDIN, 3, "def", 3);
	record(&b, FCGI_STDIN, 3, "", 0);
	fcgi_init(&p, MAX_BODY);
	CU_ASSERT_EQUAL_FATAL(fcgi_parse(&p, b.data, b.len, &used),
	    FCGI_REQUEST);
	CU_ASSERT_EQUAL(used, b.len);
	CU_ASSERT_STRING_EQUAL(p.req.body.data, "abcdef");
	CU_ASSERT_STRING_EQUAL(fcgi_param(&p.req, "HTTP_X_LONG"), longval);
	memcpy(h, b.data, 8);
	CU_ASSERT_EQUAL(h[0], 1);
	fcgi_free(&p);
	buf_free(&params);
	buf_free(&b);
}

/* What a client causes completes the request with a status. */
static void
test_client_limits(void)
{
	struct fcgi_parser p;
	struct buf b, params;
	char big[MAX_BODY + 10], name[16];
	size_t used, i;

	/* a body over the limit: read to its end, flagged */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 1 << 22);
	request(&b, 1, 1, big);
	fcgi_init(&p, MAX_BODY);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_REQUEST);
	CU_ASSERT_EQUAL(used, b.len);
	CU_ASSERT(p.req.body_overflow);
	CU_ASSERT_EQUAL(p.req.status, 0);
	fcgi_free(&p);

	/* variables over FCGI_MAX_PARAMS_LEN: 431, no variables */
	buf_reset(&b);
	buf_init(&params, 1 << 22);
	for (i = 0; params.len <= FCGI_MAX_PARAMS_LEN; i++)
		pair(&params, "HTTP_X_FILL", big);
	begin(&b, 1, FCGI_RESPONDER, FCGI_KEEP_CONN);
	for (i = 0; i < params.len; i += FCGI_MAX_CONTENT)
		record(&b, FCGI_PARAMS, 1, params.data + i,
		    params.len - i > FCGI_MAX_CONTENT ? FCGI_MAX_CONTENT :
		    params.len - i);
	record(&b, FCGI_PARAMS, 1, "", 0);
	record(&b, FCGI_STDIN, 1, "", 0);
	fcgi_init(&p, MAX_BODY);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_REQUEST);
	CU_ASSERT_EQUAL(p.req.status, 431);
	CU_ASSERT_EQUAL(p.req.nparams, 0);
	CU_ASSERT_PTR_NULL(fcgi_param(&p.req, "HTTP_X_FILL"));
	fcgi_free(&p);

	/* more than FCGI_MAX_PARAMS pairs: 431 */
	buf_reset(&b);
	buf_reset(&params);
	for (i = 0; i <= FCGI_MAX_PARAMS; i++) {
		snprintf(name, sizeof(name), "H%zu", i);
		pair(&params, name, "1");
	}
	begin(&b, 1, FCGI_RESPONDER, 0);
	record(&b, FCGI_PARAMS, 1, params.data, params.len);
	record(&b, FCGI_PARAMS, 1, "", 0);
	record(&b, FCGI_STDIN, 1, "", 0);
	fcgi_init(&p, MAX_BODY);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_REQUEST);
	CU_ASSERT_EQUAL(p.req.status, 431);
	fcgi_free(&p);

	/* a NUL inside a value (h2o passes a decoded %00): 400 */
	buf_reset(&b);
	buf_reset(&params);
	fcgi_encode_pair(&params, "PATH_INFO", 9, "/api/products/7\0x", 17);
	begin(&b, 1, FCGI_RESPONDER, 0);
	record(&b, FCGI_PARAMS, 1, params.data, params.len);
	record(&b, FCGI_PARAMS, 1, "", 0);
	record(&b, FCGI_STDIN, 1, "", 0);
	fcgi_init(&p, MAX_BODY);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_REQUEST);
	CU_ASSERT_EQUAL(p.req.status, 400);
	fcgi_free(&p);
	buf_free(&params);
	buf_free(&b);
}

/* Management records and requests we refuse: a reply, then go on. */
static void
test_replies(void)
{
	static const unsigned char cant_mpx[16] = { 1, FCGI_END_REQUEST, 0, 2,
	    0, 8, 0, 0, 0, 0, 0, 0, FCGI_CANT_MPX_CONN, 0, 0, 0 };
	static const unsigned char unknown_role[16] = { 1, FCGI_END_REQUEST,
	    0, 5, 0, 8, 0, 0, 0, 0, 0, 0, FCGI_UNKNOWN_ROLE, 0, 0, 0 };
	static const unsigned char unknown_type[16] = { 1, FCGI_UNKNOWN_TYPE,
	    0, 0, 0, 8, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0 };
	struct fcgi_parser p;
	struct buf b, q;
	size_t used, pos = 0;

	buf_init(&b, 1 << 20);
	buf_init(&q, 1024);
	fcgi_init(&p, MAX_BODY);
	/* GET_VALUES: the known names answered, the unknown left out */
	fcgi_encode_pair(&q, "FCGI_MPXS_CONNS", 15, "", 0);
	fcgi_encode_pair(&q, "FCGI_NO_SUCH", 12, "", 0);
	record(&b, FCGI_GET_VALUES, 0, q.data, q.len);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_REPLY);
	CU_ASSERT_EQUAL(used, b.len);
	CU_ASSERT_EQUAL(p.reply_len, 8 + 2 + 15 + 1);
	CU_ASSERT_EQUAL(p.reply[1], FCGI_GET_VALUES_RESULT);
	CU_ASSERT_EQUAL(p.reply[5], 2 + 15 + 1);
	CU_ASSERT(memcmp(p.reply + 10, "FCGI_MPXS_CONNS0", 16) == 0);

	/* an unknown management type */
	buf_reset(&b);
	record(&b, 42, 0, "xy", 2);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_REPLY);
	CU_ASSERT_EQUAL(p.reply_len, 16);
	CU_ASSERT(memcmp(p.reply, unknown_type, 16) == 0);

	/* another role */
	buf_reset(&b);
	begin(&b, 5, 2, 0);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_REPLY);
	CU_ASSERT(memcmp(p.reply, unknown_role, 16) == 0);
	CU_ASSERT(!fcgi_in_request(&p));

	/* a second request while one is read: refused, the first goes on;
	 * records for ids not in progress are ignored */
	buf_reset(&b);
	begin(&b, 1, FCGI_RESPONDER, FCGI_KEEP_CONN);
	begin(&b, 2, FCGI_RESPONDER, 0);
	record(&b, FCGI_STDIN, 9, "ignored", 7);
	record(&b, FCGI_PARAMS, 1, "", 0);
	record(&b, FCGI_STDIN, 1, "ok", 2);
	record(&b, FCGI_STDIN, 1, "", 0);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_REPLY);
	CU_ASSERT(memcmp(p.reply, cant_mpx, 16) == 0);
	pos = used;
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data + pos, b.len - pos, &used),
	    FCGI_REQUEST);
	CU_ASSERT_EQUAL(pos + used, b.len);
	CU_ASSERT_EQUAL(p.req.id, 1);
	CU_ASSERT_STRING_EQUAL(p.req.body.data, "ok");
	fcgi_next(&p);

	/* ABORT_REQUEST: END_REQUEST, then idle */
	buf_reset(&b);
	begin(&b, 4, FCGI_RESPONDER, FCGI_KEEP_CONN);
	record(&b, FCGI_ABORT_REQUEST, 4, "", 0);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_REPLY);
	CU_ASSERT_EQUAL(p.reply[1], FCGI_END_REQUEST);
	CU_ASSERT_EQUAL(p.reply[3], 4);
	CU_ASSERT(!fcgi_in_request(&p));
	fcgi_free(&p);
	buf_free(&q);
	buf_free(&b);
}

/* What no web server sends: the connection is closed. */
static void
test_protocol_errors(void)
{
	struct fcgi_parser p;
	struct buf b;
	size_t used;

	buf_init(&b, 1 << 20);
	/* version 2 */
	request(&b, 1, 1, NULL);
	b.data[0] = 2;
	fcgi_init(&p, MAX_BODY);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_BAD);
	fcgi_free(&p);
	/* BEGIN_REQUEST of 7 bytes; for id 0 */
	buf_reset(&b);
	record(&b, FCGI_BEGIN_REQUEST, 1, "\0\1\1\0\0\0\0", 7);
	fcgi_init(&p, MAX_BODY);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_BAD);
	fcgi_free(&p);
	buf_reset(&b);
	begin(&b, 0, FCGI_RESPONDER, 0);
	fcgi_init(&p, MAX_BODY);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_BAD);
	fcgi_free(&p);
	/* STDIN before the end of PARAMS; BEGIN twice for one id */
	buf_reset(&b);
	begin(&b, 1, FCGI_RESPONDER, 0);
	record(&b, FCGI_STDIN, 1, "x", 1);
	fcgi_init(&p, MAX_BODY);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_BAD);
	fcgi_free(&p);
	buf_reset(&b);
	begin(&b, 1, FCGI_RESPONDER, 0);
	begin(&b, 1, FCGI_RESPONDER, 0);
	fcgi_init(&p, MAX_BODY);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_BAD);
	fcgi_free(&p);
	/* a pair whose value length runs past the record */
	buf_reset(&b);
	begin(&b, 1, FCGI_RESPONDER, 0);
	record(&b, FCGI_PARAMS, 1, "\3\177abc", 5);
	record(&b, FCGI_PARAMS, 1, "", 0);
	fcgi_init(&p, MAX_BODY);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_BAD);
	fcgi_free(&p);
	/* a 4-byte length cut short */
	buf_reset(&b);
	begin(&b, 1, FCGI_RESPONDER, 0);
	record(&b, FCGI_PARAMS, 1, "\x80\0", 2);
	record(&b, FCGI_PARAMS, 1, "", 0);
	fcgi_init(&p, MAX_BODY);
	CU_ASSERT_EQUAL(fcgi_parse(&p, b.data, b.len, &used), FCGI_BAD);
	fcgi_free(&p);
	buf_free(&b);
}

/* The answer: STDOUT records of at most 65535 bytes, the empty STDOUT,
 * END_REQUEST; parsed back, the bytes are the data. */
static void
test_response_encoding(void)
{
	static struct fcgi_response out;
	static char data[2 * FCGI_MAX_CONTENT + 100], back[sizeof(data)];
	size_t sizes[] = { 0, 1, FCGI_MAX_CONTENT, FCGI_MAX_CONTENT + 1,
	    sizeof(data) };
	size_t i, total, blen, pos, clen;
	unsigned char flat[sizeof(data) + 64 * 8];
	int k;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	for (k = 0; k < 5; k++) {
		CU_ASSERT_EQUAL_FATAL(fcgi_response(&out, 258, data, sizes[k]), 0);
		for (i = 0, total = 0; i < (size_t)out.iovcnt; i++) {
			memcpy(flat + total, out.iov[i].iov_base,
			    out.iov[i].iov_len);
			total += out.iov[i].iov_len;
		}
		CU_ASSERT_EQUAL(total, out.len);
		for (pos = 0, blen = 0; pos < total; pos += 8 + clen) {
			CU_ASSERT_EQUAL(flat[0 + pos], 1);
			CU_ASSERT_EQUAL(flat[2 + pos], 1);	/* id 258 */
			CU_ASSERT_EQUAL(flat[3 + pos], 2);
			clen = (size_t)flat[4 + pos] << 8 | flat[5 + pos];
			if (flat[1 + pos] == FCGI_STDOUT) {
				memcpy(back + blen, flat + pos + 8, clen);
				blen += clen;
			} else {
				CU_ASSERT_EQUAL(flat[1 + pos], FCGI_END_REQUEST);
				CU_ASSERT_EQUAL(clen, 8);
				CU_ASSERT_EQUAL(pos + 16, total);
			}
		}
		CU_ASSERT_EQUAL(blen, sizes[k]);
		CU_ASSERT(memcmp(back, data, sizes[k]) == 0);
	}
	CU_ASSERT_EQUAL(fcgi_response(&out, 1, data, FCGI_MAX_RESPONSE + 1),
	    -1);
}

static const struct cunit_test tests[] = {
	{ "a request whole and split at every byte", test_get_whole_and_split },
	{ "requests one after the other on a kept connection",
	    test_kept_connection },
	{ "body records with padding, 4-byte lengths",
	    test_body_records_padding_long_values },
	{ "client-caused limits: oversized body, 431, NUL is 400",
	    test_client_limits },
	{ "management records and refused requests get replies",
	    test_replies },
	{ "protocol errors close the connection", test_protocol_errors },
	{ "response records", test_response_encoding },
};

CUNIT_MAIN("fcgi", tests)

/*
 * fuzz-fcgi-records.c: libFuzzer target for the FastCGI record parser
 * (app/fcgi.c), fed what a connection could carry.  The first input byte
 * chooses how the rest is cut into reads (1..256 bytes each, or whole);
 * the rest is the byte stream.  Each input is parsed twice, whole and cut,
 * and both runs must see the same events with the same requests: a parser
 * that depends on where read(2) happened to split the stream is a bug.
 *
 * Invariants, per complete request: at most FCGI_MAX_PARAMS variables,
 * each NUL-terminated inside the parser's buffer and found again by
 * fcgi_param(); a body within the limit; a status of 0, 400 or 431; a
 * reply never longer than FCGI_REPLY_MAX.  The answer encoder runs on
 * every request's body and must account for every byte.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi.h"

#define FUZZ_MAX_BODY	4096
#define FUZZ_EVENTS	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-fcgi-records: invariant broken: %s\n",
		    what);
		abort();
	}
}

/* A digest of one event, to compare the two runs. */
struct event {
	int		type;
	unsigned	id, status, nparams;
	size_t		body_len, reply_len;
	uint32_t	hash;
};

static uint32_t
hash(uint32_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n-- > 0)
		h = (h ^ *c++) * 16777619u;
	return h;
}

static void
check_request(const struct fcgi_parser *p, struct event *e)
{
	static struct fcgi_response out;
	const struct fcgi_request *r = &p->req;
	const char *lo = r->params_buf.data;
	size_t i, total;
	int n;

	check(r->nparams <= FCGI_MAX_PARAMS, "variable count");
	check(r->status == 0 || r->status == 400 || r->status == 431,
	    "request status");
	check(r->body.len <= FUZZ_MAX_BODY, "body within the limit");
	e->id = r->id;
	e->status = (unsigned)r->status;
	e->nparams = (unsigned)r->nparams;
	e->body_len = r->body.len;
	e->hash = hash(2166136261u, r->body.data, r->body.len);
	for (i = 0; i < r->nparams; i++) {
		const char *name = r->params[i].name;
		const char *value = r->params[i].value;

		check(name >= lo && value > name &&
		    value + strlen(value) < lo + r->params_buf.len + 1,
		    "variable inside the buffer");
		check(fcgi_param(r, name) != NULL, "variable found by name");
		e->hash = hash(e->hash, name, strlen(name) + 1);
		e->hash = hash(e->hash, value, strlen(value) + 1);
	}
	check(fcgi_response(&out, r->id, r->body.data, r->body.len) == 0,
	    "encode the answer");
	for (n = 0, total = 0; n < out.iovcnt; n++)
		total += out.iov[n].iov_len;
	check(total == out.len && out.len >= r->body.len + 24,
	    "answer length");
}

/* Parses data cut into reads of `step` bytes (0: whole); fills events. */
static size_t
run(const uint8_t *data, size_t size, size_t step, struct event *ev)
{
	struct fcgi_parser p;
	size_t pos = 0, end, used, n = 0;
	int e;

	fcgi_init(&p, FUZZ_MAX_BODY);
	while (pos < size && n < FUZZ_EVENTS) {
		end = step == 0 || size - pos < step ? size : pos + step;
		while (pos < end && n < FUZZ_EVENTS) {
			e = fcgi_parse(&p, data + pos, end - pos, &used);
			check(used <= end - pos, "used within the input");
			pos += used;
			if (e == FCGI_MORE) {
				check(pos == end, "MORE takes everything");
				continue;
			}
			memset(&ev[n], 0, sizeof(ev[n]));
			ev[n].type = e;
			if (e == FCGI_REQUEST) {
				check_request(&p, &ev[n]);
				fcgi_next(&p);
			} else if (e == FCGI_REPLY) {
				check(p.reply_len >= 8 &&
				    p.reply_len <= FCGI_REPLY_MAX, "reply size");
				ev[n].reply_len = p.reply_len;
				ev[n].hash = hash(2166136261u, p.reply,
				    p.reply_len);
			}
			n++;
			if (e == FCGI_BAD) {
				fcgi_free(&p);
				return n;
			}
		}
	}
	fcgi_free(&p);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event whole[FUZZ_EVENTS], cut[FUZZ_EVENTS];
	size_t step, nw, nc;

	if (size < 1)
		return 0;
	step = data[0] == 0 ? 0 : data[0];
	nw = run(data + 1, size - 1, 0, whole);
	nc = run(data + 1, size - 1, step, cut);
	check(nw == nc, "same number of events whole and cut");
	check(memcmp(whole, cut, nw * sizeof(whole[0])) == 0,
	    "same events whole and cut");
	return 0;
}

/*
 * fcgi.c: the FastCGI record parser and encoder; see fcgi.h.
 *
 * State lives in struct fcgi_parser, never on the stack between calls: the
 * bytes of a record header seen so far, how much of the content and
 * padding was read, and the phase of the request.  Content is routed as it
 * arrives: PARAMS to params_buf, STDIN to body (both bounded), the few
 * bytes of BEGIN_REQUEST and GET_VALUES to `small`.  The name-value pairs
 * are decoded once, in place, when the empty PARAMS record ends them: each
 * pair's two length fields take at least two bytes, exactly the room its
 * two terminating NULs need, so the decoded strings never overtake the
 * encoded bytes still to be read.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fcgi.h"

#define FCGI_VERSION_1	1

static void
fcgi_request_reset(struct fcgi_request *r)
{
	r->id = 0;
	r->keep_conn = 0;
	r->status = 0;
	r->nparams = 0;
	buf_reset(&r->params_buf);
	buf_reset(&r->body);
	r->body_overflow = 0;
}

void
fcgi_init(struct fcgi_parser *p, size_t max_body)
{
	memset(p, 0, sizeof(*p));
	p->max_body = max_body;
	buf_init(&p->req.params_buf, FCGI_MAX_PARAMS_LEN);
	buf_init(&p->req.body, max_body);
}

void
fcgi_free(struct fcgi_parser *p)
{
	buf_free(&p->req.params_buf);
	buf_free(&p->req.body);
	free(p->req.params);
	memset(p, 0, sizeof(*p));
}

void
fcgi_next(struct fcgi_parser *p)
{
	fcgi_request_reset(&p->req);
	p->params_overflow = 0;
	p->phase = FCGI_IDLE;
}

int
fcgi_in_request(const struct fcgi_parser *p)
{
	return p->phase != FCGI_IDLE;
}

const char *
fcgi_param(const struct fcgi_request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, name) == 0)
			return r->params[i].value;
	return NULL;
}

static void
fcgi_put_header(unsigned char *h, unsigned type, unsigned id, size_t len)
{
	h[0] = FCGI_VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = 0;	/* padding: optional, none */
	h[7] = 0;
}

void
fcgi_encode_header(struct buf *b, unsigned type, unsigned id,
    size_t content_len)
{
	unsigned char h[FCGI_HEADER_LEN];

	fcgi_put_header(h, type, id, content_len);
	buf_append(b, h, sizeof(h));
}

static void
fcgi_encode_length(struct buf *b, size_t len)
{
	unsigned char l[4];

	if (len < 128) {
		l[0] = (unsigned char)len;
		buf_append(b, l, 1);
		return;
	}
	l[0] = (unsigned char)((len >> 24) | 0x80);
	l[1] = (unsigned char)(len >> 16);
	l[2] = (unsigned char)(len >> 8);
	l[3] = (unsigned char)len;
	buf_append(b, l, 4);
}

void
fcgi_encode_pair(struct buf *b, const char *name, size_t namelen,
    const char *value, size_t valuelen)
{
	fcgi_encode_length(b, namelen);
	fcgi_encode_length(b, valuelen);
	buf_append(b, name, namelen);
	buf_append(b, value, valuelen);
}

/* END_REQUEST for id with the given protocol status, as the reply. */
static enum fcgi_event
fcgi_reply_end(struct fcgi_parser *p, unsigned id, unsigned protocol_status)
{
	unsigned char *r = p->reply;

	fcgi_put_header(r, FCGI_END_REQUEST, id, 8);
	memset(r + FCGI_HEADER_LEN, 0, 8);	/* appStatus 0 */
	r[FCGI_HEADER_LEN + 4] = (unsigned char)protocol_status;
	p->reply_len = 2 * FCGI_HEADER_LEN;
	return FCGI_REPLY;
}

static enum fcgi_event
fcgi_reply_unknown_type(struct fcgi_parser *p, unsigned type)
{
	unsigned char *r = p->reply;

	fcgi_put_header(r, FCGI_UNKNOWN_TYPE, 0, 8);
	memset(r + FCGI_HEADER_LEN, 0, 8);
	r[FCGI_HEADER_LEN] = (unsigned char)type;
	p->reply_len = 2 * FCGI_HEADER_LEN;
	return FCGI_REPLY;
}

/* Reads a 1- or 4-byte length at *pos; -1 when it runs past end. */
static int
fcgi_read_length(const unsigned char *d, size_t end, size_t *pos,
    size_t *len)
{
	if (*pos >= end)
		return -1;
	if ((d[*pos] & 0x80) == 0) {
		*len = d[(*pos)++];
		return 0;
	}
	if (end - *pos < 4)
		return -1;
	*len = ((size_t)(d[*pos] & 0x7f) << 24) | ((size_t)d[*pos + 1] << 16) |
	    ((size_t)d[*pos + 2] << 8) | d[*pos + 3];
	*pos += 4;
	return 0;
}

/* The GET_VALUES answer: the values we know of the names asked for. */
static enum fcgi_event
fcgi_reply_values(struct fcgi_parser *p)
{
	static const struct {
		const char	*name, *value;
	} known[] = {
		{ "FCGI_MPXS_CONNS", "0" },
		{ "FCGI_MAX_CONNS", "1000" },
		{ "FCGI_MAX_REQS", "1000" },
	};
	struct buf b;
	size_t pos = 0, nl, vl, i;

	buf_init(&b, FCGI_REPLY_MAX);
	fcgi_encode_header(&b, FCGI_GET_VALUES_RESULT, 0, 0);
	while (fcgi_read_length(p->small, p->small_len, &pos, &nl) == 0 &&
	    fcgi_read_length(p->small, p->small_len, &pos, &vl) == 0 &&
	    nl <= p->small_len - pos && vl <= p->small_len - pos - nl) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strlen(known[i].name) == nl &&
			    memcmp(known[i].name, p->small + pos, nl) == 0)
				fcgi_encode_pair(&b, known[i].name, nl,
				    known[i].value, strlen(known[i].value));
		pos += nl + vl;
	}
	if (b.overflow || b.len > FCGI_REPLY_MAX) {
		buf_free(&b);
		return FCGI_BAD;
	}
	memcpy(p->reply, b.data, b.len);
	p->reply_len = b.len;
	/* the content length, now that it is known */
	p->reply[4] = (unsigned char)((b.len - FCGI_HEADER_LEN) >> 8);
	p->reply[5] = (unsigned char)(b.len - FCGI_HEADER_LEN);
	buf_free(&b);
	return FCGI_REPLY;
}

/*
 * The pairs of params_buf, decoded in place into NUL-terminated name and
 * value strings indexed by req.params.  -1 for a malformed encoding.
 */
static int
fcgi_decode_params(struct fcgi_parser *p)
{
	struct fcgi_request *r = &p->req;
	unsigned char *d = (unsigned char *)r->params_buf.data;
	size_t end = r->params_buf.len, in = 0, out = 0, nl, vl;

	r->nparams = 0;
	while (in < end) {
		if (fcgi_read_length(d, end, &in, &nl) != 0 ||
		    fcgi_read_length(d, end, &in, &vl) != 0 ||
		    nl > end - in || vl > end - in - nl)
			return -1;
		if (r->nparams == FCGI_MAX_PARAMS) {
			r->status = 431;
			r->nparams = 0;
			return 0;
		}
		if (r->nparams == r->params_cap) {
			size_t cap = r->params_cap ? r->params_cap * 2 : 32;
			struct fcgi_param *np;

			if ((np = realloc(r->params, cap * sizeof(*np))) == NULL) {
				r->status = 431;
				r->nparams = 0;
				return 0;
			}
			r->params = np;
			r->params_cap = cap;
		}
		/* a NUL inside would silently cut the value (h2o passes a
		 * decoded %00 in PATH_INFO) */
		if (memchr(d + in, '\0', nl + vl) != NULL)
			r->status = 400;
		memmove(d + out, d + in, nl);
		d[out + nl] = '\0';
		memmove(d + out + nl + 1, d + in + nl, vl);
		d[out + nl + 1 + vl] = '\0';
		r->params[r->nparams].name = (char *)d + out;
		r->params[r->nparams].value = (char *)d + out + nl + 1;
		r->nparams++;
		in += nl + vl;
		out += nl + vl + 2;
	}
	return 0;
}

/* A record header is complete: check it and decide where content goes. */
static enum fcgi_event
fcgi_record_start(struct fcgi_parser *p)
{
	const unsigned char *h = p->header;

	if (h[0] != FCGI_VERSION_1)
		return FCGI_BAD;
	p->type = h[1];
	p->id = (unsigned)h[2] << 8 | h[3];
	p->content_len = (size_t)h[4] << 8 | h[5];
	p->padding_len = h[6];
	p->content_read = p->padding_read = 0;
	p->small_len = 0;
	p->ignored = 0;
	switch (p->type) {
	case FCGI_BEGIN_REQUEST:
		if (p->content_len != 8 || p->id == 0)
			return FCGI_BAD;
		break;
	case FCGI_PARAMS:
	case FCGI_STDIN:
	case FCGI_ABORT_REQUEST:
		if (p->phase == FCGI_IDLE || p->id != p->req.id) {
			p->ignored = 1;	/* not a request of ours */
			break;
		}
		if ((p->type == FCGI_PARAMS && p->phase != FCGI_IN_PARAMS) ||
		    (p->type == FCGI_STDIN && p->phase != FCGI_IN_STDIN))
			return FCGI_BAD;
		break;
	default:
		if (p->id != 0)
			p->ignored = 1;	/* DATA, or a type for the server */
		break;
	}
	return FCGI_MORE;
}

static void
fcgi_record_content(struct fcgi_parser *p, const unsigned char *d, size_t n)
{
	struct fcgi_request *r = &p->req;
	size_t room;

	if (p->ignored)
		return;
	switch (p->type) {
	case FCGI_PARAMS:
		if (!p->params_overflow &&
		    buf_append(&r->params_buf, d, n) != 0)
			p->params_overflow = 1;
		break;
	case FCGI_STDIN:
		if (!r->body_overflow && buf_append(&r->body, d, n) != 0)
			r->body_overflow = 1;
		break;
	default:
		room = sizeof(p->small) - p->small_len;
		if (n > room)
			n = room;	/* a longer GET_VALUES: the rest unread */
		memcpy(p->small + p->small_len, d, n);
		p->small_len += n;
		break;
	}
}

/* A record is complete: what it means for the request. */
static enum fcgi_event
fcgi_record_end(struct fcgi_parser *p)
{
	struct fcgi_request *r = &p->req;
	unsigned role;

	if (p->ignored)
		return FCGI_MORE;
	switch (p->type) {
	case FCGI_BEGIN_REQUEST:
		if (p->phase != FCGI_IDLE) {
			if (p->id == r->id)
				return FCGI_BAD;	/* begun twice */
			return fcgi_reply_end(p, p->id, FCGI_CANT_MPX_CONN);
		}
		role = (unsigned)p->small[0] << 8 | p->small[1];
		if (role != FCGI_RESPONDER)
			return fcgi_reply_end(p, p->id, FCGI_UNKNOWN_ROLE);
		fcgi_request_reset(r);
		p->params_overflow = 0;
		r->id = (uint16_t)p->id;
		r->keep_conn = (p->small[2] & FCGI_KEEP_CONN) != 0;
		p->phase = FCGI_IN_PARAMS;
		return FCGI_MORE;
	case FCGI_PARAMS:
		if (p->content_len > 0)
			return FCGI_MORE;
		if (p->params_overflow) {
			r->status = 431;
			r->nparams = 0;
		} else if (fcgi_decode_params(p) != 0) {
			return FCGI_BAD;
		}
		p->phase = FCGI_IN_STDIN;
		return FCGI_MORE;
	case FCGI_STDIN:
		if (p->content_len > 0)
			return FCGI_MORE;
		p->phase = FCGI_COMPLETE;
		return FCGI_REQUEST;
	case FCGI_ABORT_REQUEST:
		/* nothing was handled yet: the request simply ends */
		fcgi_next(p);
		return fcgi_reply_end(p, p->id, FCGI_REQUEST_COMPLETE);
	case FCGI_GET_VALUES:
		return fcgi_reply_values(p);
	default:
		return fcgi_reply_unknown_type(p, p->type);
	}
}

enum fcgi_event
fcgi_parse(struct fcgi_parser *p, const void *data, size_t len, size_t *used)
{
	const unsigned char *d = data;
	enum fcgi_event ev;
	size_t pos = 0, n;

	*used = 0;
	if (p->phase == FCGI_COMPLETE)
		return FCGI_BAD;	/* the caller skipped fcgi_next() */
	while (pos < len) {
		if (p->header_len < FCGI_HEADER_LEN) {
			n = FCGI_HEADER_LEN - p->header_len;
			if (n > len - pos)
				n = len - pos;
			memcpy(p->header + p->header_len, d + pos, n);
			p->header_len += n;
			pos += n;
			if (p->header_len < FCGI_HEADER_LEN)
				break;
			if ((ev = fcgi_record_start(p)) != FCGI_MORE) {
				*used = pos;
				return ev;
			}
		}
		if (p->content_read < p->content_len) {
			n = p->content_len - p->content_read;
			if (n > len - pos)
				n = len - pos;
			fcgi_record_content(p, d + pos, n);
			p->content_read += n;
			pos += n;
			if (p->content_read < p->content_len)
				break;
		}
		if (p->padding_read < p->padding_len) {
			n = p->padding_len - p->padding_read;
			if (n > len - pos)
				n = len - pos;
			p->padding_read += n;
			pos += n;
			if (p->padding_read < p->padding_len)
				break;
		}
		p->header_len = 0;	/* the record is complete */
		if ((ev = fcgi_record_end(p)) != FCGI_MORE) {
			*used = pos;
			return ev;
		}
	}
	*used = pos;
	return FCGI_MORE;
}

int
fcgi_response(struct fcgi_response *out, unsigned id, const void *data,
    size_t len)
{
	const char *d = data;
	size_t off = 0, n;
	int rec = 0, iov = 0;

	if (len > FCGI_MAX_RESPONSE)
		return -1;
	while (off < len) {
		n = len - off > FCGI_MAX_CONTENT ? FCGI_MAX_CONTENT : len - off;
		fcgi_put_header(out->headers[rec], FCGI_STDOUT, id, n);
		out->iov[iov].iov_base = out->headers[rec];
		out->iov[iov++].iov_len = FCGI_HEADER_LEN;
		out->iov[iov].iov_base = (void *)(d + off);
		out->iov[iov++].iov_len = n;
		rec++;
		off += n;
	}
	/* the empty STDOUT, then END_REQUEST: appStatus 0, complete */
	fcgi_put_header(out->end, FCGI_STDOUT, id, 0);
	fcgi_put_header(out->end + FCGI_HEADER_LEN, FCGI_END_REQUEST, id, 8);
	memset(out->end + 2 * FCGI_HEADER_LEN, 0, 8);
	out->iov[iov].iov_base = out->end;
	out->iov[iov++].iov_len = sizeof(out->end);
	out->iovcnt = iov;
	out->len = len + (size_t)rec * FCGI_HEADER_LEN + sizeof(out->end);
	return 0;
}

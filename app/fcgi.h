/*
 * fcgi.h: the FastCGI protocol (version 1) as a responder speaks it, with
 * no I/O: a parser that turns the bytes read from one connection into
 * requests and management replies, and the encoder of an answer.
 *
 * A web server opens a connection and sends, per request, BEGIN_REQUEST,
 * PARAMS records ended by an empty one, STDIN records ended by an empty
 * one; the responder answers STDOUT records, an empty one and END_REQUEST,
 * and keeps the connection for the next request when BEGIN_REQUEST carried
 * FCGI_KEEP_CONN (the web server decides when it closes).  One request at
 * a time per connection (FCGI_MPXS_CONNS is 0: nginx, Apache, lighttpd and
 * h2o never multiplex); a BEGIN_REQUEST for another id while one is being
 * read is refused with FCGI_CANT_MPX_CONN, records for ids not in progress
 * are ignored, as the specification says.
 *
 * The parser is a push parser with its state in struct fcgi_parser: feed it
 * whatever read(2) returned, in pieces of any size; it stops at each event
 * and says how many bytes it took.  Everything is bounded: the name-value
 * bytes of a request (FCGI_MAX_PARAMS_LEN) and their count
 * (FCGI_MAX_PARAMS), the body (max_body), what is kept of a management
 * record.  What a client can cause (oversized headers, a NUL in a
 * variable, an oversized body) completes the request with a status for the
 * HTTP layer to answer; only what a web server would never send (a bad
 * version, a malformed length, records out of order) is FCGI_BAD, after
 * which the connection is closed.
 */
#ifndef APP_FCGI_H
#define APP_FCGI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "buf.h"

#define FCGI_HEADER_LEN		8
#define FCGI_MAX_CONTENT	65535
#define FCGI_MAX_PARAMS_LEN	(64 * 1024)	/* name-value bytes per request */
#define FCGI_MAX_PARAMS		512		/* name-value pairs per request */
#define FCGI_MANAGEMENT_MAX	256		/* kept of a GET_VALUES record */
#define FCGI_REPLY_MAX		128		/* largest management reply */
/* the largest answer fcgi_response() encodes, and what that takes */
#define FCGI_MAX_RESPONSE	(128 * 1024 * 1024)
#define FCGI_RESPONSE_RECORDS	(FCGI_MAX_RESPONSE / FCGI_MAX_CONTENT + 1)

/* record types and values of the specification */
#define FCGI_BEGIN_REQUEST	1
#define FCGI_ABORT_REQUEST	2
#define FCGI_END_REQUEST	3
#define FCGI_PARAMS		4
#define FCGI_STDIN		5
#define FCGI_STDOUT		6
#define FCGI_STDERR		7
#define FCGI_DATA		8
#define FCGI_GET_VALUES		9
#define FCGI_GET_VALUES_RESULT	10
#define FCGI_UNKNOWN_TYPE	11
#define FCGI_RESPONDER		1
#define FCGI_KEEP_CONN		1
#define FCGI_REQUEST_COMPLETE	0
#define FCGI_CANT_MPX_CONN	1
#define FCGI_UNKNOWN_ROLE	3

/* What fcgi_parse() stopped at. */
enum fcgi_event {
	FCGI_MORE,	/* all input taken: read more */
	FCGI_REQUEST,	/* p->req is complete: answer it, then fcgi_next() */
	FCGI_REPLY,	/* send p->reply[0..p->reply_len), then go on */
	FCGI_BAD	/* protocol error: close the connection */
};

struct fcgi_param {
	const char	*name;
	const char	*value;
};

/* A request being read, and once complete, what a handler sees. */
struct fcgi_request {
	uint16_t		 id;
	int			 keep_conn;
	/* 0, or the HTTP status the request gets before any handler runs:
	 * 431 (variables over the bounds), 400 (a NUL byte in one) */
	int			 status;
	struct fcgi_param	*params;	/* nparams, into params_buf */
	size_t			 nparams, params_cap;
	struct buf		 params_buf;	/* raw pairs, then decoded */
	struct buf		 body;		/* STDIN up to max_body */
	int			 body_overflow;	/* more STDIN than max_body */
};

enum fcgi_phase {
	FCGI_IDLE,		/* between requests */
	FCGI_IN_PARAMS,		/* after BEGIN_REQUEST */
	FCGI_IN_STDIN,		/* after the empty PARAMS */
	FCGI_COMPLETE		/* after the empty STDIN, until fcgi_next() */
};

struct fcgi_parser {
	/* the record being read */
	unsigned char		 header[FCGI_HEADER_LEN];
	size_t			 header_len;
	unsigned		 type, id;
	size_t			 content_len, content_read;
	size_t			 padding_len, padding_read;
	int			 ignored;	/* a record for no request of ours */
	unsigned char		 small[FCGI_MANAGEMENT_MAX];
	size_t			 small_len;
	/* the request */
	enum fcgi_phase		 phase;
	struct fcgi_request	 req;
	size_t			 max_body;
	int			 params_overflow;
	/* a management reply, valid after FCGI_REPLY */
	unsigned char		 reply[FCGI_REPLY_MAX];
	size_t			 reply_len;
};

/* The answer to one request: iov[0..iovcnt) for writev(2). */
struct fcgi_response {
	unsigned char	 headers[FCGI_RESPONSE_RECORDS][FCGI_HEADER_LEN];
	unsigned char	 end[2 * FCGI_HEADER_LEN + FCGI_HEADER_LEN];
	struct iovec	 iov[2 * FCGI_RESPONSE_RECORDS + 1];
	int		 iovcnt;
	size_t		 len;		/* bytes in all of iov */
};

void fcgi_init(struct fcgi_parser *p, size_t max_body);
void fcgi_free(struct fcgi_parser *p);
/* Takes bytes from data[0..len) up to the next event; *used says how many. */
enum fcgi_event fcgi_parse(struct fcgi_parser *p, const void *data,
    size_t len, size_t *used);
/* After answering a FCGI_REQUEST: ready for the next one (buffers kept). */
void fcgi_next(struct fcgi_parser *p);
/* 1 while a request has begun and is not yet answered. */
int fcgi_in_request(const struct fcgi_parser *p);

/* The value of a variable of a complete request, or NULL. */
const char *fcgi_param(const struct fcgi_request *r, const char *name);

/*
 * Encodes the answer to request id: data[0..len) as STDOUT records, the
 * empty STDOUT, END_REQUEST (application status 0, FCGI_REQUEST_COMPLETE).
 * The iovecs point into data and into out; -1 when len > FCGI_MAX_RESPONSE.
 */
int fcgi_response(struct fcgi_response *out, unsigned id, const void *data,
    size_t len);

/*
 * Appends one name-value pair in the protocol's encoding to b (what a web
 * server sends; for clients, tests and fuzz targets).
 */
void fcgi_encode_pair(struct buf *b, const char *name, size_t namelen,
    const char *value, size_t valuelen);
/* Appends a record header for type, id and content_len to b. */
void fcgi_encode_header(struct buf *b, unsigned type, unsigned id,
    size_t content_len);

#endif

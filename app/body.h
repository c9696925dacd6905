/*
 * body.h: JSON request bodies, validated once at the boundary.
 *
 * body_parse() is the only way a write handler sees its body: it checks the
 * media type (application/json, parameters allowed, else 415), reads at most
 * HTTP_MAX_BODY bytes (413), and parses with json-c in strict mode with a
 * depth limit of BODY_DEPTH_MAX and UTF-8 validation; anything that is not
 * exactly one JSON object (trailing bytes included) is a 400.
 *
 * Each endpoint then declares its members once, in a table of struct
 * body_field (name, kind, bounds, extra validator); body_fields() turns the
 * object into an array of struct body_value, one per table row, or a 400
 * detail built only from the table's own names and bounds, never from what
 * the client sent.  Integers must be JSON integers (no floats, strings or
 * booleans) within [min, max]; strings are valid UTF-8 with no control
 * characters and min..max characters long, and pass the row's validator.
 *
 * Ownership: string values point into the json_object; they live until the
 * caller's json_object_put().
 */
#ifndef APP_BODY_H
#define APP_BODY_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "http.h"

#define BODY_DEPTH_MAX		8
#define BODY_DETAIL_MAX		160

enum body_kind {
	BODY_STRING = 0,
	BODY_INT,
	BODY_ARRAY		/* min..max elements; elements left to the caller */
};

struct body_field {
	const char	*name;
	enum body_kind	 kind;
	int		 required;
	int64_t		 min, max;	/* value, characters or elements */
	int		(*valid)(const char *, size_t);	/* 1 = good */
	const char	*what;		/* "a category slug": for the detail */
};

struct body_value {
	int		 present;
	int64_t		 i;
	const char	*s;
	size_t		 len;
	json_object	*array;		/* BODY_ARRAY: borrowed */
};

enum body_unknown {
	BODY_UNKNOWN_IGNORE = 0,
	BODY_UNKNOWN_REFUSE
};

/*
 * Reads and parses the request body.  0 and *obj set (free it with
 * json_object_put), or an HTTP status (400, 411, 413, 415) with a fixed
 * problem detail in *detail.
 */
int body_parse(struct request *req, json_object **obj, const char **detail);

/*
 * The JSON part of body_parse(), on bytes already read (len at most
 * HTTP_MAX_BODY, else 413): 0 and *obj set, or 400 with a fixed detail.
 * No request, no I/O: what the fuzzers and replay tests call.
 */
int body_parse_json(const char *data, size_t len, json_object **obj,
    const char **detail);

/*
 * Validates obj's members against fields[0..n); values[i] answers
 * fields[i].  0, or -1 with a detail for a 400.
 */
int body_fields(json_object *obj, const struct body_field *fields, size_t n,
    enum body_unknown unknown, struct body_value *values, char *detail,
    size_t detailsize);

/* Validators for body_field.valid. */
int body_valid_text(const char *s, size_t len);	/* UTF-8, no controls */

#endif

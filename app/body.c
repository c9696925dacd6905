/*
 * body.c: media type check, bounded strict JSON parse and table-driven
 * member validation for request bodies; see body.h.
 *
 * json-c quirks handled here: its strict mode still accepts NaN, Infinity
 * and single-quoted strings, and it stores integers above INT64_MAX as
 * unsigned (json_object_get_int64() then clamps).  NaN and Infinity are
 * doubles, refused by type; an integer whose signed and unsigned readings
 * differ is out of range; every string is checked again after decoding
 * (a "\u0000" escape decodes to a byte body_valid_text() refuses).  A lone
 * surrogate escape ("\ud800" without its low half, or a low half alone)
 * json-c turns into U+FFFD without a word, so the raw text is scanned for
 * one before json-c's answer is used: it is refused, not altered.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "body.h"
#include "util.h"

#define BODY_MEDIA_TYPE "application/json"

/* 1 when the Content-Type is application/json, with parameters or not. */
static int
body_media_type_ok(const char *ct)
{
	size_t n = sizeof(BODY_MEDIA_TYPE) - 1;

	if (ct == NULL || strncasecmp(ct, BODY_MEDIA_TYPE, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int
body_parse(struct request *req, json_object **obj, const char **detail)
{
	int status;

	*obj = NULL;
	if (!body_media_type_ok(req->content_type)) {
		*detail = "the body must be application/json";
		return 415;
	}
	if ((status = http_read_body(req)) != 0) {
		*detail = status == 413 ? "the request body is larger than 64 KiB" :
		    "the request body could not be read";
		return status;
	}
	return body_parse_json(req->body.data, req->body.len, obj, detail);
}

/* The four hex digits after "\u" at s[i], or -1 (s[i] must be '\\'). */
static long
body_u_escape(const char *s, size_t len, size_t i)
{
	long v = 0;
	size_t k;

	if (i + 6 > len || s[i + 1] != 'u')
		return -1;
	for (k = i + 2; k < i + 6; k++) {
		int d = util_hex_digit((unsigned char)s[k]);

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * 1 when JSON text json-c accepted holds a \u escape of a lone UTF-16
 * surrogate.  In valid JSON a backslash only starts an escape inside a
 * string, so no string tracking is needed.
 */
static int
body_lone_surrogate(const char *s, size_t len)
{
	size_t i = 0;
	long cu, lo;

	while (i < len) {
		if (s[i] != '\\') {
			i++;
			continue;
		}
		if ((cu = body_u_escape(s, len, i)) < 0) {
			i += 2;		/* \" \\ \/ \b \f \n \r \t */
			continue;
		}
		i += 6;
		if (cu >= 0xdc00 && cu <= 0xdfff)
			return 1;
		if (cu >= 0xd800 && cu <= 0xdbff) {
			lo = i < len && s[i] == '\\' ? body_u_escape(s, len, i) : -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				return 1;
			i += 6;
		}
	}
	return 0;
}

int
body_parse_json(const char *data, size_t len, json_object **obj,
    const char **detail)
{
	json_tokener *tok;
	json_object *o;
	int status;

	*obj = NULL;
	if (len > HTTP_MAX_BODY) {
		*detail = "the request body is larger than 64 KiB";
		return 413;
	}
	if ((tok = json_tokener_new_ex(BODY_DEPTH_MAX)) == NULL) {
		*detail = "the body could not be parsed";
		return 400;
	}
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, data, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		*detail = "the body is not valid JSON (UTF-8, nesting depth at "
		    "most 8, nothing after the value)";
		status = 400;
	} else if (body_lone_surrogate(data, len)) {
		*detail = "the body is not valid JSON: a \\u escape of a lone "
		    "UTF-16 surrogate";
		status = 400;
	} else if (!json_object_is_type(o, json_type_object)) {
		*detail = "the body must be a JSON object";
		status = 400;
	} else {
		*obj = o;
		o = NULL;
		status = 0;
	}
	json_object_put(o);
	json_tokener_free(tok);
	return status;
}

int
body_valid_text(const char *s, size_t len)
{
	return util_valid_utf8_text(s, len, 0);
}

/* Characters (code points) of valid UTF-8. */
static size_t
body_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* 0 and v->i set when o is a JSON integer within the field's bounds. */
static int
body_int(json_object *o, const struct body_field *f, struct body_value *v)
{
	int64_t i;

	if (!json_object_is_type(o, json_type_int))
		return -1;
	i = json_object_get_int64(o);
	/* above INT64_MAX json-c keeps a uint64 and clamps the int64 view */
	if (i == INT64_MAX && json_object_get_uint64(o) != (uint64_t)INT64_MAX)
		return -1;
	if (i < f->min || i > f->max)
		return -1;
	v->i = i;
	return 0;
}

static int
body_string(json_object *o, const struct body_field *f, struct body_value *v)
{
	const char *s;
	size_t len, chars;

	if (!json_object_is_type(o, json_type_string))
		return -1;
	s = json_object_get_string(o);
	len = (size_t)json_object_get_string_len(o);
	if (!util_valid_utf8_text(s, len, 0))
		return -1;
	chars = body_chars(s, len);
	if ((int64_t)chars < f->min || (int64_t)chars > f->max)
		return -1;
	if (f->valid != NULL && !f->valid(s, len))
		return -1;
	v->s = s;
	v->len = len;
	return 0;
}

static int
body_array(json_object *o, const struct body_field *f, struct body_value *v)
{
	size_t n;

	if (!json_object_is_type(o, json_type_array))
		return -1;
	n = json_object_array_length(o);
	if ((int64_t)n < f->min || (int64_t)n > f->max)
		return -1;
	v->array = o;
	return 0;
}

/* The 400 detail for a bad or missing member, from the table only. */
static void
body_field_detail(const struct body_field *f, char *detail, size_t size)
{
	switch (f->kind) {
	case BODY_INT:
		snprintf(detail, size, "%s must be an integer in %" PRId64
		    "..%" PRId64, f->name, f->min, f->max);
		break;
	case BODY_STRING:
		snprintf(detail, size, "%s must be %s of %" PRId64 "..%" PRId64
		    " characters", f->name, f->what != NULL ? f->what :
		    "a string", f->min, f->max);
		break;
	case BODY_ARRAY:
		snprintf(detail, size, "%s must be an array of %" PRId64
		    "..%" PRId64 " elements", f->name, f->min, f->max);
		break;
	}
}

static const struct body_field *
body_find(const struct body_field *fields, size_t n, const char *name,
    size_t *index)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(fields[i].name, name) == 0) {
			*index = i;
			return &fields[i];
		}
	}
	return NULL;
}

int
body_fields(json_object *obj, const struct body_field *fields, size_t n,
    enum body_unknown unknown, struct body_value *values, char *detail,
    size_t detailsize)
{
	const struct body_field *f;
	size_t i;
	int rc;

	memset(values, 0, sizeof(*values) * n);
	json_object_object_foreach(obj, name, member) {
		if ((f = body_find(fields, n, name, &i)) == NULL) {
			if (unknown == BODY_UNKNOWN_IGNORE)
				continue;
			snprintf(detail, detailsize, "unknown member in the body");
			return -1;
		}
		switch (f->kind) {
		case BODY_INT:
			rc = body_int(member, f, &values[i]);
			break;
		case BODY_STRING:
			rc = body_string(member, f, &values[i]);
			break;
		default:
			rc = body_array(member, f, &values[i]);
			break;
		}
		if (rc != 0) {
			body_field_detail(f, detail, detailsize);
			return -1;
		}
		values[i].present = 1;
	}
	for (i = 0; i < n; i++) {
		if (fields[i].required && !values[i].present) {
			snprintf(detail, detailsize, "%s is required",
			    fields[i].name);
			return -1;
		}
	}
	return 0;
}

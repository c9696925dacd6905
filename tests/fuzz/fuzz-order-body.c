/*
 * fuzz-order-body.c: libFuzzer target for the body of POST /api/orders:
 * the strict bounded JSON parse (body_parse_json) and the order validator
 * (orders_parse), the two steps orders_create() runs before it touches the
 * database.
 *
 * Invariants on every accepted body: 1..ORDER_ITEMS_MAX lines, sorted by
 * product id with each product once, product id >= 1, quantity
 * 1..ORDER_QUANTITY_MAX, and an email util_valid_email() accepts (which is
 * what keeps CR/LF out of the confirmation mail's headers).  A refusal
 * carries a status and a detail that is clean text.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "orders.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-order-body: invariant broken: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char detail[BODY_DETAIL_MAX];
	const char *fixed = NULL;
	json_object *obj = NULL;
	struct order *o;
	size_t i;
	int status;

	status = body_parse_json((const char *)data, size, &obj, &fixed);
	if (status != 0) {
		check(obj == NULL, "no object on a refusal");
		check(status == 400 || status == 413, "parse status");
		check(fixed != NULL && fixed[0] != '\0', "parse detail");
		return 0;
	}
	check(obj != NULL && json_object_is_type(obj, json_type_object),
	    "an object");
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		json_object_put(obj);
		return 0;
	}
	detail[0] = '\0';
	if (orders_parse(obj, o, detail, sizeof(detail)) != 0) {
		check(detail[0] != '\0' &&
		    util_valid_utf8_text(detail, strlen(detail), 0),
		    "a refusal's detail is clean text");
		goto out;
	}
	check(util_valid_email(o->email, strlen(o->email)), "email valid");
	check(o->nlines >= 1 && o->nlines <= ORDER_ITEMS_MAX, "line count");
	for (i = 0; i < o->nlines; i++) {
		check(o->lines[i].product_id >= 1, "product id >= 1");
		check(o->lines[i].quantity >= 1 &&
		    o->lines[i].quantity <= ORDER_QUANTITY_MAX, "quantity");
		check(i == 0 || o->lines[i - 1].product_id <
		    o->lines[i].product_id, "sorted, each product once");
	}
out:
	free(o);
	json_object_put(obj);
	return 0;
}

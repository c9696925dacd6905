/*
 * orders.h: the order body, parsed and validated before any database work.
 *
 * orders_parse() is the pure half of POST /api/orders (orders.c has the
 * rules in its top comment): it turns the parsed JSON object into a struct
 * order with 1..ORDER_ITEMS_MAX lines, sorted by product id, each product
 * once (repeated items merged), each quantity 1..ORDER_QUANTITY_MAX, and a
 * valid email; or a 400 detail.  No I/O, so the fuzzers and the replay
 * tests call it directly.  The rest of struct order is filled inside the
 * order transaction.
 */
#ifndef APP_ORDERS_H
#define APP_ORDERS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define ORDER_ITEMS_MAX		50
#define ORDER_QUANTITY_MAX	1000
#define ORDER_SKU_MAX		65
#define ORDER_NAME_MAX		(200 * 4 + 1)
#define ORDER_SLUG_MAX		65

struct order_line {
	int64_t		product_id;
	int64_t		quantity;
	/* read under lock */
	int64_t		unit_price;
	int64_t		category_id;
	char		sku[ORDER_SKU_MAX];
	char		name[ORDER_NAME_MAX];
};

struct order {
	char			email[255];
	struct order_line	lines[ORDER_ITEMS_MAX];
	size_t			nlines;
	uint64_t		id;
	int64_t			total;
	char			slugs[ORDER_ITEMS_MAX][ORDER_SLUG_MAX];
	size_t			nslugs;
};

/* obj (a JSON object from body_parse()) into o, which the caller zeroed;
 * 0, or -1 with a 400 detail. */
int orders_parse(json_object *obj, struct order *o, char *detail,
    size_t size);

#endif

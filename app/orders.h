/*
 * orders.h: an order, from its body to its transaction, without HTTP.
 *
 * orders_parse() is the pure half of POST /api/orders (orders.c has the
 * rules in its top comment): it turns the parsed JSON object into a struct
 * order with 1..ORDER_ITEMS_MAX lines, sorted by product id, each product
 * once (repeated items merged), each quantity 1..ORDER_QUANTITY_MAX, and a
 * valid email; or a 400 detail.  No I/O, so the fuzzers and the replay
 * tests call it directly.
 *
 * orders_place() is the order transaction's unit: what the route runs
 * inside db_tx() (with the Idempotency-Key's record added), and what
 * bench/order-ref runs as the route's reference.  The rest of struct order
 * is filled there.  Its refusals are the positive outcomes below (db.h's
 * convention); the route turns them into HTTP statuses.
 */
#ifndef APP_ORDERS_H
#define APP_ORDERS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "db.h"

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
	int64_t			refused;	/* the product a refusal names */
};

/* What the order transaction refuses (nothing written). */
#define ORDER_NO_PRODUCT	1	/* o->refused does not exist */
#define ORDER_SHORT_STOCK	2	/* not enough stock of o->refused */
#define ORDER_TOO_LARGE		3	/* the total does not fit 64 bits */
#define ORDER_KEY_TAKEN		4	/* the Idempotency-Key went elsewhere */

/* obj (a JSON object from body_parse()) into o, which the caller zeroed;
 * 0, or -1 with a 400 detail. */
int orders_parse(json_object *obj, struct order *o, char *detail,
    size_t size);
/* The parts of orders_parse(): one item into o, merging a repeated product
 * (o has room: nlines < ORDER_ITEMS_MAX), -1 when the merged quantity is
 * over ORDER_QUANTITY_MAX; then the lines sorted by product id, the lock
 * order of the transaction. */
int orders_add_line(struct order *o, int64_t product_id, int64_t quantity);
void orders_sort_lines(struct order *o);

/*
 * Inside the caller's transaction: locks o's products in id order, checks
 * that each exists and has the stock, takes the stock, inserts the order
 * with the total from the database's prices, its items (sku, name and
 * price snapshot) and its confirmation job (queue_enqueue, with
 * max_attempts), and reads the slugs of the products' categories for the
 * invalidation.  Fills o->id, o->total, o->slugs.  DB_OK, ORDER_NO_PRODUCT,
 * ORDER_SHORT_STOCK or ORDER_TOO_LARGE (the caller rolls back), or DB_E*.
 */
int orders_place(struct db *db, struct order *o, unsigned max_attempts);

struct cache_invalidation;
/*
 * The unit's last statement, after orders_place(): records the namespaces
 * the order touched (g:p:<id> of each product, g:c:<slug> of each of their
 * categories, g:all) in the invalidation log (cache.h, THE LOG), leaving
 * them in inv for delivery after COMMIT.  DB_OK or DB_E*.
 */
int orders_log(struct db *db, const struct order *o,
    struct cache_invalidation *inv);

#endif

/*
 * app_sql.c: the texts of catalog-fcgi's statements (app_sql.h).
 */
#include "config.h"

#include "app_sql.h"

/* One product as every route shows it (catalog.h's column order). */
#define PRODUCT_SELECT \
    "SELECT p.id, p.sku, p.name, c.slug, p.price_cents, p.stock" \
    " FROM products p JOIN categories c ON c.id = p.category_id"

static const char *const app_sql[APP_STMT__MAX - STMT_CORE__MAX] = {
#define T(id) [(id) - STMT_CORE__MAX]
	T(STMT_PRODUCT_BY_ID) =
	    PRODUCT_SELECT " WHERE p.id = ?",
	T(STMT_CATEGORY_ID_BY_SLUG) =
	    "SELECT id FROM categories WHERE slug = ?",
	T(STMT_CATEGORY_SLUG_BY_ID) =
	    "SELECT slug FROM categories WHERE id = ?",

	T(STMT_CATALOG_CATEGORIES) =
	    "SELECT c.slug, c.name, COUNT(p.id) FROM categories c"
	    " LEFT JOIN products p ON p.category_id = c.id"
	    " GROUP BY c.id, c.slug, c.name ORDER BY c.name, c.id",
	/* one category as GET /api/categories/{slug} and the category
	 * writes show it; the count uses products_category_id */
	T(STMT_CATALOG_CATEGORY) =
	    "SELECT c.slug, c.name, (SELECT COUNT(*) FROM products p"
	    " WHERE p.category_id = c.id) FROM categories c WHERE c.slug = ?",
	T(STMT_CATALOG_COUNT_ALL) =
	    "SELECT COUNT(*) FROM products",
	T(STMT_CATALOG_COUNT_CATEGORY) =
	    "SELECT COUNT(*) FROM products WHERE category_id = ?",
	T(STMT_CATALOG_LIST_ALL_ID) =
	    PRODUCT_SELECT " ORDER BY p.id LIMIT ? OFFSET ?",
	T(STMT_CATALOG_LIST_ALL_PRICE) =
	    PRODUCT_SELECT " ORDER BY p.price_cents, p.id LIMIT ? OFFSET ?",
	T(STMT_CATALOG_LIST_ALL_PRICE_DESC) =
	    PRODUCT_SELECT
	    " ORDER BY p.price_cents DESC, p.id DESC LIMIT ? OFFSET ?",
	T(STMT_CATALOG_LIST_ALL_NAME) =
	    PRODUCT_SELECT " ORDER BY p.name, p.id LIMIT ? OFFSET ?",
	T(STMT_CATALOG_LIST_CATEGORY_ID) =
	    PRODUCT_SELECT
	    " WHERE p.category_id = ? ORDER BY p.id LIMIT ? OFFSET ?",
	T(STMT_CATALOG_LIST_CATEGORY_PRICE) =
	    PRODUCT_SELECT " WHERE p.category_id = ?"
	    " ORDER BY p.price_cents, p.id LIMIT ? OFFSET ?",
	T(STMT_CATALOG_LIST_CATEGORY_PRICE_DESC) =
	    PRODUCT_SELECT " WHERE p.category_id = ?"
	    " ORDER BY p.price_cents DESC, p.id DESC LIMIT ? OFFSET ?",
	T(STMT_CATALOG_LIST_CATEGORY_NAME) =
	    PRODUCT_SELECT " WHERE p.category_id = ?"
	    " ORDER BY p.name, p.id LIMIT ? OFFSET ?",

	T(STMT_ADMIN_INSERT) =
	    "INSERT INTO products (sku, name, category_id, price_cents, stock)"
	    " VALUES (?, ?, ?, ?, ?)",
	/* PATCH and DELETE lock the row first, so the old category read for
	 * the invalidation is the one the write replaces */
	T(STMT_ADMIN_LOCK) =
	    "SELECT category_id FROM products WHERE id = ? FOR UPDATE",
	/* absent members are bound as NULL: COALESCE keeps the column */
	T(STMT_ADMIN_UPDATE) =
	    "UPDATE products SET name = COALESCE(?, name),"
	    " category_id = COALESCE(?, category_id),"
	    " price_cents = COALESCE(?, price_cents), stock = COALESCE(?, stock)"
	    " WHERE id = ?",
	T(STMT_ADMIN_DELETE) =
	    "DELETE FROM products WHERE id = ?",

	T(STMT_CATEGORY_INSERT) =
	    "INSERT INTO categories (slug, name) VALUES (?, ?)",
	T(STMT_CATEGORY_LOCK) =
	    "SELECT id FROM categories WHERE slug = ? FOR UPDATE",
	T(STMT_CATEGORY_RENAME) =
	    "UPDATE categories SET name = ? WHERE id = ?",
	/* products_category_fk (no ON DELETE action: RESTRICT) refuses this
	 * while a product is in the category, whatever commits meanwhile */
	T(STMT_CATEGORY_DELETE) =
	    "DELETE FROM categories WHERE slug = ?",

	T(STMT_ORDER_LOCK_PRODUCT) =
	    "SELECT id, sku, name, price_cents, stock, category_id FROM products"
	    " WHERE id = ? FOR UPDATE",
	T(STMT_ORDER_TAKE_STOCK) =
	    "UPDATE products SET stock = stock - ? WHERE id = ?",
	T(STMT_ORDER_INSERT_ORDER) =
	    "INSERT INTO orders (email, status, total_cents)"
	    " VALUES (?, 'created', ?)",
	T(STMT_ORDER_INSERT_ITEM) =
	    "INSERT INTO order_items (order_id, product_id, sku, name, quantity,"
	    " unit_price_cents) VALUES (?, ?, ?, ?, ?, ?)",
	T(STMT_ORDER_GET) =
	    "SELECT email, status, total_cents,"
	    " DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ'),"
	    " confirmation_sent_at IS NOT NULL FROM orders WHERE id = ?",
	T(STMT_ORDER_GET_ITEMS) =
	    "SELECT product_id, sku, name, quantity, unit_price_cents"
	    " FROM order_items WHERE order_id = ? ORDER BY product_id",

	/* session-level named locks: released by the server if the link
	 * dies */
	T(STMT_IDEM_LOCK) =
	    "SELECT GET_LOCK(?, 0)",
	T(STMT_IDEM_UNLOCK) =
	    "SELECT RELEASE_LOCK(?)",
	/* owner_token fences every later change of the row: only the
	 * request that claimed (or took over) the key may record or release
	 * it, whatever happened to its link and named lock meanwhile */
	T(STMT_IDEM_CLAIM) =
	    "INSERT INTO idempotency_keys (idem_key, request_hash, state,"
	    " owner_token, expires_at) VALUES (?, UNHEX(?), 'in_progress', ?,"
	    " NOW(6) + INTERVAL 24 HOUR)",
	T(STMT_IDEM_LOOKUP) =
	    "SELECT HEX(request_hash), state, COALESCE(response_status, 0),"
	    " COALESCE(response_body, ''), COALESCE(order_id, 0),"
	    " expires_at < NOW(6), owner_token"
	    " FROM idempotency_keys WHERE idem_key = ?",
	T(STMT_IDEM_TAKEOVER) =
	    "UPDATE idempotency_keys SET owner_token = ? WHERE idem_key = ?"
	    " AND state = 'in_progress' AND owner_token = ?",
	T(STMT_IDEM_FORGET_DEAD) =
	    "DELETE FROM idempotency_keys WHERE idem_key = ?"
	    " AND expires_at < NOW(6)",
	T(STMT_IDEM_RECORD) =
	    "UPDATE idempotency_keys SET state = 'done', response_status = ?,"
	    " response_body = ?, order_id = ? WHERE idem_key = ?"
	    " AND state = 'in_progress' AND owner_token = ?",
	T(STMT_IDEM_RELEASE) =
	    "DELETE FROM idempotency_keys WHERE idem_key = ?"
	    " AND state = 'in_progress' AND owner_token = ?",
	T(STMT_IDEM_PRUNE) =
	    "DELETE FROM idempotency_keys WHERE expires_at < NOW(6) LIMIT 100",
#undef T
};

_Static_assert(APP_STMT__MAX <= DB_STMT_MAX, "raise DB_STMT_MAX");

const struct db_statements app_statements = {
	app_sql, STMT_CORE__MAX, APP_STMT__MAX - STMT_CORE__MAX
};

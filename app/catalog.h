/*
 * catalog.h: cache namespaces of the catalog, shared by the read handlers
 * (catalog.c) and every write path that must invalidate them.
 *
 * Which namespace a cached response depends on (cache.h explains why one
 * generation per response is enough):
 *   GET /api/categories                 CATALOG_NS_ALL
 *   GET /api/categories/{S}             g:c:S
 *   GET /api/products (no category)     CATALOG_NS_ALL
 *   GET /api/products?category=S        g:c:S
 *   GET /api/products/{id}              g:p:{id}
 * So a write touching product P in categories S1 (before) and S2 (after)
 * bumps g:p:P, g:c:S1, g:c:S2 and CATALOG_NS_ALL (which also carries the
 * category counts; g:c:S carries one category's count).  A write of
 * category S itself (create, rename, delete) bumps g:c:S and
 * CATALOG_NS_ALL: products show only the slug, which never changes, and a
 * category with products cannot be deleted, so no g:p:* is touched.
 */
#ifndef APP_CATALOG_H
#define APP_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"

#define CATALOG_NS_ALL "g:all"

/* One product as every route shows it: id, sku, name, category slug,
 * price_cents, stock, in that column order (callers' SELECTs follow it). */
struct catalog_product {
	char		sku[65];
	char		name[200 * 4 + 1];	/* 200 characters of utf8mb4 */
	char		slug[65];
	struct db_val	cols[6];
};

/* Binds the six result columns to r's buffers. */
void catalog_product_bind(struct catalog_product *r);
/* Appends r as the product JSON object. */
void catalog_product_json(struct buf *b, const struct catalog_product *r);

/* Category names are 1..100 characters (the column holds 128). */
#define CATALOG_CATEGORY_NAME_MAX	100

/* One category row: slug, name, product_count, in that column order. */
struct catalog_category {
	char		slug[65];
	char		name[128 * 4 + 1];	/* the column: 128 of utf8mb4 */
	struct db_val	cols[3];
};

/* Appends {"slug","name","product_count"}: the list's items,
 * GET /api/categories/{slug} and the category writes' answers. */
void catalog_category_json(struct buf *b, const char *slug, size_t slug_len,
    const char *name, size_t name_len, int64_t product_count);
void catalog_category_row_json(struct buf *b,
    const struct catalog_category *c);
/* Reads category slug: 1 found, 0 none, or DB_E* (db.h). */
int catalog_category_load(struct db *db, const char *slug,
    struct catalog_category *c);

/* "" (all) -> g:all; slug -> g:c:<slug>. */
int catalog_ns_category(const char *slug, char *out, size_t size);
int catalog_ns_product(uint64_t id, char *out, size_t size);

/* 1 when the If-None-Match header (NULL: absent) lists etag, weak or
 * strong, or is "*" (RFC 9110 13.1.2). */
int catalog_etag_matches(const char *header, const char *etag);

#endif

/*
 * catalog.h: cache namespaces of the catalog, shared by the read handlers
 * (catalog.c) and every write path that must invalidate them.
 *
 * Which namespace a cached response depends on (cache.h explains why one
 * generation per response is enough):
 *   GET /api/categories                 CATALOG_NS_ALL
 *   GET /api/products (no category)     CATALOG_NS_ALL
 *   GET /api/products?category=S        g:c:S
 *   GET /api/products/{id}              g:p:{id}
 * So a write touching product P in categories S1 (before) and S2 (after)
 * bumps g:p:P, g:c:S1, g:c:S2 and CATALOG_NS_ALL (which also carries the
 * category counts).
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

/* "" (all) -> g:all; slug -> g:c:<slug>. */
int catalog_ns_category(const char *slug, char *out, size_t size);
int catalog_ns_product(uint64_t id, char *out, size_t size);

/* 1 when the If-None-Match header (NULL: absent) lists etag, weak or
 * strong, or is "*" (RFC 9110 13.1.2). */
int catalog_etag_matches(const char *header, const char *etag);

#endif

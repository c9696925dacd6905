/*
 * app_sql.h: every statement catalog-fcgi runs besides the core's
 * (core_sql.h: the job queue, which the app reaches only through queue.h),
 * one id each, grouped by the file that runs them.  The
 * texts are in app_sql.c; db.h says how ids are prepared and why no other
 * SQL can reach the server.
 */
#ifndef APP_APP_SQL_H
#define APP_APP_SQL_H

#include "core_sql.h"
#include "db.h"

enum app_stmt {
	/* shared by the read and write paths (catalog.c, admin.c, orders.c) */
	STMT_PRODUCT_BY_ID = STMT_CORE__MAX,
	STMT_CATEGORY_ID_BY_SLUG,
	STMT_CATEGORY_SLUG_BY_ID,
	/* catalog.c: the cached reads; one list statement per sort and
	 * filter, so each uses its own index */
	STMT_CATALOG_CATEGORIES,
	STMT_CATALOG_CATEGORY,
	STMT_CATALOG_COUNT_ALL,
	STMT_CATALOG_COUNT_CATEGORY,
	STMT_CATALOG_LIST_ALL_ID,
	STMT_CATALOG_LIST_ALL_PRICE,
	STMT_CATALOG_LIST_ALL_PRICE_DESC,
	STMT_CATALOG_LIST_ALL_NAME,
	STMT_CATALOG_LIST_CATEGORY_ID,
	STMT_CATALOG_LIST_CATEGORY_PRICE,
	STMT_CATALOG_LIST_CATEGORY_PRICE_DESC,
	STMT_CATALOG_LIST_CATEGORY_NAME,
	/* admin.c: product writes */
	STMT_ADMIN_INSERT,
	STMT_ADMIN_LOCK,
	STMT_ADMIN_UPDATE,
	STMT_ADMIN_DELETE,
	/* admin_category.c: category writes */
	STMT_CATEGORY_INSERT,
	STMT_CATEGORY_LOCK,
	STMT_CATEGORY_RENAME,
	STMT_CATEGORY_DELETE,
	/* orders.c: the order transaction (its job: queue.h) and
	 * GET /api/orders/{id} */
	STMT_ORDER_LOCK_PRODUCT,
	STMT_ORDER_TAKE_STOCK,
	STMT_ORDER_INSERT_ORDER,
	STMT_ORDER_INSERT_ITEM,
	STMT_ORDER_GET,
	STMT_ORDER_GET_ITEMS,
	/* idempotency.c: Idempotency-Key rows and their named locks */
	STMT_IDEM_LOCK,
	STMT_IDEM_UNLOCK,
	STMT_IDEM_CLAIM,
	STMT_IDEM_LOOKUP,
	STMT_IDEM_TAKEOVER,
	STMT_IDEM_FORGET_DEAD,
	STMT_IDEM_RECORD,
	STMT_IDEM_RELEASE,
	STMT_IDEM_PRUNE,
	APP_STMT__MAX
};

/* What catalog-fcgi hands to db_init(). */
extern const struct db_statements app_statements;

#endif

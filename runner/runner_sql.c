/*
 * runner_sql.c: the texts of job-runner's statements (runner_sql.h).
 */
#include "config.h"

#include "runner_sql.h"

#define Q10	"?,?,?,?,?,?,?,?,?,?"
#define Q50	Q10 "," Q10 "," Q10 "," Q10 "," Q10

static const char *const runner_sql[RUNNER_STMT__MAX - STMT_CORE__MAX] = {
#define T(id) [(id) - STMT_CORE__MAX]
	T(STMT_EMAIL_ORDER) =
	    "SELECT email, total_cents, confirmation_sent_at IS NOT NULL"
	    " FROM orders WHERE id = ?",
	T(STMT_EMAIL_ITEMS) =
	    "SELECT sku, name, quantity, unit_price_cents FROM order_items"
	    " WHERE order_id = ? ORDER BY product_id LIMIT 1001",
	/* a claimed batch's orders and items, EMAIL_CHUNK orders a query */
	T(STMT_EMAIL_PREFETCH) =
	    "SELECT o.id, o.email, o.total_cents,"
	    " o.confirmation_sent_at IS NOT NULL,"
	    " i.sku, i.name, i.quantity, i.unit_price_cents"
	    " FROM orders o JOIN order_items i ON i.order_id = o.id"
	    " WHERE o.id IN (" Q50 ")"
	    " ORDER BY o.id, i.product_id",
	/* the record of the side effect, in the transaction marking the job
	 * done */
	T(STMT_EMAIL_STAMP) =
	    "UPDATE orders SET confirmation_sent_at = NOW(6)"
	    " WHERE id = ? AND confirmation_sent_at IS NULL",
	T(STMT_EMAIL_STAMP_MANY) =
	    "UPDATE orders SET confirmation_sent_at = NOW(6)"
	    " WHERE id IN (" Q50 ") AND confirmation_sent_at IS NULL",
#undef T
};

_Static_assert(EMAIL_CHUNK == 50, "Q50 above has 50 placeholders");
_Static_assert(RUNNER_STMT__MAX <= DB_STMT_MAX, "raise DB_STMT_MAX");

const struct db_statements runner_statements = {
	runner_sql, STMT_CORE__MAX, RUNNER_STMT__MAX - STMT_CORE__MAX
};

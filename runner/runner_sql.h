/*
 * runner_sql.h: every statement job-runner runs besides the core's (the
 * queue's, core_sql.h), one id each.  The texts are in runner_sql.c.
 */
#ifndef RUNNER_RUNNER_SQL_H
#define RUNNER_RUNNER_SQL_H

#include "core_sql.h"
#include "db.h"

/* ids in STMT_EMAIL_PREFETCH and STMT_EMAIL_STAMP_MANY (padded by the
 * caller by repeating an id) */
#define EMAIL_CHUNK	50

enum runner_stmt {
	/* handler_email.c */
	STMT_EMAIL_ORDER = STMT_CORE__MAX,
	STMT_EMAIL_ITEMS,
	STMT_EMAIL_PREFETCH,
	STMT_EMAIL_STAMP,
	STMT_EMAIL_STAMP_MANY,
	RUNNER_STMT__MAX
};

/* What job-runner hands to db_init(). */
extern const struct db_statements runner_statements;

#endif

/*
 * db.h: one MariaDB/MySQL connection per process, prepared statements only.
 *
 * Ownership: a struct db owns its MYSQL handle and a cache of prepared
 * statements keyed by the SQL text's address (callers pass string
 * literals, so each query is prepared once per connection and reused).
 *
 * Failure model: a connection error (server gone, lost during query, killed)
 * marks the connection dead; db_ensure() reconnects on the next call and
 * every cached statement is prepared again.  Nothing reconnects silently in
 * the middle of a transaction: the caller sees the error, the transaction
 * is lost on the server side, and the caller decides whether to retry the
 * whole unit (db_retryable() says which errors are worth it: deadlock 1213,
 * lock wait timeout 1205, and connection errors before commit).
 *
 * Error text from the server is logged here and never returned to clients.
 */
#ifndef CORE_DB_H
#define CORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "conf.h"

#define DB_STMT_CACHE 48

enum db_type {
	DB_NULL = 0,
	DB_I64,
	DB_STR
};

/* A parameter or result column.  For results, s/cap is the caller's
 * buffer; len receives the length; a value longer than cap-1 is an error
 * (DB_ETRUNC) rather than a silent cut. */
struct db_val {
	enum db_type	 type;
	int64_t		 i;
	char		*s;
	size_t		 cap;
	unsigned long	 len;
	char		 is_null;
	char		 error;
};

#define DB_OK		0
#define DB_ERR		(-1)	/* server or connection error, logged */
#define DB_ETRUNC	(-2)	/* a column did not fit its buffer */

struct db_stmt_slot {
	const char	*sql;
	MYSQL_STMT	*stmt;
};

struct db {
	const struct conf	*conf;
	MYSQL			*mysql;
	int			 connected;
	int			 in_tx;		/* between begin and commit/rollback */
	unsigned		 last_errno;
	uint64_t		 errors;	/* counted for metrics */
	struct db_stmt_slot	 stmts[DB_STMT_CACHE];
};

/* Parameter constructors. */
struct db_val db_i64(int64_t v);
struct db_val db_str(const char *s, size_t len);
struct db_val db_cstr(const char *s);
/* Result column constructors. */
struct db_val db_out_i64(void);
struct db_val db_out_str(char *buf, size_t cap);

void db_init(struct db *db, const struct conf *conf);
void db_close(struct db *db);
/* Connects if needed.  0 or DB_ERR. */
int db_ensure(struct db *db);
/* Round trip to the server (health checks).  0 or DB_ERR. */
int db_ping(struct db *db);

/* Runs a statement without a result set.  affected and insert_id may be
 * NULL. */
int db_exec(struct db *db, const char *sql, struct db_val *args, size_t nargs,
    uint64_t *affected, uint64_t *insert_id);

/*
 * Runs a query and binds the result columns.  On success *cursor is set;
 * call db_fetch() until it returns 0 (no more rows), then db_done().
 */
int db_query(struct db *db, const char *sql, struct db_val *args,
    size_t nargs, struct db_val *cols, size_t ncols, MYSQL_STMT **cursor);
/* 1 a row was fetched into cols, 0 end of rows, DB_ERR / DB_ETRUNC. */
int db_fetch(struct db *db, MYSQL_STMT *cursor, struct db_val *cols,
    size_t ncols);
void db_done(MYSQL_STMT *cursor);

/* Convenience: a query that returns at most one row.  1 found, 0 none. */
int db_query_row(struct db *db, const char *sql, struct db_val *args,
    size_t nargs, struct db_val *cols, size_t ncols);

int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* 1 when the last error is worth retrying the whole transaction for. */
int db_retryable(const struct db *db);
/* 1 when the last error lost the connection. */
int db_conn_error(unsigned err);
/* Server error number of the last failure (ER_DUP_ENTRY = 1062, ...). */
unsigned db_errno(const struct db *db);

#endif

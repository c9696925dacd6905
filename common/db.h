/*
 * db.h: one MariaDB/MySQL connection per thread, prepared statements only.
 *
 * STATEMENTS.  Every SQL text a program runs is fixed at compile time and
 * listed once in a statement table, indexed by an enum (as kcgi-framework
 * does): the core's own statements in core_sql.h (ids 0..STMT_CORE__MAX-1),
 * then each program's (app/app_sql.h, runner/runner_sql.h), numbered on from
 * STMT_CORE__MAX and handed to db_init().  A connection prepares each
 * statement the first time it runs it and keeps it until the connection
 * ends: a fixed slot per id, never evicted, so a cursor a caller holds can
 * never be closed under it by an unrelated query.  Callers name
 * statements; no function here accepts SQL text.
 *
 * OUTCOMES (the one convention of every function that touches the
 * database, here and in the modules built on it: the queue, the order
 * transaction, the catalog's loaders, the handlers' loads): an int that is
 *   DB_OK (0)          success;
 *   negative DB_E*     the database failed (server or link error, a column
 *                      too long for its buffer, a COMMIT whose answer was
 *                      lost); logged here, never shown to a client;
 *   positive           an outcome of the calling module's own domain (not
 *                      found, lease lost, out of stock...), defined and
 *                      documented in that module's header (or at the top
 *                      of the one file that uses them), as #defines or an
 *                      enum starting at 1, so they pass through db_tx()
 *                      unchanged.
 * Row-returning calls use 1 for "a row" and 0 for "no row" in the same
 * way (db_fetch, db_query_row).  These values travel up unchanged; only
 * the edge turns them into what its caller understands, once: an HTTP
 * route handler into a status and a problem body, a job-runner command
 * into an exit code, a job handler into a jobs_outcome (jobs.h).  No
 * function below an edge returns an HTTP status or an exit code.
 *
 * FAILURE MODEL.  A connection error (server gone, lost during a query,
 * killed) marks the connection dead; the next call reconnects and statements
 * are prepared again.  Outside a transaction a statement that found an idle
 * link dead is sent once more on a new link when that is safe (a read
 * always; a write only when it never reached the server).  Nothing
 * reconnects in the middle of a transaction: the transaction died with the
 * link, and db_tx() (the one retry rule) reruns the whole unit.
 *
 * Error text from the server is logged here and never returned to clients.
 */
#ifndef CORE_DB_H
#define CORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "conf.h"

/* Statement ids of a whole program (core and its own), at most. */
#define DB_STMT_MAX	160
/* Tries of one transaction unit in db_tx(). */
#define DB_TX_TRIES	4

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
#define DB_EUNKNOWN	(-3)	/* COMMIT sent, its answer lost: the
				   transaction may or may not have committed */

/* A program's own statements: ids first .. first + n - 1, texts sql[0..n-1]
 * (first is STMT_CORE__MAX). */
struct db_statements {
	const char *const	*sql;
	unsigned		 first;
	unsigned		 n;
};

struct db {
	const struct conf		*conf;
	const struct db_statements	*program;	/* NULL: core only */
	MYSQL				*mysql;
	int				 connected;
	int				 connect_failed; /* last try */
	int				 in_tx;		/* in a tx */
	unsigned			 last_errno;
	uint64_t			 links;		/* connects */
	uint64_t			 errors;	/* for metrics */
	MYSQL_STMT			*prepared[DB_STMT_MAX];
};

/* Parameter constructors. */
struct db_val db_i64(int64_t v);
struct db_val db_str(const char *s, size_t len);
struct db_val db_cstr(const char *s);
/* Result column constructors. */
struct db_val db_out_i64(void);
struct db_val db_out_str(char *buf, size_t cap);

/* program may be NULL (only the core's statements). */
void db_init(struct db *db, const struct conf *conf,
    const struct db_statements *program);
void db_close(struct db *db);
/* Connects if needed.  DB_OK or DB_ERR. */
int db_ensure(struct db *db);
/* Round trip to the server (health checks).  DB_OK or DB_ERR. */
int db_ping(struct db *db);
/* The server's id of this link (CONNECTION_ID()), 0 when not connected. */
unsigned long db_link_id(const struct db *db);

/* Prepares every statement the program declared (core and program) on
 * this link: a check for the test suite that no text has a typo or names a
 * missing column.  DB_OK, or DB_ERR with *failed set to the first id that
 * did not prepare. */
int db_prepare_all(struct db *db, unsigned *failed);

/* Runs statement stmt without a result set.  affected and insert_id may be
 * NULL. */
int db_exec(struct db *db, unsigned stmt, struct db_val *args, size_t nargs,
    uint64_t *affected, uint64_t *insert_id);

/*
 * Runs a query and binds the result columns.  On success *cursor is set;
 * call db_fetch() until it returns 0 (no more rows), then db_done().  The
 * result is buffered, so other statements may run between fetches, but not
 * the same statement id (it owns the cursor).
 */
int db_query(struct db *db, unsigned stmt, struct db_val *args,
    size_t nargs, struct db_val *cols, size_t ncols, MYSQL_STMT **cursor);
/* 1 a row was fetched into cols, 0 end of rows, DB_ERR / DB_ETRUNC. */
int db_fetch(struct db *db, MYSQL_STMT *cursor, struct db_val *cols,
    size_t ncols);
void db_done(MYSQL_STMT *cursor);

/* A query that returns at most one row: 1 found, 0 none, or DB_E*. */
int db_query_row(struct db *db, unsigned stmt, struct db_val *args,
    size_t nargs, struct db_val *cols, size_t ncols);

/*
 * The one transaction rule.  Runs fn between START TRANSACTION and COMMIT.
 * fn returns DB_OK to commit, a DB_E* value on a database error, or a
 * positive status of its own to roll back and return that status.  The
 * whole unit runs again (fn is called anew, and must start from scratch)
 * on a deadlock, a lock wait timeout, or a link that was lost before
 * COMMIT was sent (the server rolled the transaction back), up to
 * DB_TX_TRIES times with a short randomized pause; never when the server
 * cannot be reached at all.  Returns DB_OK, fn's positive status, DB_ERR,
 * or DB_EUNKNOWN when the COMMIT's answer was lost.  what names the unit
 * in the logs.
 */
typedef int (*db_tx_fn)(struct db *db, void *arg);
int db_tx(struct db *db, const char *what, db_tx_fn fn, void *arg);

/*
 * The parts of db_tx, for callers that must do work between the unit and
 * its retry decision.  db_begin sends START TRANSACTION once more on a new
 * link when the old one was found dead (always safe: nothing ran);
 * db_commit returns DB_EUNKNOWN when the link died with COMMIT in flight.
 */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* 1 when the last error is worth rerunning a whole transaction for:
 * deadlock, lock wait timeout, or a link lost on a live connection. */
int db_retryable(const struct db *db);
/* 1 when err is an error that lost the connection. */
int db_conn_error(unsigned err);
/* Server error number of the last failure (<mysqld_error.h>: ER_DUP_ENTRY,
 * ...), 0 after success of a call that records errors. */
unsigned db_errno(const struct db *db);

#endif

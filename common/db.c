/*
 * db.c: connection, statement cache and bind helpers over MariaDB
 * Connector/C's prepared-statement API.  See db.h for the failure model.
 *
 * Session settings made on every connect: utf8mb4, READ COMMITTED (the
 * queue's SKIP LOCKED claim and the order transaction lock rows by primary
 * key and need no gap locks), strict SQL mode and a short lock wait so a
 * request never hangs behind a stuck transaction for InnoDB's default 50 s.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "core_sql.h"
#include "db.h"
#include "log.h"
#include "util.h"

/* The isolation level has its own statement: the variable is
 * transaction_isolation on MySQL 8 and MariaDB >= 11.1 but tx_isolation on
 * MariaDB 10.x, and this form works on both. */
static const char db_isolation_sql[] =
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";
static const char db_session_sql[] =
    "SET SESSION"
    " sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION',"
    " time_zone = '+00:00'";

struct db_val
db_i64(int64_t v)
{
	struct db_val x;

	memset(&x, 0, sizeof(x));
	x.type = DB_I64;
	x.i = v;
	return x;
}

struct db_val
db_str(const char *s, size_t len)
{
	struct db_val x;

	memset(&x, 0, sizeof(x));
	x.type = DB_STR;
	x.s = (char *)(uintptr_t)s;	/* parameters are only read */
	x.len = (unsigned long)len;
	return x;
}

struct db_val
db_cstr(const char *s)
{
	if (s == NULL) {
		struct db_val x;
		memset(&x, 0, sizeof(x));
		x.type = DB_NULL;
		return x;
	}
	return db_str(s, strlen(s));
}

struct db_val
db_out_i64(void)
{
	return db_i64(0);
}

struct db_val
db_out_str(char *buf, size_t cap)
{
	struct db_val x;

	memset(&x, 0, sizeof(x));
	x.type = DB_STR;
	x.s = buf;
	x.cap = cap;
	if (cap > 0)
		buf[0] = '\0';
	return x;
}

void
db_init(struct db *db, const struct conf *conf,
    const struct db_statements *program)
{
	memset(db, 0, sizeof(*db));
	db->conf = conf;
	db->program = program;
}

static void
db_drop_statements(struct db *db)
{
	size_t i;

	for (i = 0; i < DB_STMT_MAX; i++) {
		if (db->prepared[i] != NULL)
			mysql_stmt_close(db->prepared[i]);
		db->prepared[i] = NULL;
	}
}

/* The text of statement id, or NULL when the id is not declared. */
static const char *
db_sql_text(const struct db *db, unsigned id)
{
	const struct db_statements *p = db->program;

	if (id < STMT_CORE__MAX)
		return core_sql[id];
	if (p != NULL && id >= p->first && id - p->first < p->n &&
	    id < DB_STMT_MAX)
		return p->sql[id - p->first];
	return NULL;
}

void
db_close(struct db *db)
{
	db_drop_statements(db);
	if (db->mysql != NULL)
		mysql_close(db->mysql);
	db->mysql = NULL;
	db->connected = 0;
}

/*
 * MySQL 8.0.24+ ends an idle session with ER_CLIENT_INTERACTION_TIMEOUT
 * (4031).  MariaDB's <mysqld_error.h> does not have the name (its 4031 is a
 * DDL error our statements never raise), so it is spelled here once.
 */
#define DB_MYSQL_CLIENT_INTERACTION_TIMEOUT	4031

int
db_conn_error(unsigned err)
{
	return err == CR_SERVER_GONE_ERROR || err == CR_SERVER_LOST ||
	    err == CR_CONNECTION_ERROR || err == CR_CONN_HOST_ERROR ||
	    err == CR_SERVER_LOST_EXTENDED || err == CR_COMMANDS_OUT_OF_SYNC ||
	    err == ER_CONNECTION_KILLED || err == ER_SERVER_SHUTDOWN ||
	    err == DB_MYSQL_CLIENT_INTERACTION_TIMEOUT ||
	    err == ER_QUERY_INTERRUPTED;
}

unsigned
db_errno(const struct db *db)
{
	return db->last_errno;
}

unsigned long
db_link_id(const struct db *db)
{
	return db->connected ? mysql_thread_id(db->mysql) : 0;
}

int
db_retryable(const struct db *db)
{
	if (db->last_errno == ER_LOCK_DEADLOCK ||
	    db->last_errno == ER_LOCK_WAIT_TIMEOUT)
		return 1;
	/* a link that died under us, not a server that cannot be reached */
	return db_conn_error(db->last_errno) && !db->connect_failed;
}

/* Records the error of the connection or statement; drops a dead link. */
static int
db_failed(struct db *db, MYSQL_STMT *stmt, const char *what)
{
	char msg[512];
	unsigned err;

	err = stmt != NULL ? mysql_stmt_errno(stmt) : mysql_errno(db->mysql);
	db->last_errno = err;
	db->errors++;
	/* duplicate keys are expected outcomes that callers handle */
	if (err != ER_DUP_ENTRY)
		log_msg(err == ER_LOCK_DEADLOCK || err == ER_LOCK_WAIT_TIMEOUT ?
		    LOG_WARN : LOG_ERROR, "event=db_error op=%s errno=%u error=%s",
		    what, err, log_quote(msg, sizeof(msg), stmt != NULL ?
		    mysql_stmt_error(stmt) : mysql_error(db->mysql)));
	if (db_conn_error(err))
		db_close(db);
	return DB_ERR;
}

static MYSQL_STMT *db_run_once(struct db *, unsigned, struct db_val *,
    size_t);
static int db_stale_link(const struct db *, int, int);

/*
 * innodb_lock_wait_timeout = read timeout - 2 s, between 1 and 5 s: the
 * lock wait must end before the client's read timeout, or a blocked
 * statement looks like a lost connection (2013) instead of the retryable
 * 1205.  Computed from db.timeout_ms, never from input.
 */
static int
db_set_lock_wait(struct db *db, unsigned timeout_s)
{
	struct db_val arg = db_i64(timeout_s > 7 ? 5 :
	    timeout_s > 3 ? (int64_t)timeout_s - 2 : 1);

	return db_run_once(db, STMT_LOCK_WAIT, &arg, 1) != NULL ? DB_OK :
	    DB_ERR;
}

int
db_ensure(struct db *db)
{
	const struct conf *c = db->conf;
	unsigned timeout;
	char msg[512];

	if (db->connected)
		return DB_OK;
	if (db->in_tx) {
		/* the transaction died with the link: never reconnect and go
		 * on in autocommit mode, the caller must roll back and retry */
		db->last_errno = CR_SERVER_LOST;
		return DB_ERR;
	}
	db_close(db);
	db->connect_failed = 1;
	if ((db->mysql = mysql_init(NULL)) == NULL) {
		log_msg(LOG_ERROR, "event=db_error op=init error=\"out of memory\"");
		return DB_ERR;
	}
	timeout = (c->db_timeout_ms + 999) / 1000;
	mysql_options(db->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(db->mysql, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(db->mysql, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	mysql_options(db->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (mysql_real_connect(db->mysql,
	    c->db_socket[0] != '\0' ? "localhost" : c->db_host,
	    c->db_user, c->db_password, c->db_name,
	    c->db_socket[0] != '\0' ? 0 : c->db_port,
	    c->db_socket[0] != '\0' ? c->db_socket : NULL, 0) == NULL) {
		db->last_errno = mysql_errno(db->mysql);
		db->errors++;
		log_msg(LOG_ERROR, "event=db_connect_failed errno=%u error=%s",
		    db->last_errno, log_quote(msg, sizeof(msg),
		    mysql_error(db->mysql)));
		db_close(db);
		return DB_ERR;
	}
	if (mysql_real_query(db->mysql, db_isolation_sql,
	    sizeof(db_isolation_sql) - 1) != 0 ||
	    mysql_real_query(db->mysql, db_session_sql,
	    sizeof(db_session_sql) - 1) != 0) {
		db_failed(db, NULL, "session");
		db_close(db);
		return DB_ERR;
	}
	db->connected = 1;
	if (db_set_lock_wait(db, timeout) != DB_OK) {
		db_close(db);
		return DB_ERR;
	}
	db->connect_failed = 0;
	db->links++;
	return DB_OK;
}

int
db_ping(struct db *db)
{
	int tries;

	/* a link that died while idle is replaced once, by the same rule as
	 * db_run(): health checks must not report a stale socket */
	for (tries = 0; tries < 2; tries++) {
		int was_connected = db->connected;

		if (db_ensure(db) != DB_OK)
			return DB_ERR;
		if (mysql_ping(db->mysql) == 0)
			return DB_OK;
		db_failed(db, NULL, "ping");
		if (!db_stale_link(db, was_connected, 1))
			break;
	}
	return DB_ERR;
}

/* Statement id, prepared on this link the first time it runs. */
static MYSQL_STMT *
db_prepare(struct db *db, unsigned id)
{
	MYSQL_STMT *stmt;
	const char *sql;

	if (db_ensure(db) != DB_OK)
		return NULL;
	if (id < DB_STMT_MAX && db->prepared[id] != NULL)
		return db->prepared[id];
	if ((sql = db_sql_text(db, id)) == NULL) {
		log_msg(LOG_ERROR, "event=db_error op=prepare stmt=%u "
		    "error=\"no such statement\"", id);
		db->last_errno = 0;
		return NULL;
	}
	if ((stmt = mysql_stmt_init(db->mysql)) == NULL) {
		db_failed(db, NULL, "stmt_init");
		return NULL;
	}
	if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) {
		db_failed(db, stmt, "prepare");
		mysql_stmt_close(stmt);
		return NULL;
	}
	db->prepared[id] = stmt;
	return stmt;
}

int
db_prepare_all(struct db *db, unsigned *failed)
{
	unsigned id, end = STMT_CORE__MAX;

	if (db->program != NULL)
		end = db->program->first + db->program->n;
	for (id = 0; id < end && id < DB_STMT_MAX; id++) {
		if (db_prepare(db, id) == NULL) {
			*failed = id;
			return DB_ERR;
		}
	}
	return DB_OK;
}

static void
db_bind_params(MYSQL_BIND *b, struct db_val *args, size_t nargs)
{
	size_t i;

	memset(b, 0, sizeof(*b) * nargs);
	for (i = 0; i < nargs; i++) {
		switch (args[i].type) {
		case DB_I64:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &args[i].i;
			break;
		case DB_STR:
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = args[i].s;
			b[i].buffer_length = args[i].len;
			b[i].length = &args[i].len;
			break;
		case DB_NULL:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		}
	}
}

static void
db_bind_results(MYSQL_BIND *b, struct db_val *cols, size_t ncols)
{
	size_t i;

	memset(b, 0, sizeof(*b) * ncols);
	for (i = 0; i < ncols; i++) {
		b[i].is_null = (my_bool *)&cols[i].is_null;
		b[i].error = (my_bool *)&cols[i].error;
		if (cols[i].type == DB_I64) {
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &cols[i].i;
		} else {
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = cols[i].s;
			b[i].buffer_length = cols[i].cap;
			b[i].length = &cols[i].len;
		}
	}
}

#define DB_MAX_BIND 64

static MYSQL_STMT *
db_run_once(struct db *db, unsigned id, struct db_val *args, size_t nargs)
{
	MYSQL_BIND b[DB_MAX_BIND];
	MYSQL_STMT *stmt;

	db->last_errno = 0;
	if (nargs > DB_MAX_BIND)
		return NULL;
	if ((stmt = db_prepare(db, id)) == NULL)
		return NULL;
	if (nargs > 0) {
		db_bind_params(b, args, nargs);
		if (mysql_stmt_bind_param(stmt, b) != 0) {
			db_failed(db, stmt, "bind");
			return NULL;
		}
	}
	if (mysql_stmt_execute(stmt) != 0) {
		db_failed(db, stmt, "execute");
		return NULL;
	}
	return stmt;
}

/*
 * 1 when the last failure found an idle link dead (the server restarted,
 * or killed idle connections), outside a transaction, and the statement
 * may be sent once more on a new link: a read always, a write only when
 * the server never received it (2006, gone away before sending), since
 * "lost during query" (2013) may follow a write that happened.
 */
static int
db_stale_link(const struct db *db, int was_connected, int is_read)
{
	return !db->in_tx && was_connected && !db->connected &&
	    db_conn_error(db->last_errno) &&
	    (is_read || db->last_errno == CR_SERVER_GONE_ERROR);
}

static MYSQL_STMT *
db_run(struct db *db, unsigned id, struct db_val *args, size_t nargs,
    int is_read)
{
	MYSQL_STMT *stmt;
	int was_connected = db->connected;

	if ((stmt = db_run_once(db, id, args, nargs)) != NULL)
		return stmt;
	if (!db_stale_link(db, was_connected, is_read))
		return NULL;
	log_msg(LOG_INFO, "event=db_reconnect reason=stale_link errno=%u",
	    db->last_errno);
	return db_run_once(db, id, args, nargs);
}

int
db_exec(struct db *db, unsigned id, struct db_val *args, size_t nargs,
    uint64_t *affected, uint64_t *insert_id)
{
	MYSQL_STMT *stmt;

	if ((stmt = db_run(db, id, args, nargs, 0)) == NULL)
		return DB_ERR;
	if (affected != NULL)
		*affected = mysql_stmt_affected_rows(stmt);
	if (insert_id != NULL)
		*insert_id = mysql_stmt_insert_id(stmt);
	return DB_OK;
}

int
db_query(struct db *db, unsigned id, struct db_val *args, size_t nargs,
    struct db_val *cols, size_t ncols, MYSQL_STMT **cursor)
{
	MYSQL_BIND b[DB_MAX_BIND];
	MYSQL_STMT *stmt;

	*cursor = NULL;
	if (ncols > DB_MAX_BIND)
		return DB_ERR;
	if ((stmt = db_run(db, id, args, nargs, 1)) == NULL)
		return DB_ERR;
	db_bind_results(b, cols, ncols);
	if (mysql_stmt_bind_result(stmt, b) != 0) {
		db_failed(db, stmt, "bind_result");
		mysql_stmt_free_result(stmt);
		return DB_ERR;
	}
	/* buffered, so the caller may run other statements between fetches */
	if (mysql_stmt_store_result(stmt) != 0) {
		db_failed(db, stmt, "store_result");
		return DB_ERR;
	}
	*cursor = stmt;
	return DB_OK;
}

int
db_fetch(struct db *db, MYSQL_STMT *cursor, struct db_val *cols, size_t ncols)
{
	size_t i;
	int rc;

	rc = mysql_stmt_fetch(cursor);
	if (rc == MYSQL_NO_DATA)
		return 0;
	if (rc == 1)
		return db_failed(db, cursor, "fetch");
	for (i = 0; i < ncols; i++) {
		if (cols[i].type != DB_STR)
			continue;
		if (cols[i].is_null) {
			cols[i].len = 0;
			if (cols[i].cap > 0)
				cols[i].s[0] = '\0';
			continue;
		}
		if (cols[i].len >= cols[i].cap)
			return DB_ETRUNC;
		cols[i].s[cols[i].len] = '\0';
	}
	if (rc == MYSQL_DATA_TRUNCATED)
		return DB_ETRUNC;
	return 1;
}

void
db_done(MYSQL_STMT *cursor)
{
	if (cursor != NULL)
		mysql_stmt_free_result(cursor);
}

int
db_query_row(struct db *db, unsigned id, struct db_val *args,
    size_t nargs, struct db_val *cols, size_t ncols)
{
	MYSQL_STMT *cur;
	int rc;

	if (db_query(db, id, args, nargs, cols, ncols, &cur) != DB_OK)
		return DB_ERR;
	rc = db_fetch(db, cur, cols, ncols);
	db_done(cur);
	return rc;
}

/* A statement without parameters on the connection itself (transaction
 * control). */
static int
db_simple(struct db *db, const char *sql, const char *what)
{
	db->last_errno = 0;
	if (db_ensure(db) != DB_OK)
		return DB_ERR;
	if (mysql_real_query(db->mysql, sql, strlen(sql)) != 0)
		return db_failed(db, NULL, what);
	return DB_OK;
}

int
db_begin(struct db *db)
{
	int was_connected;

	db->in_tx = 0;
	was_connected = db->connected;
	if (db_simple(db, "START TRANSACTION", "begin") != DB_OK) {
		/* always safe to send again: nothing ran (a link found dead
		 * after a restart says 2006 on a socket, 2013 over TCP) */
		if (!was_connected || db->connected ||
		    !db_conn_error(db->last_errno))
			return DB_ERR;
		log_msg(LOG_INFO, "event=db_reconnect reason=stale_link "
		    "errno=%u", db->last_errno);
		if (db_simple(db, "START TRANSACTION", "begin") != DB_OK)
			return DB_ERR;
	}
	db->in_tx = 1;
	return DB_OK;
}

int
db_commit(struct db *db)
{
	int rc = db_simple(db, "COMMIT", "commit");

	db->in_tx = 0;
	/* the link died with COMMIT sent: the server may have committed */
	if (rc != DB_OK && db_conn_error(db->last_errno) && !db->connect_failed)
		return DB_EUNKNOWN;
	return rc;
}

void
db_rollback(struct db *db)
{
	db->in_tx = 0;
	if (db->connected && mysql_rollback(db->mysql) != 0)
		db_failed(db, NULL, "rollback");
}

/* A few milliseconds, doubling, randomized so colliding writers part. */
static void
db_tx_pause(unsigned try)
{
	struct timespec ts;
	uint32_t r = 0;
	uint64_t us;

	(void)util_random(&r, sizeof(r));
	us = (uint64_t)(1000u << (try < 8 ? try : 8)) + r % 5000;
	ts.tv_sec = (time_t)(us / 1000000);
	ts.tv_nsec = (long)(us % 1000000) * 1000;
	nanosleep(&ts, NULL);
}

int
db_tx(struct db *db, const char *what, db_tx_fn fn, void *arg)
{
	unsigned try;
	int rc;

	for (try = 1;; try++) {
		if ((rc = db_begin(db)) == DB_OK &&
		    (rc = fn(db, arg)) == DB_OK) {
			if ((rc = db_commit(db)) == DB_OK || rc == DB_EUNKNOWN)
				return rc;
		}
		db_rollback(db);
		if (rc > 0)
			return rc;
		if (rc != DB_ERR || !db_retryable(db) || try >= DB_TX_TRIES)
			return rc == DB_ETRUNC ? DB_ETRUNC : DB_ERR;
		log_msg(LOG_WARN, "event=tx_retry op=%s try=%u errno=%u", what,
		    try, db_errno(db));
		db_tx_pause(try);
	}
}

/*
 * core_sql.c: the texts of the core's statements (core_sql.h).
 *
 * Placeholder lists of a fixed length (STMT_QUEUE_LEASE) are padded by the
 * caller by repeating an id, so each text is prepared once and never built
 * at run time.
 */
#include "config.h"

#include "core_sql.h"
#include "jobs.h"

#define CORE_STR2(x) #x
#define CORE_STR(x) CORE_STR2(x)
#define Q10 "?,?,?,?,?,?,?,?,?,?"

/* What a claim reads of a job; a payload over JOBS_PAYLOAD_MAX is not read
 * (only its length: the job is dead at once).  Whether the job was ever
 * dead-lettered tells a replay, whose attempts start from 0 again. */
#define QUEUE_CLAIM_COLUMNS \
    "SELECT id, type, idempotency_key, attempts, max_attempts," \
    " LENGTH(payload)," \
    " IF(LENGTH(payload) <= " CORE_STR(JOBS_PAYLOAD_MAX) ", payload, '')," \
    " EXISTS (SELECT 1 FROM dead_letter_jobs d WHERE d.job_id = jobs.id)"

/* `dead list`: the first line of the error, at most QUEUE_ERROR_LINE_MAX
 * characters */
#define QUEUE_DEAD_LIST_COLUMNS \
    "SELECT job_id, id, type, attempts," \
    " DATE_FORMAT(failed_at, '%Y-%m-%d %H:%i:%s')," \
    " LEFT(SUBSTRING_INDEX(COALESCE(last_error, ''), '\\n', 1), " \
    CORE_STR(QUEUE_ERROR_LINE_MAX) ")," \
    " COALESCE(DATE_FORMAT(replayed_at, '%Y-%m-%d %H:%i:%s'), '-')" \
    " FROM dead_letter_jobs"

/* A job as the admin HTTP API shows it (queue.h, struct queue_job_row) */
#define QUEUE_ISO(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.%fZ')"
#define QUEUE_JOB_COLUMNS \
    "SELECT id, type, status, attempts, max_attempts, " QUEUE_ISO("run_at") \
    ", last_error, idempotency_key, " QUEUE_ISO("updated_at")
#define QUEUE_JOB_PAGE " ORDER BY id DESC LIMIT ? OFFSET ?"
/* the first minute of the throughput window, from the current minute */
#define QUEUE_WINDOW_START "FROM_UNIXTIME((? - 59) * 60)"

_Static_assert(QUEUE_THROUGHPUT_MINUTES == 60, "? - 59 below");
_Static_assert(QUEUE_LEASE_CHUNK == 50, "STMT_QUEUE_LEASE has 5 x Q10 ids");
_Static_assert(QUEUE_DEAD_LIST_MAX == 1000, "LIMIT 1001 below");
_Static_assert(QUEUE_SHOW_MAX == 1048576, "LEFT(..., 1048576) below");
_Static_assert(CACHE_LOG_IDS == 16, "STMT_CACHE_LOG_IDS has 16 ids");

const char *const core_sql[STMT_CORE__MAX] = {
	/* innodb_lock_wait_timeout below the client's read timeout (db.c) */
	[STMT_LOCK_WAIT] =
	    "SET SESSION innodb_lock_wait_timeout = ?",

	[STMT_QUEUE_ENQUEUE] =
	    "INSERT INTO jobs (type, payload, idempotency_key, max_attempts)"
	    " VALUES (?, ?, ?, ?)",

	/* the claim forces the narrow indexes, so it reads only due rows
	 * however many done rows the table holds (queue.c) */
	[STMT_QUEUE_CLAIM_PENDING] =
	    QUEUE_CLAIM_COLUMNS
	    " FROM jobs FORCE INDEX (jobs_claim)"
	    " WHERE status = 'pending' AND run_at <= NOW(6)"
	    " ORDER BY run_at, id LIMIT ? FOR UPDATE SKIP LOCKED",
	[STMT_QUEUE_CLAIM_EXPIRED] =
	    QUEUE_CLAIM_COLUMNS
	    " FROM jobs FORCE INDEX (jobs_lease)"
	    " WHERE status = 'running' AND locked_until <= NOW(6)"
	    " ORDER BY locked_until, id LIMIT ? FOR UPDATE SKIP LOCKED",
	[STMT_QUEUE_LEASE] =
	    "UPDATE jobs SET status = 'running', attempts = attempts + 1,"
	    " locked_by = ?, locked_until = NOW(6) + INTERVAL ? SECOND,"
	    " lease_token = ? WHERE id IN (" Q10 "," Q10 "," Q10 "," Q10 "," Q10 ")",
	[STMT_QUEUE_COMPLETE] =
	    "UPDATE jobs SET status = 'done', locked_by = NULL,"
	    " locked_until = NULL, lease_token = NULL"
	    " WHERE id = ? AND lease_token = ?",
	[STMT_QUEUE_RETRY] =
	    "UPDATE jobs SET status = 'pending',"
	    " run_at = NOW(6) + INTERVAL ? MICROSECOND, last_error = ?,"
	    " locked_by = NULL, locked_until = NULL, lease_token = NULL"
	    " WHERE id = ? AND lease_token = ?",
	[STMT_QUEUE_DEAD] =
	    "UPDATE jobs SET status = 'dead', last_error = ?,"
	    " locked_by = NULL, locked_until = NULL, lease_token = NULL"
	    " WHERE id = ? AND lease_token = ?",
	[STMT_QUEUE_DEAD_LETTER] =
	    "INSERT INTO dead_letter_jobs (job_id, type, payload, attempts,"
	    " last_error) SELECT id, type, payload, attempts, last_error"
	    " FROM jobs WHERE id = ?",
	[STMT_QUEUE_RENEW] =
	    "UPDATE jobs SET locked_until = NOW(6) + INTERVAL ? SECOND"
	    " WHERE id = ? AND lease_token = ? AND status = 'running'",
	[STMT_QUEUE_RELEASE] =
	    "UPDATE jobs SET status = 'pending', attempts = GREATEST(attempts, 1) - 1,"
	    " locked_by = NULL, locked_until = NULL, lease_token = NULL"
	    " WHERE id = ? AND lease_token = ?",

	/* the UNIQUE idempotency_key index */
	[STMT_QUEUE_STATE_BY_KEY] =
	    "SELECT status FROM jobs WHERE idempotency_key = ?",
	/* counts of pending, running and dead use the (status, ...)
	 * indexes; "done" grows without bound and is never counted */
	[STMT_QUEUE_COUNT_BY_STATUS] =
	    "SELECT 'pending', COUNT(*) FROM jobs WHERE status = 'pending'"
	    " UNION ALL SELECT 'running', COUNT(*) FROM jobs"
	    " WHERE status = 'running'"
	    " UNION ALL SELECT 'dead', COUNT(*) FROM jobs WHERE status = 'dead'",
	[STMT_QUEUE_OLDEST_DUE] =
	    "SELECT COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(run_at), NOW(6)),"
	    " 0) FROM jobs WHERE status = 'pending' AND run_at <= NOW(6)",
	[STMT_QUEUE_DEAD_OPEN] =
	    "SELECT COUNT(*) FROM dead_letter_jobs WHERE replayed_at IS NULL",
	[STMT_QUEUE_DEAD_LIST_OPEN] =
	    QUEUE_DEAD_LIST_COLUMNS " WHERE replayed_at IS NULL"
	    " ORDER BY failed_at, id LIMIT 1001",
	[STMT_QUEUE_DEAD_LIST_ALL] =
	    QUEUE_DEAD_LIST_COLUMNS " ORDER BY failed_at, id LIMIT 1001",
	/* the latest dead letter of a job (one per death) */
	[STMT_QUEUE_DEAD_SHOW] =
	    "SELECT d.id, d.type, d.attempts,"
	    " DATE_FORMAT(d.failed_at, '%Y-%m-%d %H:%i:%s.%f'),"
	    " COALESCE(DATE_FORMAT(d.replayed_at, '%Y-%m-%d %H:%i:%s.%f'),"
	    " '-'), COALESCE(j.status, 'pruned'), LENGTH(d.payload),"
	    " LEFT(COALESCE(d.last_error, ''), 1048576),"
	    " LEFT(d.payload, 1048576)"
	    " FROM dead_letter_jobs d LEFT JOIN jobs j ON j.id = d.job_id"
	    " WHERE d.job_id = ? ORDER BY d.id DESC LIMIT 1",
	[STMT_QUEUE_REPLAY_JOB] =
	    "UPDATE jobs SET status = 'pending', attempts = 0, run_at = NOW(6),"
	    " locked_by = NULL, locked_until = NULL, lease_token = NULL"
	    " WHERE id = ? AND status = 'dead'",
	[STMT_QUEUE_REPLAY_LETTER] =
	    "UPDATE dead_letter_jobs SET replayed_at = NOW(6)"
	    " WHERE job_id = ? AND replayed_at IS NULL",
	[STMT_QUEUE_REPLAY_ALL_JOBS] =
	    "UPDATE jobs SET status = 'pending', attempts = 0, run_at = NOW(6),"
	    " locked_by = NULL, locked_until = NULL, lease_token = NULL"
	    " WHERE status = 'dead'",
	[STMT_QUEUE_REPLAY_ALL_LETTERS] =
	    "UPDATE dead_letter_jobs SET replayed_at = NOW(6)"
	    " WHERE replayed_at IS NULL",
	[STMT_QUEUE_PRUNE] =
	    "DELETE FROM jobs WHERE status = 'done'"
	    " AND updated_at < NOW(6) - INTERVAL ? DAY"
	    " LIMIT " CORE_STR(QUEUE_PRUNE_BATCH),
	/* the write's last statement before COMMIT (cache.h, THE LOG) */
	[STMT_CACHE_LOG_INSERT] =
	    "INSERT INTO cache_invalidations (namespaces) VALUES (?)",
	/* the poller: rows past the highest seen, by primary key */
	[STMT_CACHE_LOG_AFTER] =
	    "SELECT id, namespaces FROM cache_invalidations WHERE id > ?"
	    " ORDER BY id LIMIT " CORE_STR(CACHE_LOG_PAGE),
	/* ids missing below it (a transaction not yet committed), padded by
	 * repeating one */
	[STMT_CACHE_LOG_IDS] =
	    "SELECT id, namespaces FROM cache_invalidations WHERE id IN ("
	    "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[STMT_CACHE_LOG_MAX] =
	    "SELECT COALESCE(MAX(id), 0) FROM cache_invalidations",
	/* rows older than every value they could invalidate (by
	 * cache_invalidations_created) */
	[STMT_CACHE_LOG_PRUNE] =
	    "DELETE FROM cache_invalidations"
	    " WHERE created_at < NOW(6) - INTERVAL ? SECOND"
	    " LIMIT " CORE_STR(CACHE_LOG_PRUNE_BATCH),
	[STMT_CACHE_HOST_GET] =
	    "SELECT applied_id, servers_hash FROM cache_hosts WHERE host = ?",
	[STMT_CACHE_HOST_PUT] =
	    "INSERT INTO cache_hosts (host, servers_hash, servers, applied_id,"
	    " updated_at) VALUES (?, ?, ?, ?, NOW(6)) ON DUPLICATE KEY UPDATE"
	    " servers_hash = VALUES(servers_hash), servers = VALUES(servers),"
	    " applied_id = VALUES(applied_id), updated_at = NOW(6)",
	/* live hosts, and how many of them name another server list */
	[STMT_CACHE_HOSTS_LIVE] =
	    "SELECT COUNT(*), COALESCE(SUM(servers_hash <> ?), 0)"
	    " FROM cache_hosts WHERE updated_at > NOW(6) - INTERVAL "
	    CORE_STR(CACHE_HOSTS_LIVE_SECONDS) " SECOND",

	/* newest first; a status filter reads the (status, ...) indexes,
	 * a type filter scans (admin pages only, never on a hot path) */
	[STMT_QUEUE_JOBS_ALL] =
	    QUEUE_JOB_COLUMNS " FROM jobs" QUEUE_JOB_PAGE,
	[STMT_QUEUE_JOBS_STATUS] =
	    QUEUE_JOB_COLUMNS " FROM jobs WHERE status = ?" QUEUE_JOB_PAGE,
	[STMT_QUEUE_JOBS_TYPE] =
	    QUEUE_JOB_COLUMNS " FROM jobs WHERE type = ?" QUEUE_JOB_PAGE,
	[STMT_QUEUE_JOBS_STATUS_TYPE] =
	    QUEUE_JOB_COLUMNS " FROM jobs WHERE status = ? AND type = ?"
	    QUEUE_JOB_PAGE,
	/* the UNIQUE idempotency_key index: at most one row, so the other
	 * filters may be bound as NULL (any) */
	[STMT_QUEUE_JOBS_KEY] =
	    QUEUE_JOB_COLUMNS " FROM jobs WHERE idempotency_key = ?"
	    " AND (? IS NULL OR status = ?) AND (? IS NULL OR type = ?)",
	[STMT_QUEUE_JOBS_COUNT_ALL] =
	    "SELECT COUNT(*) FROM jobs",
	[STMT_QUEUE_JOBS_COUNT_STATUS] =
	    "SELECT COUNT(*) FROM jobs WHERE status = ?",
	[STMT_QUEUE_JOBS_COUNT_TYPE] =
	    "SELECT COUNT(*) FROM jobs WHERE type = ?",
	[STMT_QUEUE_JOBS_COUNT_STATUS_TYPE] =
	    "SELECT COUNT(*) FROM jobs WHERE status = ? AND type = ?",
	[STMT_QUEUE_JOB_GET] =
	    QUEUE_JOB_COLUMNS ", LENGTH(payload), LEFT(payload, 1048576)"
	    " FROM jobs WHERE id = ?",
	/* the latest dead letter of a job (one per death) */
	[STMT_QUEUE_JOB_DEAD_LETTER] =
	    "SELECT " QUEUE_ISO("failed_at") ", " QUEUE_ISO("replayed_at") ","
	    " last_error FROM dead_letter_jobs WHERE job_id = ?"
	    " ORDER BY id DESC LIMIT 1",
	/* jobs_prune (status, updated_at): an index range, but as long as
	 * the done rows `prune` keeps */
	[STMT_QUEUE_COUNT_DONE] =
	    "SELECT COUNT(*) FROM jobs WHERE status = 'done'",
	/* the database's clock, not this host's: every app host draws the
	 * same minutes */
	[STMT_QUEUE_NOW_MINUTE] =
	    "SELECT UNIX_TIMESTAMP() DIV 60",
	/* per minute of the last hour, by age in minutes (0 = the current
	 * one): jobs done (jobs_prune), jobs waiting for a retry whose last
	 * attempt failed then (jobs_claim), dead letters (the open ones and
	 * the replayed ones, each through dead_letter_jobs_open).  Bound:
	 * the current minute, nine times. */
	[STMT_QUEUE_THROUGHPUT] =
	    "SELECT age, CAST(SUM(kind = 0) AS SIGNED),"
	    " CAST(SUM(kind = 1) AS SIGNED), CAST(SUM(kind = 2) AS SIGNED)"
	    " FROM ("
	    "SELECT ? - UNIX_TIMESTAMP(updated_at) DIV 60 AS age, 0 AS kind"
	    " FROM jobs WHERE status = 'done'"
	    " AND updated_at >= " QUEUE_WINDOW_START
	    " UNION ALL SELECT ? - UNIX_TIMESTAMP(updated_at) DIV 60, 1"
	    " FROM jobs WHERE status = 'pending' AND attempts > 0"
	    " AND updated_at >= " QUEUE_WINDOW_START
	    " UNION ALL SELECT ? - UNIX_TIMESTAMP(failed_at) DIV 60, 2"
	    " FROM dead_letter_jobs WHERE replayed_at IS NULL"
	    " AND failed_at >= " QUEUE_WINDOW_START
	    " UNION ALL SELECT ? - UNIX_TIMESTAMP(failed_at) DIV 60, 2"
	    " FROM dead_letter_jobs WHERE replayed_at >= " QUEUE_WINDOW_START
	    " AND failed_at >= " QUEUE_WINDOW_START
	    ") t GROUP BY age",
};

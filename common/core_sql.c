/*
 * core_sql.c: the texts of the core's statements (core_sql.h).
 *
 * Placeholder lists of a fixed length (STMT_JOBS_LEASE) are padded by the
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
#define JOBS_CLAIM_COLUMNS \
    "SELECT id, type, idempotency_key, attempts, max_attempts," \
    " LENGTH(payload)," \
    " IF(LENGTH(payload) <= " CORE_STR(JOBS_PAYLOAD_MAX) ", payload, '')," \
    " EXISTS (SELECT 1 FROM dead_letter_jobs d WHERE d.job_id = jobs.id)"

_Static_assert(JOBS_LEASE_CHUNK == 50, "STMT_JOBS_LEASE has 5 x Q10 ids");

const char *const core_sql[STMT_CORE__MAX] = {
	/* innodb_lock_wait_timeout below the client's read timeout (db.c) */
	[STMT_LOCK_WAIT] =
	    "SET SESSION innodb_lock_wait_timeout = ?",
	/* the claim forces the narrow indexes, so it reads only due rows
	 * however many done rows the table holds (jobs.c) */
	[STMT_JOBS_CLAIM_PENDING] =
	    JOBS_CLAIM_COLUMNS
	    " FROM jobs FORCE INDEX (jobs_claim)"
	    " WHERE status = 'pending' AND run_at <= NOW(6)"
	    " ORDER BY run_at, id LIMIT ? FOR UPDATE SKIP LOCKED",
	[STMT_JOBS_CLAIM_EXPIRED] =
	    JOBS_CLAIM_COLUMNS
	    " FROM jobs FORCE INDEX (jobs_lease)"
	    " WHERE status = 'running' AND locked_until <= NOW(6)"
	    " ORDER BY locked_until, id LIMIT ? FOR UPDATE SKIP LOCKED",
	[STMT_JOBS_LEASE] =
	    "UPDATE jobs SET status = 'running', attempts = attempts + 1,"
	    " locked_by = ?, locked_until = NOW(6) + INTERVAL ? SECOND,"
	    " lease_token = ? WHERE id IN (" Q10 "," Q10 "," Q10 "," Q10 "," Q10 ")",
	[STMT_JOBS_COMPLETE] =
	    "UPDATE jobs SET status = 'done', locked_by = NULL,"
	    " locked_until = NULL, lease_token = NULL"
	    " WHERE id = ? AND lease_token = ?",
	[STMT_JOBS_RETRY] =
	    "UPDATE jobs SET status = 'pending',"
	    " run_at = NOW(6) + INTERVAL ? MICROSECOND, last_error = ?,"
	    " locked_by = NULL, locked_until = NULL, lease_token = NULL"
	    " WHERE id = ? AND lease_token = ?",
	[STMT_JOBS_DEAD] =
	    "UPDATE jobs SET status = 'dead', last_error = ?,"
	    " locked_by = NULL, locked_until = NULL, lease_token = NULL"
	    " WHERE id = ? AND lease_token = ?",
	[STMT_JOBS_DEAD_LETTER] =
	    "INSERT INTO dead_letter_jobs (job_id, type, payload, attempts,"
	    " last_error) SELECT id, type, payload, attempts, last_error"
	    " FROM jobs WHERE id = ?",
	[STMT_JOBS_RENEW] =
	    "UPDATE jobs SET locked_until = NOW(6) + INTERVAL ? SECOND"
	    " WHERE id = ? AND lease_token = ? AND status = 'running'",
	[STMT_JOBS_RELEASE] =
	    "UPDATE jobs SET status = 'pending', attempts = GREATEST(attempts, 1) - 1,"
	    " locked_by = NULL, locked_until = NULL, lease_token = NULL"
	    " WHERE id = ? AND lease_token = ?",
	[STMT_JOBS_REPLAY_JOB] =
	    "UPDATE jobs SET status = 'pending', attempts = 0, run_at = NOW(6),"
	    " locked_by = NULL, locked_until = NULL, lease_token = NULL"
	    " WHERE id = ? AND status = 'dead'",
	[STMT_JOBS_REPLAY_LETTER] =
	    "UPDATE dead_letter_jobs SET replayed_at = NOW(6)"
	    " WHERE job_id = ? AND replayed_at IS NULL",
	[STMT_JOBS_REPLAY_ALL_JOBS] =
	    "UPDATE jobs SET status = 'pending', attempts = 0, run_at = NOW(6),"
	    " locked_by = NULL, locked_until = NULL, lease_token = NULL"
	    " WHERE status = 'dead'",
	[STMT_JOBS_REPLAY_ALL_LETTERS] =
	    "UPDATE dead_letter_jobs SET replayed_at = NOW(6)"
	    " WHERE replayed_at IS NULL",
	[STMT_JOBS_PRUNE] =
	    "DELETE FROM jobs WHERE status = 'done'"
	    " AND updated_at < NOW(6) - INTERVAL ? DAY"
	    " LIMIT " CORE_STR(JOBS_PRUNE_BATCH),
};

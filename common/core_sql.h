/*
 * core_sql.h: the statements of the shared core (the session setting db.c
 * makes on every link, and the job queue's), numbered 0..STMT_CORE__MAX-1.
 * A program's own statements are numbered on from STMT_CORE__MAX (db.h).
 * The texts are in core_sql.c, each beside a note of the index it uses.
 */
#ifndef CORE_CORE_SQL_H
#define CORE_CORE_SQL_H

enum core_stmt {
	STMT_LOCK_WAIT = 0,		/* SET innodb_lock_wait_timeout */
	/* the queue (jobs.c) */
	STMT_JOBS_CLAIM_PENDING,
	STMT_JOBS_CLAIM_EXPIRED,
	STMT_JOBS_LEASE,
	STMT_JOBS_COMPLETE,
	STMT_JOBS_RETRY,
	STMT_JOBS_DEAD,
	STMT_JOBS_DEAD_LETTER,
	STMT_JOBS_RENEW,
	STMT_JOBS_RELEASE,
	STMT_JOBS_REPLAY_JOB,
	STMT_JOBS_REPLAY_LETTER,
	STMT_JOBS_REPLAY_ALL_JOBS,
	STMT_JOBS_REPLAY_ALL_LETTERS,
	STMT_JOBS_PRUNE,
	STMT_CORE__MAX
};

/* Shapes of statements that callers must match. */
#define JOBS_LEASE_CHUNK	50	/* ids in STMT_JOBS_LEASE */
#define JOBS_PRUNE_BATCH	1000	/* rows a STMT_JOBS_PRUNE deletes */

extern const char *const core_sql[STMT_CORE__MAX];

#endif

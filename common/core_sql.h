/*
 * core_sql.h: the statements of the shared core (the session setting db.c
 * makes on every link, the job queue's: queue.c, and the
 * cache's invalidation log: cache.c, cache_sync.c), numbered
 * 0..STMT_CORE__MAX-1.  A program's own statements are numbered on from
 * STMT_CORE__MAX (db.h).  The texts are in core_sql.c, each beside a note
 * of the index it uses.
 */
#ifndef CORE_CORE_SQL_H
#define CORE_CORE_SQL_H

enum core_stmt {
	STMT_LOCK_WAIT = 0,		/* SET innodb_lock_wait_timeout */
	/* the queue (queue.c): producers */
	STMT_QUEUE_ENQUEUE,
	/* the runner's lease lifecycle (queue.c) */
	STMT_QUEUE_CLAIM_PENDING,
	STMT_QUEUE_CLAIM_EXPIRED,
	STMT_QUEUE_LEASE,
	STMT_QUEUE_COMPLETE,
	STMT_QUEUE_RETRY,
	STMT_QUEUE_DEAD,
	STMT_QUEUE_DEAD_LETTER,
	STMT_QUEUE_RENEW,
	STMT_QUEUE_RELEASE,
	/* operators and dashboards (queue_admin.c) */
	STMT_QUEUE_STATE_BY_KEY,
	STMT_QUEUE_COUNT_BY_STATUS,
	STMT_QUEUE_OLDEST_DUE,
	STMT_QUEUE_DEAD_OPEN,
	STMT_QUEUE_DEAD_LIST_OPEN,
	STMT_QUEUE_DEAD_LIST_ALL,
	STMT_QUEUE_DEAD_SHOW,
	STMT_QUEUE_REPLAY_JOB,
	STMT_QUEUE_REPLAY_LETTER,
	STMT_QUEUE_REPLAY_ALL_JOBS,
	STMT_QUEUE_REPLAY_ALL_LETTERS,
	STMT_QUEUE_PRUNE,
	/* the cache's invalidation log and host table (cache.c,
	 * cache_sync.c) */
	STMT_CACHE_LOG_INSERT,
	STMT_CACHE_LOG_AFTER,
	STMT_CACHE_LOG_IDS,
	STMT_CACHE_LOG_MAX,
	STMT_CACHE_LOG_PRUNE,
	STMT_CACHE_HOST_GET,
	STMT_CACHE_HOST_PUT,
	STMT_CACHE_HOSTS_LIVE,
	/* the admin HTTP API (queue_admin.c): one list and one count per
	 * filter, so each uses its own index */
	STMT_QUEUE_JOBS_ALL,
	STMT_QUEUE_JOBS_STATUS,
	STMT_QUEUE_JOBS_TYPE,
	STMT_QUEUE_JOBS_STATUS_TYPE,
	STMT_QUEUE_JOBS_KEY,
	STMT_QUEUE_JOBS_COUNT_ALL,
	STMT_QUEUE_JOBS_COUNT_STATUS,
	STMT_QUEUE_JOBS_COUNT_TYPE,
	STMT_QUEUE_JOBS_COUNT_STATUS_TYPE,
	STMT_QUEUE_JOB_GET,
	STMT_QUEUE_JOB_DEAD_LETTER,
	STMT_QUEUE_COUNT_DONE,
	STMT_QUEUE_NOW_MINUTE,
	STMT_QUEUE_THROUGHPUT,
	STMT_CORE__MAX
};

/* Shapes of statements that callers must match. */
#define QUEUE_LEASE_CHUNK	50	/* ids in STMT_QUEUE_LEASE */
#define QUEUE_PRUNE_BATCH	1000	/* rows a STMT_QUEUE_PRUNE deletes */
#define QUEUE_DEAD_LIST_MAX	1000	/* rows `dead list` shows (+1 read) */
#define QUEUE_ERROR_LINE_MAX	200	/* characters of an error in a list */
#define QUEUE_THROUGHPUT_MINUTES 60	/* STMT_QUEUE_THROUGHPUT's window */
#define QUEUE_SHOW_MAX		(1024 * 1024)	/* characters of payload and
						   error STMT_QUEUE_DEAD_SHOW
						   reads */
#define CACHE_LOG_PAGE		500	/* rows a STMT_CACHE_LOG_AFTER reads */
#define CACHE_LOG_IDS		16	/* ids in STMT_CACHE_LOG_IDS */
#define CACHE_LOG_PRUNE_BATCH	1000	/* rows a STMT_CACHE_LOG_PRUNE deletes */
#define CACHE_HOSTS_LIVE_SECONDS 10	/* a host row this recent is live */

extern const char *const core_sql[STMT_CORE__MAX];

#endif

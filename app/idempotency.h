/*
 * idempotency.h: the Idempotency-Key header of POST /api/orders (IETF
 * httpapi idempotency-key draft semantics; docs/API.md).
 *
 * Flow, one struct idem per request:
 *   idem_parse()    at the boundary, before any database work: no header
 *                   means "not idempotent"; a bad one is a 400.  Computes
 *                   SHA-256 over method, path and body.
 *   idem_claim()    takes the key's named lock (GET_LOCK, no wait) on this
 *                   worker's database connection, then INSERTs the key
 *                   (state in_progress, a fresh random owner_token,
 *                   expires_at now + 24 h) in its own autocommit statement.
 *                   The lock is what "still being handled" means: the
 *                   server releases it when the connection ends, so a
 *                   worker killed in the middle of an order frees its key
 *                   at once instead of leaving a 409 behind.  Lock held
 *                   elsewhere: other hash -> 422, else 409.  On a
 *                   primary-key collision the stored row decides: other
 *                   hash -> 422; done -> the stored status and body, byte
 *                   for byte (plus Location); in_progress with the same
 *                   hash while we hold the lock -> its owner is gone: we
 *                   take it over by replacing its owner_token (a fenced
 *                   UPDATE).  An expired row counts as absent.
 *   idem_record()   stores the final answer and state done, fenced by our
 *                   owner_token: IDEM_TAKEN when the key is no longer ours.
 *                   The order path calls it inside the order transaction,
 *                   so a committed order always has its recorded answer and
 *                   an order whose key was taken over rolls back; 4xx
 *                   outcomes (409 stock, 422 product) are recorded in
 *                   autocommit after the rollback.
 *   idem_release()  deletes our in_progress row after a 5xx, so the client
 *                   may retry.  Fenced too, and only a row still
 *                   in_progress: if the COMMIT's answer was lost but the
 *                   commit happened, the done row stays and the retry
 *                   replays the 201.
 *   idem_finish()   releases the named lock; called once on every path
 *                   after idem_claim().
 *
 * WHY THE TOKEN.  The named lock lives on one database link.  db.c may
 * replace a dead link (a statement that found it gone, or db_tx rerunning
 * the order on a new link), and then the lock is silently gone while this
 * request goes on; a client retrying the same key meanwhile gets the lock,
 * finds the in_progress row and takes over.  The owner_token makes that
 * harmless: whichever of the two records second matches no row and rolls
 * its order back, so one key never yields two orders, whatever the links
 * do.  The lock only decides who may take over and who gets a quick 409;
 * correctness rests on the token.  A request notices a replaced link
 * (db->links moved) and no longer counts itself the lock's holder.
 *
 * Cleanup: every IDEM_PRUNE_EVERY-th claim of a worker (the first one
 * included) deletes up to IDEM_PRUNE_BATCH expired rows.
 */
#ifndef APP_IDEMPOTENCY_H
#define APP_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "app.h"

#define IDEM_KEY_MAX		255
#define IDEM_HASH_LEN		32
#define IDEM_TTL_HOURS		24
#define IDEM_PRUNE_EVERY	1000
#define IDEM_PRUNE_BATCH	100
#define IDEM_BODY_MAX		(64 * 1024)

struct idem {
	int		 present;	/* the request carried a key */
	int		 claimed;	/* we own the in_progress row */
	int		 locked;	/* we took the named lock */
	uint64_t	 lock_link;	/* on this link (db->links) */
	int64_t		 token;		/* our owner_token */
	char		 lock_name[64];	/* "ik:" + 60 hex of SHA-256(key) */
	char		 key[IDEM_KEY_MAX + 1];
	size_t		 key_len;
	unsigned char	 hash[IDEM_HASH_LEN];
};

enum idem_claim_result {
	IDEM_PROCEED = 0,	/* handle the request, then record or release */
	IDEM_ANSWERED		/* res holds the replay, 409, 422 or 503 */
};

/* 0 (idem->present says whether there was a key), or -1 with a 400 in res. */
int idem_parse(const struct request *req, struct idem *idem,
    struct response *res);
enum idem_claim_result idem_claim(struct app *app, struct idem *idem,
    struct response *res);
/* The key was taken over by another request (idem_record). */
#define IDEM_TAKEN	1

/* Stores status and body as the answer: DB_OK, IDEM_TAKEN or DB_E*.
 * No-op without key. */
int idem_record(struct app *app, struct idem *idem, int status,
    const struct buf *body, uint64_t order_id);
void idem_release(struct app *app, struct idem *idem);
/* Releases the key's named lock, if held.  No-op without key. */
void idem_finish(struct app *app, struct idem *idem);

#endif

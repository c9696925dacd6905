/*
 * idempotency.c: claim, replay, record and release Idempotency-Key rows;
 * the flow and its invariants are in idempotency.h.
 *
 * The request hash is SHA-256 over "METHOD\nPATH\n" and the raw body
 * (libcrypto).  It travels to and from the BINARY(32) column as hex through
 * UNHEX()/HEX(), so no raw byte ever goes through a character set.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <errmsg.h>
#include <mysqld_error.h>
#include <openssl/evp.h>

#include "app_sql.h"
#include "idempotency.h"
#include "log.h"
#include "util.h"

#define IDEM_CLAIM_TRIES	3

/* claims made by this worker's threads, for the occasional prune */
static uint64_t idem_claims;

/* A stored row as idem_lookup() reads it. */
struct idem_row {
	char		 hash_hex[IDEM_HASH_LEN * 2 + 1];
	char		 state[17];
	int64_t		 status;
	char		*body;		/* IDEM_BODY_MAX bytes, owned */
	size_t		 body_len;
	int64_t		 order_id;
	int		 dead;		/* expired */
	int64_t		 token;		/* owner_token */
};

static int
idem_hash(const struct request *req, unsigned char out[IDEM_HASH_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int len = 0;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, req->method_name,
	    strlen(req->method_name)) == 1 &&
	    EVP_DigestUpdate(ctx, "\n", 1) == 1 &&
	    EVP_DigestUpdate(ctx, req->path, strlen(req->path)) == 1 &&
	    EVP_DigestUpdate(ctx, "\n", 1) == 1 &&
	    EVP_DigestUpdate(ctx, req->body.data, req->body.len) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == IDEM_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
idem_parse(const struct request *req, struct idem *idem, struct response *res)
{
	const char *k = req->idempotency_key;
	size_t i, len;

	memset(idem, 0, sizeof(*idem));
	if (k == NULL)
		return 0;
	len = strlen(k);
	for (i = 0; i < len; i++)
		if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
			break;
	if (len == 0 || len > IDEM_KEY_MAX || i != len) {
		http_problem(res, 400, "Idempotency-Key must be 1..255 visible "
		    "ASCII characters");
		return -1;
	}
	memcpy(idem->key, k, len + 1);
	idem->key_len = len;
	if (idem_hash(req, idem->hash) != 0) {
		http_problem(res, 500, "internal error");
		return -1;
	}
	idem->present = 1;
	return 0;
}

/* 1 found, 0 absent, DB_ERR. */
static int
idem_lookup(struct app *app, const struct idem *idem, struct idem_row *row)
{
	struct db_val arg = db_str(idem->key, idem->key_len);
	struct db_val cols[7];
	int rc;

	cols[0] = db_out_str(row->hash_hex, sizeof(row->hash_hex));
	cols[1] = db_out_str(row->state, sizeof(row->state));
	cols[2] = db_out_i64();
	cols[3] = db_out_str(row->body, IDEM_BODY_MAX);
	cols[4] = db_out_i64();
	cols[5] = db_out_i64();
	cols[6] = db_out_i64();
	rc = db_query_row(&app->db, STMT_IDEM_LOOKUP, &arg, 1, cols, 7);
	if (rc != 1)
		return rc == 0 ? 0 : DB_ERR;
	row->status = cols[2].i;
	row->body_len = cols[3].len;
	row->order_id = cols[4].i;
	row->dead = cols[5].i != 0;
	row->token = cols[6].i;
	return 1;
}

/* The first answer again: same status, same bytes, same Location. */
static void
idem_replay(const struct idem_row *row, struct response *res)
{
	char location[64];

	http_json(res, (int)row->status, row->body, row->body_len);
	if (row->status >= 400)
		res->content_type = "application/problem+json";
	if (row->order_id > 0 && row->status == 201) {
		snprintf(location, sizeof(location), "/api/orders/%" PRId64,
		    row->order_id);
		http_header(res, "Location", location);
	}
	http_header(res, "Idempotent-Replayed", "true");
}

/* What a collision with a live row answers. */
static void
idem_collision(const struct idem *idem, const struct idem_row *row,
    struct response *res)
{
	char hex[IDEM_HASH_LEN * 2 + 1];

	util_hex(idem->hash, IDEM_HASH_LEN, hex);
	if (strcasecmp(hex, row->hash_hex) != 0)
		http_problem(res, 422, "this Idempotency-Key was already used "
		    "with a different request");
	else if (strcmp(row->state, "done") != 0)
		http_problem(res, 409, "a request with this Idempotency-Key is "
		    "still being processed");
	else
		idem_replay(row, res);
}

/* "ik:" + the first 60 hex digits of SHA-256(key): within MariaDB's
 * 64-character lock names, and case-sensitive keys stay distinct. */
static int
idem_lock_name(struct idem *idem)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[EVP_MAX_MD_SIZE * 2 + 1];

	if (EVP_Digest(idem->key, idem->key_len, digest, &len, EVP_sha256(),
	    NULL) != 1 || len != IDEM_HASH_LEN)
		return -1;
	util_hex(digest, len, hex);
	snprintf(idem->lock_name, sizeof(idem->lock_name), "ik:%.60s", hex);
	return 0;
}

/* 1 locked, 0 held by another connection, -1 error. */
static int
idem_lock(struct app *app, struct idem *idem)
{
	struct db_val name = db_cstr(idem->lock_name), got = db_out_i64();

	if (db_query_row(&app->db, STMT_IDEM_LOCK, &name, 1, &got, 1) != 1 ||
	    got.is_null)
		return -1;
	idem->locked = got.i == 1;
	idem->lock_link = app->db.links;
	return idem->locked ? 1 : 0;
}

/* 1 while the link that took the named lock is still this worker's link
 * (a replaced link took the lock with it). */
static int
idem_holds_lock(const struct app *app, const struct idem *idem)
{
	return idem->locked && app->db.connected &&
	    idem->lock_link == app->db.links;
}

void
idem_finish(struct app *app, struct idem *idem)
{
	struct db_val name, got = db_out_i64();

	if (!idem_holds_lock(app, idem)) {
		idem->locked = 0;
		return;
	}
	idem->locked = 0;
	name = db_cstr(idem->lock_name);
	if (db_query_row(&app->db, STMT_IDEM_UNLOCK, &name, 1, &got, 1) != 1)
		log_msg(LOG_WARN, "event=idempotency_unlock_failed");
}

/*
 * Takes an in_progress row over from its vanished owner: 1 ours now, 0 the
 * row moved on meanwhile (look again), DB_E*.
 */
static int
idem_takeover(struct app *app, struct idem *idem, const struct idem_row *row)
{
	struct db_val a[3];
	uint64_t affected = 0;
	int64_t token = util_random_token();
	int rc;

	a[0] = db_i64(token);
	a[1] = db_str(idem->key, idem->key_len);
	a[2] = db_i64(row->token);
	if ((rc = db_exec(&app->db, STMT_IDEM_TAKEOVER, a, 3, &affected,
	    NULL)) != DB_OK)
		return rc;
	if (affected != 1)
		return 0;
	log_msg(LOG_INFO, "event=idempotency_takeover");
	idem->token = token;
	idem->claimed = 1;
	return 1;
}

/* The answer when another request holds the key's lock right now. */
static enum idem_claim_result
idem_busy(struct app *app, struct idem *idem, const char *hex,
    struct idem_row *row, struct response *res)
{
	int rc;

	if ((rc = idem_lookup(app, idem, row)) < 0)
		http_problem(res, 503, "database unavailable, try again");
	else if (rc == 1 && strcasecmp(hex, row->hash_hex) != 0)
		http_problem(res, 422, "this Idempotency-Key was already used "
		    "with a different request");
	else
		http_problem(res, 409, "a request with this Idempotency-Key is "
		    "still being processed");
	return IDEM_ANSWERED;
}

enum idem_claim_result
idem_claim(struct app *app, struct idem *idem, struct response *res)
{
	char hex[IDEM_HASH_LEN * 2 + 1];
	struct db_val args[3], key;
	struct idem_row row;
	enum idem_claim_result result = IDEM_ANSWERED;
	int64_t token;
	int try, rc;

	if (!idem->present)
		return IDEM_PROCEED;
	if (__atomic_fetch_add(&idem_claims, 1, __ATOMIC_RELAXED) %
	    IDEM_PRUNE_EVERY == 0)
		(void)db_exec(&app->db, STMT_IDEM_PRUNE, NULL, 0, NULL, NULL);
	memset(&row, 0, sizeof(row));
	if ((row.body = malloc(IDEM_BODY_MAX)) == NULL) {
		http_problem(res, 503, "service unavailable, try again");
		return IDEM_ANSWERED;
	}
	util_hex(idem->hash, IDEM_HASH_LEN, hex);
	key = db_str(idem->key, idem->key_len);
	if (idem_lock_name(idem) != 0 || (rc = idem_lock(app, idem)) < 0)
		goto unavailable;
	if (rc == 0) {
		result = idem_busy(app, idem, hex, &row, res);
		goto out;
	}
	for (try = 0; try < IDEM_CLAIM_TRIES; try++) {
		token = util_random_token();
		args[0] = key;
		args[1] = db_str(hex, IDEM_HASH_LEN * 2);
		args[2] = db_i64(token);
		if (db_exec(&app->db, STMT_IDEM_CLAIM, args, 3, NULL, NULL) ==
		    DB_OK) {
			idem->token = token;
			idem->claimed = 1;
			result = IDEM_PROCEED;
			goto out;
		}
		if (db_errno(&app->db) == CR_SERVER_GONE_ERROR)
			continue;	/* never reached the server: new link */
		if (db_errno(&app->db) != ER_DUP_ENTRY)
			goto unavailable;
		if ((rc = idem_lookup(app, idem, &row)) < 0)
			goto unavailable;
		if (rc == 0)
			continue;	/* released meanwhile: claim again */
		if (row.dead) {
			if (db_exec(&app->db, STMT_IDEM_FORGET_DEAD, &key, 1,
			    NULL, NULL) != DB_OK)
				goto unavailable;
			continue;
		}
		if (strcmp(row.state, "in_progress") != 0 ||
		    strcasecmp(hex, row.hash_hex) != 0) {
			idem_collision(idem, &row, res);
			goto out;
		}
		/* in_progress, same request: its owner is gone only if the
		 * lock we hold is still ours (our link never changed) */
		if (!idem_holds_lock(app, idem)) {
			result = idem_busy(app, idem, hex, &row, res);
			goto out;
		}
		if ((rc = idem_takeover(app, idem, &row)) < 0)
			goto unavailable;
		if (rc == 1) {
			result = IDEM_PROCEED;
			goto out;
		}
	}
	http_problem(res, 409, "a request with this Idempotency-Key is "
	    "still being processed");
	goto out;
unavailable:
	http_problem(res, 503, "database unavailable, try again");
out:
	free(row.body);
	return result;
}

int
idem_record(struct app *app, struct idem *idem, int status,
    const struct buf *body, uint64_t order_id)
{
	struct db_val args[5];
	uint64_t affected = 0;
	int rc;

	if (!idem->claimed)
		return DB_OK;
	args[0] = db_i64(status);
	args[1] = db_str(body->data, body->len);
	args[2] = order_id > 0 ? db_i64((int64_t)order_id) : db_cstr(NULL);
	args[3] = db_str(idem->key, idem->key_len);
	args[4] = db_i64(idem->token);
	if ((rc = db_exec(&app->db, STMT_IDEM_RECORD, args, 5, &affected,
	    NULL)) != DB_OK)
		return rc;
	if (affected != 1) {
		/* another request took the key over after our link (and
		 * with it our lock) went away: its answer is the one */
		log_msg(LOG_WARN, "event=idempotency_key_taken status=%d",
		    status);
		idem->claimed = 0;
		return IDEM_TAKEN;
	}
	return DB_OK;
}

void
idem_release(struct app *app, struct idem *idem)
{
	struct db_val args[2];

	if (!idem->claimed)
		return;
	args[0] = db_str(idem->key, idem->key_len);
	args[1] = db_i64(idem->token);
	if (db_exec(&app->db, STMT_IDEM_RELEASE, args, 2, NULL, NULL) != DB_OK)
		log_msg(LOG_WARN, "event=idempotency_release_failed");
	idem->claimed = 0;
}

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
#include <openssl/evp.h>

#include "idempotency.h"
#include "log.h"
#include "util.h"

#define IDEM_CLAIM_TRIES	3

static const char sql_claim[] =
    "INSERT INTO idempotency_keys (idem_key, request_hash, state, expires_at)"
    " VALUES (?, UNHEX(?), 'in_progress', NOW(6) + INTERVAL 24 HOUR)";

static const char sql_lookup[] =
    "SELECT HEX(request_hash), state, COALESCE(response_status, 0),"
    " COALESCE(response_body, ''), COALESCE(order_id, 0),"
    " expires_at < NOW(6)"
    " FROM idempotency_keys WHERE idem_key = ?";

static const char sql_forget_dead[] =
    "DELETE FROM idempotency_keys WHERE idem_key = ? AND expires_at < NOW(6)";

/* session-level named locks: released by the server if the link dies */
static const char sql_lock[] = "SELECT GET_LOCK(?, 0)";
static const char sql_unlock[] = "SELECT RELEASE_LOCK(?)";

static const char sql_record[] =
    "UPDATE idempotency_keys SET state = 'done', response_status = ?,"
    " response_body = ?, order_id = ? WHERE idem_key = ?"
    " AND state = 'in_progress'";

static const char sql_release[] =
    "DELETE FROM idempotency_keys WHERE idem_key = ?"
    " AND state = 'in_progress'";

static const char sql_prune[] =
    "DELETE FROM idempotency_keys WHERE expires_at < NOW(6) LIMIT 100";

/* claims made by this worker, for the occasional prune */
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
	struct db_val cols[6];
	int rc;

	cols[0] = db_out_str(row->hash_hex, sizeof(row->hash_hex));
	cols[1] = db_out_str(row->state, sizeof(row->state));
	cols[2] = db_out_i64();
	cols[3] = db_out_str(row->body, IDEM_BODY_MAX);
	cols[4] = db_out_i64();
	cols[5] = db_out_i64();
	rc = db_query_row(&app->db, sql_lookup, &arg, 1, cols, 6);
	if (rc != 1)
		return rc == 0 ? 0 : DB_ERR;
	row->status = cols[2].i;
	row->body_len = cols[3].len;
	row->order_id = cols[4].i;
	row->dead = cols[5].i != 0;
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

	if (db_query_row(&app->db, sql_lock, &name, 1, &got, 1) != 1 ||
	    got.is_null)
		return -1;
	idem->locked = got.i == 1;
	return idem->locked ? 1 : 0;
}

void
idem_finish(struct app *app, struct idem *idem)
{
	struct db_val name, got = db_out_i64();

	if (!idem->locked)
		return;
	idem->locked = 0;
	name = db_cstr(idem->lock_name);
	if (db_query_row(&app->db, sql_unlock, &name, 1, &got, 1) != 1)
		log_msg(LOG_WARN, "event=idempotency_unlock_failed");
}

enum idem_claim_result
idem_claim(struct app *app, struct idem *idem, struct response *res)
{
	char hex[IDEM_HASH_LEN * 2 + 1];
	struct db_val args[2], key;
	struct idem_row row;
	enum idem_claim_result result = IDEM_ANSWERED;
	int try, rc;

	if (!idem->present)
		return IDEM_PROCEED;
	if (idem_claims++ % IDEM_PRUNE_EVERY == 0)
		(void)db_exec(&app->db, sql_prune, NULL, 0, NULL, NULL);
	memset(&row, 0, sizeof(row));
	if ((row.body = malloc(IDEM_BODY_MAX)) == NULL) {
		http_problem(res, 503, "service unavailable, try again");
		return IDEM_ANSWERED;
	}
	util_hex(idem->hash, IDEM_HASH_LEN, hex);
	key = db_str(idem->key, idem->key_len);
	args[0] = key;
	args[1] = db_str(hex, IDEM_HASH_LEN * 2);
	if (idem_lock_name(idem) != 0 || (rc = idem_lock(app, idem)) < 0)
		goto unavailable;
	if (rc == 0) {
		/* another request with this key is being handled right now */
		if ((rc = idem_lookup(app, idem, &row)) == DB_ERR)
			goto unavailable;
		if (rc == 1 && strcasecmp(hex, row.hash_hex) != 0)
			http_problem(res, 422, "this Idempotency-Key was "
			    "already used with a different request");
		else
			http_problem(res, 409, "a request with this "
			    "Idempotency-Key is still being processed");
		goto out;
	}
	for (try = 0; try < IDEM_CLAIM_TRIES; try++) {
		if (db_exec(&app->db, sql_claim, args, 2, NULL, NULL) == DB_OK) {
			idem->claimed = 1;
			result = IDEM_PROCEED;
			goto out;
		}
		if (db_errno(&app->db) == CR_SERVER_GONE_ERROR)
			continue;	/* never reached the server: new link */
		if (db_errno(&app->db) != 1062)	/* ER_DUP_ENTRY */
			goto unavailable;
		if ((rc = idem_lookup(app, idem, &row)) == DB_ERR)
			goto unavailable;
		if (rc == 0)
			continue;	/* released meanwhile: claim again */
		if (row.dead) {
			if (db_exec(&app->db, sql_forget_dead, &key, 1, NULL,
			    NULL) != DB_OK)
				goto unavailable;
			continue;
		}
		if (strcmp(row.state, "in_progress") == 0 &&
		    strcasecmp(hex, row.hash_hex) == 0) {
			/* we hold the lock, so its owner died: take it over */
			log_msg(LOG_INFO, "event=idempotency_takeover");
			idem->claimed = 1;
			result = IDEM_PROCEED;
			goto out;
		}
		idem_collision(idem, &row, res);
		goto out;
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
	struct db_val args[4];
	uint64_t affected = 0;

	if (!idem->claimed)
		return DB_OK;
	args[0] = db_i64(status);
	args[1] = db_str(body->data, body->len);
	args[2] = order_id > 0 ? db_i64((int64_t)order_id) : db_cstr(NULL);
	args[3] = db_str(idem->key, idem->key_len);
	if (db_exec(&app->db, sql_record, args, 4, &affected, NULL) != DB_OK)
		return DB_ERR;
	if (affected != 1)
		log_msg(LOG_WARN, "event=idempotency_record_lost status=%d",
		    status);
	return DB_OK;
}

void
idem_release(struct app *app, struct idem *idem)
{
	struct db_val key = db_str(idem->key, idem->key_len);

	if (!idem->claimed)
		return;
	if (db_exec(&app->db, sql_release, &key, 1, NULL, NULL) != DB_OK)
		log_msg(LOG_WARN, "event=idempotency_release_failed");
	idem->claimed = 0;
}

/*
 * cache_near.c: the near cache in host memory; the layout, the seqlock and
 * the freshness rule are in cache_near.h and cache.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cache_near.h"
#include "cache_server.h"

#define NEAR_KEY_MAX	(CACHE_NS_MAX + CACHE_KEY_MAX + 8)
#define NEAR_TAKEN_STALE_MS 1000

struct near_entry {
	uint32_t	seq;		/* odd while written; its own word */
	uint32_t	unused;
	uint64_t	key_hash;
	uint32_t	key_len;
	uint32_t	body_len;
	uint64_t	tag;
	uint64_t	epoch;
	uint64_t	soft_ms;
	uint64_t	taken_ms;	/* when a writer took it */
	char		etag[CACHE_ETAG_MAX];
	char		key[NEAR_KEY_MAX];
	/* body follows, up to the class size */
};

/*
 * The data inside a seqlock is read while a writer may be changing it (the
 * sequence check throws such a copy away): every word is copied with a
 * atomic load (acquire) or store (relaxed), so that race is defined
 * behaviour (C11) and ThreadSanitizer sees the protocol it is.  On x86-64
 * these are plain moves.
 */
static void
near_copy_out(void *dst, const void *src, size_t n)
{
	const uint64_t *s = src;
	uint64_t *d = dst;
	size_t i;

	/* acquire, not relaxed: the sequence read after the copy cannot
	 * move before it (a fence would do, but ThreadSanitizer has none) */
	for (i = 0; i < (n + 7) / 8; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_ACQUIRE);
}

static void
near_copy_in(void *dst, const void *src, size_t n)
{
	uint64_t *d = dst, w;
	const unsigned char *s = src;
	size_t i;

	for (i = 0; i < n / 8; i++) {
		memcpy(&w, s + i * 8, 8);
		__atomic_store_n(&d[i], w, __ATOMIC_RELAXED);
	}
	if (n % 8 != 0) {
		w = 0;
		memcpy(&w, s + i * 8, n % 8);
		__atomic_store_n(&d[i], w, __ATOMIC_RELAXED);
	}
}

static const size_t near_class_size[CACHE_NEAR_CLASSES] = {
	1024, 4096, 16384, 65536
};

_Static_assert(sizeof(struct near_entry) < 1024, "class 0 holds no body");
_Static_assert(sizeof(struct near_entry) % 8 == 0, "copied by words");

struct near_class {
	unsigned char	*base;
	size_t		 count;	/* even */
	size_t		 size;
};

static uint64_t
near_hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a 64 */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The region is split in equal parts, one per class. */
static int
near_class(const struct cache_shared *s, int k, struct near_class *out)
{
	/* 64-byte aligned parts: entries are read and written by words */
	size_t part = s->near_bytes / CACHE_NEAR_CLASSES & ~(size_t)63;

	out->size = near_class_size[k];
	out->count = (part / out->size) & ~(size_t)1;
	out->base = s->near + part * (size_t)k;
	return s->near != NULL && out->count >= 2 ? 0 : -1;
}

static struct near_entry *
near_slot(const struct near_class *cl, uint64_t h, int way)
{
	size_t set = (size_t)(h % (cl->count / 2));

	return (struct near_entry *)(void *)(cl->base +
	    (set * 2 + (size_t)way) * cl->size);
}

void
cache_near_init(struct cache_shared *s)
{
	(void)s;	/* a fresh anonymous mapping is all zeros: every entry
			   empty (key_len 0), every sequence even */
}

uint64_t *
cache_near_tag(struct cache_shared *s, const char *ns)
{
	return &s->tags[near_hash(ns, strlen(ns)) % CACHE_TAGS];
}

void
cache_near_bump(struct cache_shared *s, const char *ns)
{
	__atomic_fetch_add(cache_near_tag(s, ns), 1, __ATOMIC_SEQ_CST);
}

/* Copies entry e out if it holds key under tag/epoch: 1, else 0. */
static int
near_read(const struct near_class *cl, struct near_entry *e, const char *key,
    size_t klen, uint64_t h, uint64_t tag, uint64_t epoch,
    struct near_entry *hdr, char **body)
{
	uint32_t s1, s2;
	size_t cap = cl->size - sizeof(*e);
	char *copy;

	s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
	if ((s1 & 1) || __atomic_load_n(&e->key_hash, __ATOMIC_RELAXED) != h)
		return 0;
	/* every word but the sequence's */
	memset(hdr, 0, sizeof(*hdr));
	near_copy_out((uint64_t *)(void *)hdr + 1, (const uint64_t *)(void *)e +
	    1, sizeof(*hdr) - 8);
	if (hdr->key_hash != h || hdr->key_len != klen || hdr->tag != tag ||
	    hdr->epoch != epoch || hdr->body_len > cap ||
	    memcmp(hdr->key, key, klen) != 0)
		return 0;
	if ((copy = malloc((size_t)hdr->body_len + 8)) == NULL)
		return 0;
	near_copy_out(copy, e + 1, hdr->body_len);
	s2 = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
	if (s1 != s2) {
		free(copy);
		return 0;
	}
	copy[hdr->body_len] = '\0';
	*body = copy;
	return 1;
}

int
cache_near_get(struct cache_shared *s, const char *key, uint64_t tag,
    uint64_t epoch, char **value, size_t *body_len, char *etag,
    uint64_t *soft_ms)
{
	size_t klen = strlen(key);
	uint64_t h = near_hash(key, klen);
	struct near_entry hdr, best_hdr = { 0 };
	struct near_class cl;
	char *body, *best = NULL;
	int k, way;

	if (klen >= NEAR_KEY_MAX)
		return 0;
	for (k = 0; k < CACHE_NEAR_CLASSES; k++) {
		if (near_class(s, k, &cl) != 0)
			continue;
		for (way = 0; way < 2; way++) {
			if (!near_read(&cl, near_slot(&cl, h, way), key, klen,
			    h, tag, epoch, &hdr, &body))
				continue;
			/* the same key in two classes (its answer grew):
			 * the later soft expiry is the later store */
			if (best == NULL || hdr.soft_ms > best_hdr.soft_ms) {
				free(best);
				best = body;
				best_hdr = hdr;
			} else
				free(body);
		}
	}
	if (best == NULL)
		return 0;
	*value = best;
	*body_len = best_hdr.body_len;
	memcpy(etag, best_hdr.etag, CACHE_ETAG_MAX);
	etag[CACHE_ETAG_MAX - 1] = '\0';
	*soft_ms = best_hdr.soft_ms;
	return 1;
}

/* Takes entry e for writing: 1 and *seq (the odd value), or 0. */
static int
near_take(struct near_entry *e, uint64_t now, uint32_t *seq)
{
	uint32_t s = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
	uint32_t next = s + 1;

	if (s & 1) {
		/* a writer that died in the middle: take it over */
		if (__atomic_load_n(&e->taken_ms, __ATOMIC_RELAXED) +
		    NEAR_TAKEN_STALE_MS > now)
			return 0;
		next = s + 2;
	}
	if (!__atomic_compare_exchange_n(&e->seq, &s, next, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return 0;
	__atomic_store_n(&e->taken_ms, now, __ATOMIC_RELAXED);
	*seq = next;
	return 1;
}

void
cache_near_put(struct cache_shared *s, const char *key, uint64_t tag,
    uint64_t epoch, const char *body, size_t len, const char *etag,
    uint64_t soft_ms)
{
	size_t klen = strlen(key);
	uint64_t h = near_hash(key, klen), now = cache_clock_ms();
	struct near_entry *e, *a, *b, hdr;
	struct near_class cl;
	uint32_t seq;
	int k;

	if (klen >= NEAR_KEY_MAX)
		return;
	for (k = 0; k < CACHE_NEAR_CLASSES; k++)
		if (near_class(s, k, &cl) == 0 &&
		    len <= cl.size - sizeof(struct near_entry))
			break;
	if (k == CACHE_NEAR_CLASSES)
		return;
	a = near_slot(&cl, h, 0);
	b = near_slot(&cl, h, 1);
	/* the key's own entry, else the one written longer ago */
	if (__atomic_load_n(&b->key_hash, __ATOMIC_RELAXED) == h)
		e = b;
	else if (__atomic_load_n(&a->key_hash, __ATOMIC_RELAXED) == h)
		e = a;
	else
		e = __atomic_load_n(&a->taken_ms, __ATOMIC_RELAXED) <=
		    __atomic_load_n(&b->taken_ms, __ATOMIC_RELAXED) ? a : b;
	if (!near_take(e, now, &seq))
		return;
	memset(&hdr, 0, sizeof(hdr));
	hdr.seq = seq;
	hdr.key_len = (uint32_t)klen;
	hdr.key_hash = h;
	hdr.tag = tag;
	hdr.epoch = epoch;
	hdr.soft_ms = soft_ms;
	hdr.taken_ms = now;
	hdr.body_len = (uint32_t)len;
	memcpy(hdr.etag, etag, CACHE_ETAG_MAX);
	memcpy(hdr.key, key, klen);
	/* the first word (the sequence) is ours already; the rest goes in
	 * word by word, then the even sequence publishes it */
	near_copy_in((uint64_t *)(void *)e + 1, (uint64_t *)(void *)&hdr + 1,
	    sizeof(hdr) - 8);
	near_copy_in(e + 1, body, len);
	__atomic_store_n(&e->seq, seq + 1, __ATOMIC_RELEASE);
}

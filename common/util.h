/*
 * util.h: checked parsers and small string helpers shared by every binary.
 *
 * Numbers from users, config files and the database reach the program only
 * through util_parse_*: the whole string must be a plain decimal number in
 * range (no sign unless allowed, no spaces, no trailing garbage, no
 * overflow).  Copies go through util_strlcpy, which always terminates and
 * reports truncation.
 */
#ifndef CORE_UTIL_H
#define CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* 0 and *out set when s is a decimal integer in [min, max]; -1 otherwise. */
int util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int util_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Same, for a counted (not NUL-terminated) string. */
int util_parse_u64n(const char *s, size_t len, uint64_t min, uint64_t max,
    uint64_t *out);

/* Copies with truncation check: returns strlen(src); >= size means cut. */
size_t util_strlcpy(char *dst, const char *src, size_t size);

/* Removes leading and trailing spaces and tabs in place; returns s. */
char *util_trim(char *s);

/* Constant-time comparison of two byte strings (length leaks, content not). */
int util_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Monotonic and wall clocks in milliseconds / microseconds. */
uint64_t util_now_ms(void);
uint64_t util_monotonic_us(void);

/* 1 when s[0..len) is valid UTF-8 with no NUL and no C0/DEL controls
 * except those allowed by allow_newlines (\t \n \r). */
int util_valid_utf8_text(const char *s, size_t len, int allow_newlines);

/* Random bytes from getrandom(2); 0 on success. */
int util_random(void *buf, size_t len);

/* A fresh, non-zero 63-bit random token (fencing tokens: a job's lease, an
 * Idempotency-Key's owner), so it fits a signed BIGINT too. */
int64_t util_random_token(void);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void util_hex(const unsigned char *in, size_t len, char *out);
/* The value of hex digit c (either case), or -1. */
int util_hex_digit(int c);

/* 1 when s is an ASCII mailbox local@domain.tld we accept (RFC 5321 limits,
 * dot-atom local part, LDH domain labels, no spaces or controls). */
int util_valid_email(const char *s, size_t len);

#endif

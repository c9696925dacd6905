/*
 * buf.h: a growable byte buffer with a hard ceiling.
 *
 * A buf never grows past its limit: an append that would cross it fails
 * and sets `overflow`, so callers check once at the end instead of after
 * every append.  The data is always NUL-terminated for convenience; len
 * does not count the terminator.
 */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 limit;
	int	 overflow;	/* sticky: an append failed */
};

void buf_init(struct buf *b, size_t limit);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quotes included). */
int buf_json_string(struct buf *b, const char *s, size_t len);

#endif

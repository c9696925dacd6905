/*
 * log.h: logfmt lines on stderr, one write(2) per line.
 *
 * Every line starts with ts=<RFC 3339 UTC> level=<level> prog=<name>, then
 * the caller's key=value pairs.  Values that may hold spaces, quotes or
 * user input go through log_quote(), which always yields one safe token:
 * control characters are escaped, so a log line can never be split or
 * forged by what a client sent.  Lines longer than LOG_LINE_MAX are cut.
 * Secrets (the admin token, passwords, mail bodies) are never passed here.
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stddef.h>

#define LOG_LINE_MAX 2048

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG
};

void log_init(const char *prog);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
/* "error", "warn", "info", "debug" -> level; -1 when unknown. */
int log_level_parse(const char *name);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes s as a logfmt value (quoted and escaped when needed) into buf. */
const char *log_quote(char *buf, size_t size, const char *s);

#endif

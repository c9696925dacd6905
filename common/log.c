/*
 * log.c: logfmt to stderr.  See log.h for the line format and the quoting
 * rule.  Each line is formatted into a stack buffer and written with one
 * write(2), so lines from several worker processes never interleave.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

#include "log.h"
#include "util.h"

static const char *log_prog = "catalog";
static enum log_level log_current = LOG_INFO;
static const char *const log_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *prog)
{
	log_prog = prog;
}

void
log_set_level(enum log_level level)
{
	log_current = level;
}

int
log_enabled(enum log_level level)
{
	return level <= log_current;
}

int
log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(log_names); i++)
		if (strcmp(name, log_names[i]) == 0)
			return (int)i;
	return -1;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n, m;

	if (!log_enabled(level))
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s prog=%s ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000),
	    log_names[level], log_prog);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	if ((size_t)n + (size_t)m >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;	/* cut, keep the newline */
	else
		n += m;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

const char *
log_quote(char *buf, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int needs = (*s == '\0');
	const char *p;

	for (p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
			needs = 1;
	}
	if (size < 3) {
		if (size > 0)
			buf[0] = '\0';
		return buf;
	}
	if (!needs) {
		util_strlcpy(buf, s, size);
		return buf;
	}
	buf[o++] = '"';
	for (p = s; *p != '\0' && o + 6 < size; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		} else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/*
 * metrics_file.c: the runner's textfile, summed across runs under a lock
 * (metrics_file.h says why and the rules).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "log.h"
#include "metrics_file.h"
#include "util.h"

#define MF_PATH_MAX	4096
#define MF_LINE_MAX	512

static const struct {
	const char	*name;
	const char	*help;
} mf_counters[MF__MAX] = {
	[MF_RUNS] = { "job_runner_runs_total",
	    "Runs (run --once passes and run --loop processes) that wrote "
	    "this file." },
	[MF_CLAIMED] = { "job_runner_jobs_claimed_total",
	    "Jobs claimed (released ones not counted)." },
	[MF_DONE] = { "job_runner_jobs_done_total", "Jobs done." },
	[MF_RETRIED] = { "job_runner_jobs_retried_total",
	    "Attempts that ended in a retry." },
	[MF_DEAD] = { "job_runner_jobs_dead_total", "Jobs dead-lettered." },
	[MF_LEASE_LOST] = { "job_runner_lease_lost_total",
	    "Outcomes dropped because another runner reclaimed the job." },
};

#define MF_LAST_SUCCESS	"job_runner_last_success_timestamp_seconds"
#define MF_LAST_RUN	"job_runner_last_run_timestamp_seconds"
#define MF_DURATION	"job_runner_run_duration_seconds"

/* A timestamp gauge in seconds (3 decimals) -> ms; -1 when not one. */
static int
mf_parse_seconds(const char *s, uint64_t *ms)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(d) || d < 0 ||
	    d > 1e12)
		return -1;
	*ms = (uint64_t)(d * 1000.0 + 0.5);
	return 0;
}

/* The end of a label set "{...}" starting at p (quoted values may hold
 * any character, with backslash escapes), or NULL. */
static char *
mf_skip_labels(char *p)
{
	int quoted = 0;

	for (p++; *p != '\0'; p++) {
		if (quoted && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '}')
			return p + 1;
	}
	return NULL;
}

/* One "name[{labels}] value" line into v: 0, or -1 when the line is
 * malformed or one of our counters has a bad value. */
static int
mf_parse_line(char *line, struct metrics_file_values *v)
{
	char *p = line, *value;
	int labels = 0;
	size_t i;

	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    *p == '_' || *p == ':' || (p > line && *p >= '0' && *p <= '9'))
		p++;
	if (p == line)
		return -1;
	if (*p == '{') {
		labels = 1;
		*p = '\0';
		if ((p = mf_skip_labels(p)) == NULL)
			return -1;
	}
	if (*p != ' ')
		return -1;
	*p = '\0';
	value = p + 1;
	if (labels)
		return 0;	/* none of ours has labels */
	for (i = 0; i < MF__MAX; i++)
		if (strcmp(line, mf_counters[i].name) == 0)
			return util_parse_u64(value, 0, UINT64_MAX,
			    &v->counter[i]) == 0 ? 0 : -1;
	if (strcmp(line, MF_LAST_SUCCESS) == 0)
		return mf_parse_seconds(value, &v->last_success_ms);
	if (strcmp(line, MF_LAST_RUN) == 0)
		return mf_parse_seconds(value, &v->last_run_ms);
	return 0;	/* another metric: not ours to sum */
}

int
metrics_file_read(const char *path, struct metrics_file_values *v)
{
	char line[MF_LINE_MAX];
	FILE *fp;
	size_t len;
	int rc = 0, seen = 0;

	memset(v, 0, sizeof(*v));
	if ((fp = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 1 : -1;
	while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
		len = strlen(line);
		if (len == 0 || line[len - 1] != '\n') {
			rc = -1;	/* too long, or cut short */
			break;
		}
		line[len - 1] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		rc = mf_parse_line(line, v);
		seen++;
	}
	if (ferror(fp) || seen == 0)
		rc = -1;
	fclose(fp);
	if (rc != 0)
		memset(v, 0, sizeof(*v));
	return rc;
}

/* Writes v to tmp and renames it over path.  0 or -1. */
static int
mf_write(const char *path, const char *tmp,
    const struct metrics_file_values *v, double duration)
{
	FILE *fp;
	size_t i;
	int ok;

	if ((fp = fopen(tmp, "w")) == NULL)
		return -1;
	for (i = 0; i < MF__MAX; i++)
		fprintf(fp, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
		    mf_counters[i].name, mf_counters[i].help,
		    mf_counters[i].name, mf_counters[i].name,
		    (unsigned long long)v->counter[i]);
	fprintf(fp, "# HELP " MF_DURATION " Duration of the last run.\n"
	    "# TYPE " MF_DURATION " gauge\n" MF_DURATION " %.3f\n", duration);
	fprintf(fp, "# HELP " MF_LAST_RUN " Unix time the last run wrote this "
	    "file.\n# TYPE " MF_LAST_RUN " gauge\n" MF_LAST_RUN " %.3f\n",
	    (double)v->last_run_ms / 1e3);
	if (v->last_success_ms != 0)
		fprintf(fp, "# HELP " MF_LAST_SUCCESS " Unix time of the last "
		    "job done, by any run.\n# TYPE " MF_LAST_SUCCESS " gauge\n"
		    MF_LAST_SUCCESS " %.3f\n",
		    (double)v->last_success_ms / 1e3);
	ok = fflush(fp) == 0 && fsync(fileno(fp)) == 0;
	if (fclose(fp) != 0 || !ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
metrics_file_update(const char *path,
    const struct metrics_file_values *delta, double run_duration_seconds)
{
	struct metrics_file_values v;
	char lock[MF_PATH_MAX], tmp[MF_PATH_MAX], qpath[2 * MF_PATH_MAX];
	int fd, n, m, rc = -1;
	size_t i;

	log_quote(qpath, sizeof(qpath), path);
	n = snprintf(lock, sizeof(lock), "%s.lock", path);
	m = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(lock) || m < 0 ||
	    (size_t)m >= sizeof(tmp)) {
		log_msg(LOG_ERROR, "event=metrics_file_error path=%s "
		    "error=\"path too long\"", qpath);
		return -1;
	}
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1 ||
	    flock(fd, LOCK_EX) != 0) {
		log_msg(LOG_ERROR, "event=metrics_file_error path=%s "
		    "error=\"cannot lock %s.lock: %s\"", qpath, path,
		    strerror(errno));
		goto done;
	}
	switch (metrics_file_read(path, &v)) {
	case 0:
		break;
	case 1:
		log_msg(LOG_WARN, "event=metrics_file_reset path=%s "
		    "reason=missing note=\"counters start from 0\"", qpath);
		break;
	default:
		log_msg(LOG_WARN, "event=metrics_file_reset path=%s "
		    "reason=corrupt note=\"counters restart from 0\"", qpath);
		break;
	}
	for (i = 0; i < MF__MAX; i++)
		v.counter[i] += delta->counter[i];
	if (delta->last_success_ms > v.last_success_ms)
		v.last_success_ms = delta->last_success_ms;
	if (delta->last_run_ms > v.last_run_ms)
		v.last_run_ms = delta->last_run_ms;
	if ((rc = mf_write(path, tmp, &v, run_duration_seconds)) != 0)
		log_msg(LOG_ERROR, "event=metrics_file_error path=%s "
		    "error=\"cannot write: %s\"", qpath, strerror(errno));
done:
	if (fd != -1)
		close(fd);	/* releases the lock */
	return rc;
}

/*
 * replay.c: runs a fuzz target's entry point over its seed corpus and its
 * regression inputs without libFuzzer, so `make check` (gcc, and valgrind
 * or the sanitizers when the build has them) keeps every finding fixed.
 *
 * Usage: replay-TARGET [DIR|FILE...]; without arguments it reads
 * $top_srcdir/tests/fuzz/corpus/TARGET and .../regress/TARGET (FUZZ_TARGET
 * is set at compile time).  A crash is the failure: the invariants in the
 * targets abort().  A missing regress directory is fine (no findings yet);
 * a missing or empty corpus is not.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	unsigned char *data = NULL;
	size_t len = 0, cap = 0, n;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			unsigned char *p;

			cap = cap ? cap * 2 : 4096;
			if ((p = realloc(data, cap)) == NULL) {
				free(data);
				fclose(fp);
				return -1;
			}
			data = p;
		}
		n = fread(data + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	fclose(fp);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; the count, or -1. */
static int
replay_dir(const char *dir, int must_exist)
{
	char path[4096], **names = NULL;
	size_t n = 0, i;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int count = 0;

	if ((d = opendir(dir)) == NULL) {
		if (!must_exist)
			return 0;
		perror(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char **p;

		if (de->d_name[0] == '.')
			continue;
		if ((p = realloc(names, (n + 1) * sizeof(*names))) == NULL)
			break;
		names = p;
		if ((names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path) != 0)
				count = -1;
			else if (count >= 0)
				count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

int
main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	char dir[4096];
	int i, n, total = 0;
	struct stat st;

	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
				n = replay_dir(argv[i], 1);
			else
				n = replay_file(argv[i]) == 0 ? 1 : -1;
			if (n < 0)
				return 1;
			total += n;
		}
		printf("replay-%s: %d inputs\n", FUZZ_TARGET, total);
		return 0;
	}
	if (top == NULL)
		top = TOP_SRCDIR;
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top, FUZZ_TARGET);
	if ((n = replay_dir(dir, 1)) <= 0) {
		fprintf(stderr, "replay-%s: no corpus in %s\n", FUZZ_TARGET, dir);
		return 1;
	}
	total += n;
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/regress/%s", top, FUZZ_TARGET);
	if ((n = replay_dir(dir, 0)) < 0)
		return 1;
	total += n;
	printf("replay-%s: %d inputs, no crash\n", FUZZ_TARGET, total);
	return 0;
}

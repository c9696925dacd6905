/*
 * metrics.c: counter blocks; see metrics.h.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "metrics.h"

void *
metrics_map_shared(size_t size)
{
	void *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, size);
	return p;
}

struct metrics *
metrics_local(void)
{
	static struct metrics local;

	return &local;
}

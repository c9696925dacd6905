/*
 * cunit-main.h: the one way our CUnit programs run and exit.
 *
 * Tests are declared in a table; cunit_run() registers them in one suite,
 * runs them in basic mode (which prints CUnit's run summary) and returns
 * non-zero when any assertion failed.  CU_get_error() alone would return
 * 0 for failed assertions, so it is not what decides the exit code.
 */
#ifndef TESTS_CUNIT_MAIN_H
#define TESTS_CUNIT_MAIN_H

#include <stdio.h>

#ifdef CATALOG_NO_CUNIT
#error "make check needs CUnit: apt-get install libcunit1-dev, then run ./configure again"
#endif
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

struct cunit_test {
	const char	*name;
	void		(*fn)(void);
};

static inline int
cunit_run(const char *suite_name, const struct cunit_test *tests, size_t n)
{
	CU_pSuite suite;
	unsigned failures;
	size_t i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if ((suite = CU_add_suite(suite_name, NULL, NULL)) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto fail;
	failures = CU_get_number_of_failures() +
	    CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failures > 0 ? 1 : 0;
fail:
	fprintf(stderr, "CUnit error: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return 2;
}

#define CUNIT_MAIN(suite, table) \
	int main(void) { return cunit_run(suite, table, \
	    sizeof(table) / sizeof((table)[0])); }

#endif

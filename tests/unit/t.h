/* Minimal unit-test harness: TEST(name) functions registered with RUN(name) in main().
 * Each check failing prints file:line and marks the test failed; every test prints
 * "PASS name" or "FAIL name", and the binary exits non-zero if any failed. tests/run counts
 * these lines into the suite's closing "N passed, N failed". */
#ifndef SBX_TESTS_T_H
#define SBX_TESTS_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_total;
static int t_cur_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			t_cur_failed = 1;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long t_a = (long long)(a), t_b = (long long)(b);                              \
		if (t_a != t_b) {                                                                  \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n",       \
				__FILE__, __LINE__, #a, #b, t_a, t_b);                             \
			t_cur_failed = 1;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *t_a = (a), *t_b = (b);                                                 \
		if (!t_a || !t_b || strcmp(t_a, t_b) != 0) {                                       \
			fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" != \"%s\"\n", __FILE__,   \
				__LINE__, t_a ? t_a : "(null)", t_b ? t_b : "(null)");             \
			t_cur_failed = 1;                                                          \
		}                                                                                  \
	} while (0)

#define TEST(name) static void name(void)

#define RUN(name)                                                                                  \
	do {                                                                                       \
		t_cur_failed = 0;                                                                  \
		name();                                                                            \
		printf("%s %s\n", t_cur_failed ? "FAIL" : "PASS", #name);                          \
		fflush(stdout);                                                                    \
		t_failed_total += t_cur_failed;                                                    \
	} while (0)

#define T_EXIT() return t_failed_total ? 1 : 0

#endif

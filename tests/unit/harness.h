/* A tiny unit test harness: TEST(name) defines a case; ctest runs each case by name
 * (tests/CMakeLists.txt scans the sources for TEST(...) lines). */
#ifndef AIRLOCK_TEST_HARNESS_H
#define AIRLOCK_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(void);
struct test_case {
    const char *name;
    test_fn fn;
};
void harness_register(const char *name, test_fn fn);
extern int harness_failures;

/* A scratch directory for the test binary (made on first use, removed at exit) and a path in
 * it (a static buffer: copy it before the next call). */
const char *harness_tmp_dir(void);
const char *harness_tmp_path(const char *name);
/* A file of tests/fixtures, whole (at most 1 MiB; malloc'd; *len its length); NULL and a
 * failure counted when it cannot be read. */
char *harness_fixture(const char *rel, size_t *len);

#define TEST(name)                                                                                 \
    static void test_##name(void);                                                                 \
    __attribute__((constructor)) static void reg_##name(void)                                      \
    {                                                                                              \
        harness_register(#name, test_##name);                                                      \
    }                                                                                              \
    static void test_##name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            harness_failures++;                                                                    \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_)) {                                                        \
            fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__, __LINE__, a_ ? a_ : "(null)",       \
                    b_ ? b_ : "(null)");                                                           \
            harness_failures++;                                                                    \
        }                                                                                          \
    } while (0)

#endif

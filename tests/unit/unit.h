/*
 * qemu-viommu: a minimal unit test harness, printing TAP (one "ok N -
 * name" line a test, then the plan "1..N"), as QEMU's own unit tests do.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TESTS_UNIT_UNIT_H
#define TESTS_UNIT_UNIT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_failures_in_test;
static int unit_passed, unit_failed, unit_number;

#define CHECK(cond) do {                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__,    \
                    __LINE__, __func__, #cond);                           \
            unit_failures_in_test++;                                      \
        }                                                                 \
    } while (0)

#define CHECK_EQ(a, b) do {                                               \
        unsigned long long a_ = (a), b_ = (b);                            \
        if (a_ != b_) {                                                   \
            fprintf(stderr, "%s:%d: %s: %s == %llu, expected %s == %llu\n",\
                    __FILE__, __LINE__, __func__, #a, a_, #b, b_);        \
            unit_failures_in_test++;                                      \
        }                                                                 \
    } while (0)

/*
 * Runs @test as TAP test number N ("ok N - test" or "not ok N - test");
 * with UNIT_FILTER set in the environment, only tests whose name holds it
 * (the rest are reported as skipped).
 */
#define RUN(test) do {                                                    \
        const char *filter_ = getenv("UNIT_FILTER");                      \
        unit_failures_in_test = 0;                                        \
        unit_number++;                                                    \
        if (filter_ && !strstr(#test, filter_)) {                         \
            printf("ok %d - %s # SKIP UNIT_FILTER\n", unit_number, #test); \
            break;                                                        \
        }                                                                 \
        test();                                                           \
        if (unit_failures_in_test) {                                      \
            unit_failed++;                                                \
            printf("not ok %d - %s\n", unit_number, #test);               \
        } else {                                                          \
            unit_passed++;                                                \
            printf("ok %d - %s\n", unit_number, #test);                   \
        }                                                                 \
        fflush(stdout);                                                   \
    } while (0)

/*
 * Reads file @path into @buf (@cap bytes at most) and returns its length;
 * a file that cannot be opened, or is empty, fails the test and gives 0.
 */
static inline size_t unit_read_file(const char *path, void *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0;

    if (f) {
        n = fread(buf, 1, cap, f);
        fclose(f);
    }
    if (!n) {
        fprintf(stderr, "%s: cannot read %s\n", __func__, path);
        unit_failures_in_test++;
    }
    return n;
}

/* xorshift64: repeatable pseudo-random numbers; seed with unit_seed(). */
static uint64_t unit_rng_state = 0x2545f4914f6cdd1dull;

static inline void unit_seed(uint64_t seed)
{
    unit_rng_state = seed ? seed : 1;
}

static inline uint64_t unit_rand(void)
{
    unit_rng_state ^= unit_rng_state << 13;
    unit_rng_state ^= unit_rng_state >> 7;
    unit_rng_state ^= unit_rng_state << 17;
    return unit_rng_state;
}

/* The TAP plan, after the tests, and the exit status. */
static inline int unit_report(const char *suite)
{
    printf("1..%d\n# %s: %d passed, %d failed\n", unit_number, suite,
           unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

#endif

/*
 * qemu-viommu: a minimal unit test harness. Prints "N passed, N failed".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TESTS_UNIT_UNIT_H
#define TESTS_UNIT_UNIT_H

#include <stdio.h>
#include <stdlib.h>

static int unit_failures_in_test;
static int unit_passed, unit_failed;

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

#define RUN(test) do {                                                    \
        unit_failures_in_test = 0;                                        \
        test();                                                           \
        if (unit_failures_in_test) {                                      \
            unit_failed++;                                                \
            fprintf(stderr, "FAIL %s\n", #test);                          \
        } else {                                                          \
            unit_passed++;                                                \
        }                                                                 \
    } while (0)

static inline int unit_report(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

#endif

/*
 * qemu-viommu: unit tests of the IVRS encoder (hw/viommu/acpi-ivrs.c):
 * given upstream QEMU 10.0.2's field values, the body equals its expected
 * q35 table byte for byte (so every difference of our amd-iommu's table
 * is a value we chose, listed in README.rst); a 40h block; the length
 * bound.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/acpi-ivrs.h"
#include "unit.h"

#include <string.h>

#define ACPI_HEADER 36

/* -M q35 -device amd-iommu: what upstream's expected IVRS.ivrs lists */
static const IvrsDevEntry q35_entries[] = {
    { .type = IVRS_DEV_SELECT, .devid = 0x0000 },        /* 00:00.0 host */
    { .type = IVRS_DEV_SELECT, .devid = 0x0008 },        /* 00:01.0 VGA */
    { .type = IVRS_DEV_SELECT, .devid = 0x0010 },        /* 00:02.0 the IOMMU */
    { .type = IVRS_DEV_SELECT, .devid = 0x00f8 },        /* 00:1f.0 LPC */
    { .type = IVRS_DEV_SELECT, .devid = 0x00fa },        /* 00:1f.2 SATA */
    { .type = IVRS_DEV_SELECT, .devid = 0x00fb },        /* 00:1f.3 SMBus */
    { IVRS_DEV_SPECIAL, 0, 0x00a0, 0, IVRS_SPECIAL_IOAPIC },
};

static void test_q35_upstream_bytes(void)
{
    const char *path = getenv("VIOMMU_IVRS_EXPECTED");
    const char *pristine =
        "build/pristine/tests/data/acpi/x86/q35/IVRS.ivrs";
    static uint8_t want[4096], got[4096];
    IvrsConfig cfg = {
        .ivinfo = 1 | 40 << 8,
        .iommu_devid = 0x0010, .cap_offset = 0x40, .base = 0xfed80000,
        .flags10 = 0xd1, .flags11 = 0x11,
        .features10 = 0x44,
        .efr = 0x29d3,
        .entries = q35_entries, .nr_entries = 7,
    };
    size_t n, len;

    n = unit_read_file(path ? path : pristine, want, sizeof(want));
    if (!n) {
        return;
    }
    CHECK(n > ACPI_HEADER);
    len = ivrs_encode(&cfg, got, sizeof(got));
    CHECK_EQ(len, n - ACPI_HEADER);
    CHECK(memcmp(got, want + ACPI_HEADER, n - ACPI_HEADER) == 0);
}

/*
 * Ours (tests/qtest/data/IVRS.ivrs, what bios-tables-test expects of our
 * amd-iommu): the same entries, the southbridge function's and the HPET's,
 * the intended differences of README.rst, and a 40h block.
 */
static void test_q35_ours(void)
{
    static const IvrsDevEntry hpet = {
        .type = IVRS_DEV_SPECIAL, .alias = 0x00a0,
        .variety = IVRS_SPECIAL_HPET,
    };
    static const IvrsDevEntry southbridge = {
        .type = IVRS_DEV_SELECT, .devid = 0x00a0,      /* 00:14.0 */
    };
    IvrsDevEntry entries[9];
    static uint8_t want[4096], got[4096];
    IvrsConfig cfg = {
        .ivinfo = 1 | 40 << 8,
        .iommu_devid = 0x0010, .cap_offset = 0x40, .base = 0xfed80000,
        .flags10 = IVHD_FLAG_HT_TUN_EN | IVHD_FLAG_PREF_SUP,
        .flags11 = IVHD_FLAG_HT_TUN_EN,
        .features10 = 1u << 5 | 1u << 6 | 2u << 30,
        .efr = 0x8c1,
        .ivhd40 = true,
        .entries = entries, .nr_entries = 9,
    };
    size_t n, len;

    /* the southbridge function sits between the IOMMU and the LPC */
    memcpy(entries, q35_entries, 3 * sizeof(q35_entries[0]));
    entries[3] = southbridge;
    memcpy(entries + 4, q35_entries + 3, 4 * sizeof(q35_entries[0]));
    entries[8] = hpet;
    n = unit_read_file("tests/qtest/data/IVRS.ivrs", want, sizeof(want));
    if (!n) {
        return;
    }
    len = ivrs_encode(&cfg, got, sizeof(got));
    CHECK_EQ(len, n - ACPI_HEADER);
    CHECK(memcmp(got, want + ACPI_HEADER, n - ACPI_HEADER) == 0);
}

static void test_ivhd40_alias_bound(void)
{
    static const IvrsDevEntry e[] = {
        { .type = IVRS_DEV_ALIAS_RANGE, .devid = 0x0100,
          .alias = 0x0018 },
        { .type = IVRS_DEV_RANGE_END, .devid = 0x01ff },
    };
    IvrsConfig cfg = { .efr = 0x1122334455667788ull, .ivhd40 = true,
                       .entries = e, .nr_entries = 2 };
    uint8_t buf[512];
    size_t len = ivrs_encode(&cfg, buf, sizeof(buf));

    CHECK_EQ(len, 12 + (24 + 12) + 2 * (40 + 12));
    CHECK_EQ(buf[12], 0x10);
    CHECK_EQ(buf[12 + 36], 0x11);
    CHECK_EQ(buf[12 + 36 + 52], 0x40);
    CHECK_EQ(buf[12 + 36 + 52 + 2], 52);            /* 40h length */
    CHECK_EQ(buf[12 + 36 + 52 + 24], 0x88);         /* EFR image */
    CHECK_EQ(buf[12 + 24], 0x43);                   /* alias range */
    CHECK_EQ(buf[12 + 24 + 1], 0x00);
    CHECK_EQ(buf[12 + 24 + 2], 0x01);
    CHECK_EQ(buf[12 + 24 + 5], 0x18);               /* alias DeviceID */
    CHECK_EQ(buf[12 + 24 + 8], 0x04);
    /* more entries than a 16-bit IVHD length holds */
    cfg.nr_entries = 1;
    cfg.entries = e;
    CHECK(ivrs_encode(&cfg, NULL, 0) > 0);
    {
        static IvrsDevEntry many[9000];

        for (unsigned i = 0; i < 9000; i++) {
            many[i] = (IvrsDevEntry) { .type = IVRS_DEV_ALIAS_RANGE,
                                       .devid = i };
        }
        cfg.entries = many;
        cfg.nr_entries = 9000;
        CHECK_EQ(ivrs_encode(&cfg, NULL, 0), 0);
    }
}

int main(void)
{
    RUN(test_q35_upstream_bytes);
    RUN(test_q35_ours);
    RUN(test_ivhd40_alias_bound);
    return unit_report("test-acpi-ivrs");
}

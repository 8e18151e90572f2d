/*
 * qemu-viommu: unit tests of the VIOT encoder (hw/viommu/acpi-viot.c),
 * byte for byte against upstream QEMU's expected tables of the pinned
 * tree (bios-tables-test's q35 case: the IOMMU at 00:02.0, buses 0x10 and
 * 0x30 translated, 0x20 bypassing; and its arm virt case: the IOMMU at
 * 00:01.0, bus 0), and the sizes it refuses or asks for.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/acpi-viot.h"
#include "unit.h"

static void check_against(const char *path, uint16_t bdf,
                          const ViotPciRange *ranges, size_t n)
{
    static uint8_t want[1024], got[1024];
    size_t len, size = unit_read_file(path, want, sizeof(want));

    if (!size) {
        return;
    }
    CHECK(size > VIOT_ACPI_HEADER_SIZE);
    len = viot_encode(bdf, ranges, n, got, sizeof(got));
    CHECK_EQ(len, size - VIOT_ACPI_HEADER_SIZE);
    CHECK(memcmp(got, want + VIOT_ACPI_HEADER_SIZE, len) == 0);
}

/* VIOMMU_ACPI_DATA: upstream's tests/data/acpi (default: the pristine tree) */
static void check_expected(const char *file, uint16_t bdf,
                           const ViotPciRange *ranges, size_t n)
{
    const char *dir = getenv("VIOMMU_ACPI_DATA");
    char path[512];

    snprintf(path, sizeof(path), "%s/%s",
             dir ? dir : "build/pristine/tests/data/acpi", file);
    check_against(path, bdf, ranges, n);
}

static void test_q35_upstream_bytes(void)
{
    static const ViotPciRange r[] = { { 0x10, 0x10 }, { 0x30, 0x30 } };

    check_expected("x86/q35/VIOT.viot", 0x0010, r, 2);
}

static void test_virt_upstream_bytes(void)
{
    static const ViotPciRange r[] = { { 0, 0 } };

    check_expected("aarch64/virt/VIOT", 0x0008, r, 1);
}

/* Too small a buffer: nothing written, the size needed returned. */
static void test_sizes(void)
{
    static const ViotPciRange r[] = { { 0, 0xff } };
    uint8_t buf[64];

    memset(buf, 0xaa, sizeof(buf));
    CHECK_EQ(viot_encode(0x08, r, 1, buf, 51), 52);
    CHECK_EQ(buf[0], 0xaa);
    CHECK_EQ(viot_encode(0x08, r, 1, buf, sizeof(buf)), 52);
    CHECK_EQ(buf[0], 2);                    /* two nodes */
    CHECK_EQ(buf[28 + 14] | buf[28 + 15] << 8, 0xffff);    /* BDF end */
    CHECK_EQ(viot_encode(0x08, NULL, 0, buf, sizeof(buf)), 28);
    CHECK_EQ(viot_encode(0x08, r, 65535, buf, sizeof(buf)), 0);
}

int main(void)
{
    RUN(test_q35_upstream_bytes);
    RUN(test_virt_upstream_bytes);
    RUN(test_sizes);
    return unit_report("test-acpi-viot");
}

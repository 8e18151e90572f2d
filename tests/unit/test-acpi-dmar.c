/*
 * qemu-viommu: unit tests of the DMAR encoder (hw/viommu/acpi-dmar.c),
 * byte for byte against upstream QEMU 10.0.2's expected q35 table
 * (tests/data/acpi/x86/q35/DMAR.dmar of the pinned tree: intremap=on,
 * device-iotlb=on), and the structures that table does not have.
 * VIOMMU_DMAR_EXPECTED names that file (default: the pristine tree under
 * build/, as ./configure lays it out).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/acpi-dmar.h"
#include "unit.h"

#include <string.h>

#define ACPI_HEADER 36

/* What q35 has on bus 0 behind the IOMMU in bios-tables-test's case. */
static const DmarScope q35_scopes[] = {
    { DMAR_SCOPE_IOAPIC, 0, 0xff, 0x00 },   /* IOAPIC 0, pseudo bus 0xff */
    { DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 0x00 },   /* 00:00.0 host bridge */
    { DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 0x08 },   /* 00:01.0 VGA */
    { DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 0xf8 },   /* 00:1f.0 LPC */
    { DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 0xfa },   /* 00:1f.2 SATA */
    { DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 0xfb },   /* 00:1f.3 SMBus */
};

static void test_q35_upstream_bytes(void)
{
    const char *path = getenv("VIOMMU_DMAR_EXPECTED");
    const char *pristine =
        "build/pristine/tests/data/acpi/x86/q35/DMAR.dmar";
    static uint8_t want[4096], got[4096];
    DmarConfig cfg = {
        .host_address_width = 48,
        .flags = DMAR_FLAG_INTR_REMAP,
        .drhd_base = 0xfed90000,
        .scopes = q35_scopes,
        .nr_scopes = 6,
        .atsr_all_ports = true,
    };
    size_t n, len;

    n = unit_read_file(path ? path : pristine, want, sizeof(want));
    if (!n) {
        return;
    }
    CHECK(n > ACPI_HEADER);
    len = dmar_encode(&cfg, got, sizeof(got));
    CHECK_EQ(len, n - ACPI_HEADER);
    CHECK(memcmp(got, want + ACPI_HEADER, n - ACPI_HEADER) == 0);
}

static void test_sizes_rmrr_flags(void)
{
    static const DmarScope igd = { DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 0x10 };
    const DmarRmrr rmrr = { 0x7c000000, 0x7fffffff, &igd, 1 };
    DmarConfig cfg = {
        .host_address_width = 57,
        .flags = DMAR_FLAG_INTR_REMAP | DMAR_FLAG_X2APIC_OPT_OUT |
                 DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN,
        .drhd_base = 0xfed90000, .include_pci_all = true,
        .rmrrs = &rmrr, .nr_rmrrs = 1,
    };
    uint8_t buf[256];
    size_t len;

    /* too small: nothing written, the size needed returned */
    memset(buf, 0xaa, sizeof(buf));
    CHECK_EQ(dmar_encode(&cfg, buf, 10), 12 + 16 + 24 + 8);
    CHECK_EQ(buf[0], 0xaa);
    len = dmar_encode(&cfg, buf, sizeof(buf));
    CHECK_EQ(len, 12 + 16 + 24 + 8);
    CHECK_EQ(buf[0], 56);                       /* width - 1 */
    CHECK_EQ(buf[1], 7);
    CHECK_EQ(buf[12 + 4], 1);                   /* INCLUDE_PCI_ALL */
    CHECK_EQ(buf[28], 1);                       /* RMRR type */
    CHECK_EQ(buf[30], 32);                      /* RMRR length */
    CHECK_EQ(buf[36] | buf[37] << 8 | buf[38] << 16 | (unsigned)buf[39] << 24,
             0x7c000000);
    CHECK_EQ(buf[44] | buf[45] << 8 | buf[46] << 16 | (unsigned)buf[47] << 24,
             0x7fffffff);
    CHECK_EQ(buf[52], DMAR_SCOPE_PCI_ENDPOINT);
    CHECK_EQ(buf[58], 2);                       /* device 2 */
    CHECK_EQ(buf[59], 0);                       /* function 0 */
    cfg.host_address_width = 0;
    CHECK_EQ(dmar_encode(&cfg, buf, sizeof(buf)), 0);
    /* more scopes than a DRHD's 16-bit length holds */
    cfg.host_address_width = 48;
    cfg.nr_scopes = 8190;
    cfg.scopes = &igd;
    CHECK_EQ(dmar_encode(&cfg, NULL, 0), 0);
}

static void test_rmrr_parse_range(void)
{
    uint64_t base, limit;

    CHECK(!dmar_rmrr_parse_range("0x1e000000-0x1e0fffff", 48, &base, &limit));
    CHECK_EQ(base, 0x1e000000);
    CHECK_EQ(limit, 0x1e0fffff);
    CHECK(!dmar_rmrr_parse_range("4096-8191", 39, &base, &limit));
    CHECK_EQ(base, 4096);
    CHECK(!dmar_rmrr_parse_range("0-0xfff", 39, &base, &limit));
    CHECK(dmar_rmrr_parse_range("", 48, &base, &limit));
    CHECK(dmar_rmrr_parse_range("0x1000", 48, &base, &limit));
    CHECK(dmar_rmrr_parse_range("0x1000-", 48, &base, &limit));
    CHECK(dmar_rmrr_parse_range("-0x1fff", 48, &base, &limit));
    CHECK(dmar_rmrr_parse_range("0x1000-0x1fffz", 48, &base, &limit));
    CHECK(dmar_rmrr_parse_range("0x1000--0x1fff", 48, &base, &limit));
    CHECK(dmar_rmrr_parse_range("\t0x1000-0x1fff", 48, &base, &limit));
    CHECK(dmar_rmrr_parse_range("0x1000-\t0x1fff", 48, &base, &limit));
    CHECK(dmar_rmrr_parse_range("0x1001-0x1fff", 48, &base, &limit));
    CHECK(dmar_rmrr_parse_range("0x1000-0x1ffe", 48, &base, &limit));
    CHECK(dmar_rmrr_parse_range("0x3000-0x1fff", 48, &base, &limit));
    CHECK(dmar_rmrr_parse_range("0x8000000000-0x8000000fff", 39, &base,
                                &limit));
    CHECK(!dmar_rmrr_parse_range("0x8000000000-0x8000000fff", 48, &base,
                                 &limit));
    CHECK(dmar_rmrr_parse_range("0x1000-0x1fffffffffffffffff", 64, &base,
                                &limit));   /* beyond 64 bits */
}

static void test_satc(void)
{
    DmarScope dev = { DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 3 << 3 | 1 };
    DmarConfig cfg = {
        .host_address_width = 48, .drhd_base = 0xfed90000,
        .atsr_all_ports = true, .satc_scopes = &dev, .nr_satc_scopes = 1,
    };
    uint8_t buf[128];
    size_t len = dmar_encode(&cfg, buf, sizeof(buf));

    /* body, DRHD without scopes, ATSR, then the SATC: 8 + one scope */
    CHECK_EQ(len, 12 + 16 + 8 + 16);
    CHECK_EQ(buf[36], 5);                       /* SATC type */
    CHECK_EQ(buf[38], 16);                      /* its length */
    CHECK_EQ(buf[40], 0);                       /* ATC_REQUIRED clear */
    CHECK_EQ(buf[44], DMAR_SCOPE_PCI_ENDPOINT);
    CHECK_EQ(buf[50], 3);                       /* device 3 */
    CHECK_EQ(buf[51], 1);                       /* function 1 */
    cfg.satc_atc_required = true;
    dmar_encode(&cfg, buf, sizeof(buf));
    CHECK_EQ(buf[40], 1);
    cfg.nr_satc_scopes = 0;                     /* no devices: no SATC */
    CHECK_EQ(dmar_encode(&cfg, buf, sizeof(buf)), 12 + 16 + 8);
}

int main(void)
{
    RUN(test_rmrr_parse_range);
    RUN(test_satc);
    RUN(test_q35_upstream_bytes);
    RUN(test_sizes_rmrr_flags);
    return unit_report("test-acpi-dmar");
}

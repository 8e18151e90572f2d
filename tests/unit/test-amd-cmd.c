/*
 * qemu-viommu: unit tests of AMD-Vi command decoding (hw/viommu/amd-cmd.c):
 * the commands Linux 6.12 sends, laid out as its driver lays them out
 * (completion wait with a store, device table entry, IOMMU pages with the
 * S bit, PDE and the all-ones "everything" address, IOTLB pages with a
 * queue depth, interrupt table, invalidate all), then opcodes and
 * reserved fields refused, and commands that depend on what is offered.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/amd-cmd.h"
#include "unit.h"

static const AmdCmdCaps base = { .invalidate_all = true };

static bool dec(uint32_t d0, uint32_t d1, uint32_t d2, uint32_t d3,
                AmdCmd *c)
{
    const uint32_t d[4] = { d0, d1, d2, d3 };

    return amd_cmd_decode(d, &base, c);
}

static void test_completion_wait(void)
{
    AmdCmd c;

    /* store 0x1122334455667788 to 0x0001_2345_6780, no interrupt */
    CHECK(dec(0x45678780 | 1, 1u << 28 | 0x123, 0x55667788, 0x11223344,
              &c));
    CHECK_EQ(c.type, AMD_CMD_COMPLETION_WAIT);
    CHECK(c.cw_store && !c.cw_interrupt && !c.cw_flush);
    CHECK_EQ(c.cw_addr, 0x12345678780ull);
    CHECK_EQ(c.cw_data, 0x1122334455667788ull);
    /* interrupt and flush, no store */
    CHECK(dec(6, 1u << 28, 0, 0, &c));
    CHECK(!c.cw_store && c.cw_interrupt && c.cw_flush);
    CHECK(!dec(1, 1u << 28 | 1u << 20, 0, 0, &c));  /* reserved dword 1 */
}

static void test_invalidations(void)
{
    AmdCmd c;

    CHECK(dec(0x0108, 2u << 28, 0, 0, &c));
    CHECK_EQ(c.type, AMD_CMD_INV_DEVTAB_ENTRY);
    CHECK_EQ(c.devid, 0x0108);
    CHECK(!dec(0x10108, 2u << 28, 0, 0, &c));
    CHECK(!dec(0x0108, 2u << 28, 0, 1, &c));

    /* one page of domain 5 */
    CHECK(dec(0, 3u << 28 | 5, 0x40005000, 0, &c));
    CHECK_EQ(c.type, AMD_CMD_INV_IOMMU_PAGES);
    CHECK_EQ(c.domain, 5);
    CHECK_EQ(c.start, 0x40005000);
    CHECK_EQ(c.last, 0x40005fff);
    CHECK(!c.pde);
    /* S: 16 KiB at 0x40004000 (bit 12 one, 13 clear), PDE */
    CHECK(dec(0, 3u << 28 | 5, 0x40005000 | 1 | 2, 0, &c));
    CHECK_EQ(c.start, 0x40004000);
    CHECK_EQ(c.last, 0x40007fff);
    CHECK(c.pde);
    /* Linux's "everything": 0x7fff_ffff_ffff_f000 with S */
    CHECK(dec(0, 3u << 28 | 5, 0xfffff000 | 1, 0x7fffffff, &c));
    CHECK_EQ(c.start, 0);
    CHECK_EQ(c.last, ~0ull);
    CHECK(!dec(0, 3u << 28 | 5, 0x40005000 | 8, 0, &c));  /* bit 3 */
    CHECK(!dec(1u << 20, 3u << 28 | 5, 0, 0, &c));        /* dword 0 */
    CHECK(!dec(0, 3u << 28 | 5, 0x40005000 | 4, 0, &c));  /* GN, no GT */

    /* IOTLB pages of device 00:03.0, queue depth 32, 8 KiB */
    CHECK(dec(0x18 | 32u << 24, 4u << 28 | 0x18, 0x20000000 | 1, 0, &c));
    CHECK_EQ(c.type, AMD_CMD_INV_IOTLB_PAGES);
    CHECK_EQ(c.devid, 0x18);
    CHECK_EQ(c.maxpend, 32);
    CHECK_EQ(c.start, 0x20000000);
    CHECK_EQ(c.last, 0x20001fff);

    CHECK(dec(0x00a0, 5u << 28, 0, 0, &c));
    CHECK_EQ(c.type, AMD_CMD_INV_INTERRUPT_TABLE);
    CHECK_EQ(c.devid, 0xa0);

    CHECK(dec(0, 8u << 28, 0, 0, &c));
    CHECK_EQ(c.type, AMD_CMD_INV_IOMMU_ALL);
    CHECK(!dec(0, 8u << 28, 0, 1, &c));
}

static void test_opcodes_and_caps(void)
{
    const uint32_t all[4] = { 0, 8u << 28, 0, 0 };
    const uint32_t ppr[4] = { 0x10, 7u << 28, 0, 0 };
    const uint32_t prefetch[4] = { 0x10, 6u << 28, 0x1000, 0 };
    const AmdCmdCaps none = { 0 }, more = { .ppr = true, .prefetch = true };
    AmdCmd c;

    for (unsigned op = 0; op < 16; op++) {
        bool known = op >= 1 && op <= 8 && op != 6 && op != 7;

        CHECK_EQ(dec(0, op << 28, 0, 0, &c), known);
    }
    CHECK(!amd_cmd_decode(all, &none, &c));     /* EFR.IA not offered */
    CHECK(!amd_cmd_decode(ppr, &none, &c));
    CHECK(amd_cmd_decode(ppr, &more, &c));
    CHECK(amd_cmd_decode(prefetch, &more, &c));
    CHECK_EQ(c.type, AMD_CMD_PREFETCH_IOMMU_PAGES);
    CHECK_EQ(c.start, 0x1000);
}

int main(void)
{
    RUN(test_completion_wait);
    RUN(test_invalidations);
    RUN(test_opcodes_and_caps);
    return unit_report("test-amd-cmd");
}

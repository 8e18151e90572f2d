/*
 * qemu-viommu: unit tests of AMD-Vi device table entries and event log
 * entries (hw/viommu/amd-dte.c, hw/viommu/amd-event.c): entries laid out
 * as Linux 6.12 writes them (blocked, identity, translated, with an
 * interrupt table and the IVHD pass-through flags), reserved bits and
 * values, and the event layout Linux's iommu_print_event reads.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/amd-dte.h"
#include "hw/viommu/amd-event.h"
#include "hw/viommu/pt-walk.h"
#include "unit.h"

#define OUT52 ((1ull << 52) - 1)

static void test_not_valid(void)
{
    uint64_t q[4] = { 0, ~0ull, ~0ull & ~1ull, ~0ull };     /* V, IV clear */
    /* the IOAPIC's entry as Linux writes it: no V, an interrupt table */
    uint64_t ioapic[4] = { 0, 0, 1 | 9 << 1 | 0x7000 | 2ull << 60, 0 };
    AmdDte d;

    CHECK_EQ(amd_dte_decode(q, 6, OUT52, &d), AMD_DTE_OK);
    CHECK(!d.valid && !d.iv);
    CHECK_EQ(amd_dte_decode(ioapic, 6, OUT52, &d), AMD_DTE_OK);
    CHECK(!d.valid && d.iv && d.int_ctl == AMD_DTE_INTCTL_REMAP);
    CHECK_EQ(d.irt_root, 0x7000);
}

static void test_linux_entries(void)
{
    /* Linux at init: V, TV, Mode 0, no IR/IW: every access blocked */
    uint64_t blocked[4] = { 3, 0, 0, 0 };
    /* identity domain: Mode 0 with IR and IW */
    uint64_t identity[4] = { 3 | 3ull << 61, 7, 0, 0 };
    /* a DMA domain: 3 levels at 0x1234000, domain 0x2a, ATS */
    uint64_t dma[4] = { 3 | 3ull << 9 | 0x1234000 | 3ull << 61,
                        0x2a | 1ull << 32, 0, 0 };
    /* interrupts: IV, 512 entries (IntTabLen 9), remapped, IVHD flags */
    uint64_t irq[4] = { 3, 0, 1 | 9 << 1 | 0x5678c0ull | 2ull << 60 |
                        7ull << 56 | 3ull << 62, 0 };
    AmdDte d;

    CHECK_EQ(amd_dte_decode(blocked, 6, OUT52, &d), AMD_DTE_OK);
    CHECK(d.valid && d.dma == AMD_DTE_DMA_MODE0 && d.perm == 0);
    CHECK_EQ(amd_dte_decode(identity, 6, OUT52, &d), AMD_DTE_OK);
    CHECK(d.dma == AMD_DTE_DMA_MODE0);
    CHECK_EQ(d.perm, VIOMMU_PT_READ | VIOMMU_PT_WRITE);
    CHECK_EQ(d.domain, 7);
    CHECK_EQ(amd_dte_decode(dma, 6, OUT52, &d), AMD_DTE_OK);
    CHECK(d.dma == AMD_DTE_DMA_TRANSLATED && d.iotlb);
    CHECK_EQ(d.mode, 3);
    CHECK_EQ(d.root, 0x1234000);
    CHECK_EQ(d.domain, 0x2a);
    CHECK_EQ(amd_dte_decode(irq, 6, OUT52, &d), AMD_DTE_OK);
    CHECK(d.iv && d.int_ctl == AMD_DTE_INTCTL_REMAP);
    CHECK_EQ(d.irt_entries, 512);
    CHECK_EQ(d.irt_root, 0x5678c0);
    CHECK(d.init_pass && d.eint_pass && d.nmi_pass && d.lint0_pass &&
          d.lint1_pass);
    CHECK(d.dma == AMD_DTE_DMA_MODE0);
    /* V without TV: blocked (Linux's SNP way to block), whatever Mode */
    blocked[0] = 1 | 7ull << 9;
    CHECK_EQ(amd_dte_decode(blocked, 6, OUT52, &d), AMD_DTE_OK);
    CHECK(d.dma == AMD_DTE_DMA_BLOCKED);
}

static void test_reserved(void)
{
    static const uint64_t bad[][4] = {
        { 3 | 1ull << 2 },                  /* q0 6:2 */
        { 3 | 1ull << 7 },                  /* HAD without HDSup */
        { 3 | 1ull << 55 },                 /* GV without GTSup */
        { 3 | 1ull << 63 },
        { 3, 1ull << 16 },                  /* GCR3 bits */
        { 3, 1ull << 42 },
        { 3, 0, 1 | 1ull << 59 },
        { 3, 0, 0, 1ull << 53 },            /* q3 53:0 */
        { 3 | 7ull << 9 },                  /* Mode 7 */
        { 3 | 6ull << 9 | 0x1000 },         /* Mode 6 beyond HATS 4 */
        { 3 | 4ull << 9 | 1ull << 48 },     /* root beyond 48 bits */
        { 3, 0, 1 | 3ull << 60 },           /* IntCtl 3 */
        { 3, 0, 1 | 12 << 1 },              /* IntTabLen 1100b */
        { 3, 0, 1 | 15 << 1 },              /* IntTabLen 1111b */
    };
    AmdDte d;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int max_mode = i == 9 ? 4 : 6;
        uint64_t out = i == 10 ? (1ull << 48) - 1 : OUT52;

        CHECK_EQ(amd_dte_decode(bad[i], max_mode, out, &d), AMD_DTE_RESERVED);
    }
}

/* q3's AttrV, Mode0FC and SnoopAttribute: accepted, DMA as without */
static void test_q3_attributes(void)
{
    uint64_t q[4] = { 3 | 4ull << 9 | 0x5000 | 3ull << 61, 0, 0,
                      1ull << 54 | 1ull << 55 | 0xa5ull << 56 };
    AmdDte d;

    CHECK_EQ(amd_dte_decode(q, 6, OUT52, &d), AMD_DTE_OK);
    CHECK(d.dma == AMD_DTE_DMA_TRANSLATED);
    CHECK_EQ(d.root, 0x5000);
}

/* Every IntTabLen encoding: 2^n entries up to 1011b, then reserved. */
static void test_inttablen(void)
{
    AmdDte d;

    for (unsigned len = 0; len < 16; len++) {
        uint64_t q[4] = { 0, 0, 1 | (uint64_t)len << 1 | 0x40000 |
                          2ull << 60, 0 };
        AmdDteFault f = amd_dte_decode(q, 6, OUT52, &d);

        if (len <= 11) {
            CHECK_EQ(f, AMD_DTE_OK);
            CHECK_EQ(d.irt_entries, 1u << len);
        } else {
            CHECK_EQ(f, AMD_DTE_RESERVED);
        }
    }
}

static void test_events(void)
{
    AmdEvent e = {
        .code = AMD_EVENT_IO_PAGE_FAULT, .devid = 0x0018, .domain = 0x2a,
        .flags = AMD_EVENT_PR | AMD_EVENT_RW | AMD_EVENT_PE,
        .addr = 0x123456789000ull,
    };
    AmdEvent cmd = { .code = AMD_EVENT_ILLEGAL_COMMAND, .devid = 5,
                     .domain = 9, .addr = 0xabc0 };
    uint32_t d[4];

    amd_event_encode(&e, d);
    CHECK_EQ(d[0], 0x18);
    CHECK_EQ(d[1] >> 28, 2);
    CHECK_EQ((d[1] >> 16) & 0xfff, 0x70);
    CHECK_EQ(d[1] & 0xffff, 0x2a);
    CHECK_EQ(d[2], 0x56789000u);
    CHECK_EQ(d[3], 0x1234);
    amd_event_encode(&cmd, d);
    CHECK_EQ(d[0], 0);
    CHECK_EQ(d[1], 0x50000000u);
    CHECK_EQ(d[2], 0xabc0);
    /* a log of 256 entries: slots, full, and offsets out of it */
    CHECK_EQ(amd_event_log_slot(0, 0, 4096), 0);
    CHECK_EQ(amd_event_log_slot(0, 4080, 4096), -1);
    CHECK_EQ(amd_event_log_slot(32, 16, 4096), -1);
    CHECK_EQ(amd_event_log_slot(32, 48, 4096), 48);
    CHECK_EQ(amd_event_log_slot(0, 4096, 4096), -1);
    CHECK_EQ(amd_event_log_slot(8, 0, 4096), -1);
}

int main(void)
{
    RUN(test_not_valid);
    RUN(test_linux_entries);
    RUN(test_reserved);
    RUN(test_q3_attributes);
    RUN(test_inttablen);
    RUN(test_events);
    return unit_report("test-amd-dte");
}

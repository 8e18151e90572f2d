/*
 * qemu-viommu: unit tests of AMD-Vi IRTE decoding (hw/viommu/amd-irte.c):
 * entries laid out as Linux 6.12 writes them (32-bit, and 128-bit with and
 * without x2APIC destinations), RemapEn clear, SupIOPF, reserved bits and
 * interrupt types, and guest (vAPIC) mode refused.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/amd-irte.h"
#include "unit.h"

static void test_32bit(void)
{
    AmdIrq irq;
    bool sup;

    /* fixed, logical, destination 0x03, vector 0x41 */
    CHECK_EQ(amd_irte_decode32(1 | 0 << 2 | 1 << 6 | 0x03 << 8 | 0x41 << 16,
                               &irq, &sup), AMD_IRTE_OK);
    CHECK_EQ(irq.dest, 3);
    CHECK_EQ(irq.vector, 0x41);
    CHECK(irq.dest_logical && !sup);
    CHECK_EQ(irq.int_type, AMD_IRTE_FIXED);
    /* NMI with RqEoi */
    CHECK_EQ(amd_irte_decode32(1 | 4 << 2 | 1 << 5, &irq, &sup), AMD_IRTE_OK);
    CHECK_EQ(irq.int_type, AMD_IRTE_NMI);
    CHECK(irq.rq_eoi);
    /* RemapEn clear, with and without SupIOPF */
    CHECK_EQ(amd_irte_decode32(0x41 << 16, &irq, &sup), AMD_IRTE_NOT_REMAPPED);
    CHECK(!sup);
    CHECK_EQ(amd_irte_decode32(2, &irq, &sup), AMD_IRTE_NOT_REMAPPED);
    CHECK(sup);
    /* reserved bits 31:24 and 7, reserved types 3 and 6 */
    CHECK_EQ(amd_irte_decode32(1 | 1u << 24, &irq, &sup), AMD_IRTE_RESERVED);
    CHECK_EQ(amd_irte_decode32(1 | 3 << 2, &irq, &sup), AMD_IRTE_RESERVED);
    CHECK_EQ(amd_irte_decode32(1 | 6 << 2, &irq, &sup), AMD_IRTE_RESERVED);
    CHECK_EQ(amd_irte_decode32(1 | 1 << 7, &irq, &sup), AMD_IRTE_RESERVED);
}

static void test_128bit(void)
{
    AmdIrq irq;
    bool sup;
    uint32_t apic = 0x1234567;      /* an x2APIC ID: 24 + 8 bits */
    uint64_t lo = 1 | (uint64_t)(apic & 0xffffff) << 8;
    uint64_t hi = 0x61 | (uint64_t)(apic >> 24) << 56;

    CHECK_EQ(amd_irte_decode_ga(lo, hi, true, &irq, &sup), AMD_IRTE_OK);
    CHECK_EQ(irq.dest, apic);
    CHECK_EQ(irq.vector, 0x61);
    /* without XTEn only 8 destination bits */
    CHECK_EQ(amd_irte_decode_ga(lo, hi, false, &irq, &sup), AMD_IRTE_RESERVED);
    CHECK_EQ(amd_irte_decode_ga(1 | 0x7full << 8, 0x61, false, &irq, &sup),
             AMD_IRTE_OK);
    CHECK_EQ(irq.dest, 0x7f);
    /* GATag and the GA root pointer mean nothing outside guest mode */
    CHECK_EQ(amd_irte_decode_ga(1 | 0xffffffffull << 32,
                                0x61 | 0xfffffull << 12, false, &irq, &sup),
             AMD_IRTE_OK);
    CHECK_EQ(amd_irte_decode_ga(1, 0x61 | 1ull << 8, true, &irq, &sup),
             AMD_IRTE_RESERVED);
    CHECK_EQ(amd_irte_decode_ga(1, 0x61 | 1ull << 52, true, &irq, &sup),
             AMD_IRTE_RESERVED);
    CHECK_EQ(amd_irte_decode_ga(2, 0x61, true, &irq, &sup),
             AMD_IRTE_NOT_REMAPPED);
    CHECK(sup);
    CHECK_EQ(amd_irte_decode_ga(1 | 1 << 7, 0, true, &irq, &sup),
             AMD_IRTE_GUEST_MODE);
}

int main(void)
{
    RUN(test_32bit);
    RUN(test_128bit);
    return unit_report("test-amd-irte");
}

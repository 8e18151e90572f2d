/*
 * qemu-viommu: AMD-Vi command buffer entries (AMD IOMMU spec rev. 3.x,
 * 2.4 "Commands"): one table of the bits each opcode may set, then the
 * fields.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/amd-cmd.h"
#include "hw/viommu/pow2-split.h"

#define OPCODE_SHIFT    28
#define DEVID           0xffffu
#define ADDR_LO         0xfffff000u         /* dword 2: address[31:12] */
#define RANGE_S         (1u << 0)
#define PAGES_PDE       (1u << 1)
#define GN              (1u << 2)
#define PF_INVAL        (1u << 4)

/* Bits each opcode may set in dwords 0..3 (the opcode itself aside). */
static const uint32_t allowed[9][4] = {
    [AMD_CMD_COMPLETION_WAIT] = {
        0xffffffffu, 0x000fffffu, 0xffffffffu, 0xffffffffu },
    [AMD_CMD_INV_DEVTAB_ENTRY] = { DEVID, 0, 0, 0 },
    [AMD_CMD_INV_IOMMU_PAGES] = {
        0x000fffffu, DEVID, ADDR_LO | RANGE_S | PAGES_PDE | GN, 0xffffffffu },
    [AMD_CMD_INV_IOTLB_PAGES] = {
        0xffffffffu, 0x0fffffffu, ADDR_LO | RANGE_S | GN, 0xffffffffu },
    [AMD_CMD_INV_INTERRUPT_TABLE] = { DEVID, 0, 0, 0 },
    [AMD_CMD_PREFETCH_IOMMU_PAGES] = {
        0xff00ffffu, 0x000fffffu, ADDR_LO | RANGE_S | GN | PF_INVAL,
        0xffffffffu },
    [AMD_CMD_COMPLETE_PPR_REQUEST] = {
        DEVID, 0x000fffffu, 0x0000f1ffu | GN, 0x0000ffffu },
    [AMD_CMD_INV_IOMMU_ALL] = { 0, 0, 0, 0 },
};

static bool offered(AmdCmdType type, const AmdCmdCaps *caps)
{
    switch (type) {
    case AMD_CMD_COMPLETION_WAIT:
    case AMD_CMD_INV_DEVTAB_ENTRY:
    case AMD_CMD_INV_IOMMU_PAGES:
    case AMD_CMD_INV_IOTLB_PAGES:
    case AMD_CMD_INV_INTERRUPT_TABLE:
        return true;
    case AMD_CMD_PREFETCH_IOMMU_PAGES:
        return caps->prefetch;
    case AMD_CMD_COMPLETE_PPR_REQUEST:
        return caps->ppr;
    case AMD_CMD_INV_IOMMU_ALL:
        return caps->invalidate_all;
    }
    return false;
}

/* The page range of dwords 2 and 3 (S encoding, see amd-cmd.h). */
static void page_range(const uint32_t d[4], uint64_t *start, uint64_t *last)
{
    uint64_t addr = ((uint64_t)d[3] << 32 | d[2]) & ~0xfffull;
    unsigned bit = 12;

    if (d[2] & RANGE_S) {
        while (bit < 64 && (addr >> bit) & 1) {
            bit++;
        }
        bit++;                      /* the block is 2^(lowest clear + 1) */
    }
    *start = addr & ~viommu_low_mask(bit);
    *last = *start | viommu_low_mask(bit);
}

bool amd_cmd_decode(const uint32_t d[4], const AmdCmdCaps *caps, AmdCmd *c)
{
    AmdCmdType type = d[1] >> OPCODE_SHIFT;
    uint32_t op_clear[4] = { d[0], d[1] & 0x0fffffffu, d[2], d[3] };

    *c = (AmdCmd) { .type = type };
    if (type < AMD_CMD_COMPLETION_WAIT || type > AMD_CMD_INV_IOMMU_ALL ||
        !offered(type, caps)) {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        if (op_clear[i] & ~allowed[type][i]) {
            return false;
        }
    }
    if ((d[2] & GN) && !caps->guest && type != AMD_CMD_COMPLETION_WAIT) {
        return false;
    }
    switch (type) {
    case AMD_CMD_COMPLETION_WAIT:
        c->cw_store = d[0] & 1;
        c->cw_interrupt = d[0] & 2;
        c->cw_flush = d[0] & 4;
        c->cw_addr = ((uint64_t)(d[1] & 0xfffff) << 32) | (d[0] & ~7u);
        c->cw_data = (uint64_t)d[3] << 32 | d[2];
        break;
    case AMD_CMD_INV_IOMMU_PAGES:
        c->pasid = d[0] & 0xfffff;
        c->domain = d[1] & DEVID;
        c->pde = d[2] & PAGES_PDE;
        c->gn = d[2] & GN;
        page_range(d, &c->start, &c->last);
        break;
    case AMD_CMD_INV_IOTLB_PAGES:
        c->devid = d[0] & DEVID;
        c->maxpend = d[0] >> 24;
        /* PASID[15:8] in dword 0, [7:0] and [19:16] in dword 1 */
        c->pasid = ((d[1] >> 24) & 0xf) << 16 | ((d[0] >> 16) & 0xff) << 8 |
                   ((d[1] >> 16) & 0xff);
        c->gn = d[2] & GN;
        page_range(d, &c->start, &c->last);
        break;
    case AMD_CMD_PREFETCH_IOMMU_PAGES:
        c->devid = d[0] & DEVID;
        c->pasid = d[1] & 0xfffff;
        c->gn = d[2] & GN;
        page_range(d, &c->start, &c->last);
        break;
    case AMD_CMD_INV_DEVTAB_ENTRY:
    case AMD_CMD_INV_INTERRUPT_TABLE:
    case AMD_CMD_COMPLETE_PPR_REQUEST:
        c->devid = d[0] & DEVID;
        break;
    case AMD_CMD_INV_IOMMU_ALL:
        break;
    }
    return true;
}

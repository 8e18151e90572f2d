/*
 * qemu-viommu: VT-d queued-invalidation descriptors (VT-d 4.1, 6.5.2).
 *
 * Each type is a pair of masks, the bits its two quadwords may have set;
 * anything else is reserved. The type code is bits 3:0 and 11:9.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/vtd-qi.h"
#include "hw/viommu/pow2-split.h"

#include <string.h>

#define TYPE_LO         0xfull
#define ADDR_4K         (~0xfffull)
#define F_G2            (3ull << 4)
#define F_DID           (0xffffull << 16)
#define F_SID_HI        (0xffffull << 32)
#define F_PASID         (0xfffffull << 32)
#define F_PFSID         (0xfull << 12 | 0xfffull << 52)
#define F_AM_IH         0x7full

static const struct {
    uint64_t q0, q1;            /* bits that may be set */
} valid[] = {
    [VTD_INV_CONTEXT] = { TYPE_LO | F_G2 | F_DID | F_SID_HI | 3ull << 48, 0 },
    [VTD_INV_IOTLB] = { TYPE_LO | F_G2 | 3ull << 6 | F_DID,
                        F_AM_IH | ADDR_4K },
    [VTD_INV_DEVICE_IOTLB] = { TYPE_LO | F_PFSID | 0x1full << 16 | F_SID_HI,
                               1 | ADDR_4K },
    [VTD_INV_IEC] = { TYPE_LO | 1ull << 4 | 0x1full << 27 | F_SID_HI, 0 },
    [VTD_INV_WAIT] = { TYPE_LO | 0xfull << 4 | 0xffffffffull << 32, ~3ull },
    [VTD_INV_PASID_IOTLB] = { TYPE_LO | F_G2 | F_DID | F_PASID,
                              F_AM_IH | ADDR_4K },
    [VTD_INV_PASID_CACHE] = { TYPE_LO | F_G2 | F_DID | F_PASID, 0 },
    [VTD_INV_PASID_DEVICE_IOTLB] = { TYPE_LO | 0x1full << 4 | F_PFSID |
                                     F_DID | F_PASID,
                                     1 | 1ull << 11 | ADDR_4K },
};

/* The aligned block of 2^@shift bytes that holds @addr. */
static void block_range(uint64_t addr, unsigned shift, VtdInvDesc *d)
{
    d->start = addr & ~viommu_low_mask(shift);
    d->last = d->start | viommu_low_mask(shift);
}

/*
 * Device-IOTLB ranges (PCIe ATS): with S set, the count of ones from
 * address bit 12 up, n, gives a range of 2^(13 + n) bytes.
 */
static unsigned ats_shift(uint64_t addr, bool s)
{
    unsigned shift = 12;

    if (s) {
        shift = 13;
        while (shift < 64 && (addr >> (shift - 1)) & 1) {
            shift++;
        }
    }
    return shift;
}

bool vtd_inv_decode(const uint64_t *q, bool wide, VtdInvDesc *d)
{
    unsigned type = (q[0] & TYPE_LO) | ((q[0] >> 9) & 7) << 4;
    unsigned g = (q[0] >> 4) & 3;

    memset(d, 0, sizeof(*d));
    if (type < VTD_INV_CONTEXT || type > VTD_INV_PASID_DEVICE_IOTLB ||
        (q[0] & ~valid[type].q0) || (q[1] & ~valid[type].q1) ||
        (wide && (q[2] || q[3]))) {
        return false;
    }
    d->type = type;
    switch (type) {
    case VTD_INV_CONTEXT:
        d->granularity = g;
        d->domain = q[0] >> 16;
        d->sid = q[0] >> 32;
        d->fm = (q[0] >> 48) & 3;
        return g != 0;
    case VTD_INV_IOTLB:
        d->granularity = g;
        d->domain = q[0] >> 16;
        d->ih = q[1] & 0x40;
        block_range(q[1], 12 + (q[1] & 0x3f), d);
        return g != 0;
    case VTD_INV_DEVICE_IOTLB:
        d->sid = q[0] >> 32;
        block_range(q[1], ats_shift(q[1], q[1] & 1), d);
        return true;
    case VTD_INV_IEC:
        d->granularity = (q[0] >> 4) & 1;
        d->iec_index = (q[0] >> 32) & 0xffff;
        d->iec_mask = (q[0] >> 27) & 0x1f;
        return true;
    case VTD_INV_WAIT:
        d->wait_if = q[0] & (1u << 4);
        d->wait_sw = q[0] & (1u << 5);
        d->wait_fn = q[0] & (1u << 6);
        d->status_data = q[0] >> 32;
        d->status_addr = q[1] & ~3ull;
        return true;
    case VTD_INV_PASID_IOTLB:
        d->granularity = g;
        d->domain = q[0] >> 16;
        d->pasid = (q[0] >> 32) & 0xfffff;
        d->ih = q[1] & 0x40;
        block_range(q[1], 12 + (q[1] & 0x3f), d);
        return g >= VTD_INV_PIOTLB_PASID;
    case VTD_INV_PASID_CACHE:
        d->granularity = g;
        d->domain = q[0] >> 16;
        d->pasid = (q[0] >> 32) & 0xfffff;
        return g != 2;
    default:                            /* VTD_INV_PASID_DEVICE_IOTLB */
        d->sid = q[0] >> 16;
        d->pasid = (q[0] >> 32) & 0xfffff;
        d->global = q[1] & 1;
        block_range(q[1], ats_shift(q[1], q[1] & (1u << 11)), d);
        return true;
    }
}

const char *vtd_inv_type_name(VtdInvType type)
{
    static const char *const names[] = {
        [VTD_INV_CONTEXT] = "context-cache",
        [VTD_INV_IOTLB] = "iotlb",
        [VTD_INV_DEVICE_IOTLB] = "device-iotlb",
        [VTD_INV_IEC] = "iec",
        [VTD_INV_WAIT] = "wait",
        [VTD_INV_PASID_IOTLB] = "pasid-iotlb",
        [VTD_INV_PASID_CACHE] = "pasid-cache",
        [VTD_INV_PASID_DEVICE_IOTLB] = "pasid-device-iotlb",
    };

    if ((unsigned)type >= sizeof(names) / sizeof(names[0]) || !names[type]) {
        return "unknown";
    }
    return names[type];
}

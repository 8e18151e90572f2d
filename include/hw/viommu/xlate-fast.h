/*
 * qemu-viommu: QEMU glue of the translate fast path (hw/viommu/
 * xlate-cache.h) for the IOMMUMemoryRegion translate() of our three
 * models: a lock-free hit as an IOMMUTLBEntry, and the fill after a
 * translation made under the model's lock.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_XLATE_FAST_H
#define HW_VIOMMU_XLATE_FAST_H

#include "exec/memory.h"
#include "exec/address-spaces.h"
#include "hw/viommu/xlate-cache.h"

/*
 * Without a lock: if @xc holds the page of @addr for source ID @sid with
 * the rights of @flag (IOMMU_RO/WO bits, as the walker's READ/WRITE),
 * fills *@entry (a translation into system memory) and returns true.
 * A cache filled for another source ID (the bus was renumbered) misses.
 */
static inline bool viommu_fast_translate(const ViommuXc *xc, uint16_t sid,
                                         hwaddr addr, IOMMUAccessFlags flag,
                                         IOMMUTLBEntry *entry)
{
    ViommuXcHit h;

    if (qatomic_load_acquire(&xc->sid) != sid ||
        !viommu_xc_lookup(xc, addr, flag & IOMMU_RW, &h)) {
        return false;
    }
    *entry = (IOMMUTLBEntry) {
        .target_as = &address_space_memory,
        .iova = h.iova,
        .translated_addr = h.output,
        .addr_mask = h.mask,
        .perm = (IOMMUAccessFlags)h.perm,
    };
    return true;
}

/*
 * Under the model's lock, after a translation that did not fault: caches
 * @entry (an IOMMUTLBEntry of whole pages, at least 4 KiB) for @sid,
 * @domain and @pasid.
 */
static inline void viommu_fast_fill(ViommuXc *xc, uint16_t sid,
                                    const IOMMUTLBEntry *entry,
                                    uint16_t domain, uint32_t pasid)
{
    unsigned shift = ctz64(~entry->addr_mask);

    if (xc->sid != sid) {
        /* the bus was renumbered: what the old ID cached goes */
        viommu_xc_clear(xc);
        qatomic_store_release(&xc->sid, sid);   /* after the clear */
    }
    viommu_xc_fill(xc, entry->iova, shift, entry->translated_addr,
                   entry->perm & IOMMU_RW, domain, pasid, 0);
}

#endif

/*
 * qemu-viommu hook 5: direct access through an IOMMU for QEMU's
 * MemoryRegionCache (virtio's rings), for every IOMMU model.
 *
 * Without it, a MemoryRegionCache over an IOMMU address space has no host
 * pointer: every access of a ring (index, entries, descriptors, used
 * elements) takes the slow path and a full translation. With it, once a
 * cache has made a few accesses through the IOMMU and its whole range
 * lies in one IOMMU page mapped with the rights the cache needs (read, and
 * write for a cache opened for writing), onto guest RAM, the cache gets
 * the host pointer of that RAM, and an UNMAP IOMMU notifier over its IOVA
 * range. Any UNMAP or invalidation the IOMMU reports there takes the
 * pointer away at once, under the BQL, before the IOMMU completes that
 * invalidation: the next access takes the slow path and translates (and
 * faults if the page is gone). This is the contract of
 * IOMMUMemoryRegionClass.translate(): a translation kept beyond the
 * access needs an IOMMU notifier.
 *
 * Runs under the BQL only: a cache used outside it (an iothread) is never
 * made direct. A model that refuses UNMAP notifiers leaves its caches on
 * the slow path. Caches whose range spans IOMMU pages stay on the slow
 * path too.
 *
 * The hook (scripts/prepare-tree.sh, README.rst "Hook points"): two
 * fields in MemoryRegionCache (include/exec/memory.h) and one call each in
 * address_space_cache_init(), address_space_translate_cached() and
 * address_space_cache_destroy() (system/physmem.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_IOMMU_DIRECT_H
#define HW_VIOMMU_IOMMU_DIRECT_H

#include "exec/memory.h"

typedef struct IOMMUDirectCache IOMMUDirectCache;

/* address_space_cache_init(): @cache starts on the slow path, unknown. */
void iommu_direct_cache_init(MemoryRegionCache *cache);

/*
 * address_space_translate_cached(): @cache's slow path translated an
 * access through its IOMMU to @reached (RAM when the IOMMU let it pass).
 * After a few such accesses, makes @cache direct if it can (see above).
 */
void iommu_direct_cache_learn(MemoryRegionCache *cache, MemoryRegion *reached);

/* address_space_cache_destroy(): drops the pointer and the notifier. */
void iommu_direct_cache_destroy(MemoryRegionCache *cache);

#endif

/*
 * qemu-viommu hook 5: direct access through an IOMMU for QEMU's
 * MemoryRegionCache (virtio's rings), for any IOMMU model that opts in.
 *
 * Without it, a MemoryRegionCache over an IOMMU address space has no host
 * pointer: every access of a ring (index, entries, descriptors, used
 * elements) takes the slow path and a full translation. With it, once a
 * cache has made a few accesses through the IOMMU under the BQL and its
 * whole range lies in the IOMMU page it just reached, mapped with the
 * rights the cache needs (read, and write for a cache opened for
 * writing) onto guest RAM, the cache gets the host pointer of that RAM.
 * An UNMAP IOMMU notifier on the region takes the pointer away when any
 * UNMAP or invalidation the IOMMU reports meets that IOMMU page: at once,
 * under the BQL, before the IOMMU completes the invalidation; the next
 * access takes the slow path and translates (and faults if the page is
 * gone). So does any change of system memory's layout. This is the
 * contract of IOMMUMemoryRegionClass.translate(): a translation kept
 * beyond the access needs an IOMMU notifier.
 *
 * Not direct: caches of models that did not opt in, caches whose range
 * spans IOMMU pages, and every cache while the machine has an iothread
 * object (a device with an iothread reads cache->ptr outside the BQL).
 *
 * The hook (scripts/prepare-tree.sh, README.rst "Hook points"): two
 * fields in MemoryRegionCache (include/exec/memory.h) and one call each in
 * address_space_cache_init(), address_space_translate_cached() and
 * address_space_cache_destroy() (system/physmem.c). Hook 8 (below) is
 * about the same slow path.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_IOMMU_DIRECT_H
#define HW_VIOMMU_IOMMU_DIRECT_H

#include "exec/memory.h"

typedef struct IOMMUDirectCache IOMMUDirectCache;

/*
 * Called by an IOMMU model's region class_init: its caches may go direct.
 * The model promises that every change of what translate() returns for
 * a mapped page (an invalidation, a context or device table change, the
 * IOMMU turned off, reset) reaches UNMAP notifiers before the guest can
 * see it complete, and that translate() with IOMMU_NONE raises no fault.
 * Up to 8 models.
 */
void iommu_direct_opt_in(IOMMUMemoryRegionClass *imrc);

/* address_space_cache_init(): @cache starts on the slow path, unknown. */
void iommu_direct_cache_init(MemoryRegionCache *cache);

/*
 * address_space_translate_cached(): @cache's slow path translated an
 * access at offset @addr of the cache through its IOMMU to @reached (RAM
 * when the IOMMU let it pass). After a few such accesses, makes @cache
 * direct if it can (see above).
 */
void iommu_direct_cache_learn(MemoryRegionCache *cache, hwaddr addr,
                              MemoryRegion *reached);

/* address_space_cache_destroy(): drops the pointer and the notifier. */
void iommu_direct_cache_destroy(MemoryRegionCache *cache);

/*
 * qemu-viommu hook 8, in address_space_read_cached_slow() and
 * address_space_write_cached_slow(): QEMU translates the first byte of a
 * slow-path access and goes on in the memory region it reached, so an
 * access that crosses from one IOVA page into the next reaches the
 * guest-physical page after the first page's translation instead of the
 * second page's (with 1024-entry queues, Linux's used rings have elements
 * that cross). When the @len bytes at offset @addr of @cache cross a
 * page of its IOMMU (its minimum page size), makes the access one page at
 * a time, each through the same slow path and its own translation, and
 * returns true with the combined result in @res; false when the access
 * stays within a page or @cache is not behind an IOMMU (the caller makes
 * it). @buf is read from when @is_write.
 */
bool iommu_direct_cache_split(MemoryRegionCache *cache, hwaddr addr,
                              void *buf, hwaddr len, bool is_write,
                              MemTxResult *res);

#endif

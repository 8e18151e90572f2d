/*
 * qemu-viommu hook 5: direct access through an IOMMU for QEMU's
 * MemoryRegionCache (see include/hw/viommu/iommu-direct.h).
 *
 * While a cache is direct, cache->mrs and cache->xlat name the guest RAM
 * region and offset its pointer is in (so that
 * address_space_cache_invalidate() marks the right pages dirty), and the
 * IOMMU's section and the IOVA are kept here; leaving restores them, so
 * that the slow path translates again.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "hw/viommu/iommu-direct.h"

/* Slow accesses before a cache tries; doubled after each failed try. */
#define FIRST_TRY       4u
#define MAX_TRY_GAP     (1u << 16)

struct IOMMUDirectCache {
    IOMMUNotifier n;            /* UNMAP, filtered to the cache's range */
    MemoryRegionCache *cache;
    IOMMUMemoryRegion *iommu_mr;
    MemoryRegionSection iommu_mrs;      /* cache->mrs, while direct */
    hwaddr iova;                        /* cache->xlat, while direct */
    MemoryRegion *ram;                  /* referenced while direct */
    bool registered;
    bool refused;               /* the model takes no UNMAP notifier */
    bool direct;
    unsigned next_try;
};

void iommu_direct_cache_init(MemoryRegionCache *cache)
{
    cache->direct = NULL;
    cache->direct_slow = 0;
}

/* Back to the slow path: the IOMMU's section, the IOVA, no pointer. */
static void leave_direct(IOMMUDirectCache *d)
{
    MemoryRegionCache *c = d->cache;

    if (!d->direct) {
        return;
    }
    qatomic_set(&c->ptr, NULL);
    smp_wmb();      /* no pointer before the IOMMU's section is back */
    c->mrs = d->iommu_mrs;
    c->xlat = d->iova;
    memory_region_unref(d->ram);
    d->ram = NULL;
    d->direct = false;
    c->direct_slow = 0;
    d->next_try = FIRST_TRY;
}

/* Any UNMAP or invalidation that meets the cache's IOVA range. */
static void direct_unmap_notify(IOMMUNotifier *n, IOMMUTLBEntry *entry)
{
    IOMMUDirectCache *d = container_of(n, IOMMUDirectCache, n);
    hwaddr first = d->direct ? d->iova : d->cache->xlat;
    hwaddr last = first + d->cache->len - 1;

    if (entry->iova <= last && (entry->iova | entry->addr_mask) >= first) {
        leave_direct(d);
    }
}

static bool watch_range(IOMMUDirectCache *d, int iommu_idx)
{
    MemoryRegionCache *c = d->cache;
    Error *err = NULL;

    if (d->registered || d->refused) {
        return d->registered;
    }
    /*
     * Over the whole region, as vhost's: QEMU requires an UNMAP to lie
     * within the notifier's range, and an IOMMU may report any size.
     */
    iommu_notifier_init(&d->n, direct_unmap_notify, IOMMU_NOTIFIER_UNMAP,
                        0, HWADDR_MAX, iommu_idx);
    if (memory_region_register_iommu_notifier(MEMORY_REGION(d->iommu_mr),
                                              &d->n, &err)) {
        error_free(err);
        d->refused = true;
        return false;
    }
    d->registered = true;
    return true;
}

/*
 * The host pointer of the cache's whole range, if one IOMMU page (mapped
 * with the rights the cache needs) holds it and it lands in guest RAM.
 */
static void *direct_pointer(IOMMUDirectCache *d, int iommu_idx,
                            MemoryRegion **ram, hwaddr *ram_off)
{
    MemoryRegionCache *c = d->cache;
    IOMMUMemoryRegionClass *imrc =
        memory_region_get_iommu_class_nocheck(d->iommu_mr);
    IOMMUAccessFlags need = c->is_write ? IOMMU_RW : IOMMU_RO;
    hwaddr last = c->xlat + c->len - 1, phys, l = c->len;
    IOMMUTLBEntry e;
    MemoryRegion *mr;

    /* the access that called us went through: this page is mapped */
    e = imrc->translate(d->iommu_mr, c->xlat, IOMMU_NONE, iommu_idx);
    if ((e.perm & need) != need || e.target_as != &address_space_memory ||
        (c->xlat & ~e.addr_mask) != (last & ~e.addr_mask)) {
        return NULL;
    }
    phys = (e.translated_addr & ~e.addr_mask) | (c->xlat & e.addr_mask);
    mr = address_space_translate(&address_space_memory, phys, ram_off, &l,
                                 c->is_write, MEMTXATTRS_UNSPECIFIED);
    if (l < c->len || !memory_access_is_direct(mr, c->is_write,
                                               MEMTXATTRS_UNSPECIFIED)) {
        return NULL;
    }
    *ram = mr;
    return qemu_map_ram_ptr(mr->ram_block, *ram_off);
}

static void try_direct(IOMMUDirectCache *d)
{
    MemoryRegionCache *c = d->cache;
    int idx = memory_region_iommu_attrs_to_index(d->iommu_mr,
                                                 MEMTXATTRS_UNSPECIFIED);
    MemoryRegion *ram;
    hwaddr ram_off;
    void *ptr;

    /* watch first: nothing reported after this can be missed */
    if (!watch_range(d, idx)) {
        return;
    }
    ptr = direct_pointer(d, idx, &ram, &ram_off);
    if (!ptr) {
        d->next_try = MIN(d->next_try * 2, MAX_TRY_GAP);
        return;
    }
    memory_region_ref(ram);
    d->ram = ram;
    d->iommu_mrs = c->mrs;
    d->iova = c->xlat;
    c->mrs.mr = ram;
    c->mrs.offset_within_region = ram_off;
    c->xlat = ram_off;
    d->direct = true;
    smp_wmb();      /* the RAM section and offset before the pointer */
    qatomic_set(&c->ptr, ptr);
}

void iommu_direct_cache_learn(MemoryRegionCache *cache, MemoryRegion *reached)
{
    IOMMUDirectCache *d = cache->direct;

    if (!memory_region_is_ram(reached) || !bql_locked() ||
        ++cache->direct_slow < (d ? d->next_try : FIRST_TRY)) {
        return;
    }
    if (!d) {
        d = g_new0(IOMMUDirectCache, 1);
        d->cache = cache;
        d->iommu_mr = memory_region_get_iommu(cache->mrs.mr);
        d->next_try = FIRST_TRY;
        cache->direct = d;
    }
    cache->direct_slow = 0;
    if (d->iommu_mr && !d->refused) {
        try_direct(d);
    }
}

void iommu_direct_cache_destroy(MemoryRegionCache *cache)
{
    IOMMUDirectCache *d = cache->direct;

    if (!d) {
        return;
    }
    leave_direct(d);
    if (d->registered) {
        memory_region_unregister_iommu_notifier(MEMORY_REGION(d->iommu_mr),
                                                &d->n);
    }
    g_free(d);
    cache->direct = NULL;
}

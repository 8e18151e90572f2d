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
 * One UNMAP notifier per IOMMU region (and IOMMU index) watches for all
 * of that region's direct caches; it is registered the first time one of
 * them goes direct and stays (the region is referenced), so that caches
 * that come and go do not add and remove notifiers. Everything here runs
 * under the BQL.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "qom/object.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "system/iothread.h"
#include "hw/viommu/iommu-direct.h"

/* Slow accesses before a cache tries; doubled after each failed try. */
#define FIRST_TRY       8u
#define MAX_TRY_GAP     (1u << 16)
#define MAX_OPT_IN      8

typedef struct DirectWatch DirectWatch;

struct IOMMUDirectCache {
    MemoryRegionCache *cache;
    IOMMUMemoryRegion *iommu_mr;
    DirectWatch *watch;                 /* once it went direct */
    MemoryRegionSection iommu_mrs;      /* cache->mrs, while direct */
    hwaddr iova;                        /* cache->xlat, while direct */
    hwaddr page_first, page_last;       /* the IOMMU page, while direct */
    MemoryRegion *ram;                  /* referenced while direct */
    bool direct;
    unsigned next_try;
    QLIST_ENTRY(IOMMUDirectCache) next; /* in watch->caches, while direct */
};

/* The direct caches of one IOMMU region and index, and their notifier. */
struct DirectWatch {
    IOMMUNotifier n;
    IOMMUMemoryRegion *iommu_mr;
    bool refused;                       /* the model took no notifier */
    QLIST_HEAD(, IOMMUDirectCache) caches;
    QLIST_ENTRY(DirectWatch) next;
};

static QLIST_HEAD(, DirectWatch) watches = QLIST_HEAD_INITIALIZER(watches);
/* What a cache of a model that did not opt in points at: it never tries. */
static IOMMUDirectCache never = { .next_try = UINT_MAX };
static const IOMMUMemoryRegionClass *opted_in[MAX_OPT_IN];
static MemoryListener ram_listener;

void iommu_direct_opt_in(IOMMUMemoryRegionClass *imrc)
{
    for (unsigned i = 0; i < MAX_OPT_IN; i++) {
        if (!opted_in[i] || opted_in[i] == imrc) {
            opted_in[i] = imrc;
            return;
        }
    }
}

static bool model_opted_in(IOMMUMemoryRegion *iommu_mr)
{
    const IOMMUMemoryRegionClass *imrc =
        memory_region_get_iommu_class_nocheck(iommu_mr);

    for (unsigned i = 0; i < MAX_OPT_IN && opted_in[i]; i++) {
        if (opted_in[i] == imrc) {
            return true;
        }
    }
    return false;
}

static int is_iothread(Object *obj, void *opaque)
{
    return object_dynamic_cast(obj, TYPE_IOTHREAD) != NULL;
}

/*
 * A device given an iothread uses its caches there, outside the BQL, and
 * the inline accessors read cache->ptr without a lock: with any iothread
 * object in the machine, no cache goes direct.
 */
static bool iothreads_exist(void)
{
    return object_child_foreach(object_get_objects_root(), is_iothread, NULL);
}

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
    QLIST_REMOVE(d, next);
    c->direct_slow = 0;
    d->next_try = FIRST_TRY;
}

/* Any UNMAP or invalidation that meets the IOMMU page a cache is in. */
static void watch_unmap_notify(IOMMUNotifier *n, IOMMUTLBEntry *entry)
{
    DirectWatch *w = container_of(n, DirectWatch, n);
    IOMMUDirectCache *d, *next;
    hwaddr last = entry->iova | entry->addr_mask;

    QLIST_FOREACH_SAFE(d, &w->caches, next, next) {
        if (entry->iova <= d->page_last && last >= d->page_first) {
            leave_direct(d);
        }
    }
}

/*
 * A section left system memory (a BAR moved, RAM unplugged, a ROM device
 * switched mode): a pointer may point at what is no longer there.
 */
static void ram_section_gone(MemoryListener *listener,
                             MemoryRegionSection *section)
{
    DirectWatch *w;
    IOMMUDirectCache *d, *next;

    QLIST_FOREACH(w, &watches, next) {
        QLIST_FOREACH_SAFE(d, &w->caches, next, next) {
            leave_direct(d);
        }
    }
}

static DirectWatch *watch_of(IOMMUMemoryRegion *iommu_mr, int iommu_idx)
{
    DirectWatch *w;
    Error *err = NULL;

    QLIST_FOREACH(w, &watches, next) {
        if (w->iommu_mr == iommu_mr && w->n.iommu_idx == iommu_idx) {
            return w->refused ? NULL : w;
        }
    }
    if (!ram_listener.region_del) {
        ram_listener.region_del = ram_section_gone;
        ram_listener.name = "iommu-direct";
        memory_listener_register(&ram_listener, &address_space_memory);
    }
    w = g_new0(DirectWatch, 1);
    w->iommu_mr = iommu_mr;
    QLIST_INIT(&w->caches);
    QLIST_INSERT_HEAD(&watches, w, next);
    /*
     * Over the whole region, as vhost's: QEMU requires an UNMAP to lie
     * within the notifier's range, and an IOMMU may report any size.
     */
    iommu_notifier_init(&w->n, watch_unmap_notify, IOMMU_NOTIFIER_UNMAP, 0,
                        HWADDR_MAX, iommu_idx);
    if (memory_region_register_iommu_notifier(MEMORY_REGION(iommu_mr),
                                              &w->n, &err)) {
        error_free(err);
        w->refused = true;
        return NULL;
    }
    memory_region_ref(MEMORY_REGION(iommu_mr));     /* the notifier stays */
    return w;
}

/*
 * The host pointer of the cache's whole range, if the IOMMU page that
 * holds @iova (an address the device just reached through it, so no
 * fault can be raised) holds all of it, with the rights the cache needs,
 * and lands in guest RAM.
 */
static void *direct_pointer(IOMMUDirectCache *d, int iommu_idx, hwaddr iova,
                            MemoryRegion **ram, hwaddr *ram_off)
{
    MemoryRegionCache *c = d->cache;
    IOMMUMemoryRegionClass *imrc =
        memory_region_get_iommu_class_nocheck(d->iommu_mr);
    IOMMUAccessFlags need = c->is_write ? IOMMU_RW : IOMMU_RO;
    hwaddr last = c->xlat + c->len - 1, phys, l = c->len;
    IOMMUTLBEntry e;
    MemoryRegion *mr;

    e = imrc->translate(d->iommu_mr, iova, IOMMU_NONE, iommu_idx);
    if ((e.perm & need) != need || e.target_as != &address_space_memory ||
        (c->xlat & ~e.addr_mask) != (iova & ~e.addr_mask) ||
        (last & ~e.addr_mask) != (iova & ~e.addr_mask)) {
        return NULL;
    }
    phys = (e.translated_addr & ~e.addr_mask) | (c->xlat & e.addr_mask);
    mr = address_space_translate(&address_space_memory, phys, ram_off, &l,
                                 c->is_write, MEMTXATTRS_UNSPECIFIED);
    if (l < c->len || !memory_access_is_direct(mr, c->is_write,
                                               MEMTXATTRS_UNSPECIFIED)) {
        return NULL;
    }
    d->page_first = iova & ~e.addr_mask;
    d->page_last = iova | e.addr_mask;
    *ram = mr;
    return qemu_map_ram_ptr(mr->ram_block, *ram_off);
}

static void try_direct(IOMMUDirectCache *d, hwaddr iova)
{
    MemoryRegionCache *c = d->cache;
    int idx = memory_region_iommu_attrs_to_index(d->iommu_mr,
                                                 MEMTXATTRS_UNSPECIFIED);
    MemoryRegion *ram;
    hwaddr ram_off;
    void *ptr;

    /* watch first: nothing reported after this can be missed */
    d->watch = watch_of(d->iommu_mr, idx);
    if (!d->watch || iothreads_exist()) {
        d->next_try = MAX_TRY_GAP;
        return;
    }
    ptr = direct_pointer(d, idx, iova, &ram, &ram_off);
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
    QLIST_INSERT_HEAD(&d->watch->caches, d, next);
    smp_wmb();      /* the RAM section and offset before the pointer */
    qatomic_set(&c->ptr, ptr);
}

void iommu_direct_cache_learn(MemoryRegionCache *cache, hwaddr addr,
                              MemoryRegion *reached)
{
    IOMMUDirectCache *d = cache->direct;
    IOMMUMemoryRegion *iommu_mr;

    if (!memory_region_is_ram(reached) || !bql_locked() ||
        ++cache->direct_slow < (d ? d->next_try : FIRST_TRY)) {
        return;
    }
    cache->direct_slow = 0;
    if (d == &never) {
        return;
    }
    if (!d) {
        iommu_mr = memory_region_get_iommu(cache->mrs.mr);
        if (!iommu_mr || !model_opted_in(iommu_mr)) {
            cache->direct = &never;
            return;
        }
        d = g_new0(IOMMUDirectCache, 1);
        d->cache = cache;
        d->iommu_mr = iommu_mr;
        d->next_try = FIRST_TRY;
        cache->direct = d;
    }
    try_direct(d, cache->xlat + addr);
}

void iommu_direct_cache_destroy(MemoryRegionCache *cache)
{
    IOMMUDirectCache *d = cache->direct;

    cache->direct = NULL;
    if (!d || d == &never) {
        return;
    }
    leave_direct(d);
    g_free(d);
}

bool iommu_direct_cache_split(MemoryRegionCache *cache, hwaddr addr,
                              void *buf, hwaddr len, bool is_write,
                              MemTxResult *res)
{
    IOMMUMemoryRegion *iommu_mr = memory_region_get_iommu(cache->mrs.mr);
    uint8_t *p = buf;
    uint64_t page;
    hwaddr n;

    if (!iommu_mr) {
        return false;
    }
    page = memory_region_iommu_get_min_page_size(iommu_mr);
    n = page - ((cache->xlat + addr) & (page - 1));     /* to the page end */
    if (n >= len) {
        return false;
    }
    /*
     * Each page through the cache's own accessors: a chunk's slow access
     * can make the cache direct (iommu_direct_cache_learn), and the next
     * chunk then goes through its pointer, which covers the whole range.
     * After the first chunk, chunks start on page boundaries.
     */
    *res = MEMTX_OK;
    while (len) {
        *res |= is_write ? address_space_write_cached(cache, addr, p, n)
                         : address_space_read_cached(cache, addr, p, n);
        addr += n;
        p += n;
        len -= n;
        n = MIN(len, page);
    }
    return true;
}

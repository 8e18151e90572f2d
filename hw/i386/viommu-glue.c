/*
 * qemu-viommu: QEMU glue shared by the x86 IOMMU models (see
 * include/hw/i386/viommu-glue.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "exec/address-spaces.h"
#include "hw/i386/viommu-glue.h"
#include "hw/viommu/viommu-info.h"
#include "hw/pci/msi.h"
#include "hw/pci/pci_bus.h"
#include "hw/viommu/pow2-split.h"
#include "hw/viommu/pt-walk.h"
#include "hw/viommu/iotlb.h"
#include "trace/trace-hw_viommu.h"

IOMMUAccessFlags viommu_iommu_perm(unsigned perm)
{
    return (perm & VIOMMU_PT_READ ? IOMMU_RO : 0) |
           (perm & VIOMMU_PT_WRITE ? IOMMU_WO : 0);
}

unsigned viommu_walk_perm(IOMMUAccessFlags flag)
{
    return (flag & IOMMU_RO ? VIOMMU_PT_READ : 0) |
           (flag & IOMMU_WO ? VIOMMU_PT_WRITE : 0);
}

void viommu_shadow_notify(bool map, uint64_t iova, uint64_t output,
                          uint64_t mask, unsigned perm, void *opaque)
{
    ViommuNotifyTarget *t = opaque;
    ViommuStats *st = viommu_info_stats(memory_region_owner(
                                            MEMORY_REGION(t->iommu)));
    IOMMUNotifier *nf;
    IOMMUTLBEvent ev = {
        .type = map ? IOMMU_NOTIFIER_MAP : IOMMU_NOTIFIER_UNMAP,
        .entry = {
            .target_as = &address_space_memory,
            .iova = iova,
            .translated_addr = map ? output : 0,
            .addr_mask = mask,
            .perm = map ? viommu_iommu_perm(perm) : IOMMU_NONE,
        },
    };

    uint64_t *count = st ? (map ? &st->notifier_maps
                                : &st->notifier_unmaps) : NULL;

    if (trace_event_get_state_backends(TRACE_VIOMMU_NOTIFY)) {
        trace_viommu_notify(memory_region_name(MEMORY_REGION(t->iommu)),
                            map ? "map" : "unmap", iova, mask,
                            ev.entry.translated_addr);
    }
    if (t->only) {
        memory_region_notify_iommu_one(t->only, &ev);
        if (count) {
            (*count)++;
        }
        return;
    }
    IOMMU_NOTIFIER_FOREACH(nf, t->iommu) {
        if (nf != t->skip && (nf->notifier_flags & IOMMU_NOTIFIER_MAP)) {
            memory_region_notify_iommu_one(nf, &ev);
            if (count) {
                (*count)++;
            }
        }
    }
}

typedef struct UnmapTarget {
    IOMMUNotifier *nf;
    IOMMUNotifierFlag type;
    ViommuStats *stats;
    IOMMUMemoryRegion *iommu;   /* named in traces */
} UnmapTarget;

static void unmap_block(uint64_t start, uint64_t mask, void *opaque)
{
    UnmapTarget *u = opaque;
    IOMMUTLBEvent ev = {
        .type = u->type,
        .entry = {
            .target_as = &address_space_memory,
            .iova = start, .addr_mask = mask, .perm = IOMMU_NONE,
        },
    };

    if (u->stats) {
        u->stats->notifier_unmaps++;
    }
    if (trace_event_get_state_backends(TRACE_VIOMMU_NOTIFY)) {
        trace_viommu_notify(memory_region_name(MEMORY_REGION(u->iommu)),
                            u->type == IOMMU_NOTIFIER_UNMAP ? "unmap"
                                                            : "devtlb-unmap",
                            start, mask, 0);
    }
    memory_region_notify_iommu_one(u->nf, &ev);
}

void viommu_unmap_range(IOMMUMemoryRegion *iommu, IOMMUNotifierFlag type,
                        uint64_t start, uint64_t last)
{
    IOMMUNotifier *nf;

    ViommuStats *st = viommu_info_stats(memory_region_owner(
                                            MEMORY_REGION(iommu)));

    IOMMU_NOTIFIER_FOREACH(nf, iommu) {
        UnmapTarget u = { nf, type, st, iommu };
        uint64_t lo = MAX(start, nf->start), hi = MIN(last, nf->end);

        if ((nf->notifier_flags & type) &&
            !(nf->notifier_flags & IOMMU_NOTIFIER_MAP) && lo <= hi) {
            viommu_split_pow2(lo, hi, 0, unmap_block, &u);
        }
    }
}

void viommu_drop_notified(IOMMUMemoryRegion *iommu, IOMMUNotifierFlag flags,
                          ViommuShadow *shadow)
{
    ViommuNotifyTarget t = { .iommu = iommu };

    if (flags & IOMMU_NOTIFIER_UNMAP) {
        viommu_unmap_range(iommu, IOMMU_NOTIFIER_UNMAP, 0, UINT64_MAX);
    }
    if (flags & IOMMU_NOTIFIER_DEVIOTLB_UNMAP) {
        viommu_unmap_range(iommu, IOMMU_NOTIFIER_DEVIOTLB_UNMAP, 0,
                           UINT64_MAX);
    }
    if (shadow) {
        viommu_shadow_clear(shadow, viommu_shadow_notify, &t);
    }
}

static void ir_write(void *opaque, hwaddr addr, uint64_t value,
                     unsigned size)
{
    ViommuSpaceRegions *r = opaque;
    MSIMessage msg = { .address = r->intr_base + addr, .data = value };

    r->ir_request(r->ir_opaque, &msg);
}

static uint64_t ir_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0;
}

static const MemoryRegionOps ir_ops = {
    .write = ir_write,
    .read = ir_read,
    .valid.min_access_size = 1,
    .valid.max_access_size = 8,
    .impl.min_access_size = 4,
    .impl.max_access_size = 4,
    .endianness = DEVICE_LITTLE_ENDIAN,
};

int viommu_shadow_track(ViommuShadow **shadow, IOMMUNotifierFlag flags,
                        size_t max, uint64_t intr_base, uint64_t intr_size,
                        const char *who, Error **errp)
{
    const uint64_t hole[1][2] = { { intr_base, intr_base + intr_size - 1 } };

    if ((flags & IOMMU_NOTIFIER_MAP) && !*shadow) {
        *shadow = viommu_shadow_new(max);
        if (!*shadow) {
            error_setg(errp, "%s: out of memory", who);
            return -ENOMEM;
        }
        viommu_shadow_set_holes(*shadow, hole, 1);
    } else if (!(flags & IOMMU_NOTIFIER_MAP) && *shadow) {
        viommu_shadow_free(*shadow);        /* its notifiers are gone */
        *shadow = NULL;
    }
    return 0;
}

void viommu_space_regions_init(ViommuSpaceRegions *r, Object *owner,
                               const char *prefix, PCIBus *bus,
                               uint8_t devfn, const char *pseudo,
                               const char *iommu_type, uint64_t intr_base,
                               uint64_t intr_size, ViommuIrRequestFn ir_request,
                               void *ir_opaque)
{
    g_autofree char *name = NULL, *direct = NULL, *ir = NULL;

    name = bus ? g_strdup_printf("%s-%s-%02x.%x", prefix,
                                 pci_bus_is_root(bus) ? "root"
                                                      : bus->qbus.name,
                                 PCI_SLOT(devfn), PCI_FUNC(devfn))
               : g_strdup_printf("%s-%s", prefix, pseudo);
    direct = g_strdup_printf("%s-direct", prefix);
    ir = g_strdup_printf("%s-ir", prefix);
    r->intr_base = intr_base;
    r->ir_request = ir_request;
    r->ir_opaque = ir_opaque;
    memory_region_init(&r->root, owner, name, UINT64_MAX);
    memory_region_init_iommu(&r->iommu, sizeof(r->iommu), iommu_type, owner,
                             name, UINT64_MAX);
    memory_region_init_alias(&r->direct, owner, direct, get_system_memory(),
                             0, memory_region_size(get_system_memory()));
    memory_region_init_io(&r->ir, owner, &ir_ops, r, ir, intr_size);
    memory_region_add_subregion_overlap(&r->root, intr_base, &r->ir, 1);
    memory_region_add_subregion_overlap(&r->root, 0,
                                        MEMORY_REGION(&r->iommu), 0);
    memory_region_add_subregion_overlap(&r->root, 0, &r->direct, 0);
    memory_region_set_enabled(MEMORY_REGION(&r->iommu), false);
    address_space_init(&r->as, &r->root, name);
    r->translating = false;
}

void viommu_space_regions_switch(ViommuSpaceRegions *r, bool translating)
{
    memory_region_transaction_begin();
    memory_region_set_enabled(&r->direct, !translating);
    memory_region_set_enabled(MEMORY_REGION(&r->iommu), translating);
    memory_region_transaction_commit();
    r->translating = translating;
}

static guint space_key_hash(gconstpointer k)
{
    const ViommuSpaceKey *key = k;

    return g_direct_hash(key->bus) ^ key->devfn;
}

static gboolean space_key_equal(gconstpointer a, gconstpointer b)
{
    const ViommuSpaceKey *x = a, *y = b;

    return x->bus == y->bus && x->devfn == y->devfn;
}

GHashTable *viommu_space_table_new(void)
{
    return g_hash_table_new_full(space_key_hash, space_key_equal, g_free,
                                 NULL);
}

void viommu_space_table_insert(GHashTable *t, PCIBus *bus, uint8_t devfn,
                               void *value)
{
    ViommuSpaceKey *k = g_new(ViommuSpaceKey, 1);

    *k = (ViommuSpaceKey) { bus, devfn };
    g_hash_table_insert(t, k, value);
}

void *viommu_space_table_lookup(GHashTable *t, PCIBus *bus, uint8_t devfn)
{
    ViommuSpaceKey key = { bus, devfn };

    return g_hash_table_lookup(t, &key);
}

void viommu_leaf_counter_init(ViommuLeafCounter *lc)
{
    lc->seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                     g_free);
    lc->reads_left = VIOMMU_COUNT_QUERY_READS;
}

void viommu_leaf_counter_destroy(ViommuLeafCounter *lc)
{
    g_hash_table_destroy(lc->seen);
}

static int count_one_leaf(const ViommuPtResult *res, void *opaque)
{
    (*(uint64_t *)opaque)++;
    return 0;
}

bool viommu_count_leaves(ViommuLeafCounter *lc, const ViommuPtConfig *cfg,
                         uint64_t *count)
{
    gint64 key = cfg->root | cfg->levels;
    uint64_t *known = g_hash_table_lookup(lc->seen, &key);
    ViommuPtConfig look = *cfg;
    ViommuPtFault f = VIOMMU_PT_OK;
    uint64_t leaves = 0, estimate;

    if (!known) {
        look.flags = 0;                 /* a look: no A/D bits set */
        look.max_reads = MIN(VIOMMU_COUNT_TABLE_READS, lc->reads_left);
        if (look.max_reads) {
            viommu_pt_for_each_leaf(&look, 0, UINT64_MAX, count_one_leaf,
                                    &leaves, &f);
        }
        /* a walk reads a table entry a leaf, and some more */
        estimate = f || !look.max_reads ? look.max_reads
                                        : leaves + leaves / 256 + cfg->levels;
        lc->reads_left -= MIN(estimate, lc->reads_left);
        known = g_new(uint64_t, 1);
        *known = f || !look.max_reads ? UINT64_MAX : leaves;
        g_hash_table_insert(lc->seen, g_memdup2(&key, sizeof(key)), known);
    }
    *count = *known;
    return *known != UINT64_MAX;
}

void viommu_info_collect(GHashTable *spaces, QemuMutex *lock,
                         ViommuDescribeFn describe,
                         ViommuEndpointList ***tail)
{
    g_autoptr(GList) list = g_hash_table_get_values(spaces);
    guint n = g_list_length(list), i = 0;
    g_autofree ViommuEndpoint **eps = g_new0(ViommuEndpoint *, n);
    g_autofree ViommuPtConfig *cfg = g_new0(ViommuPtConfig, n);
    g_autofree bool *walk = g_new0(bool, n);
    ViommuLeafCounter lc;

    qemu_mutex_lock(lock);
    for (GList *l = list; l; l = l->next) {
        eps[i] = describe(l->data, &cfg[i], &walk[i]);
        i += eps[i] != NULL;
    }
    qemu_mutex_unlock(lock);
    viommu_leaf_counter_init(&lc);
    for (guint j = 0; j < i; j++) {
        if (walk[j]) {
            eps[j]->has_mappings = viommu_count_leaves(&lc, &cfg[j],
                                                       &eps[j]->mappings);
        }
        QAPI_LIST_APPEND(*tail, eps[j]);
    }
    viommu_leaf_counter_destroy(&lc);
}

void viommu_info_iotlb(ViommuIotlb *t, QemuMutex *lock, uint64_t *hits,
                       uint64_t *misses)
{
    qemu_mutex_lock(lock);
    *hits = viommu_iotlb_stats(t)->hits;
    *misses = viommu_iotlb_stats(t)->misses;
    qemu_mutex_unlock(lock);
}

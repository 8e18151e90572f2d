/*
 * qemu-viommu: QEMU glue shared by the x86 IOMMU models (intel-iommu,
 * amd-iommu), beside the QEMU-independent core of hw/viommu/.
 *
 *  - what IOMMU notifiers are told: the notifier shadow's MAPs and UNMAPs
 *    to the MAP notifiers (VFIO), invalidated ranges to UNMAP-only and
 *    DEVIOTLB notifiers (vhost), everything dropped before a space leaves
 *    translation;
 *  - the (bus, devfn) keys of the per-device address-space tables, and
 *    how a space keeps its bus readable after a bridge is unplugged;
 *  - guest-error messages bounded to a burst a second.
 *
 * All of it runs under the BQL.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_I386_VIOMMU_GLUE_H
#define HW_I386_VIOMMU_GLUE_H

#include "exec/memory.h"
#include "hw/pci/pci.h"
#include "hw/viommu/shadow.h"
#include "hw/viommu/viommu-model.h"

/* Walker permissions (VIOMMU_PT_READ/WRITE) as IOMMU access flags. */
IOMMUAccessFlags viommu_iommu_perm(unsigned perm);
/* IOMMU access flags as walker permissions. */
unsigned viommu_walk_perm(IOMMUAccessFlags flag);

/*
 * Whom the shadow's events go to: the MAP notifiers of @iommu, all of
 * them but @skip, or @only (a notifier being replayed).
 */
typedef struct ViommuNotifyTarget {
    IOMMUMemoryRegion *iommu;
    IOMMUNotifier *only;
    IOMMUNotifier *skip;
} ViommuNotifyTarget;

/* A ViommuShadowFn; @opaque is a ViommuNotifyTarget. */
void viommu_shadow_notify(bool map, uint64_t iova, uint64_t output,
                          uint64_t mask, unsigned perm, void *opaque);

/*
 * UNMAPs of [@start, @last] (inclusive), of @type (IOMMU_NOTIFIER_UNMAP or
 * IOMMU_NOTIFIER_DEVIOTLB_UNMAP), to the notifiers of @iommu registered
 * for that type and not for MAPs, each cut to the range it registered
 * (a notifier per section: the interrupt window splits them), in
 * naturally aligned power-of-two blocks.
 */
void viommu_unmap_range(IOMMUMemoryRegion *iommu, IOMMUNotifierFlag type,
                        uint64_t start, uint64_t last);

/*
 * Before a space leaves translation: its notifiers (@flags, the union of
 * theirs) are told that nothing is mapped any more, and @shadow (may be
 * NULL) is emptied through its MAP notifiers. QEMU unregisters notifiers
 * without a word when the region is disabled; vhost would otherwise keep
 * translations the guest took away.
 */
void viommu_drop_notified(IOMMUMemoryRegion *iommu, IOMMUNotifierFlag flags,
                          ViommuShadow *shadow);

/*
 * A per-device address space: a container holding the IOMMU region (while
 * translating) or a plain alias of system memory (while not: no cost per
 * access), and above both the interrupt address window, whose writes are
 * the device's interrupt requests.
 */
/*
 * An interrupt request: a DMA write of @msg (address in the window, the
 * data written) by the space's device, for the model to remap (or block)
 * and deliver.
 */
typedef void (*ViommuIrRequestFn)(void *opaque, MSIMessage *msg);

typedef struct ViommuSpaceRegions {
    MemoryRegion root;
    IOMMUMemoryRegion iommu;
    MemoryRegion direct;        /* system memory, untranslated */
    MemoryRegion ir;            /* the interrupt address window */
    AddressSpace as;
    bool translating;           /* iommu enabled rather than direct */
    uint64_t intr_base;
    ViommuIrRequestFn ir_request;
    void *ir_opaque;
} ViommuSpaceRegions;

/*
 * Builds @r, owned by @owner, not translating: an IOMMU region of
 * @iommu_type, and the interrupt window [@intr_base, @intr_base +
 * @intr_size), whose 4-byte writes go to @ir_request with @ir_opaque
 * (reads return 0). Its regions are named after @prefix and the device
 * (@bus and @devfn; with @bus NULL, @pseudo names it).
 */
void viommu_space_regions_init(ViommuSpaceRegions *r, Object *owner,
                               const char *prefix, PCIBus *bus,
                               uint8_t devfn, const char *pseudo,
                               const char *iommu_type, uint64_t intr_base,
                               uint64_t intr_size, ViommuIrRequestFn ir_request,
                               void *ir_opaque);

/* Switches @r to translating (the IOMMU region) or not (the alias). */
void viommu_space_regions_switch(ViommuSpaceRegions *r, bool translating);

/*
 * Keeps *@shadow in step with a space's notifier flags @flags: a shadow of
 * at most @max runs (no MAP may touch the interrupt window [@intr_base,
 * @intr_base + @intr_size)) while a MAP notifier is registered, none once
 * the last is gone. Returns 0, or -ENOMEM with @errp set (@who names the
 * device).
 */
int viommu_shadow_track(ViommuShadow **shadow, IOMMUNotifierFlag flags,
                        size_t max, uint64_t intr_base, uint64_t intr_size,
                        const char *who, Error **errp);

/* A per-device address space's key: its bus and device/function. */
typedef struct ViommuSpaceKey {
    PCIBus *bus;
    uint8_t devfn;
} ViommuSpaceKey;

/* A table of spaces by ViommuSpaceKey (keys freed with the table). */
GHashTable *viommu_space_table_new(void);

/* Adds @value under a copy of (@bus, @devfn). */
void viommu_space_table_insert(GHashTable *t, PCIBus *bus, uint8_t devfn,
                               void *value);

/* The space of (@bus, @devfn), or NULL. */
void *viommu_space_table_lookup(GHashTable *t, PCIBus *bus, uint8_t devfn);

/*
 * Counting the pages a domain maps, for query-viommu (VT-d, AMD-Vi): one
 * counter per query. Tables met before (the same root and levels) are not
 * walked again; each walk reads at most VIOMMU_COUNT_TABLE_READS entries,
 * and a query at most VIOMMU_COUNT_QUERY_READS, so that no guest tables
 * (self-referencing, aliased) make the command run long.
 */
#define VIOMMU_COUNT_TABLE_READS    (1u << 20)
#define VIOMMU_COUNT_QUERY_READS    (1u << 22)

typedef struct ViommuLeafCounter {
    GHashTable *seen;           /* root | levels -> count, or UINT64_MAX */
    uint64_t reads_left;
} ViommuLeafCounter;

void viommu_leaf_counter_init(ViommuLeafCounter *lc);
void viommu_leaf_counter_destroy(ViommuLeafCounter *lc);

/*
 * The leaves of the tables @cfg describes into *@count; false (nothing
 * counted) when the walk was cut short by a bound or an unreadable entry.
 */
struct ViommuPtConfig;
bool viommu_count_leaves(ViommuLeafCounter *lc,
                         const struct ViommuPtConfig *cfg, uint64_t *count);

/*
 * A space as query-viommu shows it, filled under the model's lock; *@cfg
 * and *@walk set when its tables are to be counted. NULL: not shown.
 */
typedef struct ViommuEndpoint ViommuEndpoint;
typedef struct ViommuEndpointList ViommuEndpointList;
typedef ViommuEndpoint *(*ViommuDescribeFn)(void *space,
                                             struct ViommuPtConfig *cfg,
                                             bool *walk);

/* The hits and misses of IOTLB @t, read under @lock (query-viommu). */
struct ViommuIotlb;
void viommu_info_iotlb(struct ViommuIotlb *t, QemuMutex *lock,
                       uint64_t *hits, uint64_t *misses);

/*
 * Appends the endpoints of the spaces in @spaces at *@tail: each described
 * with @lock held, then their tables counted with it released.
 */
void viommu_info_collect(GHashTable *spaces, QemuMutex *lock,
                         ViommuDescribeFn describe,
                         ViommuEndpointList ***tail);

#endif

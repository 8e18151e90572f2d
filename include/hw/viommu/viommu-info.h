/*
 * qemu-viommu: introspection of the virtual IOMMUs, the QMP command
 * query-viommu and HMP's "info viommu" (qapi/viommu.json).
 *
 * Each model registers itself with its counters (ViommuStats) and what it
 * can tell (ViommuInfoOps); the command asks each in turn, under the BQL.
 * QEMU glue, not part of the QEMU-independent core.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_VIOMMU_INFO_H
#define HW_VIOMMU_VIOMMU_INFO_H

#include "qemu/atomic.h"
#include "hw/pci/pci_device.h"
#include "qapi/qapi-types-viommu.h"

/*
 * What a virtual IOMMU has done (ViommuCounters). translations is counted
 * without a lock (translate() may run in an IOThread); the rest under the
 * BQL or the model's lock. IOTLB hits and misses come from its IOTLB.
 */
typedef struct ViommuStats {
    uint64_t translations;
    uint64_t inv_global, inv_domain, inv_page, inv_device;
    uint64_t notifier_maps, notifier_unmaps;
    uint64_t faults[256];               /* by reason (8 bits) */
} ViommuStats;

typedef struct ViommuInfoOps {
    /* Appends the endpoints the IOMMU has seen at *@tail. */
    void (*endpoints)(Object *iommu, ViommuEndpointList ***tail);
    /* Its IOTLB's hits and misses; NULL: it has none. */
    void (*iotlb)(Object *iommu, uint64_t *hits, uint64_t *misses);
    /* @pdev as the IOMMU sees it, or NULL if it does not translate it. */
    ViommuEndpointDetail *(*detail)(Object *iommu, PCIDevice *pdev);
} ViommuInfoOps;

/*
 * Adds @iommu (the object whose IOMMU regions it owns) to query-viommu,
 * shown as @shown (its QOM path and type name; the PCI proxy of
 * virtio-iommu), with @stats. Under the BQL, at realize.
 */
void viommu_info_register(Object *iommu, Object *shown, ViommuStats *stats,
                          const ViommuInfoOps *ops);

/* Removes @iommu (unrealize). */
void viommu_info_unregister(Object *iommu);

/* The counters of the IOMMU owning @owner's regions, or NULL. */
ViommuStats *viommu_info_stats(Object *owner);

static inline void viommu_stats_translation(ViommuStats *st)
{
    qatomic_set(&st->translations, qatomic_read(&st->translations) + 1);
}

static inline void viommu_stats_fault(ViommuStats *st, unsigned reason)
{
    st->faults[reason & 0xff]++;
}

/* "bb:dd.f" of a requester ID, for ViommuEndpoint.bdf. */
char *viommu_info_bdf(uint16_t sid);

/* The QOM path of the PCI device at @sid under @bus, or NULL. */
char *viommu_info_device_path(PCIBus *bus, uint8_t devfn);

#endif

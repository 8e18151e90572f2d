/*
 * qemu-viommu: virtio-iommu device (virtio 1.3, 5.13 "IOMMU Device").
 *
 * The request semantics live in the QEMU-independent core
 * (include/hw/viommu/virtio-iommu-core.h); this is the QEMU side: one
 * IOMMUMemoryRegion per PCI endpoint, the virtqueues and the properties
 * that machine compat settings and libvirt use.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QEMU_VIRTIO_IOMMU_H
#define QEMU_VIRTIO_IOMMU_H

#include "hw/pci/pci.h"
#include "hw/viommu/viommu-info.h"
#include "hw/viommu/viommu-model.h"
#include "hw/viommu/virtio-iommu-core.h"
#include "hw/viommu/vring-split.h"
#include "hw/viommu/xlate-cache.h"
#include "hw/virtio/virtio.h"
#include "qapi/qapi-types-virtio.h"
#include "qemu/thread.h"
#include "qom/object.h"
#include "system/host_iommu_device.h"
#include "standard-headers/linux/virtio_iommu.h"

/* QOM names: the device, its PCI transport and its memory regions */
#define TYPE_VIRTIO_IOMMU_PCI "virtio-iommu-pci"
#define TYPE_VIRTIO_IOMMU "virtio-iommu-device"
#define TYPE_VIRTIO_IOMMU_MEMORY_REGION "virtio-iommu-memory-region"
OBJECT_DECLARE_SIMPLE_TYPE(VirtIOIOMMU, VIRTIO_IOMMU)

typedef struct VirtIOIOMMUPending VirtIOIOMMUPending;

/*
 * A device assigned through VFIO (HostIOMMUDevice), and the IOVA ranges
 * its host IOMMU maps.
 */
typedef struct VirtIOIOMMUHostDev {
    HostIOMMUDevice *hiod;
    PCIBus *bus;                /* the function itself (set_iommu_device) */
    int devfn;
    ViommuRange *usable;
    size_t nr_usable;
    QLIST_ENTRY(VirtIOIOMMUHostDev) next;
} VirtIOIOMMUHostDev;

/* The ID of an endpoint whose bus was unplugged: no endpoint has it */
#define VIRTIO_IOMMU_EP_GONE UINT32_MAX

/* One PCI function behind the IOMMU, and the address space its DMA uses. */
typedef struct VirtIOIOMMUEndpoint {
    VirtIOIOMMU *viommu;
    PCIBus *bus;                /* held: see include/hw/viommu/viommu-model.h */
    uint8_t devfn;
    bool bypassing;             /* bypass_mr enabled rather than iommu_mr */
    IOMMUMemoryRegion iommu_mr;
    MemoryRegion root;          /* holds iommu_mr and bypass_mr */
    MemoryRegion bypass_mr;     /* alias of system memory: identity */
    AddressSpace as;
    /* assigned devices that DMA with this requester ID */
    QLIST_HEAD(, VirtIOIOMMUHostDev) host_devs;
    QLIST_ENTRY(VirtIOIOMMUEndpoint) next;
    /* translate fast path; filled under lock, "domain" is the endpoint ID */
    ViommuXc xc;
} VirtIOIOMMUEndpoint;

#define VIRTIO_IOMMU_FAULT_RING 64

#define VIRTIO_IOMMU_RING_WINDOWS 4

struct RingWindow {
    hwaddr start, len;
    MemoryRegionCache cache;
};

struct VirtIOIOMMU {
    VirtIODevice parent_obj;
    VirtQueue *req_vq;
    VirtQueue *event_vq;
    VringSplit *req_ring;       /* serves req_vq unless the ring is packed */
    /* Guest RAM windows req_ring reaches directly, for one batch */
    struct RingWindow ring_win[VIRTIO_IOMMU_RING_WINDOWS];
    unsigned nr_ring_win, ring_win_next;
    bool serving_ring;          /* a batch is running: no re-entry */
    bool ring_kicked;           /* ... and its own DMA kicked the queue */
    bool ring_io_seen;          /* ... and reached something besides RAM */
    QEMUTimer *req_resume;      /* serves what a slice of requests left */
    unsigned reset_count;       /* device resets so far */

    /* properties */
    PCIBus *primary_bus;
    bool boot_bypass;
    GranuleMode granule_mode;
    uint8_t aw_bits;
    bool check_alignment;
    ReservedRegion *prop_resv_regions;
    uint32_t nr_prop_resv_regions;

    /*
     * Taken around every core call; the lock rule of all three models
     * (include/hw/viommu/viommu-model.h): BQL, then lock; notifiers run
     * after it is dropped, from pending (virtio_iommu_unlock()).
     */
    QemuMutex lock;
    /* MAP/UNMAP events queued under lock, relayed after it */
    VirtIOIOMMUPending *pending, *pending_tail;
    ViommuCore *core;
    ViommuXcSet fast;           /* the endpoints' fast paths, under lock */
    QLIST_HEAD(, VirtIOIOMMUEndpoint) endpoints;
    unsigned nr_notified;       /* endpoints with IOMMU notifiers */

    /* Faults found by translate(), reported from a bottom half (5.13.6.9) */
    ViommuFaultQueue faults;
    ViommuLogLimit log_limit;   /* rate bound of guest-error messages */
    ViommuStats stats;          /* query-viommu's counters */

    /* migration */
    uint8_t *migration_buf;
    uint32_t migration_len;
};

#endif

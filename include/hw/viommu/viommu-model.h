/*
 * qemu-viommu: rules and helpers of the QEMU glue that the three IOMMU
 * models (virtio-iommu, intel-iommu, amd-iommu) share.
 *
 * The lock rule. Besides the BQL, each model has one lock of its own
 * (s->lock: its tables, caches and translation state), which translate()
 * takes, with or without the BQL (an IOThread's DMA).
 *  - Order: the BQL, then s->lock; never the BQL while s->lock is held.
 *  - Nothing leaves the model while s->lock is held: no IOMMU notifier
 *    (VFIO's map ioctls, vhost, hook 5's watch), no memory transaction or
 *    address-space switch, no interrupt, no guest memory access that may
 *    reach anything but RAM. What a change made under the lock must tell
 *    the rest of QEMU is collected under it and sent once it is dropped,
 *    still under the BQL and in the order it was collected (virtio-iommu:
 *    virtio_iommu_unlock(); intel-iommu and amd-iommu: the spaces changed
 *    under the lock are switched and synced after it).
 *  - Faults found by translate() without the BQL, or with s->lock held,
 *    are queued under s->lock and recorded by a bottom half
 *    (ViommuFaultQueue).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_VIOMMU_MODEL_H
#define HW_VIOMMU_VIOMMU_MODEL_H

#include "qemu/thread.h"
#include "hw/pci/pci_bus.h"

/*
 * An IOMMU's per-function address space (endpoint) keeps the PCIBus * the
 * function sits on, and reads it for the requester ID (pci_bus_num) long
 * after it was made: translate(), requests naming an endpoint, query-viommu.
 * A bridge's secondary bus lives inside the bridge, and a hot-unplugged
 * bridge is freed with it, so each endpoint holds both (viommu_hold_bus,
 * once, when it is made; never dropped, as endpoints are never freed).
 * Once the bridge is unplugged, viommu_bus_alive() is false and the
 * endpoint has no requester ID any more: the model treats it as gone
 * rather than reading the bus's number through the bridge's freed state.
 */
void viommu_hold_bus(PCIBus *bus);
bool viommu_bus_alive(PCIBus *bus);

/*
 * Guest-error messages (-d guest_errors) of one IOMMU: at most @burst a
 * second, so that a guest cannot flood the log.
 */
typedef struct ViommuLogLimit {
    uint64_t since_ms;
    unsigned count;
} ViommuLogLimit;

/* Logs "@who: <message>" as a guest error, within @l's bound of @burst. */
void viommu_guest_verror(ViommuLogLimit *l, unsigned burst, const char *who,
                         const char *fmt, va_list ap) G_GNUC_PRINTF(4, 0);

/*
 * Delivers @n fault records (of the queue's record size each, in the order
 * they were found), under the BQL, without the model's lock: VT-d's fault
 * recording (7.1.3), AMD-Vi's event log (2.5), virtio-iommu's event queue
 * (virtio 1.3, 5.13.6.9).
 */
typedef void (*ViommuFaultDeliverFn)(void *opaque, const void *records,
                                     unsigned n);

/*
 * Faults a model finds where it may not record them: translate() from an
 * IOThread (no BQL), or with s->lock held. At most @len records of
 * @record_size bytes wait, queued under s->lock; a bottom half in the main
 * loop hands them to @deliver. A record that finds the queue full is
 * dropped and counted, as a fault beyond the hardware's records (VT-d's
 * PFO, 7.1.3) or a full event log (AMD-Vi 2.5.1) would be lost. When the
 * VM stops, what waits is delivered at once, so that a migration carries
 * it (written into guest RAM before its last pass, interrupts before the
 * APICs' state is saved).
 */
typedef struct ViommuFaultQueue {
    QemuMutex *lock;            /* the model's s->lock */
    const char *model;          /* its type name, for traces */
    MemReentrancyGuard *guard;  /* the device guest MMIO reaches */
    QEMUBH *bh;
    ViommuFaultDeliverFn deliver;
    void *opaque;
    size_t record_size;         /* bytes */
    unsigned len;               /* records it holds */
    unsigned count;             /* records waiting, under lock */
    uint64_t dropped;           /* records lost to a full queue, under lock */
    uint8_t *records;           /* len * record_size, under lock */
    uint8_t *batch;             /* the bottom half's copy */
    struct VMChangeStateEntry *vm_state;    /* drains it as the VM stops */
} ViommuFaultQueue;

/*
 * Sets up @q for @dev, whose s->lock is @lock (initialised). @dev is the
 * device whose MMIO the guest reaches (a virtio device's transport), whose
 * re-entrancy guard the delivery holds.
 */
void viommu_fault_queue_init(ViommuFaultQueue *q, DeviceState *dev,
                             QemuMutex *lock, unsigned len,
                             size_t record_size, ViommuFaultDeliverFn deliver,
                             void *opaque);
void viommu_fault_queue_destroy(ViommuFaultQueue *q);

/*
 * With q->lock held: queues @record (record_size bytes) for the bottom
 * half. Returns false, counting it in q->dropped, if the queue is full.
 */
bool viommu_fault_queue_push_locked(ViommuFaultQueue *q, const void *record);

/*
 * Without q->lock: delivers @record at once under the BQL, or else queues
 * it (viommu_fault_queue_push_locked).
 */
void viommu_fault_report(ViommuFaultQueue *q, const void *record);

/* With q->lock held: forgets the records waiting (a reset). */
void viommu_fault_queue_clear_locked(ViommuFaultQueue *q);

#endif

/*
 * qemu-viommu: QEMU glue shared by the three IOMMU models (see
 * include/hw/viommu/viommu-model.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "system/runstate.h"
#include "hw/qdev-core.h"
#include "hw/viommu/viommu-model.h"
#include "trace.h"

void viommu_hold_bus(PCIBus *bus)
{
    object_ref(OBJECT(bus));
    if (BUS(bus)->parent) {
        object_ref(OBJECT(BUS(bus)->parent));
    }
}

bool viommu_bus_alive(PCIBus *bus)
{
    return BUS(bus)->realized;
}

void viommu_guest_verror(ViommuLogLimit *l, unsigned burst, const char *who,
                         const char *fmt, va_list ap)
{
    uint64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    g_autofree char *msg = NULL;

    if (now - l->since_ms >= 1000) {
        l->since_ms = now;
        l->count = 0;
    }
    if (l->count++ >= burst || !qemu_loglevel_mask(LOG_GUEST_ERROR)) {
        return;
    }
    msg = g_strdup_vprintf(fmt, ap);
    qemu_log_mask(LOG_GUEST_ERROR, "%s: %s\n", who, msg);
}

static void fault_queue_drain(void *opaque)
{
    ViommuFaultQueue *q = opaque;
    unsigned n;

    qemu_mutex_lock(q->lock);
    n = q->count;
    memcpy(q->batch, q->records, n * q->record_size);
    q->count = 0;
    qemu_mutex_unlock(q->lock);
    if (n) {
        q->deliver(q->opaque, q->batch, n);
    }
}

/*
 * Once the VM stops (before migration sends the last of RAM and the device
 * states), what waits is delivered: its records and interrupts travel with
 * the rest, rather than being written into RAM already sent.
 */
static void fault_queue_vm_state(void *opaque, bool running, RunState state)
{
    ViommuFaultQueue *q = opaque;

    /* as the bottom half is: no re-entry through the device's own MMIO */
    if (running || q->guard->engaged_in_io) {
        return;
    }
    q->guard->engaged_in_io = true;
    fault_queue_drain(q);
    q->guard->engaged_in_io = false;
}

void viommu_fault_queue_init(ViommuFaultQueue *q, DeviceState *dev,
                             QemuMutex *lock, unsigned len,
                             size_t record_size, ViommuFaultDeliverFn deliver,
                             void *opaque)
{
    *q = (ViommuFaultQueue) {
        .lock = lock, .deliver = deliver, .opaque = opaque,
        .record_size = record_size, .len = len,
        .model = object_get_typename(OBJECT(dev)),
        .guard = &dev->mem_reentrancy_guard,
        .records = g_malloc0(len * record_size),
        .batch = g_malloc0(len * record_size),
    };
    q->bh = qemu_bh_new_guarded(fault_queue_drain, q, q->guard);
    q->vm_state = qemu_add_vm_change_state_handler(fault_queue_vm_state, q);
}

void viommu_fault_queue_destroy(ViommuFaultQueue *q)
{
    qemu_del_vm_change_state_handler(q->vm_state);
    qemu_bh_delete(q->bh);
    g_free(q->records);
    g_free(q->batch);
    q->bh = NULL;
    q->records = q->batch = NULL;
}

bool viommu_fault_queue_push_locked(ViommuFaultQueue *q, const void *record)
{
    if (q->count == q->len) {
        q->dropped++;
        trace_viommu_fault_queue_full(q->model, q->dropped);
        return false;
    }
    memcpy(q->records + q->count++ * q->record_size, record, q->record_size);
    qemu_bh_schedule(q->bh);
    return true;
}

void viommu_fault_report(ViommuFaultQueue *q, const void *record)
{
    if (bql_locked()) {
        q->deliver(q->opaque, record, 1);
        return;
    }
    qemu_mutex_lock(q->lock);
    viommu_fault_queue_push_locked(q, record);
    qemu_mutex_unlock(q->lock);
}

void viommu_fault_queue_clear_locked(ViommuFaultQueue *q)
{
    q->count = 0;
}

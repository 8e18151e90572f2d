/*
 * qemu-viommu hook 7: a TCG vCPU's cached memory dispatch keeps its
 * FlatView alive (see include/hw/viommu/cpu-dispatch.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "exec/memory.h"
#include "exec/memory-internal.h"
#include "hw/viommu/cpu-dispatch.h"

/*
 * CPUAddressSpace -> the FlatView it holds. Both callers run under the
 * BQL; the lock of its own keeps the table sound whatever thread calls.
 */
static GHashTable *held;
static QemuMutex held_lock;

static void __attribute__((constructor)) cpu_dispatch_init(void)
{
    qemu_mutex_init(&held_lock);
    held = g_hash_table_new(NULL, NULL);
}

void cpu_dispatch_hold(const void *cpuas, AddressSpace *as)
{
    FlatView *fv = address_space_get_flatview(as);     /* a reference */
    FlatView *old;

    qemu_mutex_lock(&held_lock);
    old = g_hash_table_lookup(held, cpuas);
    g_hash_table_insert(held, (gpointer)cpuas, fv);
    qemu_mutex_unlock(&held_lock);
    if (old) {
        flatview_unref(old);    /* reclaimed after a grace period */
    }
}

void cpu_dispatch_release(const void *cpuas)
{
    FlatView *old;

    qemu_mutex_lock(&held_lock);
    old = g_hash_table_lookup(held, cpuas);
    g_hash_table_remove(held, cpuas);
    qemu_mutex_unlock(&held_lock);
    if (old) {
        flatview_unref(old);
    }
}

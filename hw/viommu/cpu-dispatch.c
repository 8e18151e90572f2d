/*
 * qemu-viommu hook 7: a TCG vCPU's cached memory dispatch keeps its
 * FlatView alive (see include/hw/viommu/cpu-dispatch.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "exec/memory.h"
#include "exec/memory-internal.h"    /* FlatView references, as physmem.c */
#include "hw/viommu/cpu-dispatch.h"

/* What one CPU address space holds */
typedef struct Held {
    FlatView *fv;
    const CPUState *cpu;
} Held;

/*
 * CPUAddressSpace -> Held. The callers run under the BQL; the lock of its
 * own keeps the table sound whatever thread calls.
 */
static GHashTable *held;
static QemuMutex held_lock;

static void __attribute__((constructor)) cpu_dispatch_init(void)
{
    qemu_mutex_init(&held_lock);
    held = g_hash_table_new_full(NULL, NULL, NULL, g_free);
}

void cpu_dispatch_hold(const void *cpuas, const CPUState *cpu,
                       AddressSpace *as)
{
    Held *h = g_new(Held, 1);
    FlatView *old = NULL;
    Held *was;

    h->fv = address_space_get_flatview(as);     /* a reference */
    h->cpu = cpu;
    qemu_mutex_lock(&held_lock);
    was = g_hash_table_lookup(held, cpuas);
    if (was) {
        old = was->fv;
    }
    g_hash_table_insert(held, (gpointer)cpuas, h);     /* frees @was */
    qemu_mutex_unlock(&held_lock);
    if (old) {
        flatview_unref(old);    /* reclaimed after a grace period */
    }
}

/* Under held_lock: take what @cpuas holds out of the table. */
static FlatView *take(const void *cpuas)
{
    Held *h = g_hash_table_lookup(held, cpuas);
    FlatView *fv = h ? h->fv : NULL;

    g_hash_table_remove(held, cpuas);
    return fv;
}

void cpu_dispatch_release(const void *cpuas)
{
    FlatView *old;

    qemu_mutex_lock(&held_lock);
    old = take(cpuas);
    qemu_mutex_unlock(&held_lock);
    if (old) {
        flatview_unref(old);
    }
}

void cpu_dispatch_release_cpu(const CPUState *cpu)
{
    GPtrArray *fvs = g_ptr_array_new();
    GHashTableIter it;
    Held *h;

    qemu_mutex_lock(&held_lock);
    g_hash_table_iter_init(&it, held);
    while (g_hash_table_iter_next(&it, NULL, (gpointer *)&h)) {
        if (h->cpu == cpu) {
            g_ptr_array_add(fvs, h->fv);
            g_hash_table_iter_remove(&it);
        }
    }
    qemu_mutex_unlock(&held_lock);
    for (guint i = 0; i < fvs->len; i++) {
        flatview_unref(fvs->pdata[i]);
    }
    g_ptr_array_free(fvs, true);
}

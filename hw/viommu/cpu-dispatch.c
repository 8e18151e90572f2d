/*
 * qemu-viommu hook 7: a TCG vCPU resolves its TLB's section indices
 * through the dispatch they were taken from (include/hw/viommu/cpu-dispatch.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "hw/viommu/cpu-dispatch.h"

void cpu_dispatch_hold(CPUDispatchHold *h, AddressSpace *as)
{
    FlatView *old = h->fv;

    h->fv = address_space_get_flatview(as);     /* a reference */
    if (old) {
        flatview_unref(old);    /* reclaimed after a grace period */
    }
}

void cpu_dispatch_release(CPUDispatchHold *h)
{
    FlatView *old = h->fv;

    h->fv = NULL;
    if (old) {
        flatview_unref(old);
    }
}

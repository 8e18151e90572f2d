/*
 * qemu-viommu hook 7: a TCG vCPU resolves its TLB's section indices
 * through the dispatch they were taken from.
 *
 * A TCG TLB entry of an MMIO page keeps the index of its
 * MemoryRegionSection in the dispatch of a FlatView of the vCPU's address
 * space (address_space_translate_for_iotlb when the entry is filled,
 * iotlb_to_section when the page is accessed, both in system/physmem.c).
 * A memory transaction publishes a new FlatView and queues work on each
 * vCPU (tcg_commit_cpu) that flushes its TLB. QEMU 10.0.13 looks the index
 * up in the address space's *current* dispatch; until the queued flush
 * runs (the vCPU finishes its translation block, or wakes from HLT and
 * takes an interrupt first), an index taken from the previous FlatView
 * names whatever section has that index in the new one: an MMIO load
 * returns another device's register, or trips the bound assertion in
 * iotlb_to_section. Guests behind a vIOMMU change the layout often enough
 * to hit it (see README.rst, "Hook points").
 *
 * With the hook each CPU address space holds the FlatView its TLB entries
 * come from: taken by tcg_commit_cpu together with the flush, so that the
 * held dispatch and the TLB change at one point on the vCPU's own thread,
 * and used by both lookups. The reference keeps that FlatView alive
 * until the vCPU moves on; it is then retired through RCU as usual.
 *
 * Threads: cpu_dispatch_hold() and cpu_dispatch_of() run on the vCPU's
 * thread (or before it runs, at realize), cpu_dispatch_release() when its
 * address spaces are destroyed (the thread is gone); no lock is needed.
 * Destroying them unregisters the listener, which queues one more
 * tcg_commit_cpu() with the CPU address space about to be freed; it never
 * runs: the vCPU's thread has been joined by then (x86_cpu_unrealizefn
 * removes the vCPU before cpu_common_unrealize destroys its address
 * spaces; the targets we build do not hot-unplug otherwise).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_CPU_DISPATCH_H
#define HW_VIOMMU_CPU_DISPATCH_H

#include "exec/memory.h"
#include "exec/memory-internal.h"

/* The FlatView one CPU address space's TLB entries come from (or NULL) */
typedef struct CPUDispatchHold {
    FlatView *fv;
} CPUDispatchHold;

/*
 * The TLB of the vCPU is flushed now: hold @as's current FlatView and
 * release the one held before (a reference each).
 */
void cpu_dispatch_hold(CPUDispatchHold *h, AddressSpace *as);

/* The address space is destroyed: release what @h holds, if anything. */
void cpu_dispatch_release(CPUDispatchHold *h);

/*
 * The dispatch to resolve @h's TLB entries in: the held one, or @current
 * when nothing is held yet (before the first commit).
 */
static inline AddressSpaceDispatch *
cpu_dispatch_of(const CPUDispatchHold *h, AddressSpaceDispatch *current)
{
    return h->fv ? flatview_to_dispatch(h->fv) : current;
}

#endif

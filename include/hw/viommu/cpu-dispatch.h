/*
 * qemu-viommu hook 7: a TCG vCPU's cached memory dispatch keeps its
 * FlatView alive until the vCPU itself moves to a newer one.
 *
 * TCG caches, per CPU address space, the dispatch of its FlatView
 * (CPUAddressSpace.memory_dispatch in system/physmem.c): the TLB fill
 * (address_space_translate_for_iotlb) and the TLB's section lookups use
 * it. A memory transaction publishes a new FlatView, retires the old one
 * through call_rcu, and queues work on each vCPU (tcg_commit_cpu) that
 * moves its cache to the new dispatch. RCU keeps the old FlatView only
 * for read-side sections that had begun when it was retired; a vCPU that
 * was outside cpu_exec then (woken from HLT, waiting in cpu_exec_halt for
 * the BQL that the transaction holds) enters cpu_exec afterwards, delivers
 * the pending interrupt and walks the guest's tables through the old
 * dispatch before it looks at its work list. Once the RCU thread has
 * reclaimed the old FlatView, that walk reads freed memory.
 *
 * With the hook, each CPU address space holds a reference to the FlatView
 * whose dispatch it caches, taken when tcg_commit_cpu caches it and
 * dropped when the vCPU caches the next one, or when the vCPU is
 * unrealized (hot-unplug: its thread is gone, and QEMU 10.0 never destroys
 * its address spaces) or an address space destroyed; the FlatView is then
 * retired through RCU as usual, at a point where the vCPU no longer uses
 * it.
 *
 * The hook (scripts/prepare-tree.sh, README.rst "Hook points"): one call
 * in tcg_commit_cpu() and one in cpu_address_space_destroy()
 * (system/physmem.c), one in tcg_exec_unrealizefn() (accel/tcg/cpu-exec.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_CPU_DISPATCH_H
#define HW_VIOMMU_CPU_DISPATCH_H

#include "exec/memory.h"
#include "hw/core/cpu.h"

/*
 * @cpuas (an opaque key: the CPUAddressSpace of @cpu) now caches the
 * dispatch of @as's current FlatView: hold that FlatView, release the one
 * held before. Called where the cache is set, with the BQL held (so that
 * the current FlatView is the one whose dispatch was cached).
 */
void cpu_dispatch_hold(const void *cpuas, const CPUState *cpu,
                       AddressSpace *as);

/* @cpuas caches no dispatch any more: release what it held, if anything. */
void cpu_dispatch_release(const void *cpuas);

/* @cpu runs no more (unrealized): release what its address spaces hold. */
void cpu_dispatch_release_cpu(const CPUState *cpu);

#endif

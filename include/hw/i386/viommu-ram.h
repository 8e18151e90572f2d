/*
 * qemu-viommu: guest memory for the x86 IOMMU models' translation
 * structures (intel-iommu, amd-iommu).
 *
 * Tables, entries, command and invalidation descriptors are read from
 * (and A/D bits set in) RAM only: a table the guest points at MMIO is a
 * failed read, never a device access made from translate() with the
 * model's lock held and perhaps without the BQL. All addresses are
 * guest-physical; quadwords are little-endian.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_I386_VIOMMU_RAM_H
#define HW_I386_VIOMMU_RAM_H

#include "exec/memory.h"

/*
 * Copies @len bytes at @addr, all in one RAM block, into @buf. Returns
 * false (nothing copied) if they are not all RAM.
 */
bool viommu_ram_read(uint64_t addr, void *buf, unsigned len);

/* A ViommuPtReadFn (hw/viommu/pt-walk.h): the quadword at @addr. */
bool viommu_ram_read_q(void *opaque, uint64_t addr, uint64_t *entry);

/*
 * A ViommuPtWriteFn: replaces the aligned quadword at @addr with @entry
 * if it still holds @old, atomically, as hardware sets A/D bits; marks
 * the page dirty. False if it changed or is not writable RAM.
 */
bool viommu_ram_cmpxchg_q(void *opaque, uint64_t addr, uint64_t old,
                          uint64_t entry);

/*
 * Writes @len bytes of @buf at @addr, all in one RAM block, and marks them
 * dirty: completion and status writes, event log entries. Returns false
 * (nothing written) if they are not all writable RAM: a guest that points
 * them at MMIO (the IOMMU's own registers) does not get a device write
 * made on its behalf.
 */
bool viommu_ram_write(uint64_t addr, const void *buf, unsigned len);

/* @n (at most 8) quadwords at @addr into @q; false if not all RAM. */
bool viommu_ram_read_n(uint64_t addr, uint64_t *q, unsigned n);

#endif

/*
 * qemu-viommu: a register file of an IOMMU's MMIO page, as data (VT-d
 * chapter 10 "Register Descriptions", AMD IOMMU spec rev. 3.x, 3.4 "MMIO
 * Registers").
 *
 * A model describes each register software may change by its offset,
 * its size, its writable bits (RW) and its write-1-to-clear bits (RW1C),
 * and an action to run after a write reaches it. Every other bit of the
 * file is read-only to software (RO, or reserved and zero): the model sets
 * those itself, by storing into the file. An access may have any size
 * from 1 to 8 bytes at any offset, as the guest chooses; a register
 * takes the bytes of the access that fall inside it and leaves the rest
 * alone, so that neither spec's rules about access sizes (VT-d 10.2, AMD
 * 3.4) can be broken into an inconsistent state.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_REGFILE_H
#define HW_VIOMMU_REGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIOMMU_REG_MAX_ACCESS   8   /* bytes: the widest access served */

/*
 * One register software may write. @written runs once per write that
 * reaches any byte of it, after every register the access reaches has
 * taken its bytes, with @old its value before the write (zero-extended
 * from @size bytes); NULL: no action.
 */
typedef struct ViommuReg {
    uint32_t off;               /* byte offset in the file */
    uint8_t size;               /* 1 .. 8 bytes */
    uint64_t rw;                /* bits a write stores */
    uint64_t w1c;               /* bits a write of 1 clears */
    void (*written)(void *opaque, uint64_t old);
} ViommuReg;

/*
 * A register file: @bytes, @size bytes long, little-endian, and its
 * writable registers @regs[@nr_regs], sorted by offset, not overlapping,
 * each inside the file. @rw_mask, if set, gives the writable bits of a
 * register as the model is configured (for registers whose fields exist
 * only with an option); NULL: each register's @rw. @opaque is passed to
 * @rw_mask and to the actions.
 */
typedef struct ViommuRegFile {
    uint8_t *bytes;
    uint32_t size;
    const ViommuReg *regs;
    size_t nr_regs;
    uint64_t (*rw_mask)(void *opaque, const ViommuReg *r);
    void *opaque;
} ViommuRegFile;

/*
 * The @size bytes (1 .. 8) at byte offset @addr, little-endian.
 * Returns false, with *@val = 0, if the access does not fit in the file
 * or @size is out of range.
 */
bool viommu_regfile_read(const ViommuRegFile *f, uint64_t addr,
                         unsigned size, uint64_t *val);

/*
 * Writes the low @size bytes (1 .. 8) of @val at byte offset @addr: each
 * byte of each register reached takes its writable bits from @val and
 * clears its write-1-to-clear bits where @val has 1s; bytes outside every
 * register do not change. Then each register reached runs its action,
 * in offset order. Returns false, changing nothing, if the access does
 * not fit in the file or @size is out of range.
 */
bool viommu_regfile_write(const ViommuRegFile *f, uint64_t addr,
                          uint64_t val, unsigned size);

/*
 * Register @r's value: its @r->size bytes of the file, zero-extended.
 */
uint64_t viommu_reg_value(const ViommuRegFile *f, const ViommuReg *r);

#endif

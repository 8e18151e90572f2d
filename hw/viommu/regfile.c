/*
 * qemu-viommu: a register file of an IOMMU's MMIO page (see
 * include/hw/viommu/regfile.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/regfile.h"

static bool access_fits(const ViommuRegFile *f, uint64_t addr,
                        unsigned size)
{
    return size >= 1 && size <= VIOMMU_REG_MAX_ACCESS &&
           addr <= f->size && size <= f->size - addr;
}

static uint64_t load_le(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = size; i-- > 0;) {
        v = v << 8 | p[i];
    }
    return v;
}

bool viommu_regfile_read(const ViommuRegFile *f, uint64_t addr,
                         unsigned size, uint64_t *val)
{
    if (!access_fits(f, addr, size)) {
        *val = 0;
        return false;
    }
    *val = load_le(f->bytes + addr, size);
    return true;
}

uint64_t viommu_reg_value(const ViommuRegFile *f, const ViommuReg *r)
{
    return load_le(f->bytes + r->off, r->size);
}

static uint64_t writable_bits(const ViommuRegFile *f, const ViommuReg *r)
{
    return f->rw_mask ? f->rw_mask(f->opaque, r) : r->rw;
}

/* Byte @b of the file, inside @r, after a write of byte @v. */
static void write_byte(const ViommuRegFile *f, const ViommuReg *r,
                       uint64_t rw, uint32_t b, uint8_t v)
{
    unsigned shift = 8 * (b - r->off);
    uint8_t brw = rw >> shift, bw1c = r->w1c >> shift;

    f->bytes[b] = ((f->bytes[b] & ~brw) | (v & brw)) & ~(v & bw1c);
}

bool viommu_regfile_write(const ViommuRegFile *f, uint64_t addr,
                          uint64_t val, unsigned size)
{
    /* an access of 8 bytes reaches at most 8 registers (of 1 byte) */
    const ViommuReg *hit[VIOMMU_REG_MAX_ACCESS];
    uint64_t old[VIOMMU_REG_MAX_ACCESS];
    unsigned nr_hit = 0;

    if (!access_fits(f, addr, size)) {
        return false;
    }
    for (size_t i = 0; i < f->nr_regs && nr_hit < size; i++) {
        const ViommuReg *r = &f->regs[i];
        uint64_t lo = addr > r->off ? addr : r->off;
        uint64_t hi = addr + size < (uint64_t)r->off + r->size ?
                      addr + size : (uint64_t)r->off + r->size;
        uint64_t rw;

        if (lo >= hi) {
            continue;
        }
        rw = writable_bits(f, r);
        old[nr_hit] = viommu_reg_value(f, r);
        for (uint64_t b = lo; b < hi; b++) {
            write_byte(f, r, rw, b, val >> (8 * (b - addr)));
        }
        hit[nr_hit++] = r;
    }
    for (unsigned i = 0; i < nr_hit; i++) {
        if (hit[i]->written) {
            hit[i]->written(f->opaque, old[i]);
        }
    }
    return true;
}

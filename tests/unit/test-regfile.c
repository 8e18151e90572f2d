/*
 * qemu-viommu: unit tests of the register file (hw/viommu/regfile.c):
 * every access size (1, 2, 4, 8, and the odd ones) at every offset of a
 * file with registers of 1, 2, 4 and 8 bytes, read-only bytes between
 * them, write-1-to-clear bits and a configuration-dependent mask, against
 * a reference computed a register at a time; each action runs once per
 * write, in offset order, knowing the old value and seeing the whole
 * write done; accesses outside the
 * file change nothing.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include "hw/viommu/regfile.h"
#include "unit.h"

#define FILE_SIZE   48

typedef struct Fake {
    uint8_t bytes[FILE_SIZE];
    bool narrow;                    /* the configuration-dependent mask */
    unsigned nr_calls;
    uint32_t call_off[VIOMMU_REG_MAX_ACCESS + 1];
    uint64_t call_old[VIOMMU_REG_MAX_ACCESS + 1];
    uint8_t call_file[VIOMMU_REG_MAX_ACCESS + 1][FILE_SIZE];
    const ViommuRegFile *file;
} Fake;

static void record(Fake *fk, uint32_t off, uint64_t old)
{
    if (fk->nr_calls < VIOMMU_REG_MAX_ACCESS + 1) {
        fk->call_off[fk->nr_calls] = off;
        fk->call_old[fk->nr_calls] = old;
        memcpy(fk->call_file[fk->nr_calls], fk->bytes, FILE_SIZE);
    }
    fk->nr_calls++;
}

static void written_0(void *o, uint64_t old) { record(o, 0, old); }
static void written_5(void *o, uint64_t old) { record(o, 5, old); }
static void written_8(void *o, uint64_t old) { record(o, 8, old); }
static void written_16(void *o, uint64_t old) { record(o, 16, old); }
static void written_24(void *o, uint64_t old) { record(o, 24, old); }
static void written_40(void *o, uint64_t old) { record(o, 40, old); }

/* bytes 4, 7, 12..15 and 32..39 are in no register: read-only */
static const ViommuReg regs[] = {
    { 0, 4, 0xffff00ffull, 0x0000ff00ull, written_0 },
    { 5, 2, 0x0ff0, 0xf00f, written_5 },
    { 8, 4, 0xffffffffull, 0, written_8 },
    { 16, 8, 0x00ffffffffff0000ull, 0xff00000000000000ull, written_16 },
    { 24, 8, 0xffffffffffffffffull, 0, written_24 },
    { 40, 1, 0x7f, 0x80, written_40 },
    { 41, 1, 0xff, 0, NULL },
};

static uint64_t rw_mask(void *o, const ViommuReg *r)
{
    Fake *fk = o;

    return fk->narrow && r->off == 24 ? r->rw & 0xffff : r->rw;
}

static void fake_init(Fake *fk, ViommuRegFile *f, uint64_t seed)
{
    memset(fk, 0, sizeof(*fk));
    unit_seed(seed);
    for (unsigned i = 0; i < FILE_SIZE; i++) {
        fk->bytes[i] = unit_rand();
    }
    *f = (ViommuRegFile) {
        .bytes = fk->bytes, .size = FILE_SIZE, .regs = regs,
        .nr_regs = sizeof(regs) / sizeof(regs[0]), .rw_mask = rw_mask,
        .opaque = fk,
    };
    fk->file = f;
}

static uint64_t get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    memcpy(&v, p, n);           /* the host is little-endian, as CI's */
    return v;
}

static void put(uint8_t *p, unsigned n, uint64_t v)
{
    memcpy(p, &v, n);
}

static uint64_t ones(unsigned bytes)
{
    return bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
}

/*
 * The reference: the file after a write, a register at a time. The part
 * of @val over register @r, and the byte-enables of that part, shifted to
 * the register's bit 0.
 */
static void reference_write(uint8_t *ref, const ViommuRegFile *f,
                            uint64_t addr, uint64_t val, unsigned size)
{
    uint64_t v = val & ones(size);

    for (size_t i = 0; i < f->nr_regs; i++) {
        const ViommuReg *r = &f->regs[i];
        uint64_t be, part, cur, rw = f->rw_mask(f->opaque, r);

        if (addr + size <= r->off || r->off + r->size <= addr) {
            continue;
        }
        if (addr >= r->off) {
            be = ones(size) << (8 * (addr - r->off));
            part = v << (8 * (addr - r->off));
        } else {
            be = ones(size) >> (8 * (r->off - addr));
            part = v >> (8 * (r->off - addr));
        }
        be &= ones(r->size);
        cur = get(ref + r->off, r->size);
        cur = (cur & ~(rw & be)) | (part & rw & be);
        cur &= ~(part & r->w1c & be);
        put(ref + r->off, r->size, cur);
    }
}

static unsigned expected_calls(uint64_t addr, unsigned size,
                               uint32_t *offs)
{
    unsigned n = 0;

    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        if (addr < regs[i].off + regs[i].size && regs[i].off < addr + size &&
            regs[i].written) {
            offs[n++] = regs[i].off;
        }
    }
    return n;
}

static void check_one(uint64_t addr, unsigned size, bool narrow,
                      uint64_t seed)
{
    Fake fk;
    ViommuRegFile f;
    uint8_t before[FILE_SIZE], ref[FILE_SIZE];
    uint32_t offs[VIOMMU_REG_MAX_ACCESS + 1];
    uint64_t val, readback;
    unsigned n;

    fake_init(&fk, &f, seed);
    fk.narrow = narrow;
    val = unit_rand();
    memcpy(before, fk.bytes, FILE_SIZE);
    memcpy(ref, fk.bytes, FILE_SIZE);
    reference_write(ref, &f, addr, val, size);
    CHECK(viommu_regfile_write(&f, addr, val, size));
    CHECK(memcmp(ref, fk.bytes, FILE_SIZE) == 0);
    n = expected_calls(addr, size, offs);
    CHECK_EQ(fk.nr_calls, n);
    for (unsigned i = 0; i < n && i < fk.nr_calls; i++) {
        const ViommuReg *r = NULL;

        for (size_t j = 0; j < sizeof(regs) / sizeof(regs[0]); j++) {
            r = regs[j].off == offs[i] ? &regs[j] : r;
        }
        CHECK_EQ(fk.call_off[i], offs[i]);
        CHECK_EQ(fk.call_old[i], get(before + r->off, r->size));
        /* every register of the access took its bytes before any action */
        CHECK(memcmp(fk.call_file[i], ref, FILE_SIZE) == 0);
    }
    CHECK(viommu_regfile_read(&f, addr, size, &readback));
    CHECK_EQ(readback, get(fk.bytes + addr, size));
}

static void test_every_size_every_offset(void)
{
    uint64_t seed = 1;

    for (unsigned size = 1; size <= VIOMMU_REG_MAX_ACCESS; size++) {
        for (uint64_t addr = 0; addr + size <= FILE_SIZE; addr++) {
            for (int round = 0; round < 16; round++) {
                check_one(addr, size, round & 1, seed++);
            }
        }
    }
}

/* All ones, then all zeros: RW1C bits clear, RW bits follow, RO stays. */
static void test_w1c_and_read_only(void)
{
    Fake fk;
    ViommuRegFile f;
    uint64_t v;

    fake_init(&fk, &f, 7);
    memset(fk.bytes, 0xa5, FILE_SIZE);
    CHECK(viommu_regfile_write(&f, 0, ~0ull, 8));
    CHECK(viommu_regfile_read(&f, 0, 4, &v));
    CHECK_EQ(v, 0xffff00ffull);             /* RW set, RW1C cleared */
    CHECK_EQ(fk.bytes[4], 0xa5);            /* between registers */
    CHECK(viommu_regfile_write(&f, 40, 0xff, 1));
    CHECK_EQ(fk.bytes[40], 0x7f);           /* bit 7 is RW1C */
    CHECK(viommu_regfile_write(&f, 40, 0x00, 1));
    CHECK_EQ(fk.bytes[40], 0x00);
    CHECK(viommu_regfile_write(&f, 32, ~0ull, 8));
    CHECK(viommu_regfile_read(&f, 32, 8, &v));
    CHECK_EQ(v, 0xa5a5a5a5a5a5a5a5ull);     /* no register there */
    CHECK_EQ(fk.nr_calls, 4);               /* 0, 5, 40, 40; not 32 */
}

/* The configuration-dependent mask narrows what a write stores. */
static void test_rw_mask(void)
{
    Fake fk;
    ViommuRegFile f;
    uint64_t v;

    fake_init(&fk, &f, 9);
    memset(fk.bytes + 24, 0, 8);
    fk.narrow = true;
    CHECK(viommu_regfile_write(&f, 24, ~0ull, 8));
    CHECK(viommu_regfile_read(&f, 24, 8, &v));
    CHECK_EQ(v, 0xffff);
    fk.narrow = false;
    CHECK(viommu_regfile_write(&f, 24, ~0ull, 8));
    CHECK(viommu_regfile_read(&f, 24, 8, &v));
    CHECK_EQ(v, ~0ull);
}

/* Outside the file, or of no size or more than 8: refused, nothing run. */
static void test_refused(void)
{
    Fake fk;
    ViommuRegFile f;
    uint8_t before[FILE_SIZE];
    uint64_t v = 1;

    fake_init(&fk, &f, 11);
    memcpy(before, fk.bytes, FILE_SIZE);
    CHECK(!viommu_regfile_write(&f, FILE_SIZE - 3, ~0ull, 4));
    CHECK(!viommu_regfile_write(&f, FILE_SIZE, ~0ull, 1));
    CHECK(!viommu_regfile_write(&f, ~0ull - 2, ~0ull, 4));
    CHECK(!viommu_regfile_write(&f, 0, ~0ull, 0));
    CHECK(!viommu_regfile_write(&f, 0, ~0ull, 9));
    CHECK(memcmp(before, fk.bytes, FILE_SIZE) == 0);
    CHECK_EQ(fk.nr_calls, 0);
    CHECK(!viommu_regfile_read(&f, FILE_SIZE - 1, 2, &v));
    CHECK_EQ(v, 0);
    CHECK(!viommu_regfile_read(&f, ~0ull, 8, &v));
    CHECK(viommu_regfile_read(&f, FILE_SIZE - 8, 8, &v));
}

int main(void)
{
    RUN(test_every_size_every_offset);
    RUN(test_w1c_and_read_only);
    RUN(test_rw_mask);
    RUN(test_refused);
    return unit_report("regfile");
}

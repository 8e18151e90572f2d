/*
 * qemu-viommu: guest memory for the page-table tests: MAX pages at
 * guest-physical 0 (page 0 unused), a memory reader and writer for
 * ViommuPtConfig, and helpers to build tables in it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TESTS_UNIT_PT_FAKE_MEM_H
#define TESTS_UNIT_PT_FAKE_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifndef MEM_PAGES
#define MEM_PAGES   256
#endif
#define PAGE        4096ull

/* Guest memory: MEM_PAGES pages at guest-physical 0; page 0 stays unused. */
static uint64_t mem[MEM_PAGES * 512];
static unsigned next_page;
static unsigned reads;

static inline bool mem_read(void *opaque, uint64_t addr, uint64_t *entry)
{
    reads++;
    if (addr >= sizeof(mem) || (addr & 7)) {
        return false;
    }
    *entry = mem[addr / 8];
    return true;
}

static inline bool mem_write(void *opaque, uint64_t addr, uint64_t old,
                             uint64_t entry)
{
    if (addr >= sizeof(mem) || (addr & 7) || mem[addr / 8] != old) {
        return false;
    }
    mem[addr / 8] = entry;
    return true;
}

static inline void mem_reset(void)
{
    memset(mem, 0, sizeof(mem));
    next_page = 1;
}

static inline uint64_t new_table(void)
{
    return (uint64_t)next_page++ * PAGE;
}

static inline void set_entry(uint64_t table, unsigned idx, uint64_t pte)
{
    mem[table / 8 + idx] = pte;
}

static inline unsigned idx_of(uint64_t iova, int level)
{
    return (iova >> (12 + 9 * (level - 1))) & 511;
}

/*
 * Builds a path of tables for @iova down to @leaf_level; returns the
 * table that holds the leaf entry. @table_bits go in every table entry.
 */
static inline uint64_t path(uint64_t root, int levels, uint64_t iova,
                            int leaf_level, uint64_t table_bits)
{
    uint64_t t = root, next;
    int level;

    for (level = levels; level > leaf_level; level--) {
        uint64_t *e = &mem[t / 8 + idx_of(iova, level)];
        if (*e & 0xfffffffff000ull) {
            next = *e & 0xfffffffff000ull;
        } else {
            next = new_table();
            *e = next | table_bits;
        }
        t = next;
    }
    return t;
}

#endif

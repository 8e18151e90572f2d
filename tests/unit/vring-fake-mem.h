/*
 * qemu-viommu: a fake guest memory for the split ring's unit test and fuzz
 * target: FAKE_MEM_SIZE bytes from guest address 0, reached through
 * VringMemOps as the QEMU glue reaches guest RAM. Anything outside fails,
 * as unassigned memory does.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TESTS_UNIT_VRING_FAKE_MEM_H
#define TESTS_UNIT_VRING_FAKE_MEM_H

#include "hw/viommu/le.h"
#include "hw/viommu/vring-split.h"

#include <string.h>

static uint8_t mem[FAKE_MEM_SIZE];
static unsigned nr_writes;          /* successful writes so far */

static bool in_mem(uint64_t addr, size_t len)
{
    return addr <= FAKE_MEM_SIZE && len <= FAKE_MEM_SIZE - addr;
}

static bool mem_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
    if (!in_mem(addr, len)) {
        return false;
    }
    memcpy(buf, mem + addr, len);
    return true;
}

static bool mem_write(void *opaque, uint64_t addr, const void *buf,
                      size_t len)
{
    if (!in_mem(addr, len)) {
        return false;
    }
    memcpy(mem + addr, buf, len);
    nr_writes++;
    return true;
}

static bool mem_load16(void *opaque, uint64_t addr, uint16_t *val)
{
    if (!in_mem(addr, 2)) {
        return false;
    }
    *val = le_ld16(mem + addr);
    return true;
}

static bool mem_store16(void *opaque, uint64_t addr, uint16_t val)
{
    uint8_t raw[2];

    le_st16(raw, val);
    return mem_write(opaque, addr, raw, sizeof(raw));
}

static const VringMemOps ops = { mem_read, mem_write, mem_load16,
                                 mem_store16 };

#endif

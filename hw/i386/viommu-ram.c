/*
 * qemu-viommu: guest memory for the x86 IOMMU models' translation
 * structures (see include/hw/i386/viommu-ram.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/rcu.h"
#include "exec/address-spaces.h"
#include "hw/i386/viommu-ram.h"

/* The host address of [@addr, @addr + @len) and its region, or NULL. */
static void *ram_ptr(uint64_t addr, unsigned len, bool write,
                     MemoryRegion **mrp, hwaddr *xlatp)
{
    MemoryRegion *mr;
    hwaddr xlat, l = len;

    mr = address_space_translate(&address_space_memory, addr, &xlat, &l,
                                 write, MEMTXATTRS_UNSPECIFIED);
    if (!memory_region_is_ram(mr) || memory_region_is_ram_device(mr) ||
        l < len || (write && memory_region_is_rom(mr))) {
        return NULL;
    }
    *mrp = mr;
    *xlatp = xlat;
    return (uint8_t *)memory_region_get_ram_ptr(mr) + xlat;
}

bool viommu_ram_read(uint64_t addr, void *buf, unsigned len)
{
    MemoryRegion *mr;
    hwaddr xlat;
    void *p;

    RCU_READ_LOCK_GUARD();
    p = ram_ptr(addr, len, false, &mr, &xlat);
    if (p) {
        memcpy(buf, p, len);
    }
    return p;
}

bool viommu_ram_write(uint64_t addr, const void *buf, unsigned len)
{
    MemoryRegion *mr;
    hwaddr xlat;
    void *p;

    RCU_READ_LOCK_GUARD();
    p = ram_ptr(addr, len, true, &mr, &xlat);
    if (p) {
        memcpy(p, buf, len);
        memory_region_set_dirty(mr, xlat, len);
    }
    return p;
}

bool viommu_ram_read_q(void *opaque, uint64_t addr, uint64_t *entry)
{
    uint8_t buf[8];

    if (!viommu_ram_read(addr, buf, 8)) {
        return false;
    }
    *entry = ldq_le_p(buf);
    return true;
}

bool viommu_ram_cmpxchg_q(void *opaque, uint64_t addr, uint64_t old,
                          uint64_t entry)
{
    MemoryRegion *mr;
    hwaddr xlat;
    uint64_t *p;

    RCU_READ_LOCK_GUARD();
    p = (addr & 7) ? NULL : ram_ptr(addr, 8, true, &mr, &xlat);
    if (!p || qatomic_cmpxchg(p, cpu_to_le64(old), cpu_to_le64(entry)) !=
              cpu_to_le64(old)) {
        return false;
    }
    memory_region_set_dirty(mr, xlat, 8);
    return true;
}

bool viommu_ram_read_n(uint64_t addr, uint64_t *q, unsigned n)
{
    uint8_t buf[64];

    if (n > 8 || !viommu_ram_read(addr, buf, 8 * n)) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        q[i] = ldq_le_p(buf + 8 * i);
    }
    return true;
}

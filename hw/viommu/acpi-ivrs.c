/*
 * qemu-viommu: IVRS encoding (AMD IOMMU spec rev. 3.x, 5.2).
 *
 * IVinfo (4 bytes) and 8 reserved bytes; then each IVHD: type, flags,
 * length (2), DeviceID (2), capability offset (2), base (8), segment (2),
 * IOMMU info (2), and for type 10h the feature reporting field (4), for
 * types 11h and 40h the attributes (4), EFR image (8) and EFR2 image (8);
 * then the device entries.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/acpi-ivrs.h"

typedef struct Out {
    uint8_t *buf;
    size_t cap, len;
} Out;

static void put(Out *o, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++, o->len++) {
        if (o->buf && o->len < o->cap) {
            o->buf[o->len] = v >> (8 * i);
        }
    }
}

static unsigned entry_size(const IvrsDevEntry *e)
{
    return e->type >= 0x40 ? 8 : 4;
}

static size_t entries_size(const IvrsConfig *cfg)
{
    size_t n = 0;

    for (unsigned i = 0; i < cfg->nr_entries; i++) {
        n += entry_size(&cfg->entries[i]);
    }
    return n;
}

static void put_entry(Out *o, const IvrsDevEntry *e)
{
    put(o, e->type, 1);
    put(o, e->devid, 2);
    put(o, 0, 1);                           /* DTE settings */
    if (e->type == IVRS_DEV_SPECIAL) {
        put(o, e->handle, 1);
        put(o, e->alias, 2);                /* the devid it uses */
        put(o, e->variety, 1);
    } else if (e->type == IVRS_DEV_ALIAS_RANGE) {
        put(o, 0, 1);
        put(o, e->alias, 2);
        put(o, 0, 1);
    }
}

static void put_ivhd(Out *o, const IvrsConfig *cfg, uint8_t type,
                     size_t header)
{
    put(o, type, 1);
    put(o, type == 0x10 ? cfg->flags10 : cfg->flags11, 1);
    put(o, header + entries_size(cfg), 2);
    put(o, cfg->iommu_devid, 2);
    put(o, cfg->cap_offset, 2);
    put(o, cfg->base, 8);
    put(o, cfg->segment, 2);
    put(o, cfg->iommu_info, 2);
    if (type == 0x10) {
        put(o, cfg->features10, 4);
    } else {
        put(o, cfg->attributes, 4);
        put(o, cfg->efr, 8);
        put(o, cfg->efr2, 8);
    }
    for (unsigned i = 0; i < cfg->nr_entries; i++) {
        put_entry(o, &cfg->entries[i]);
    }
}

size_t ivrs_encode(const IvrsConfig *cfg, uint8_t *buf, size_t cap)
{
    Out o = { buf, cap, 0 };

    if (entries_size(cfg) + 40 > 0xffff) {
        return 0;
    }
    put(&o, cfg->ivinfo, 4);
    put(&o, 0, 8);
    put_ivhd(&o, cfg, 0x10, 24);
    put_ivhd(&o, cfg, 0x11, 40);
    if (cfg->ivhd40) {
        put_ivhd(&o, cfg, 0x40, 40);
    }
    return o.len;
}

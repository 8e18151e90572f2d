/*
 * qemu-viommu: the DMA Remapping Reporting table (DMAR), VT-d 4.1 chapter 8.
 *
 * Every structure is little-endian and byte-packed; lengths are computed
 * first so that the caller can size its buffer with a first call.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/acpi-dmar.h"

#include "hw/viommu/le.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BODY_HEADER     12      /* width, flags, 10 reserved (8.1) */
#define DRHD_HEADER     16      /* 8.3 */
#define RMRR_HEADER     24      /* 8.4 */
#define ATSR_SIZE       8       /* 8.5, with no scopes */
#define SATC_HEADER     8       /* 8.8 */
#define SCOPE_SIZE      8       /* 8.3.1: 6 bytes and one path entry */

#define TYPE_DRHD       0
#define TYPE_RMRR       1
#define TYPE_SATC       5
#define TYPE_ATSR       2

typedef struct Out {
    uint8_t *p;
} Out;

static void put8(Out *o, uint8_t v)
{
    *o->p++ = v;
}

static void put16(Out *o, uint16_t v)
{
    le_st16(o->p, v);
    o->p += 2;
}

static void put64(Out *o, uint64_t v)
{
    le_st64(o->p, v);
    o->p += 8;
}

static void put_zeros(Out *o, size_t n)
{
    memset(o->p, 0, n);
    o->p += n;
}

static void put_scope(Out *o, const DmarScope *s)
{
    put8(o, s->type);
    put8(o, SCOPE_SIZE);
    put16(o, 0);                        /* reserved */
    put8(o, s->enumeration_id);
    put8(o, s->bus);
    put8(o, s->devfn >> 3);             /* path: device, function */
    put8(o, s->devfn & 7);
}

static size_t drhd_size(const DmarConfig *cfg)
{
    return DRHD_HEADER + (size_t)cfg->nr_scopes * SCOPE_SIZE;
}

static size_t rmrr_size(const DmarRmrr *r)
{
    return RMRR_HEADER + (size_t)r->nr_scopes * SCOPE_SIZE;
}

static size_t satc_size(const DmarConfig *cfg)
{
    return cfg->nr_satc_scopes ?
           SATC_HEADER + (size_t)cfg->nr_satc_scopes * SCOPE_SIZE : 0;
}

size_t dmar_encode(const DmarConfig *cfg, uint8_t *buf, size_t cap)
{
    size_t len = BODY_HEADER + drhd_size(cfg);
    Out o = { buf };
    unsigned i, j;

    if (cfg->host_address_width < 1 || cfg->host_address_width > 64 ||
        drhd_size(cfg) > UINT16_MAX || satc_size(cfg) > UINT16_MAX) {
        return 0;                       /* lengths are 16-bit fields */
    }
    for (i = 0; i < cfg->nr_rmrrs; i++) {
        if (rmrr_size(&cfg->rmrrs[i]) > UINT16_MAX) {
            return 0;
        }
        len += rmrr_size(&cfg->rmrrs[i]);
    }
    len += cfg->atsr_all_ports ? ATSR_SIZE : 0;
    len += satc_size(cfg);
    if (len > cap) {
        return len;
    }

    put8(&o, cfg->host_address_width - 1);
    put8(&o, cfg->flags);
    put_zeros(&o, 10);

    put16(&o, TYPE_DRHD);
    put16(&o, drhd_size(cfg));
    put8(&o, cfg->include_pci_all ? 1 : 0);
    put8(&o, 0);                        /* size: one 4 KiB register page */
    put16(&o, cfg->segment);
    put64(&o, cfg->drhd_base);
    for (i = 0; i < cfg->nr_scopes; i++) {
        put_scope(&o, &cfg->scopes[i]);
    }

    for (i = 0; i < cfg->nr_rmrrs; i++) {
        const DmarRmrr *r = &cfg->rmrrs[i];

        put16(&o, TYPE_RMRR);
        put16(&o, rmrr_size(r));
        put16(&o, 0);                   /* reserved */
        put16(&o, cfg->segment);
        put64(&o, r->base);
        put64(&o, r->limit);
        for (j = 0; j < r->nr_scopes; j++) {
            put_scope(&o, &r->scopes[j]);
        }
    }

    if (cfg->atsr_all_ports) {
        put16(&o, TYPE_ATSR);
        put16(&o, ATSR_SIZE);
        put8(&o, 1);                    /* ALL_PORTS */
        put8(&o, 0);
        put16(&o, cfg->segment);
    }

    if (cfg->nr_satc_scopes) {
        put16(&o, TYPE_SATC);
        put16(&o, satc_size(cfg));
        put8(&o, cfg->satc_atc_required ? 1 : 0);
        put8(&o, 0);
        put16(&o, cfg->segment);
        for (i = 0; i < cfg->nr_satc_scopes; i++) {
            put_scope(&o, &cfg->satc_scopes[i]);
        }
    }
    return len;
}

/*
 * A C number of all of @text (decimal, 0x hex or 0 octal), or false. Plain
 * libc: this file does not depend on QEMU (no qemu_strtou64).
 */
static bool parse_u64(const char *text, const char *end, uint64_t *v)
{
    char *stop;

    if (text == end || *text == '-' || *text == '+' || isspace(*text)) {
        return false;
    }
    errno = 0;
    *v = strtoull(text, &stop, 0);
    return errno == 0 && stop == end;
}

const char *dmar_rmrr_parse_range(const char *text, unsigned aw,
                                  uint64_t *base, uint64_t *limit)
{
    const char *dash = strchr(text, '-');

    if (!dash || !parse_u64(text, dash, base) ||
        !parse_u64(dash + 1, dash + strlen(dash), limit)) {
        return "not BASE-LIMIT";
    }
    if (*base & 0xfff) {
        return "BASE is not 4 KiB aligned";
    }
    if ((*limit & 0xfff) != 0xfff) {
        return "LIMIT is not the last byte of a 4 KiB page";
    }
    if (*limit < *base) {
        return "LIMIT is below BASE";
    }
    if (aw < 64 && *limit >> aw) {
        return "LIMIT is beyond the address width (aw-bits)";
    }
    return NULL;
}

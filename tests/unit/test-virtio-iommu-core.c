/*
 * qemu-viommu: unit tests of the virtio-iommu device model (virtio 1.3, 5.13).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/virtio-iommu-core.h"
#include "unit.h"

#include <string.h>

#define ALL_FEATURES (1ull << VIOMMU_F_INPUT_RANGE | 1ull << VIOMMU_F_DOMAIN_RANGE | \
                      1ull << VIOMMU_F_MAP_UNMAP | 1ull << VIOMMU_F_PROBE |      \
                      1ull << VIOMMU_F_MMIO | 1ull << VIOMMU_F_BYPASS_CONFIG)

typedef struct Event {
    char kind;                  /* 'm'ap, 'u'nmap, 'c'hanged */
    uint32_t ep;
    uint64_t start, end;
} Event;

static Event events[256];
static int nr_events;

static bool fake_exists(void *opaque, uint32_t ep)
{
    return ep < 8;              /* endpoints 0..7 exist */
}

static void record(char kind, uint32_t ep, const IovaMapping *m)
{
    if (nr_events < 256) {
        events[nr_events++] = (Event){ kind, ep, m ? m->virt_start : 0,
                                       m ? m->virt_end : 0 };
    }
}

static void fake_changed(void *o, uint32_t ep) { record('c', ep, NULL); }
static void fake_map(void *o, uint32_t ep, const IovaMapping *m) { record('m', ep, m); }
static void fake_unmap(void *o, uint32_t ep, const IovaMapping *m) { record('u', ep, m); }

/*
 * What the host IOMMU of each endpoint can map (an assigned device), and
 * of a second device with endpoint 4's ID (behind a PCIe-to-PCI bridge)
 */
static const ViommuRange *host_ranges[8], *second_host_ranges;
static size_t nr_host_ranges[8], nr_second_host_ranges;

static bool fake_host_usable(void *o, uint32_t ep, size_t i,
                             const ViommuRange **r, size_t *n)
{
    if (i == 1 && ep == 4 && nr_second_host_ranges) {
        *r = second_host_ranges;
        *n = nr_second_host_ranges;
        return true;
    }
    *r = host_ranges[ep];
    *n = nr_host_ranges[ep];
    return i == 0 && *n;
}

static const ViommuCoreOps ops = {
    fake_exists, fake_changed, fake_map, fake_unmap, fake_host_usable,
};

static void set_host(uint32_t ep, const ViommuRange *r, size_t n)
{
    host_ranges[ep] = r;
    nr_host_ranges[ep] = n;
}

static ViommuCore *make_core(size_t max_mappings)
{
    ViommuCoreConfig cfg = {
        .page_size_mask = ~0xfffull,
        .input_start = 0, .input_end = (1ull << 48) - 1,
        .domain_start = 0, .domain_end = 1000,
        .probe_size = 512,
        .max_mappings = max_mappings,
        .check_alignment = true,
    };
    ViommuResvRegion msi = { 0xfee00000, 0xfeefffff, VIOMMU_RESV_MEM_T_MSI };
    ViommuCore *c = viommu_core_new(&cfg, &ops, NULL);

    viommu_core_set_resv_regions(c, &msi, 1);
    viommu_core_set_features(c, ALL_FEATURES);
    nr_events = 0;
    memset(nr_host_ranges, 0, sizeof(nr_host_ranges));
    nr_second_host_ranges = 0;
    return c;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = v >> (8 * i);
    }
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, v);
    put32(p + 4, v >> 32);
}

static int attach(ViommuCore *c, uint32_t dom, uint32_t ep, uint32_t flags)
{
    uint8_t r[VIOMMU_REQ_ATTACH_SIZE] = { VIOMMU_T_ATTACH };

    put32(r + 4, dom);
    put32(r + 8, ep);
    put32(r + 12, flags);
    return viommu_core_handle(c, r, sizeof(r), NULL, 0);
}

static int detach(ViommuCore *c, uint32_t dom, uint32_t ep)
{
    uint8_t r[VIOMMU_REQ_DETACH_SIZE] = { VIOMMU_T_DETACH };

    put32(r + 4, dom);
    put32(r + 8, ep);
    return viommu_core_handle(c, r, sizeof(r), NULL, 0);
}

static int map(ViommuCore *c, uint32_t dom, uint64_t s, uint64_t e, uint64_t p,
               uint32_t flags)
{
    uint8_t r[VIOMMU_REQ_MAP_SIZE] = { VIOMMU_T_MAP };

    put32(r + 4, dom);
    put64(r + 8, s);
    put64(r + 16, e);
    put64(r + 24, p);
    put32(r + 32, flags);
    return viommu_core_handle(c, r, sizeof(r), NULL, 0);
}

static int unmap(ViommuCore *c, uint32_t dom, uint64_t s, uint64_t e)
{
    uint8_t r[VIOMMU_REQ_UNMAP_SIZE] = { VIOMMU_T_UNMAP };

    put32(r + 4, dom);
    put64(r + 8, s);
    put64(r + 16, e);
    return viommu_core_handle(c, r, sizeof(r), NULL, 0);
}

#define RW (VIOMMU_MAP_F_READ | VIOMMU_MAP_F_WRITE)

static void test_attach_rules(void)
{
    ViommuCore *c = make_core(0);
    uint8_t r[VIOMMU_REQ_ATTACH_SIZE] = { VIOMMU_T_ATTACH };

    CHECK_EQ(attach(c, 1, 100, 0), VIOMMU_S_NOENT);
    CHECK_EQ(attach(c, 1001, 1, 0), VIOMMU_S_RANGE);
    CHECK_EQ(attach(c, 1, 1, 0x2), VIOMMU_S_INVAL);        /* unknown flag */
    put32(r + 4, 1);
    put32(r + 8, 1);
    r[17] = 1;                                              /* reserved */
    CHECK_EQ(viommu_core_handle(c, r, sizeof(r), NULL, 0), VIOMMU_S_INVAL);
    CHECK_EQ(attach(c, 1, 1, 0), VIOMMU_S_OK);
    CHECK_EQ(attach(c, 1, 2, VIOMMU_ATTACH_F_BYPASS), VIOMMU_S_INVAL);
    CHECK_EQ(attach(c, 2, 2, VIOMMU_ATTACH_F_BYPASS), VIOMMU_S_OK);
    CHECK(viommu_core_endpoint_bypasses(c, 2));
    CHECK(!viommu_core_endpoint_bypasses(c, 1));
    {
        uint32_t dom = 0;
        bool bypass = true;
        size_t n = 1;

        CHECK(viommu_core_endpoint_domain(c, 1, &dom, &bypass, &n));
        CHECK(dom == 1 && !bypass && n == 0);
        CHECK(viommu_core_endpoint_domain(c, 2, &dom, &bypass, &n));
        CHECK(dom == 2 && bypass);
        CHECK(!viommu_core_endpoint_domain(c, 3, &dom, &bypass, &n));
    }
    /* without BYPASS_CONFIG the flag bit is unknown */
    viommu_core_set_features(c, 1ull << VIOMMU_F_MAP_UNMAP);
    CHECK_EQ(attach(c, 3, 3, VIOMMU_ATTACH_F_BYPASS), VIOMMU_S_INVAL);
    viommu_core_free(c);
}

static void test_detach_rules(void)
{
    ViommuCore *c = make_core(0);

    CHECK_EQ(detach(c, 0, 100), VIOMMU_S_NOENT);
    CHECK_EQ(detach(c, 0, 1), VIOMMU_S_INVAL);             /* not attached */
    CHECK_EQ(attach(c, 0, 1, 0), VIOMMU_S_OK);
    CHECK_EQ(attach(c, 1, 1, 0), VIOMMU_S_OK);             /* moves */
    CHECK_EQ(detach(c, 0, 1), VIOMMU_S_INVAL);
    CHECK_EQ(detach(c, 1, 1), VIOMMU_S_OK);
    /* domain 1 ceased to exist with its last endpoint */
    CHECK_EQ(map(c, 1, 0, 0xfff, 0, RW), VIOMMU_S_NOENT);
    viommu_core_free(c);
}

static void test_map_validation(void)
{
    ViommuCore *c = make_core(0);

    CHECK_EQ(attach(c, 1, 1, 0), VIOMMU_S_OK);
    CHECK_EQ(map(c, 2, 0, 0xfff, 0, RW), VIOMMU_S_NOENT);
    CHECK_EQ(map(c, 1, 0, 9, 0xa1000, RW), VIOMMU_S_RANGE);        /* end */
    CHECK_EQ(map(c, 1, 0x800, 0x17ff, 0, RW), VIOMMU_S_RANGE);     /* start */
    CHECK_EQ(map(c, 1, 0, 0xfff, 0x10, RW), VIOMMU_S_RANGE);       /* phys */
    CHECK_EQ(map(c, 1, 0x2000, 0xfff, 0, RW), VIOMMU_S_RANGE);     /* reversed */
    CHECK_EQ(map(c, 1, 1ull << 48, (1ull << 48) + 0xfff, 0, RW), VIOMMU_S_RANGE);
    CHECK_EQ(map(c, 1, 0, 0xfff, UINT64_MAX - 0x7ff, RW), VIOMMU_S_RANGE);
    CHECK_EQ(map(c, 1, 0, 0xfff, 0, 0x8), VIOMMU_S_INVAL);         /* flag */
    CHECK_EQ(map(c, 1, 0xfee00000, 0xfee00fff, 0, RW), VIOMMU_S_INVAL); /* MSI */
    CHECK_EQ(map(c, 1, 0, 0xfff, 0, RW | VIOMMU_MAP_F_MMIO), VIOMMU_S_OK);
    CHECK_EQ(map(c, 1, 0, 0x1fff, 0, RW), VIOMMU_S_INVAL);         /* overlap */
    viommu_core_set_features(c, 1ull << VIOMMU_F_MAP_UNMAP);
    CHECK_EQ(map(c, 1, 0x4000, 0x4fff, 0, VIOMMU_MAP_F_MMIO), VIOMMU_S_INVAL);
    viommu_core_set_features(c, 0);
    CHECK_EQ(map(c, 1, 0x4000, 0x4fff, 0, RW), VIOMMU_S_UNSUPP);
    CHECK_EQ(viommu_core_nr_mappings(c), 1);
    viommu_core_free(c);
}

static void test_map_bypass_domain(void)
{
    ViommuCore *c = make_core(0);

    CHECK_EQ(attach(c, 5, 1, VIOMMU_ATTACH_F_BYPASS), VIOMMU_S_OK);
    CHECK_EQ(map(c, 5, 0, 0xfff, 0, RW), VIOMMU_S_INVAL);
    CHECK_EQ(unmap(c, 5, 0, 0xfff), VIOMMU_S_INVAL);
    viommu_core_free(c);
}

/*
 * Linux 6.16 and later with BYPASS_CONFIG: one identity domain (the first
 * of domain_range) holds every identity endpoint, each attached with
 * ATTACH_F_BYPASS, and an endpoint moves to a paging domain (and back) by
 * ATTACH alone, without DETACH.
 */
static void test_shared_identity_domain(void)
{
    ViommuCore *c = make_core(0);
    uint32_t dom;
    bool bypass;
    size_t n;

    for (uint32_t ep = 0; ep < 8; ep++) {
        CHECK_EQ(attach(c, 1, ep, VIOMMU_ATTACH_F_BYPASS), VIOMMU_S_OK);
        CHECK(viommu_core_endpoint_bypasses(c, ep));
    }
    CHECK_EQ(attach(c, 2, 3, 0), VIOMMU_S_OK);          /* to paging */
    CHECK(!viommu_core_endpoint_bypasses(c, 3));
    CHECK(viommu_core_endpoint_domain(c, 3, &dom, &bypass, &n));
    CHECK(dom == 2 && !bypass);
    CHECK_EQ(map(c, 2, 0x1000, 0x1fff, 0x5000, RW), VIOMMU_S_OK);
    CHECK(viommu_core_endpoint_bypasses(c, 4));         /* the others stay */
    CHECK(viommu_core_endpoint_domain(c, 4, &dom, &bypass, &n));
    CHECK(dom == 1 && bypass);
    CHECK_EQ(attach(c, 1, 3, VIOMMU_ATTACH_F_BYPASS), VIOMMU_S_OK);
    CHECK(viommu_core_endpoint_bypasses(c, 3));         /* and back */
    viommu_core_free(c);
}

static void test_mapping_bound(void)
{
    ViommuCore *c = make_core(2);

    CHECK_EQ(attach(c, 1, 1, 0), VIOMMU_S_OK);
    CHECK_EQ(map(c, 1, 0x0000, 0x0fff, 0, RW), VIOMMU_S_OK);
    CHECK_EQ(map(c, 1, 0x1000, 0x1fff, 0, RW), VIOMMU_S_OK);
    CHECK_EQ(map(c, 1, 0x2000, 0x2fff, 0, RW), VIOMMU_S_NOMEM);
    CHECK_EQ(unmap(c, 1, 0, 0xfff), VIOMMU_S_OK);
    CHECK_EQ(map(c, 1, 0x2000, 0x2fff, 0, RW), VIOMMU_S_OK);
    CHECK_EQ(detach(c, 1, 1), VIOMMU_S_OK);
    CHECK_EQ(viommu_core_nr_mappings(c), 0);
    viommu_core_free(c);
}

static int count(char kind, uint32_t ep)
{
    int n = 0;

    for (int i = 0; i < nr_events; i++) {
        n += events[i].kind == kind && events[i].ep == ep;
    }
    return n;
}

static void test_notifications(void)
{
    ViommuCore *c = make_core(0);

    CHECK_EQ(attach(c, 1, 1, 0), VIOMMU_S_OK);
    CHECK_EQ(map(c, 1, 0x1000, 0x1fff, 0x5000, RW), VIOMMU_S_OK);
    /* a second endpoint sees the domain's existing mapping (replay) */
    CHECK_EQ(attach(c, 1, 2, 0), VIOMMU_S_OK);
    CHECK_EQ(count('m', 2), 1);
    nr_events = 0;
    CHECK_EQ(map(c, 1, 0x3000, 0x5fff, 0x9000, RW), VIOMMU_S_OK);
    CHECK_EQ(count('m', 1), 1);
    CHECK_EQ(count('m', 2), 1);
    /* a refused UNMAP notifies nothing */
    nr_events = 0;
    CHECK_EQ(unmap(c, 1, 0x1000, 0x3fff), VIOMMU_S_RANGE);
    CHECK_EQ(nr_events, 0);
    /* endpoint 2 moves: unmaps of domain 1, then maps of domain 3 */
    CHECK_EQ(attach(c, 3, 3, 0), VIOMMU_S_OK);
    CHECK_EQ(map(c, 3, 0x8000, 0x8fff, 0, RW), VIOMMU_S_OK);
    nr_events = 0;
    CHECK_EQ(attach(c, 3, 2, 0), VIOMMU_S_OK);
    CHECK_EQ(count('u', 2), 2);
    CHECK_EQ(count('m', 2), 1);
    CHECK_EQ(count('u', 1), 0);
    CHECK_EQ(count('c', 2), 1);
    CHECK(events[0].kind == 'u' && events[2].kind == 'm');
    /* UNMAP reports exactly what was mapped */
    nr_events = 0;
    CHECK_EQ(unmap(c, 1, 0, UINT64_MAX), VIOMMU_S_OK);
    CHECK_EQ(count('u', 1), 2);
    CHECK(events[1].start == 0x3000 && events[1].end == 0x5fff);
    /* reset detaches all, with unmaps */
    nr_events = 0;
    viommu_core_reset(c);
    CHECK_EQ(count('u', 2), 1);
    CHECK_EQ(count('u', 3), 1);
    CHECK_EQ(viommu_core_nr_mappings(c), 0);
    viommu_core_free(c);
}

static void test_translate(void)
{
    ViommuCore *c = make_core(0);
    IovaMapping m;

    viommu_core_set_bypass(c, false);
    CHECK_EQ(viommu_core_translate(c, 1, 0x1000, VIOMMU_MAP_F_READ, &m),
             VIOMMU_XLATE_FAULT_DOMAIN);
    viommu_core_set_bypass(c, true);
    CHECK_EQ(viommu_core_translate(c, 1, 0x1000, VIOMMU_MAP_F_READ, &m),
             VIOMMU_XLATE_BYPASS);
    CHECK_EQ(attach(c, 1, 1, 0), VIOMMU_S_OK);
    CHECK_EQ(map(c, 1, 0x1000, 0x1fff, 0x7000, VIOMMU_MAP_F_READ), VIOMMU_S_OK);
    CHECK_EQ(viommu_core_translate(c, 1, 0x1234, VIOMMU_MAP_F_READ, &m),
             VIOMMU_XLATE_MAPPED);
    CHECK_EQ(m.phys_start, 0x7000);
    CHECK_EQ(viommu_core_translate(c, 1, 0x1234, VIOMMU_MAP_F_WRITE, &m),
             VIOMMU_XLATE_FAULT_MAPPING);
    CHECK_EQ(viommu_core_translate(c, 1, 0x2000, VIOMMU_MAP_F_READ, &m),
             VIOMMU_XLATE_FAULT_MAPPING);
    /* the MSI doorbell is reached untranslated */
    CHECK_EQ(viommu_core_translate(c, 1, 0xfee00004, VIOMMU_MAP_F_WRITE, &m),
             VIOMMU_XLATE_BYPASS);
    viommu_core_free(c);
}

static void test_probe(void)
{
    ViommuCore *c = make_core(0);
    uint8_t r[VIOMMU_REQ_PROBE_SIZE] = { VIOMMU_T_PROBE };
    uint8_t props[512];

    memset(props, 0xaa, sizeof(props));
    put32(r + 4, 1);
    r[20] = 0xff;               /* reserved: "MUST ignore" */
    CHECK_EQ(viommu_core_handle(c, r, sizeof(r), props, sizeof(props)),
             VIOMMU_S_OK);
    CHECK_EQ(props[0], VIOMMU_PROBE_T_RESV_MEM);
    CHECK_EQ(props[2], 20);
    CHECK_EQ(props[4], VIOMMU_RESV_MEM_T_MSI);
    CHECK_EQ(props[8 + 2], 0xe0);           /* start 0xfee00000, LE */
    CHECK_EQ(props[24], 0);                 /* then zeroes */
    CHECK_EQ(props[511], 0);
    CHECK_EQ(viommu_core_handle(c, r, sizeof(r), props, 100), VIOMMU_S_INVAL);
    put32(r + 4, 99);
    CHECK_EQ(viommu_core_handle(c, r, sizeof(r), props, sizeof(props)),
             VIOMMU_S_NOENT);
    viommu_core_set_features(c, 1ull << VIOMMU_F_MAP_UNMAP);
    CHECK_EQ(viommu_core_handle(c, r, sizeof(r), props, sizeof(props)), -1);
    viommu_core_free(c);
}

static uint64_t ld64le(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

/* PROBE @ep into @props; returns the status */
static int probe(ViommuCore *c, uint32_t ep, uint8_t *props, size_t len)
{
    uint8_t r[VIOMMU_REQ_PROBE_SIZE] = { VIOMMU_T_PROBE };

    put32(r + 4, ep);
    return viommu_core_handle(c, r, sizeof(r), props, len);
}

/*
 * An assigned endpoint whose host maps [0, 0xfedfffff] and
 * [0xfef00000, 2^39 - 1] (a 39-bit host, the MSI window cut out): PROBE
 * reports what lies outside, less the global MSI region it already lists.
 */
static void test_host_usable_probe(void)
{
    ViommuCore *c = make_core(0);
    ViommuRange usable[] = {
        { 0xfef00000, (1ull << 39) - 1 },       /* any order */
        { 0, 0xfedfffff },
    };
    uint8_t props[512];

    set_host(1, usable, 2);
    CHECK_EQ(probe(c, 1, props, sizeof(props)), VIOMMU_S_OK);
    CHECK_EQ(props[4], VIOMMU_RESV_MEM_T_MSI);               /* global first */
    CHECK_EQ(props[24], VIOMMU_PROBE_T_RESV_MEM);
    CHECK_EQ(props[24 + 4], VIOMMU_RESV_MEM_T_RESERVED);
    CHECK_EQ(ld64le(props + 24 + 8), 1ull << 39);
    CHECK_EQ(ld64le(props + 24 + 16), (1ull << 48) - 1);    /* input_end */
    CHECK_EQ(props[48], 0);                                 /* nothing else */
    /* another endpoint is not constrained */
    CHECK_EQ(probe(c, 2, props, sizeof(props)), VIOMMU_S_OK);
    CHECK_EQ(props[24], 0);
    /* the device goes (unplug): its constraints go with it */
    set_host(1, NULL, 0);
    CHECK_EQ(viommu_core_refresh_host_usable(c, 1), VIOMMU_HOST_OK);
    CHECK_EQ(probe(c, 1, props, sizeof(props)), VIOMMU_S_OK);
    CHECK_EQ(props[24], 0);
    CHECK_EQ(viommu_core_refresh_host_usable(c, 7), VIOMMU_HOST_OK);
    /* PROBE reads them again: the ID may name another function by now */
    set_host(1, usable, 2);
    CHECK_EQ(probe(c, 1, props, sizeof(props)), VIOMMU_S_OK);
    CHECK_EQ(ld64le(props + 24 + 8), 1ull << 39);
    viommu_core_free(c);
}

/*
 * After the global MSI region, PROBE lists exactly the @n reserved
 * regions of @want, then nothing.
 */
static void check_host_regions(const uint8_t *props, const uint64_t want[][2],
                               int n)
{
    for (int i = 0; i < n; i++) {
        const uint8_t *p = props + 24 * (i + 1);

        CHECK_EQ(p[4], VIOMMU_RESV_MEM_T_RESERVED);
        CHECK_EQ(ld64le(p + 8), want[i][0]);
        CHECK_EQ(ld64le(p + 16), want[i][1]);
    }
    CHECK_EQ(props[24 * (n + 1)], 0);
}

/* Holes at both ends and in the middle; overlapping usable ranges merge. */
static void test_host_usable_holes(void)
{
    ViommuCore *c = make_core(0);
    ViommuRange usable[] = {
        { 0x10000, 0x1ffff }, { 0x18000, 0x2ffff }, { 0x40000, 0x4ffff },
        { 5, 1 },                                   /* empty: ignored */
    };
    uint64_t want[][2] = {
        { 0, 0xffff }, { 0x30000, 0x3ffff }, { 0x50000, 0xfedfffff },
        { 0xfef00000, (1ull << 48) - 1 },
    };
    uint8_t props[512];

    set_host(3, usable, 4);
    CHECK_EQ(probe(c, 3, props, sizeof(props)), VIOMMU_S_OK);
    check_host_regions(props, want, 4);
    viommu_core_free(c);
}

/* As many ranges as probe_size allows: PROBE holds every hole. */
static void test_host_usable_most(void)
{
    ViommuCore *c = make_core(0);
    /* 21 slots: the MSI region, n + 1 holes and the MSI window's own split */
    size_t n = 512 / 24 - 3;
    ViommuRange usable[32];
    uint8_t props[512];

    for (size_t i = 0; i <= n; i++) {
        usable[i] = (ViommuRange){ i * 0x20000ull + 0x10000,
                                   i * 0x20000ull + 0x1ffff };
    }
    set_host(1, usable, n);
    CHECK_EQ(probe(c, 1, props, sizeof(props)), VIOMMU_S_OK);
    CHECK_EQ(props[24 * (n + 1) + 4], VIOMMU_RESV_MEM_T_RESERVED);
    CHECK_EQ(ld64le(props + 24 * (n + 1) + 8), n * 0x20000ull);
    /* one more would not fit: refused, the old regions stay */
    set_host(1, usable, n + 1);
    CHECK_EQ(viommu_core_refresh_host_usable(c, 1), VIOMMU_HOST_TOO_MANY);
    CHECK_EQ(probe(c, 1, props, sizeof(props)), VIOMMU_S_OK);
    CHECK_EQ(ld64le(props + 24 * (n + 1) + 8), n * 0x20000ull);
    viommu_core_free(c);
}

/*
 * 5.13.6.8.1: MAPs into what an attached endpoint's host cannot map are
 * refused on its domain only; ATTACH to a domain that already maps there
 * is refused too.
 */
static void test_host_usable_enforced(void)
{
    ViommuCore *c = make_core(0);
    ViommuRange usable = { 0, (1ull << 32) - 1 };

    set_host(1, &usable, 1);
    CHECK_EQ(attach(c, 1, 1, 0), VIOMMU_S_OK);
    CHECK_EQ(attach(c, 2, 2, 0), VIOMMU_S_OK);
    CHECK_EQ(map(c, 1, 1ull << 32, (1ull << 32) + 0xfff, 0, RW),
             VIOMMU_S_INVAL);
    CHECK_EQ(map(c, 1, 0x1000, 0x1fff, 0, RW), VIOMMU_S_OK);
    CHECK_EQ(map(c, 2, 1ull << 32, (1ull << 32) + 0xfff, 0, RW),
             VIOMMU_S_OK);
    CHECK_EQ(attach(c, 2, 1, 0), VIOMMU_S_INVAL);
    CHECK_EQ(viommu_core_nr_mappings(c), 2);
    /* the refused ATTACH left endpoint 1 where it was */
    CHECK(!viommu_core_endpoint_bypasses(c, 1));
    CHECK_EQ(unmap(c, 2, 1ull << 32, (1ull << 32) + 0xfff), VIOMMU_S_OK);
    CHECK_EQ(attach(c, 2, 1, 0), VIOMMU_S_OK);
    viommu_core_free(c);
}

/*
 * A device plugged in where an endpoint still attached to a domain maps
 * what its host cannot: refused, the old constraints stay.
 */
/*
 * Two devices DMA with endpoint 4's ID: its regions are what either host
 * cannot map, merged where they meet.
 */
static void test_host_usable_two_hosts(void)
{
    ViommuCore *c = make_core(0);
    ViommuRange a = { 0, (1ull << 32) - 1 };
    ViommuRange b[] = { { 0x10000000, 0x1fffffff }, { 0x20000000, 1ull << 39 } };
    uint64_t want[][2] = {
        { 0, 0xfffffff }, { 1ull << 32, (1ull << 48) - 1 },
    };
    uint8_t props[512];

    set_host(4, &a, 1);
    second_host_ranges = b;
    nr_second_host_ranges = 2;
    CHECK_EQ(viommu_core_refresh_host_usable(c, 4), VIOMMU_HOST_OK);
    CHECK_EQ(probe(c, 4, props, sizeof(props)), VIOMMU_S_OK);
    check_host_regions(props, want, 2);
    CHECK_EQ(attach(c, 1, 4, 0), VIOMMU_S_OK);
    CHECK_EQ(map(c, 1, 0x1000, 0x1fff, 0, RW), VIOMMU_S_INVAL);
    CHECK_EQ(map(c, 1, 0x10000000, 0x10000fff, 0, RW), VIOMMU_S_OK);
    viommu_core_free(c);
}

static void test_host_usable_conflict(void)
{
    ViommuCore *c = make_core(0);
    ViommuRange low = { 0, (1ull << 32) - 1 };
    uint8_t props[512];

    CHECK_EQ(attach(c, 1, 1, 0), VIOMMU_S_OK);
    CHECK_EQ(map(c, 1, 1ull << 40, (1ull << 40) + 0xfff, 0, RW), VIOMMU_S_OK);
    set_host(1, &low, 1);
    CHECK_EQ(viommu_core_refresh_host_usable(c, 1), VIOMMU_HOST_CONFLICT);
    set_host(1, NULL, 0);
    CHECK_EQ(probe(c, 1, props, sizeof(props)), VIOMMU_S_OK);
    CHECK_EQ(props[24], 0);
    CHECK_EQ(unmap(c, 1, 1ull << 40, (1ull << 40) + 0xfff), VIOMMU_S_OK);
    set_host(1, &low, 1);
    CHECK_EQ(viommu_core_refresh_host_usable(c, 1), VIOMMU_HOST_OK);
    viommu_core_free(c);
}

static void test_page_size_mask(void)
{
    ViommuCore *c = make_core(0);

    viommu_core_set_page_size_mask(c, ~0xffffull);
    CHECK_EQ(viommu_core_config(c)->page_size_mask, ~0xffffull);
    CHECK_EQ(attach(c, 1, 1, 0), VIOMMU_S_OK);
    CHECK_EQ(map(c, 1, 0x1000, 0x1fff, 0, RW), VIOMMU_S_RANGE);
    CHECK_EQ(map(c, 1, 0x10000, 0x1ffff, 0, RW), VIOMMU_S_OK);
    viommu_core_free(c);
}

static void test_malformed(void)
{
    ViommuCore *c = make_core(0);
    uint8_t r[64] = { VIOMMU_T_MAP };

    CHECK_EQ(viommu_core_handle(c, r, 3, NULL, 0), -1);
    CHECK_EQ(viommu_core_handle(c, r, 20, NULL, 0), VIOMMU_S_IOERR);
    r[0] = 0;
    CHECK_EQ(viommu_core_handle(c, r, sizeof(r), NULL, 0), -1);
    r[0] = 6;
    CHECK_EQ(viommu_core_handle(c, r, sizeof(r), NULL, 0), -1);
    r[0] = 0xff;
    CHECK_EQ(viommu_core_handle(c, r, sizeof(r), NULL, 0), -1);
    viommu_core_free(c);
}

/* Each refusal names its rule; the record holds the request's fields. */
static ViommuRefusal why(ViommuCore *c)
{
    return viommu_core_last_request(c)->refusal;
}

/* @call gets @status, refused for @reason (the record of the core @c) */
#define REFUSED(call, status, reason) do {                                \
        CHECK_EQ(call, status);                                           \
        CHECK_EQ(why(c), reason);                                         \
    } while (0)

static void test_refusal_reasons(void)
{
    ViommuCore *c = make_core(2);
    const ViommuReqRecord *r = viommu_core_last_request(c);
    uint8_t raw[64] = { VIOMMU_T_MAP };

    REFUSED(attach(c, 1, 1, 0), VIOMMU_S_OK, VIOMMU_R_NONE);
    CHECK_EQ(r->type, VIOMMU_T_ATTACH);
    CHECK_EQ(r->status, VIOMMU_S_OK);
    REFUSED(attach(c, 1, 1, 0x80), VIOMMU_S_INVAL, VIOMMU_R_FLAGS);
    REFUSED(attach(c, 1, 9, 0), VIOMMU_S_NOENT, VIOMMU_R_NO_ENDPOINT);
    REFUSED(attach(c, 5000, 2, 0), VIOMMU_S_RANGE, VIOMMU_R_DOMAIN_RANGE);
    REFUSED(attach(c, 1, 2, VIOMMU_ATTACH_F_BYPASS),
            VIOMMU_S_INVAL, VIOMMU_R_BYPASS_MISMATCH);
    REFUSED(detach(c, 2, 1), VIOMMU_S_INVAL, VIOMMU_R_NOT_ATTACHED);
    REFUSED(map(c, 3, 0, 0xfff, 0, RW), VIOMMU_S_NOENT, VIOMMU_R_NO_DOMAIN);
    REFUSED(map(c, 1, 0, 0xfff, 0, 0x100), VIOMMU_S_INVAL, VIOMMU_R_FLAGS);
    REFUSED(map(c, 1, 1ull << 50, (1ull << 50) + 0xfff, 0, RW),
            VIOMMU_S_RANGE, VIOMMU_R_INPUT_RANGE);
    REFUSED(map(c, 1, 0, 0x1fff, ~0xfffull, RW),
            VIOMMU_S_RANGE, VIOMMU_R_PHYS_WRAPS);
    REFUSED(map(c, 1, 0x800, 0x17ff, 0, RW),
            VIOMMU_S_RANGE, VIOMMU_R_UNALIGNED);
    REFUSED(map(c, 1, 0xfee00000, 0xfee00fff, 0, RW),
            VIOMMU_S_INVAL, VIOMMU_R_RESV);
    CHECK_EQ(map(c, 1, 0x10000, 0x1ffff, 0x40000, RW), VIOMMU_S_OK);
    CHECK(r->type == VIOMMU_T_MAP && why(c) == VIOMMU_R_NONE);
    REFUSED(map(c, 1, 0x18000, 0x18fff, 0, RW),
            VIOMMU_S_INVAL, VIOMMU_R_OVERLAP);
    CHECK_EQ(map(c, 1, 0x20000, 0x20fff, 0, RW), VIOMMU_S_OK);
    REFUSED(map(c, 1, 0x30000, 0x30fff, 0, RW), VIOMMU_S_NOMEM, VIOMMU_R_LIMIT);
    REFUSED(unmap(c, 1, 0x11000, 0x11fff), VIOMMU_S_RANGE, VIOMMU_R_SPLIT);
    REFUSED(unmap(c, 1, 0x2000, 0x1000), VIOMMU_S_RANGE, VIOMMU_R_INPUT_RANGE);
    CHECK_EQ(attach(c, 4, 3, VIOMMU_ATTACH_F_BYPASS), VIOMMU_S_OK);
    REFUSED(unmap(c, 4, 0, 0xfff), VIOMMU_S_INVAL, VIOMMU_R_BYPASS_DOMAIN);
    REFUSED(viommu_core_handle(c, raw, 20, NULL, 0),
            VIOMMU_S_IOERR, VIOMMU_R_SHORT);
    {
        uint8_t att[VIOMMU_REQ_ATTACH_SIZE] = { VIOMMU_T_ATTACH };
        uint8_t props[512], pr[VIOMMU_REQ_PROBE_SIZE] = { VIOMMU_T_PROBE };

        att[4] = 1;
        att[8] = 2;
        att[16] = 1;                        /* reserved */
        CHECK_EQ(viommu_core_handle(c, att, sizeof(att), NULL, 0),
                 VIOMMU_S_INVAL);
        CHECK_EQ(why(c), VIOMMU_R_RESERVED);
        pr[4] = 1;
        CHECK_EQ(viommu_core_handle(c, pr, sizeof(pr), props, 16),
                 VIOMMU_S_INVAL);
        CHECK_EQ(why(c), VIOMMU_R_PROBE_SIZE);
        viommu_core_set_features(c, ALL_FEATURES &
                                 ~(1ull << VIOMMU_F_MAP_UNMAP));
        CHECK_EQ(map(c, 1, 0x40000, 0x40fff, 0, RW), VIOMMU_S_UNSUPP);
        CHECK_EQ(why(c), VIOMMU_R_MAP_UNMAP_OFF);
        viommu_core_set_features(c, ALL_FEATURES);
    }
    CHECK_EQ(viommu_core_handle(c, raw, 3, NULL, 0), -1);
    CHECK(r->type == 0 && r->status == -1 && why(c) == VIOMMU_R_NONE);
    /* every reason has its own name */
    for (int i = 0; i < VIOMMU_R_NR; i++) {
        CHECK(strcmp(viommu_refusal_name(i), "unknown") != 0);
        for (int j = 0; j < i; j++) {
            CHECK(strcmp(viommu_refusal_name(i), viommu_refusal_name(j)));
        }
    }
    CHECK(strcmp(viommu_refusal_name(VIOMMU_R_NR), "unknown") == 0);
    viommu_core_free(c);
}

/* The fields of a request, for traces, as viommu_req_fields() reads them. */
static void test_request_fields(void)
{
    uint8_t m[VIOMMU_REQ_MAP_SIZE] = { VIOMMU_T_MAP };
    uint8_t a[VIOMMU_REQ_ATTACH_SIZE] = { VIOMMU_T_ATTACH };
    ViommuReqRecord r = { .type = VIOMMU_T_MAP };

    put32(m + 4, 7);
    put64(m + 8, 0x10000);
    put64(m + 16, 0x1ffff);
    put64(m + 24, 0x40000);
    put32(m + 32, RW);
    viommu_req_fields(m, &r);
    CHECK(r.domain == 7 && r.virt_start == 0x10000 && r.virt_end == 0x1ffff &&
          r.phys_start == 0x40000 && r.flags == RW && r.endpoint == 0);
    put32(a + 4, 3);
    put32(a + 8, 5);
    put32(a + 12, VIOMMU_ATTACH_F_BYPASS);
    r = (ViommuReqRecord) { .type = VIOMMU_T_ATTACH };
    viommu_req_fields(a, &r);
    CHECK(r.domain == 3 && r.endpoint == 5 &&
          r.flags == VIOMMU_ATTACH_F_BYPASS && r.virt_end == 0);
    r.refusal = VIOMMU_R_SHORT;             /* too short: nothing read */
    viommu_req_fields(a, &r);
    CHECK(r.domain == 0 && r.endpoint == 0 && r.flags == 0);
}

static void test_save_load(void)
{
    ViommuCore *c = make_core(0), *d;
    uint8_t *buf;
    size_t len;
    IovaMapping m;

    attach(c, 7, 1, 0);
    attach(c, 7, 2, 0);
    attach(c, 9, 3, VIOMMU_ATTACH_F_BYPASS);
    map(c, 7, 0x10000, 0x1ffff, 0x40000, RW);
    map(c, 7, 0x30000, 0x30fff, 0x50000, VIOMMU_MAP_F_READ);
    buf = viommu_core_save(c, &len);
    CHECK(buf != NULL);
    d = make_core(0);
    CHECK(viommu_core_load(d, buf, len));
    CHECK_EQ(viommu_core_nr_mappings(d), 2);
    CHECK_EQ(viommu_core_translate(d, 2, 0x30004, VIOMMU_MAP_F_READ, &m),
             VIOMMU_XLATE_MAPPED);
    CHECK(viommu_core_endpoint_bypasses(d, 3));
    /* truncated and corrupted streams are refused and leave a clean state */
    CHECK(!viommu_core_load(d, buf, len - 1));
    CHECK_EQ(viommu_core_nr_mappings(d), 0);
    buf[0] ^= 1;
    CHECK(!viommu_core_load(d, buf, len));
    free(buf);
    viommu_core_free(c);
    viommu_core_free(d);
}

typedef struct Blocks {
    uint64_t next;
    int n;
    bool bad;
    uint64_t delta;
} Blocks;

static void check_block(uint64_t start, uint64_t mask, void *opaque)
{
    Blocks *b = opaque;

    b->bad |= start != b->next || (start & mask) ||
              ((start + b->delta) & mask) || ((mask + 1) & mask);
    b->next = start + mask + 1;
    b->n++;
}

static void test_split_pow2(void)
{
    Blocks b = { .next = 0x1000 };

    viommu_split_pow2(0x1000, 0x8fff, 0, check_block, &b);
    CHECK(!b.bad);
    CHECK_EQ(b.next, 0x9000);
    CHECK_EQ(b.n, 4);                    /* 4k 8k 16k 4k */
    b = (Blocks){ .next = 0, .delta = 0x1000 };
    viommu_split_pow2(0, 0xffff, 0x1000, check_block, &b);
    CHECK(!b.bad);
    CHECK_EQ(b.n, 16);                   /* phys side only 4k aligned */
    b = (Blocks){ .next = 0 };
    viommu_split_pow2(0, UINT64_MAX, 0, check_block, &b);
    CHECK_EQ(b.n, 1);
    b = (Blocks){ .next = 1 };
    viommu_split_pow2(1, UINT64_MAX, 0, check_block, &b);
    CHECK(!b.bad);
    CHECK_EQ(b.n, 64);
}

int main(void)
{
    RUN(test_attach_rules);
    RUN(test_detach_rules);
    RUN(test_map_validation);
    RUN(test_map_bypass_domain);
    RUN(test_shared_identity_domain);
    RUN(test_mapping_bound);
    RUN(test_notifications);
    RUN(test_translate);
    RUN(test_probe);
    RUN(test_host_usable_probe);
    RUN(test_host_usable_holes);
    RUN(test_host_usable_most);
    RUN(test_host_usable_enforced);
    RUN(test_host_usable_conflict);
    RUN(test_host_usable_two_hosts);
    RUN(test_page_size_mask);
    RUN(test_malformed);
    RUN(test_refusal_reasons);
    RUN(test_request_fields);
    RUN(test_save_load);
    RUN(test_split_pow2);
    return unit_report("test-virtio-iommu-core");
}

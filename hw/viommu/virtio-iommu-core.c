/*
 * qemu-viommu: the virtio-iommu device model, independent of QEMU.
 *
 * Section numbers refer to the virtio 1.3 specification, 5.13 "IOMMU Device".
 * Every check runs before any state changes, so a rejected request leaves
 * nothing behind.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/virtio-iommu-core.h"
#include "hw/viommu/le.h"

#include <stdlib.h>
#include <string.h>

typedef struct Domain {
    uint32_t id;
    bool bypass;            /* created with VIOMMU_ATTACH_F_BYPASS */
    uint32_t nr_endpoints;
    IovaMap *map;
} Domain;

typedef struct Endpoint {
    uint32_t id;
    Domain *domain;         /* NULL when not attached */
    ViommuResvRegion *host_resv;    /* what its host IOMMU cannot map */
    size_t nr_host_resv;
} Endpoint;

struct ViommuCore {
    ViommuCoreConfig cfg;
    const ViommuCoreOps *ops;
    void *opaque;
    uint64_t acked;
    bool bypass;            /* config.bypass (5.13.4) */
    Endpoint *eps;          /* sorted by id */
    size_t nr_eps;
    Domain **domains;       /* sorted by id */
    size_t nr_domains;
    ViommuResvRegion *resv;
    size_t nr_resv;
    size_t nr_host_constrained;     /* endpoints with host_resv */
    size_t nr_mappings;
    ViommuReqRecord last;   /* the request handled last */
};

/* Refuses the request being handled with @status, for reason @why. */
static int refuse(ViommuCore *c, ViommuRefusal why, int status)
{
    c->last.refusal = why;
    return status;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    while (n--) {
        if (*p++) {
            return false;
        }
    }
    return true;
}

static bool regions_meet(const ViommuResvRegion *r, size_t n,
                         uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < n; i++) {
        if (start <= r[i].end && end >= r[i].start) {
            return true;
        }
    }
    return false;
}

static bool acked(const ViommuCore *c, int feature)
{
    return c->acked & (1ull << feature);
}

/* ---- lookup tables ---- */

static size_t ep_slot(const ViommuCore *c, uint32_t id)
{
    size_t lo = 0, hi = c->nr_eps;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->eps[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static Endpoint *find_ep(const ViommuCore *c, uint32_t id)
{
    size_t i = ep_slot(c, id);

    return i < c->nr_eps && c->eps[i].id == id ? &c->eps[i] : NULL;
}

/* The endpoint record for @id, created if the glue says @id exists. */
static Endpoint *get_ep(ViommuCore *c, uint32_t id)
{
    Endpoint *e = find_ep(c, id), *grown;
    size_t i;

    if (e || !c->ops->endpoint_exists(c->opaque, id)) {
        return e;
    }
    grown = realloc(c->eps, (c->nr_eps + 1) * sizeof(*grown));
    if (!grown) {
        return NULL;
    }
    c->eps = grown;
    i = ep_slot(c, id);
    memmove(&c->eps[i + 1], &c->eps[i], (c->nr_eps - i) * sizeof(*grown));
    c->eps[i] = (Endpoint){ .id = id };
    c->nr_eps++;
    return &c->eps[i];
}

static ViommuHostResult set_host_resv(ViommuCore *c, Endpoint *e);

/*
 * get_ep() with @id's host constraints read again: its ID follows bus
 * numbers, so it may name another function than when last read. On
 * failure they stay as they were (a new record: none).
 */
static Endpoint *get_ep_constrained(ViommuCore *c, uint32_t id)
{
    Endpoint *e = get_ep(c, id);

    if (e) {
        set_host_resv(c, e);
    }
    return e;
}

static size_t domain_slot(const ViommuCore *c, uint32_t id)
{
    size_t lo = 0, hi = c->nr_domains;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->domains[mid]->id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static Domain *find_domain(const ViommuCore *c, uint32_t id)
{
    size_t i = domain_slot(c, id);

    return i < c->nr_domains && c->domains[i]->id == id ? c->domains[i] : NULL;
}

static Domain *create_domain(ViommuCore *c, uint32_t id, bool bypass)
{
    Domain **grown = realloc(c->domains,
                             (c->nr_domains + 1) * sizeof(*grown));
    Domain *d;
    size_t i;

    if (!grown) {
        return NULL;
    }
    c->domains = grown;
    d = calloc(1, sizeof(*d));
    if (d) {
        d->map = iova_map_new(0);
    }
    if (!d || !d->map) {
        free(d);
        return NULL;
    }
    d->id = id;
    d->bypass = bypass;
    i = domain_slot(c, id);
    memmove(&c->domains[i + 1], &c->domains[i],
            (c->nr_domains - i) * sizeof(*grown));
    c->domains[i] = d;
    c->nr_domains++;
    return d;
}

static void destroy_domain(ViommuCore *c, Domain *d)
{
    size_t i = domain_slot(c, d->id);

    c->nr_mappings -= iova_map_count(d->map);
    memmove(&c->domains[i], &c->domains[i + 1],
            (c->nr_domains - i - 1) * sizeof(*c->domains));
    c->nr_domains--;
    iova_map_free(d->map);
    free(d);
}

/* ---- notifications ---- */

typedef struct NotifyCtx {
    ViommuCore *c;
    uint32_t ep;
} NotifyCtx;

static int notify_unmap_one(const IovaMapping *m, void *opaque)
{
    NotifyCtx *n = opaque;

    n->c->ops->notify_unmap(n->c->opaque, n->ep, m);
    return 0;
}

static int notify_map_one(const IovaMapping *m, void *opaque)
{
    NotifyCtx *n = opaque;

    n->c->ops->notify_map(n->c->opaque, n->ep, m);
    return 0;
}

/* Calls @fn for @m on every endpoint attached to @d. */
static void for_domain_eps(ViommuCore *c, Domain *d, const IovaMapping *m,
                           void (*fn)(void *, uint32_t, const IovaMapping *))
{
    for (size_t i = 0; i < c->nr_eps && d->nr_endpoints; i++) {
        if (c->eps[i].domain == d) {
            fn(c->opaque, c->eps[i].id, m);
        }
    }
}

typedef struct UnmapCtx {
    ViommuCore *c;
    Domain *d;
} UnmapCtx;

static int unmap_from_domain_eps(const IovaMapping *m, void *opaque)
{
    UnmapCtx *u = opaque;

    for_domain_eps(u->c, u->d, m, u->c->ops->notify_unmap);
    return 0;
}

/* Detaches @e; the domain goes when its last endpoint leaves (5.13.6.4). */
static void detach_ep(ViommuCore *c, Endpoint *e)
{
    Domain *d = e->domain;
    NotifyCtx n = { c, e->id };

    if (!d) {
        return;
    }
    iova_map_foreach_in(d->map, 0, UINT64_MAX, notify_unmap_one, &n);
    e->domain = NULL;
    if (--d->nr_endpoints == 0) {
        destroy_domain(c, d);
    }
}

static void attach_ep(ViommuCore *c, Endpoint *e, Domain *d)
{
    NotifyCtx n = { c, e->id };

    e->domain = d;
    d->nr_endpoints++;
    iova_map_foreach_in(d->map, 0, UINT64_MAX, notify_map_one, &n);
}

/* Whether @d maps anything inside @e's own reserved regions. */
static bool domain_maps_into(const Domain *d, const Endpoint *e)
{
    for (size_t i = 0; i < e->nr_host_resv; i++) {
        if (iova_map_overlaps(d->map, e->host_resv[i].start,
                              e->host_resv[i].end)) {
            return true;
        }
    }
    return false;
}

/* ---- requests (5.13.6.3 - 5.13.6.7) ---- */

void viommu_req_fields(const uint8_t *req, ViommuReqRecord *r)
{
    r->domain = r->endpoint = r->flags = 0;
    r->virt_start = r->virt_end = r->phys_start = 0;
    if (r->refusal == VIOMMU_R_SHORT) {
        return;
    }
    switch (r->type) {
    case VIOMMU_T_ATTACH:
    case VIOMMU_T_DETACH:
        r->domain = le_ld32(req + 4);
        r->endpoint = le_ld32(req + 8);
        r->flags = r->type == VIOMMU_T_ATTACH ? le_ld32(req + 12) : 0;
        break;
    case VIOMMU_T_MAP:
    case VIOMMU_T_UNMAP:
        r->domain = le_ld32(req + 4);
        r->virt_start = le_ld64(req + 8);
        r->virt_end = le_ld64(req + 16);
        if (r->type == VIOMMU_T_MAP) {
            r->phys_start = le_ld64(req + 24);
            r->flags = le_ld32(req + 32);
        }
        break;
    default:
        r->endpoint = le_ld32(req + 4);
        break;
    }
}

static int do_attach(ViommuCore *c, const uint8_t *req)
{
    uint32_t domain = le_ld32(req + 4), ep = le_ld32(req + 8), flags = le_ld32(req + 12);
    uint32_t known = acked(c, VIOMMU_F_BYPASS_CONFIG) ?
                     VIOMMU_ATTACH_F_BYPASS : 0;
    bool bypass = flags & VIOMMU_ATTACH_F_BYPASS;
    Endpoint *e;
    Domain *d;

    /* "If the reserved field ... is not zero, the device MUST reject" */
    if (!all_zero(req + 16, 4)) {
        return refuse(c, VIOMMU_R_RESERVED, VIOMMU_S_INVAL);
    }
    if (flags & ~known) {
        return refuse(c, VIOMMU_R_FLAGS, VIOMMU_S_INVAL);
    }
    e = get_ep_constrained(c, ep);
    if (!e) {
        return refuse(c, VIOMMU_R_NO_ENDPOINT, VIOMMU_S_NOENT);
    }
    if (domain < c->cfg.domain_start || domain > c->cfg.domain_end) {
        return refuse(c, VIOMMU_R_DOMAIN_RANGE, VIOMMU_S_RANGE);
    }
    d = find_domain(c, domain);
    if (d && d->bypass != bypass) {
        return refuse(c, VIOMMU_R_BYPASS_MISMATCH, VIOMMU_S_INVAL);
    }
    if (d && e->domain == d) {
        return VIOMMU_S_OK;
    }
    /* the domain already maps what this endpoint's host cannot (5.13.6.8.1) */
    if (d && domain_maps_into(d, e)) {
        return refuse(c, VIOMMU_R_HOST_CANNOT_MAP, VIOMMU_S_INVAL);
    }
    if (!d) {
        d = create_domain(c, domain, bypass);
        if (!d) {
            return refuse(c, VIOMMU_R_NO_MEMORY, VIOMMU_S_NOMEM);
        }
    }
    /* "behave as if the driver issued a DETACH ... followed by the ATTACH" */
    detach_ep(c, e);
    attach_ep(c, e, d);
    c->ops->endpoint_changed(c->opaque, ep);
    return VIOMMU_S_OK;
}

static int do_detach(ViommuCore *c, const uint8_t *req)
{
    uint32_t domain = le_ld32(req + 4), ep = le_ld32(req + 8);
    Endpoint *e = get_ep(c, ep);

    if (!e) {
        return refuse(c, VIOMMU_R_NO_ENDPOINT, VIOMMU_S_NOENT);
    }
    if (!e->domain || e->domain->id != domain) {
        return refuse(c, VIOMMU_R_NOT_ATTACHED, VIOMMU_S_INVAL);
    }
    detach_ep(c, e);
    c->ops->endpoint_changed(c->opaque, ep);
    return VIOMMU_S_OK;
}

/* Whether [start, end] meets a reserved region of an endpoint of @d. */
static bool domain_resv_meets(const ViommuCore *c, const Domain *d,
                              uint64_t start, uint64_t end)
{
    if (regions_meet(c->resv, c->nr_resv, start, end)) {
        return true;
    }
    for (size_t i = 0; c->nr_host_constrained && i < c->nr_eps; i++) {
        const Endpoint *e = &c->eps[i];

        if (e->domain == d &&
            regions_meet(e->host_resv, e->nr_host_resv, start, end)) {
            return true;
        }
    }
    return false;
}

static bool in_input_range(const ViommuCore *c, uint64_t start, uint64_t end)
{
    return start <= end && start >= c->cfg.input_start &&
           end <= c->cfg.input_end;
}

static bool map_aligned(const ViommuCore *c, const IovaMapping *m)
{
    uint64_t psm = c->cfg.page_size_mask;
    uint64_t granule_mask = (psm & -psm) - 1;
    uint64_t ends = m->virt_start | m->phys_start | (m->virt_end + 1);

    return !(ends & granule_mask);
}

static int do_map(ViommuCore *c, const uint8_t *req)
{
    IovaMapping m = {
        .virt_start = le_ld64(req + 8),
        .virt_end = le_ld64(req + 16),
        .phys_start = le_ld64(req + 24),
        .flags = le_ld32(req + 32),
    };
    uint32_t known = VIOMMU_MAP_F_READ | VIOMMU_MAP_F_WRITE |
                     (acked(c, VIOMMU_F_MMIO) ? VIOMMU_MAP_F_MMIO : 0);
    Domain *d;

    if (!acked(c, VIOMMU_F_MAP_UNMAP)) {
        return refuse(c, VIOMMU_R_MAP_UNMAP_OFF, VIOMMU_S_UNSUPP);
    }
    /* "If the device doesn't recognize a flags bit, it MUST reject" */
    if (m.flags & ~known) {
        return refuse(c, VIOMMU_R_FLAGS, VIOMMU_S_INVAL);
    }
    d = find_domain(c, le_ld32(req + 4));
    if (!d) {
        return refuse(c, VIOMMU_R_NO_DOMAIN, VIOMMU_S_NOENT);
    }
    if (d->bypass) {
        return refuse(c, VIOMMU_R_BYPASS_DOMAIN, VIOMMU_S_INVAL);
    }
    if (!in_input_range(c, m.virt_start, m.virt_end)) {
        return refuse(c, VIOMMU_R_INPUT_RANGE, VIOMMU_S_RANGE);
    }
    if (m.phys_start + (m.virt_end - m.virt_start) < m.phys_start) {
        return refuse(c, VIOMMU_R_PHYS_WRAPS, VIOMMU_S_RANGE);
    }
    if (c->cfg.check_alignment && !map_aligned(c, &m)) {
        return refuse(c, VIOMMU_R_UNALIGNED, VIOMMU_S_RANGE);
    }
    /* 5.13.6.8.1: "SHOULD reject a MAP request that overlaps a RESV_MEM" */
    if (domain_resv_meets(c, d, m.virt_start, m.virt_end)) {
        return refuse(c, VIOMMU_R_RESV, VIOMMU_S_INVAL);
    }
    if (c->cfg.max_mappings && c->nr_mappings >= c->cfg.max_mappings) {
        return iova_map_overlaps(d->map, m.virt_start, m.virt_end) ?
               refuse(c, VIOMMU_R_OVERLAP, VIOMMU_S_INVAL) :
               refuse(c, VIOMMU_R_LIMIT, VIOMMU_S_NOMEM);
    }
    switch (iova_map_insert(d->map, &m)) {
    case IOVA_MAP_OK:
        break;
    case IOVA_MAP_OVERLAP:
        return refuse(c, VIOMMU_R_OVERLAP, VIOMMU_S_INVAL);
    default:
        return refuse(c, VIOMMU_R_NO_MEMORY, VIOMMU_S_NOMEM);
    }
    c->nr_mappings++;
    for_domain_eps(c, d, &m, c->ops->notify_map);
    return VIOMMU_S_OK;
}

static int do_unmap(ViommuCore *c, const uint8_t *req)
{
    uint64_t start = le_ld64(req + 8), end = le_ld64(req + 16);
    size_t before;
    UnmapCtx u = { c, NULL };

    if (!acked(c, VIOMMU_F_MAP_UNMAP)) {
        return refuse(c, VIOMMU_R_MAP_UNMAP_OFF, VIOMMU_S_UNSUPP);
    }
    if (!all_zero(req + 24, 4)) {
        return refuse(c, VIOMMU_R_RESERVED, VIOMMU_S_INVAL);
    }
    u.d = find_domain(c, le_ld32(req + 4));
    if (!u.d) {
        return refuse(c, VIOMMU_R_NO_DOMAIN, VIOMMU_S_NOENT);
    }
    if (u.d->bypass) {
        return refuse(c, VIOMMU_R_BYPASS_DOMAIN, VIOMMU_S_INVAL);
    }
    if (end < start) {
        return refuse(c, VIOMMU_R_INPUT_RANGE, VIOMMU_S_RANGE);
    }
    before = iova_map_count(u.d->map);
    if (iova_map_remove_range(u.d->map, start, end, unmap_from_domain_eps,
                              &u) == IOVA_MAP_SPLIT) {
        return refuse(c, VIOMMU_R_SPLIT, VIOMMU_S_RANGE);
    }
    c->nr_mappings -= before - iova_map_count(u.d->map);
    return VIOMMU_S_OK;
}

static void put_resv_mem(uint8_t *p, const ViommuResvRegion *r)
{
    le_st16(p, VIOMMU_PROBE_T_RESV_MEM);
    le_st16(p + 2, VIOMMU_PROBE_RESV_MEM_SIZE - 4);
    p[4] = r->subtype;
    le_st64(p + 8, r->start);
    le_st64(p + 16, r->end);
}

static int do_probe(ViommuCore *c, const uint8_t *req, uint8_t *props,
                    size_t props_len)
{
    size_t size = c->cfg.probe_size;
    Endpoint *e = get_ep_constrained(c, le_ld32(req + 4));

    if (!e) {
        return refuse(c, VIOMMU_R_NO_ENDPOINT, VIOMMU_S_NOENT);
    }
    /* "If the properties list is smaller than probe_size ... INVAL" */
    if (props_len < size ||
        (c->nr_resv + e->nr_host_resv) * VIOMMU_PROBE_RESV_MEM_SIZE > size) {
        return refuse(c, VIOMMU_R_PROBE_SIZE, VIOMMU_S_INVAL);
    }
    memset(props, 0, size);
    for (size_t i = 0; i < c->nr_resv; i++) {
        put_resv_mem(props, &c->resv[i]);
        props += VIOMMU_PROBE_RESV_MEM_SIZE;
    }
    for (size_t i = 0; i < e->nr_host_resv; i++) {
        put_resv_mem(props, &e->host_resv[i]);
        props += VIOMMU_PROBE_RESV_MEM_SIZE;
    }
    return VIOMMU_S_OK;
}

static int dispatch(ViommuCore *c, const uint8_t *req, size_t req_len,
                    uint8_t *props, size_t props_len)
{
    static const uint8_t need[] = {
        [VIOMMU_T_ATTACH] = VIOMMU_REQ_ATTACH_SIZE,
        [VIOMMU_T_DETACH] = VIOMMU_REQ_DETACH_SIZE,
        [VIOMMU_T_MAP] = VIOMMU_REQ_MAP_SIZE,
        [VIOMMU_T_UNMAP] = VIOMMU_REQ_UNMAP_SIZE,
        [VIOMMU_T_PROBE] = VIOMMU_REQ_PROBE_SIZE,
    };
    uint8_t type;

    if (req_len < VIOMMU_REQ_HEAD_SIZE) {
        return -1;
    }
    type = req[0];
    /* "If a request type is not recognized, the device SHOULD NOT write" */
    if (type >= sizeof(need) || !need[type] ||
        (type == VIOMMU_T_PROBE && !acked(c, VIOMMU_F_PROBE))) {
        return -1;
    }
    c->last.type = type;
    if (req_len < need[type]) {
        return refuse(c, VIOMMU_R_SHORT, VIOMMU_S_IOERR);
    }
    switch (type) {
    case VIOMMU_T_ATTACH:
        return do_attach(c, req);
    case VIOMMU_T_DETACH:
        return do_detach(c, req);
    case VIOMMU_T_MAP:
        return do_map(c, req);
    case VIOMMU_T_UNMAP:
        return do_unmap(c, req);
    default:
        return do_probe(c, req, props, props_len);
    }
}

int viommu_core_handle(ViommuCore *c, const uint8_t *req, size_t req_len,
                       uint8_t *props, size_t props_len)
{
    c->last.type = 0;
    c->last.refusal = VIOMMU_R_NONE;
    c->last.status = dispatch(c, req, req_len, props, props_len);
    return c->last.status;
}

const ViommuReqRecord *viommu_core_last_request(const ViommuCore *c)
{
    return &c->last;
}

const char *viommu_refusal_name(ViommuRefusal r)
{
    static const char *const names[VIOMMU_R_NR] = {
        [VIOMMU_R_NONE] = "none",
        [VIOMMU_R_SHORT] = "short",
        [VIOMMU_R_RESERVED] = "reserved-field",
        [VIOMMU_R_FLAGS] = "unknown-flags",
        [VIOMMU_R_NO_ENDPOINT] = "no-endpoint",
        [VIOMMU_R_DOMAIN_RANGE] = "domain-range",
        [VIOMMU_R_BYPASS_MISMATCH] = "bypass-mismatch",
        [VIOMMU_R_HOST_CANNOT_MAP] = "host-cannot-map",
        [VIOMMU_R_NOT_ATTACHED] = "not-attached",
        [VIOMMU_R_MAP_UNMAP_OFF] = "map-unmap-not-negotiated",
        [VIOMMU_R_NO_DOMAIN] = "no-domain",
        [VIOMMU_R_BYPASS_DOMAIN] = "bypass-domain",
        [VIOMMU_R_INPUT_RANGE] = "input-range",
        [VIOMMU_R_PHYS_WRAPS] = "phys-wraps",
        [VIOMMU_R_UNALIGNED] = "unaligned",
        [VIOMMU_R_RESV] = "reserved-region",
        [VIOMMU_R_OVERLAP] = "overlap",
        [VIOMMU_R_LIMIT] = "mapping-limit",
        [VIOMMU_R_NO_MEMORY] = "no-memory",
        [VIOMMU_R_SPLIT] = "split",
        [VIOMMU_R_PROBE_SIZE] = "probe-size",
    };

    return (unsigned)r < VIOMMU_R_NR ? names[r] : "unknown";
}

/* ---- translation (5.13.6: bypass mode; 5.13.6.5: MAP semantics) ---- */

static bool global_bypass(const ViommuCore *c)
{
    /* "config field bypass is 1 and the endpoint is not attached" */
    return c->bypass || acked(c, VIOMMU_F_BYPASS);
}

static bool in_msi_window(const ViommuCore *c, uint64_t addr)
{
    for (size_t i = 0; i < c->nr_resv; i++) {
        if (c->resv[i].subtype == VIOMMU_RESV_MEM_T_MSI &&
            addr >= c->resv[i].start && addr <= c->resv[i].end) {
            return true;
        }
    }
    return false;
}

bool viommu_core_endpoint_bypasses(const ViommuCore *c, uint32_t ep)
{
    const Endpoint *e = find_ep(c, ep);

    if (!e || !e->domain) {
        return global_bypass(c);
    }
    return e->domain->bypass;
}

bool viommu_core_endpoint_domain(const ViommuCore *c, uint32_t ep,
                                 uint32_t *domain, bool *bypass,
                                 size_t *nr_mappings)
{
    const Endpoint *e = find_ep(c, ep);

    if (!e || !e->domain) {
        return false;
    }
    *domain = e->domain->id;
    *bypass = e->domain->bypass;
    *nr_mappings = iova_map_count(e->domain->map);
    return true;
}

ViommuXlate viommu_core_translate(ViommuCore *c, uint32_t ep, uint64_t iova,
                                  uint32_t perm, IovaMapping *out)
{
    const Endpoint *e = find_ep(c, ep);
    const IovaMapping *m;

    if (in_msi_window(c, iova)) {
        return VIOMMU_XLATE_BYPASS;
    }
    if (!e || !e->domain) {
        return global_bypass(c) ? VIOMMU_XLATE_BYPASS :
                                  VIOMMU_XLATE_FAULT_DOMAIN;
    }
    if (e->domain->bypass) {
        return VIOMMU_XLATE_BYPASS;
    }
    m = iova_map_lookup(e->domain->map, iova);
    if (!m || (perm & ~m->flags & (VIOMMU_MAP_F_READ | VIOMMU_MAP_F_WRITE))) {
        return VIOMMU_XLATE_FAULT_MAPPING;
    }
    *out = *m;
    return VIOMMU_XLATE_MAPPED;
}

int viommu_core_foreach_mapping(ViommuCore *c, uint32_t ep,
                                IovaMapVisitFn fn, void *opaque)
{
    const Endpoint *e = find_ep(c, ep);

    if (!e || !e->domain || e->domain->bypass) {
        return 0;
    }
    return iova_map_foreach_in(e->domain->map, 0, UINT64_MAX, fn, opaque);
}

/* ---- life cycle and configuration ---- */

ViommuCore *viommu_core_new(const ViommuCoreConfig *cfg,
                            const ViommuCoreOps *ops, void *opaque)
{
    ViommuCore *c = calloc(1, sizeof(*c));

    if (c) {
        c->cfg = *cfg;
        c->ops = ops;
        c->opaque = opaque;
    }
    return c;
}

void viommu_core_reset(ViommuCore *c)
{
    for (size_t i = 0; i < c->nr_eps; i++) {
        if (c->eps[i].domain) {
            detach_ep(c, &c->eps[i]);
            c->ops->endpoint_changed(c->opaque, c->eps[i].id);
        }
    }
    c->acked = 0;
}

void viommu_core_free(ViommuCore *c)
{
    if (!c) {
        return;
    }
    while (c->nr_domains) {
        destroy_domain(c, c->domains[c->nr_domains - 1]);
    }
    free(c->domains);
    for (size_t i = 0; i < c->nr_eps; i++) {
        free(c->eps[i].host_resv);
    }
    free(c->eps);
    free(c->resv);
    free(c);
}

void viommu_core_set_features(ViommuCore *c, uint64_t acked_features)
{
    c->acked = acked_features;
}

void viommu_core_set_bypass(ViommuCore *c, bool bypass)
{
    c->bypass = bypass;
}

void viommu_core_set_page_size_mask(ViommuCore *c, uint64_t mask)
{
    c->cfg.page_size_mask = mask;
}

bool viommu_core_bypass(const ViommuCore *c)
{
    return c->bypass;
}

const ViommuCoreConfig *viommu_core_config(const ViommuCore *c)
{
    return &c->cfg;
}

size_t viommu_core_nr_mappings(const ViommuCore *c)
{
    return c->nr_mappings;
}

size_t viommu_core_probe_size_for(size_t nr_resv_regions)
{
    size_t need = nr_resv_regions * VIOMMU_PROBE_RESV_MEM_SIZE;

    return need < 512 ? 512 : need;
}

bool viommu_core_set_resv_regions(ViommuCore *c, const ViommuResvRegion *r,
                                  size_t n)
{
    ViommuResvRegion *copy = NULL;

    if (n) {
        copy = malloc(n * sizeof(*copy));
        if (!copy) {
            return false;
        }
        memcpy(copy, r, n * sizeof(*copy));
    }
    free(c->resv);
    c->resv = copy;
    c->nr_resv = n;
    return true;
}

/* ---- host constraints of assigned endpoints ---- */

static int range_cmp(const void *a, const void *b)
{
    const ViommuRange *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The parts of [lo, hi] that no range of @r (sorted by start) covers, as
 * RESERVED regions in @out (room for n + 1). Returns how many.
 */
static size_t uncovered(const ViommuRange *r, size_t n, uint64_t lo,
                        uint64_t hi, ViommuResvRegion *out)
{
    uint64_t next = lo;     /* the first address not known to be covered */
    size_t nr = 0;

    for (size_t i = 0; i < n && r[i].start <= hi; i++) {
        if (r[i].end < next) {
            continue;
        }
        if (r[i].start > next) {
            out[nr++] = (ViommuResvRegion){ next, r[i].start - 1,
                                            VIOMMU_RESV_MEM_T_RESERVED };
        }
        if (r[i].end >= hi) {
            return nr;
        }
        next = r[i].end + 1;
    }
    out[nr++] = (ViommuResvRegion){ next, hi, VIOMMU_RESV_MEM_T_RESERVED };
    return nr;
}

/* Appends the input range less @usable and the global regions to @h. */
static bool add_host_holes(const ViommuCore *c, const ViommuRange *usable,
                           size_t n, ViommuResvRegion **h, size_t *nr)
{
    ViommuRange *covered = malloc((n + c->nr_resv) * sizeof(*covered));
    ViommuResvRegion *grown = realloc(*h, (*nr + n + c->nr_resv + 1) *
                                          sizeof(*grown));
    size_t k = 0;

    if (grown) {
        *h = grown;
    }
    if (!covered || !grown) {
        free(covered);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (usable[i].start <= usable[i].end) {
            covered[k++] = usable[i];
        }
    }
    for (size_t i = 0; i < c->nr_resv; i++) {
        covered[k++] = (ViommuRange){ c->resv[i].start, c->resv[i].end };
    }
    qsort(covered, k, sizeof(*covered), range_cmp);
    *nr += uncovered(covered, k, c->cfg.input_start, c->cfg.input_end,
                     *h + *nr);
    free(covered);
    return true;
}

static int resv_cmp(const void *a, const void *b)
{
    const ViommuResvRegion *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

/* Sorts @r and merges regions that overlap or touch; returns how many. */
static size_t merge_regions(ViommuResvRegion *r, size_t n)
{
    size_t out = 0;

    qsort(r, n, sizeof(*r), resv_cmp);
    for (size_t i = 0; i < n; i++) {
        ViommuResvRegion *last = out ? &r[out - 1] : NULL;

        if (last && (last->end == UINT64_MAX || r[i].start <= last->end + 1)) {
            if (r[i].end > last->end) {
                last->end = r[i].end;
            }
        } else {
            r[out++] = r[i];
        }
    }
    return out;
}

/*
 * What @e's host IOMMUs cannot all map (the union of each one's holes),
 * in @holes (malloc, NULL when none).
 */
static ViommuHostResult collect_host_holes(ViommuCore *c, const Endpoint *e,
                                           ViommuResvRegion **holes,
                                           size_t *nr)
{
    const ViommuRange *usable;
    size_t n;

    *holes = NULL;
    *nr = 0;
    for (size_t i = 0; c->ops->host_usable &&
                       c->ops->host_usable(c->opaque, e->id, i, &usable, &n);
         i++) {
        if (n && !add_host_holes(c, usable, n, holes, nr)) {
            free(*holes);
            *holes = NULL;
            return VIOMMU_HOST_NOMEM;
        }
    }
    if (*nr) {
        *nr = merge_regions(*holes, *nr);
    }
    if ((c->nr_resv + *nr) * VIOMMU_PROBE_RESV_MEM_SIZE > c->cfg.probe_size) {
        free(*holes);
        *holes = NULL;
        return VIOMMU_HOST_TOO_MANY;
    }
    return VIOMMU_HOST_OK;
}

/* Replaces @e's own reserved regions with what its hosts cannot map. */
static ViommuHostResult set_host_resv(ViommuCore *c, Endpoint *e)
{
    ViommuResvRegion *holes, *old = e->host_resv;
    size_t nr_holes, nr_old = e->nr_host_resv;
    ViommuHostResult res = collect_host_holes(c, e, &holes, &nr_holes);

    if (res != VIOMMU_HOST_OK) {
        return res;
    }
    e->host_resv = holes;
    e->nr_host_resv = nr_holes;
    if (e->domain && domain_maps_into(e->domain, e)) {
        e->host_resv = old;
        e->nr_host_resv = nr_old;
        free(holes);
        return VIOMMU_HOST_CONFLICT;
    }
    c->nr_host_constrained -= nr_old > 0;
    c->nr_host_constrained += nr_holes > 0;
    free(old);
    return VIOMMU_HOST_OK;
}

ViommuHostResult viommu_core_refresh_host_usable(ViommuCore *c, uint32_t ep)
{
    Endpoint *e = get_ep(c, ep);

    return e ? set_host_resv(c, e) : VIOMMU_HOST_OK;
}

void viommu_encode_fault(uint8_t *out, uint8_t reason, uint32_t flags,
                         uint32_t ep, uint64_t address)
{
    memset(out, 0, VIOMMU_FAULT_SIZE);
    out[0] = reason;
    le_st32(out + 4, flags);
    le_st32(out + 8, ep);
    le_st64(out + 16, address);
}

/* ---- migration stream ---- */

#define STATE_VERSION 1
#define MAP_RECORD 28

typedef struct Writer {
    uint8_t *buf;
    size_t len, cap;
    bool failed;
} Writer;

static uint8_t *w_room(Writer *w, size_t n)
{
    if (w->len + n > w->cap) {
        size_t cap = (w->cap + n) * 2;
        uint8_t *grown = w->failed ? NULL : realloc(w->buf, cap);
        if (!grown) {
            w->failed = true;
            return NULL;
        }
        w->buf = grown;
        w->cap = cap;
    }
    w->len += n;
    return w->buf + w->len - n;
}

static void w32(Writer *w, uint32_t v)
{
    uint8_t *p = w_room(w, 4);

    if (p) {
        le_st32(p, v);
    }
}

static int w_mapping(const IovaMapping *m, void *opaque)
{
    uint8_t *p = w_room(opaque, MAP_RECORD);

    if (p) {
        le_st64(p, m->virt_start);
        le_st64(p + 8, m->virt_end);
        le_st64(p + 16, m->phys_start);
        le_st32(p + 24, m->flags);
    }
    return 0;
}

uint8_t *viommu_core_save(const ViommuCore *c, size_t *len)
{
    Writer w = { 0 };
    size_t attached = 0;

    w32(&w, STATE_VERSION);
    w32(&w, c->bypass);
    w32(&w, c->nr_domains);
    for (size_t i = 0; i < c->nr_domains; i++) {
        const Domain *d = c->domains[i];
        w32(&w, d->id);
        w32(&w, d->bypass);
        w32(&w, iova_map_count(d->map));
        iova_map_foreach_in(d->map, 0, UINT64_MAX, w_mapping, &w);
    }
    for (size_t i = 0; i < c->nr_eps; i++) {
        attached += c->eps[i].domain != NULL;
    }
    w32(&w, attached);
    for (size_t i = 0; i < c->nr_eps; i++) {
        if (c->eps[i].domain) {
            w32(&w, c->eps[i].id);
            w32(&w, c->eps[i].domain->id);
        }
    }
    if (w.failed) {
        free(w.buf);
        return NULL;
    }
    *len = w.len;
    return w.buf;
}

typedef struct Reader {
    const uint8_t *p;
    size_t left;
} Reader;

static bool r32(Reader *r, uint32_t *v)
{
    if (r->left < 4) {
        return false;
    }
    *v = le_ld32(r->p);
    r->p += 4;
    r->left -= 4;
    return true;
}

static bool load_domain(ViommuCore *c, Reader *r)
{
    uint32_t id, bypass, count;
    Domain *d;

    if (!r32(r, &id) || !r32(r, &bypass) || !r32(r, &count) ||
        bypass > 1 || find_domain(c, id) || count > r->left / MAP_RECORD) {
        return false;
    }
    d = create_domain(c, id, bypass);
    if (!d) {
        return false;
    }
    for (uint32_t i = 0; i < count; i++) {
        IovaMapping m = {
            le_ld64(r->p), le_ld64(r->p + 8), le_ld64(r->p + 16), le_ld32(r->p + 24)
        };
        if (iova_map_insert(d->map, &m) != IOVA_MAP_OK) {
            return false;
        }
        c->nr_mappings++;
        r->p += MAP_RECORD;
        r->left -= MAP_RECORD;
    }
    return true;
}

static bool load_attachments(ViommuCore *c, Reader *r)
{
    uint32_t count, ep, domain;

    if (!r32(r, &count)) {
        return false;
    }
    for (uint32_t i = 0; i < count; i++) {
        Endpoint *e;
        Domain *d;

        if (!r32(r, &ep) || !r32(r, &domain)) {
            return false;
        }
        e = get_ep_constrained(c, ep);
        d = find_domain(c, domain);
        if (!e || !d || e->domain) {
            return false;
        }
        attach_ep(c, e, d);
        c->ops->endpoint_changed(c->opaque, ep);
    }
    for (size_t i = 0; i < c->nr_domains; i++) {
        if (!c->domains[i]->nr_endpoints) {
            return false;
        }
    }
    return true;
}

bool viommu_core_load(ViommuCore *c, const uint8_t *buf, size_t len)
{
    Reader r = { buf, len };
    uint32_t version, bypass, nr_domains;
    bool ok;

    viommu_core_reset(c);
    ok = r32(&r, &version) && version == STATE_VERSION &&
         r32(&r, &bypass) && bypass <= 1 && r32(&r, &nr_domains);
    for (uint32_t i = 0; ok && i < nr_domains; i++) {
        ok = load_domain(c, &r);
    }
    ok = ok && load_attachments(c, &r) && r.left == 0;
    if (ok) {
        c->bypass = bypass;
    } else {
        viommu_core_reset(c);
        while (c->nr_domains) {
            destroy_domain(c, c->domains[c->nr_domains - 1]);
        }
    }
    return ok;
}

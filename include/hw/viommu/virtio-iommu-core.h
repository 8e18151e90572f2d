/*
 * qemu-viommu: the virtio-iommu device model, independent of QEMU.
 *
 * Implements the request semantics of the virtio 1.3 specification,
 * section 5.13 "IOMMU Device": domains, endpoints, ATTACH/DETACH/MAP/UNMAP/
 * PROBE, bypass, reserved regions and translation. QEMU glue
 * (hw/virtio/virtio-iommu.c) supplies the endpoints and relays the
 * map/unmap events to IOMMU notifiers.
 *
 * Not thread-safe: the caller serialises all calls.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_VIRTIO_IOMMU_CORE_H
#define HW_VIOMMU_VIRTIO_IOMMU_CORE_H

#include "hw/viommu/iova-map.h"
#include "hw/viommu/pow2-split.h"

/* 5.13.3 Feature bits */
enum {
    VIOMMU_F_INPUT_RANGE = 0,
    VIOMMU_F_DOMAIN_RANGE = 1,
    VIOMMU_F_MAP_UNMAP = 2,
    VIOMMU_F_BYPASS = 3,
    VIOMMU_F_PROBE = 4,
    VIOMMU_F_MMIO = 5,
    VIOMMU_F_BYPASS_CONFIG = 6,
};

/* 5.13.6 Device operations: request types and status codes */
enum {
    VIOMMU_T_ATTACH = 1,
    VIOMMU_T_DETACH = 2,
    VIOMMU_T_MAP = 3,
    VIOMMU_T_UNMAP = 4,
    VIOMMU_T_PROBE = 5,
};

enum {
    VIOMMU_S_OK = 0,
    VIOMMU_S_IOERR = 1,
    VIOMMU_S_UNSUPP = 2,
    VIOMMU_S_DEVERR = 3,
    VIOMMU_S_INVAL = 4,
    VIOMMU_S_RANGE = 5,
    VIOMMU_S_NOENT = 6,
    VIOMMU_S_FAULT = 7,
    VIOMMU_S_NOMEM = 8,
};

#define VIOMMU_ATTACH_F_BYPASS  (1u << 0)
#define VIOMMU_MAP_F_READ       (1u << 0)
#define VIOMMU_MAP_F_WRITE      (1u << 1)
#define VIOMMU_MAP_F_MMIO       (1u << 2)

/* 5.13.6.8 PROBE properties */
#define VIOMMU_PROBE_T_RESV_MEM 1
#define VIOMMU_RESV_MEM_T_RESERVED 0
#define VIOMMU_RESV_MEM_T_MSI 1
#define VIOMMU_PROBE_RESV_MEM_SIZE 24   /* 4-byte header + 20-byte body */

/* Sizes of the device-readable parts of each request (5.13.6.x) */
#define VIOMMU_REQ_HEAD_SIZE    4
#define VIOMMU_REQ_TAIL_SIZE    4
#define VIOMMU_REQ_ATTACH_SIZE  20
#define VIOMMU_REQ_DETACH_SIZE  20
#define VIOMMU_REQ_MAP_SIZE     36
#define VIOMMU_REQ_UNMAP_SIZE   28
#define VIOMMU_REQ_PROBE_SIZE   72
#define VIOMMU_REQ_MAX_SIZE     VIOMMU_REQ_PROBE_SIZE

/* Fault reasons and flags (5.13.6.9) */
#define VIOMMU_FAULT_R_UNKNOWN  0
#define VIOMMU_FAULT_R_DOMAIN   1
#define VIOMMU_FAULT_R_MAPPING  2
#define VIOMMU_FAULT_F_READ     (1u << 0)
#define VIOMMU_FAULT_F_WRITE    (1u << 1)
#define VIOMMU_FAULT_F_ADDRESS  (1u << 8)
#define VIOMMU_FAULT_SIZE       24

typedef struct ViommuResvRegion {
    uint64_t start;
    uint64_t end;           /* inclusive */
    uint8_t subtype;        /* VIOMMU_RESV_MEM_T_* */
} ViommuResvRegion;

/* An inclusive range of IOVAs */
typedef struct ViommuRange {
    uint64_t start;
    uint64_t end;
} ViommuRange;

typedef struct ViommuCoreOps {
    /* Whether @ep names an endpoint behind this IOMMU. */
    bool (*endpoint_exists)(void *opaque, uint32_t ep);
    /* @ep's attachment or bypass state changed. */
    void (*endpoint_changed)(void *opaque, uint32_t ep);
    /* [virt_start, virt_end] became reachable by @ep. */
    void (*notify_map)(void *opaque, uint32_t ep, const IovaMapping *m);
    /* [virt_start, virt_end], mapped by @m, is no longer reachable by @ep. */
    void (*notify_unmap)(void *opaque, uint32_t ep, const IovaMapping *m);
    /*
     * Optional: devices assigned through VFIO that DMA with @ep's ID (more
     * than one behind a PCIe-to-PCI bridge). Sets @usable and @n to the
     * IOVA ranges the host IOMMU of the @i-th one maps, in any order;
     * false when there is no @i-th one.
     */
    bool (*host_usable)(void *opaque, uint32_t ep, size_t i,
                        const ViommuRange **usable, size_t *n);
} ViommuCoreOps;

typedef struct ViommuCoreConfig {
    uint64_t page_size_mask;
    uint64_t input_start, input_end;
    uint32_t domain_start, domain_end;
    uint32_t probe_size;
    size_t max_mappings;    /* over all domains; beyond it MAP gets NOMEM */
    bool check_alignment;   /* 5.13.6.5: reject unaligned MAPs with RANGE */
} ViommuCoreConfig;

typedef struct ViommuCore ViommuCore;

ViommuCore *viommu_core_new(const ViommuCoreConfig *cfg,
                            const ViommuCoreOps *ops, void *opaque);
void viommu_core_free(ViommuCore *c);

/* Detaches every endpoint (with unmap notifications) and drops all domains. */
void viommu_core_reset(ViommuCore *c);

void viommu_core_set_features(ViommuCore *c, uint64_t acked);
void viommu_core_set_bypass(ViommuCore *c, bool bypass);
bool viommu_core_bypass(const ViommuCore *c);
const ViommuCoreConfig *viommu_core_config(const ViommuCore *c);

/* Replaces the reserved regions reported to and enforced for all endpoints */
bool viommu_core_set_resv_regions(ViommuCore *c, const ViommuResvRegion *r,
                                  size_t n);
size_t viommu_core_probe_size_for(size_t nr_resv_regions);

/*
 * Host constraints of an endpoint assigned to the guest (VFIO): what the
 * input range holds beyond the IOVA ranges its host IOMMUs can all map
 * (ops->host_usable) and beyond the global reserved regions becomes the
 * endpoint's own RESV_MEM reserved regions, reported by PROBE (5.13.6.8.1)
 * and refused in MAP on any domain the endpoint is attached to. They are
 * read when the core first meets the endpoint, on its ATTACH and PROBE
 * (its ID follows bus numbers), and on this call (hot-plug, unplug). A
 * result other than OK leaves the endpoint's regions as they were.
 */
typedef enum ViommuHostResult {
    VIOMMU_HOST_OK,
    VIOMMU_HOST_TOO_MANY,   /* more ranges than PROBE can report */
    VIOMMU_HOST_CONFLICT,   /* its domain maps what its host cannot */
    VIOMMU_HOST_NOMEM,
} ViommuHostResult;
ViommuHostResult viommu_core_refresh_host_usable(ViommuCore *c, uint32_t ep);

/*
 * Replaces config.page_size_mask (5.13.4); the glue does it only before the
 * driver has read it, or without changing the granule.
 */
void viommu_core_set_page_size_mask(ViommuCore *c, uint64_t mask);

/*
 * Handles one request. @req holds the device-readable part (@req_len bytes,
 * possibly more than the request needs); @props, @props_len the device-
 * writable bytes before the tail (PROBE properties land there).
 * At most cfg.probe_size bytes are written to @props.
 * Returns the status for the tail, or -1 when the request cannot be parsed
 * or its type is unknown, in which case nothing is to be written (5.13.6.1).
 */
int viommu_core_handle(ViommuCore *c, const uint8_t *req, size_t req_len,
                       uint8_t *props, size_t props_len);

/*
 * Why the device refused a request: the rule of 5.13.6 behind each status
 * other than VIOMMU_S_OK, for traces (the guest sees only the status).
 */
typedef enum ViommuRefusal {
    VIOMMU_R_NONE,              /* not refused */
    VIOMMU_R_SHORT,             /* shorter than its type needs: IOERR */
    VIOMMU_R_RESERVED,          /* a reserved field is not zero: INVAL */
    VIOMMU_R_FLAGS,             /* an unknown or unnegotiated flag: INVAL */
    VIOMMU_R_NO_ENDPOINT,       /* no such endpoint: NOENT */
    VIOMMU_R_DOMAIN_RANGE,      /* domain outside domain_range: RANGE */
    VIOMMU_R_BYPASS_MISMATCH,   /* domain exists with the other bypass */
    VIOMMU_R_HOST_CANNOT_MAP,   /* domain maps what the host cannot */
    VIOMMU_R_NOT_ATTACHED,      /* DETACH from a domain not its own */
    VIOMMU_R_MAP_UNMAP_OFF,     /* VIRTIO_IOMMU_F_MAP_UNMAP not acked */
    VIOMMU_R_NO_DOMAIN,         /* no such domain: NOENT */
    VIOMMU_R_BYPASS_DOMAIN,     /* MAP/UNMAP on an identity domain */
    VIOMMU_R_INPUT_RANGE,       /* outside input_range, or end < start */
    VIOMMU_R_PHYS_WRAPS,        /* the physical end wraps past 2^64 */
    VIOMMU_R_UNALIGNED,         /* not aligned to the granule */
    VIOMMU_R_RESV,              /* meets a reserved region (5.13.6.8.1) */
    VIOMMU_R_OVERLAP,           /* meets a mapping of the domain */
    VIOMMU_R_LIMIT,             /* the device's mapping limit: NOMEM */
    VIOMMU_R_NO_MEMORY,         /* allocation failed: NOMEM */
    VIOMMU_R_SPLIT,             /* UNMAP would split a mapping: RANGE */
    VIOMMU_R_PROBE_SIZE,        /* properties do not fit probe_size */
    VIOMMU_R_NR
} ViommuRefusal;

/* A short name of @r for traces ("overlap", "no-domain"...). */
const char *viommu_refusal_name(ViommuRefusal r);

/*
 * What viommu_core_handle() saw in the last request it handled: its type
 * (0 if it could not be parsed), the status it got (-1: none written) and
 * why it was refused; the request's fields only once viommu_req_fields()
 * filled them (for traces: handling a request does not spend time on it).
 */
typedef struct ViommuReqRecord {
    uint8_t type;
    uint32_t domain, endpoint, flags;
    uint64_t virt_start, virt_end, phys_start;
    int status;
    ViommuRefusal refusal;
} ViommuReqRecord;

const ViommuReqRecord *viommu_core_last_request(const ViommuCore *c);

/*
 * Fills the fields of @r (type, status and refusal set by the core, as
 * viommu_core_last_request() gives them) from the request @req it
 * describes; the fields the type does not have, or all of them for a
 * request too short for its type, are 0.
 */
void viommu_req_fields(const uint8_t *req, ViommuReqRecord *r);

typedef enum ViommuXlate {
    VIOMMU_XLATE_MAPPED,        /* *out is the mapping that holds iova */
    VIOMMU_XLATE_BYPASS,        /* identity */
    VIOMMU_XLATE_FAULT_DOMAIN,  /* not attached, not in bypass */
    VIOMMU_XLATE_FAULT_MAPPING, /* attached, no mapping or no permission */
} ViommuXlate;

/* Translates @iova for @ep; @perm: VIOMMU_MAP_F_READ and/or _WRITE, or 0 */
ViommuXlate viommu_core_translate(ViommuCore *c, uint32_t ep, uint64_t iova,
                                  uint32_t perm, IovaMapping *out);

/* Whether @ep currently bypasses translation altogether. */
bool viommu_core_endpoint_bypasses(const ViommuCore *c, uint32_t ep);

/*
 * The domain @ep is attached to (introspection): returns false when it is
 * in none; else fills *@domain, *@bypass (an identity domain) and
 * *@nr_mappings (its mappings).
 */
bool viommu_core_endpoint_domain(const ViommuCore *c, uint32_t ep,
                                 uint32_t *domain, bool *bypass,
                                 size_t *nr_mappings);

/* Visits the mappings @ep can reach (for replay). */
int viommu_core_foreach_mapping(ViommuCore *c, uint32_t ep,
                                IovaMapVisitFn fn, void *opaque);

/* Mappings held over all domains (for tracing and the benchmark). */
size_t viommu_core_nr_mappings(const ViommuCore *c);

/*
 * Migration: the state as a flat little-endian record stream, and back.
 * viommu_core_load() replaces the state; it returns false (state reset)
 * on a malformed stream.
 */
uint8_t *viommu_core_save(const ViommuCore *c, size_t *len);
bool viommu_core_load(ViommuCore *c, const uint8_t *buf, size_t len);

/* Encodes one fault record (5.13.6.9) into @out[VIOMMU_FAULT_SIZE]. */
void viommu_encode_fault(uint8_t *out, uint8_t reason, uint32_t flags,
                         uint32_t ep, uint64_t address);


#endif

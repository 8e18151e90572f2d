/*
 * qemu-viommu: virtio-iommu device, the QEMU side.
 *
 * Requests are decoded and executed by the QEMU-independent core
 * (hw/viommu/virtio-iommu-core.c). Here: virtqueues, configuration space,
 * one IOMMUMemoryRegion per PCI endpoint with its translate() and replay(),
 * relay of MAP/UNMAP to IOMMU notifiers (VFIO, vhost), fault events,
 * reset and migration. Section numbers refer to virtio 1.3, 5.13.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/iov.h"
#include "qemu/range.h"
#include "qemu/units.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "hw/pci/pci_bus.h"
#include "hw/virtio/virtio.h"
#include "hw/virtio/virtio-iommu.h"
#include "hw/viommu/xlate-fast.h"
#include "hw/viommu/iommu-direct.h"
#include "hw/viommu/viommu-model.h"
#include "standard-headers/linux/virtio_ids.h"
#include "migration/vmstate.h"
#include "exec/address-spaces.h"
#include "system/reset.h"
#include "trace.h"
#include "trace/trace-hw_viommu.h"
#include "virtio-iommu-ring.h"

#define REQ_QUEUE_SIZE 256
#define EVENT_QUEUE_SIZE 256
/* Bound on mappings over all domains: 16M, at 41 bytes each ~660 MiB. */
#define MAX_MAPPINGS (16u << 20)

/* The core's constants are the spec's, as are Linux's in standard-headers. */
QEMU_BUILD_BUG_ON(VIOMMU_T_PROBE != VIRTIO_IOMMU_T_PROBE);
QEMU_BUILD_BUG_ON(VIOMMU_S_NOMEM != VIRTIO_IOMMU_S_NOMEM);
QEMU_BUILD_BUG_ON(VIOMMU_F_BYPASS_CONFIG != VIRTIO_IOMMU_F_BYPASS_CONFIG);
QEMU_BUILD_BUG_ON(VIOMMU_RESV_MEM_T_MSI != VIRTIO_IOMMU_RESV_MEM_T_MSI);
QEMU_BUILD_BUG_ON(VIOMMU_FAULT_SIZE != sizeof(struct virtio_iommu_fault));

static const uint64_t offered_features =
    1ull << VIRTIO_IOMMU_F_INPUT_RANGE | 1ull << VIRTIO_IOMMU_F_DOMAIN_RANGE |
    1ull << VIRTIO_IOMMU_F_MAP_UNMAP | 1ull << VIRTIO_IOMMU_F_PROBE |
    1ull << VIRTIO_IOMMU_F_MMIO | 1ull << VIRTIO_IOMMU_F_BYPASS_CONFIG;

static void virtio_iommu_unlock(VirtIOIOMMU *s);

/* False once the bridge the endpoint's bus lives in was unplugged */
static bool endpoint_alive(VirtIOIOMMUEndpoint *ep)
{
    return viommu_bus_alive(ep->bus);
}

/*
 * Endpoint IDs are PCI requester IDs, as the VIOT describes them; an
 * endpoint whose bus is gone has none (VIRTIO_IOMMU_EP_GONE, which
 * find_endpoint() never matches).
 */
static uint32_t endpoint_id(VirtIOIOMMUEndpoint *ep)
{
    if (!endpoint_alive(ep)) {
        return VIRTIO_IOMMU_EP_GONE;
    }
    return PCI_BUILD_BDF(pci_bus_num(ep->bus), ep->devfn);
}

static VirtIOIOMMUEndpoint *find_endpoint(VirtIOIOMMU *s, uint32_t id)
{
    VirtIOIOMMUEndpoint *ep;

    if (id == VIRTIO_IOMMU_EP_GONE) {
        return NULL;                /* the ID of gone endpoints only */
    }
    QLIST_FOREACH(ep, &s->endpoints, next) {
        if (endpoint_id(ep) == id) {
            return ep;
        }
    }
    return NULL;
}

static uint64_t granule_mask(VirtIOIOMMU *s)
{
    const ViommuCoreConfig *cfg = viommu_core_config(s->core);

    return (cfg->page_size_mask & -cfg->page_size_mask) - 1;
}

/* ---- address space switching: bypass is a plain alias of RAM ---- */

static void endpoint_refresh(VirtIOIOMMUEndpoint *ep)
{
    VirtIOIOMMU *s = ep->viommu;
    bool bypass;

    qemu_mutex_lock(&s->lock);
    bypass = viommu_core_endpoint_bypasses(s->core, endpoint_id(ep));
    virtio_iommu_unlock(s);
    if (bypass == ep->bypassing) {
        return;
    }
    trace_virtio_iommu_switch_address_space(endpoint_id(ep) >> 8,
                                            PCI_SLOT(ep->devfn),
                                            PCI_FUNC(ep->devfn), !bypass);
    memory_region_transaction_begin();
    memory_region_set_enabled(MEMORY_REGION(&ep->iommu_mr), !bypass);
    memory_region_set_enabled(&ep->bypass_mr, bypass);
    memory_region_transaction_commit();
    ep->bypassing = bypass;
}

static void refresh_all_endpoints(VirtIOIOMMU *s)
{
    VirtIOIOMMUEndpoint *ep;

    QLIST_FOREACH(ep, &s->endpoints, next) {
        endpoint_refresh(ep);
    }
}

/* ---- core callbacks (called with s->lock held) ---- */

static bool core_endpoint_exists(void *opaque, uint32_t id)
{
    return find_endpoint(opaque, id) != NULL;
}

static void core_endpoint_changed(void *opaque, uint32_t id)
{
    VirtIOIOMMU *s = opaque;

    /* Address spaces are switched after the request, outside the lock. */
    viommu_xc_inv_sid(&s->fast, id);
}

typedef struct NotifyBlock {
    IOMMUMemoryRegion *mr;
    IOMMUNotifier *only;        /* replay: this notifier alone */
    IOMMUNotifierFlag type;
    uint64_t phys_delta;
    IOMMUAccessFlags perm;
} NotifyBlock;

static void notify_block(uint64_t iova, uint64_t mask, void *opaque)
{
    NotifyBlock *nb = opaque;
    IOMMUTLBEvent event = {
        .type = nb->type,
        .entry = {
            .target_as = &address_space_memory,
            .iova = iova,
            .translated_addr = nb->type == IOMMU_NOTIFIER_MAP ?
                               iova + nb->phys_delta : 0,
            .addr_mask = mask,
            .perm = nb->type == IOMMU_NOTIFIER_MAP ? nb->perm : IOMMU_NONE,
        },
    };

    ViommuStats *st = &VIRTIO_IOMMU(memory_region_owner(
                                        MEMORY_REGION(nb->mr)))->stats;
    uint64_t *count = nb->type == IOMMU_NOTIFIER_MAP ? &st->notifier_maps
                                                     : &st->notifier_unmaps;
    IOMMUNotifier *n;

    /* counted per notifier that receives it, as the other models do */
    IOMMU_NOTIFIER_FOREACH(n, nb->mr) {
        *count += !nb->only && (n->notifier_flags & nb->type);
    }
    *count += !!nb->only;
    if (trace_event_get_state_backends(TRACE_VIOMMU_NOTIFY)) {
        trace_viommu_notify(memory_region_name(MEMORY_REGION(nb->mr)),
                            nb->type == IOMMU_NOTIFIER_MAP ? "map" : "unmap",
                            iova, mask, event.entry.translated_addr);
    }
    if (nb->only) {
        memory_region_notify_iommu_one(nb->only, &event);
    } else {
        memory_region_notify_iommu(nb->mr, 0, event);
    }
}

static IOMMUAccessFlags perm_of(uint32_t map_flags)
{
    return IOMMU_ACCESS_FLAG(map_flags & VIOMMU_MAP_F_READ,
                             map_flags & VIOMMU_MAP_F_WRITE);
}

/* The trace event of a relayed mapping (the region named only if it is on) */
static void trace_relay(IOMMUMemoryRegion *mr, IOMMUNotifierFlag type,
                        const IovaMapping *m)
{
    bool map = type == IOMMU_NOTIFIER_MAP;
    bool unmap_on =
        trace_event_get_state_backends(TRACE_VIRTIO_IOMMU_NOTIFY_UNMAP);

    if (map && trace_event_get_state_backends(TRACE_VIRTIO_IOMMU_NOTIFY_MAP)) {
        trace_virtio_iommu_notify_map(memory_region_name(MEMORY_REGION(mr)),
                                      m->virt_start, m->virt_end,
                                      m->phys_start, m->flags);
    } else if (!map && unmap_on) {
        trace_virtio_iommu_notify_unmap(memory_region_name(MEMORY_REGION(mr)),
                                        m->virt_start, m->virt_end);
    }
}

/* Relays one mapping, split into aligned power-of-two blocks. */
static void relay_mapping(IOMMUMemoryRegion *mr, IOMMUNotifier *only,
                          IOMMUNotifierFlag type, const IovaMapping *m)
{
    NotifyBlock nb = {
        .mr = mr,
        .only = only,
        .type = type,
        .phys_delta = m->phys_start - m->virt_start,
        .perm = perm_of(m->flags),
    };

    trace_relay(mr, type, m);
    viommu_split_pow2(m->virt_start, m->virt_end, nb.phys_delta,
                      notify_block, &nb);
}

/*
 * The lock rule (include/hw/viommu/viommu-model.h): notifiers never run
 * with s->lock held. What the core reports under the lock is queued on
 * s->pending; virtio_iommu_unlock() takes the queue, drops the lock and
 * then relays it, in order. Only requests, resets, migration and replay
 * queue events, all under the BQL, so the queue is relayed under the BQL
 * too; translate() (which may run without it) queues none. One event per
 * mapping made or removed under the lock: at most MAX_MAPPINGS for a
 * request, 56 bytes each, in blocks (no copying as the queue grows),
 * freed as soon as they are relayed.
 */
typedef struct PendingEvent {
    VirtIOIOMMUEndpoint *ep;
    IOMMUNotifier *only;            /* replay: this notifier alone */
    IOMMUNotifierFlag type;
    IovaMapping m;
} PendingEvent;

#define PENDING_PER_BLOCK 1024

struct VirtIOIOMMUPending {
    VirtIOIOMMUPending *next;
    unsigned n;
    PendingEvent ev[PENDING_PER_BLOCK];
};

/* Under s->lock: queue one MAP or UNMAP of @m for @ep's notifiers. */
static void queue_event(VirtIOIOMMU *s, VirtIOIOMMUEndpoint *ep,
                        IOMMUNotifier *only, IOMMUNotifierFlag type,
                        const IovaMapping *m)
{
    VirtIOIOMMUPending *b = s->pending_tail;

    if (!b || b->n == PENDING_PER_BLOCK) {
        b = g_new(VirtIOIOMMUPending, 1);
        b->next = NULL;
        b->n = 0;
        if (s->pending_tail) {
            s->pending_tail->next = b;
        } else {
            s->pending = b;
        }
        s->pending_tail = b;
    }
    b->ev[b->n++] = (PendingEvent) {
        .ep = ep, .only = only, .type = type, .m = *m,
    };
}

/* Drops s->lock, then relays what was queued under it. */
static void virtio_iommu_unlock(VirtIOIOMMU *s)
{
    VirtIOIOMMUPending *b = s->pending, *next;

    s->pending = s->pending_tail = NULL;
    qemu_mutex_unlock(&s->lock);
    for (; b; b = next) {
        for (unsigned i = 0; i < b->n; i++) {
            PendingEvent *e = &b->ev[i];

            relay_mapping(&e->ep->iommu_mr, e->only, e->type, &e->m);
        }
        next = b->next;
        g_free(b);
    }
}

static void core_notify(VirtIOIOMMU *s, uint32_t id, IOMMUNotifierFlag type,
                        const IovaMapping *m)
{
    VirtIOIOMMUEndpoint *ep = s->nr_notified ? find_endpoint(s, id) : NULL;

    if (ep && ep->iommu_mr.iommu_notify_flags & type) {
        queue_event(s, ep, NULL, type, m);
    }
}

static void core_notify_map(void *opaque, uint32_t id, const IovaMapping *m)
{
    core_notify(opaque, id, IOMMU_NOTIFIER_MAP, m);
}

static void core_notify_unmap(void *opaque, uint32_t id, const IovaMapping *m)
{
    VirtIOIOMMU *s = opaque;

    viommu_xc_inv_range(&s->fast, id, VIOMMU_XC_ANY_PASID, m->virt_start,
                        m->virt_end);
    core_notify(opaque, id, IOMMU_NOTIFIER_UNMAP, m);
    /* vhost with ATS caches translations until told (device-IOTLB) */
    core_notify(opaque, id, IOMMU_NOTIFIER_DEVIOTLB_UNMAP, m);
}

static bool core_host_usable(void *opaque, uint32_t id, size_t i,
                             const ViommuRange **usable, size_t *n)
{
    VirtIOIOMMUEndpoint *ep = find_endpoint(opaque, id);
    VirtIOIOMMUHostDev *hd;

    if (!ep) {
        return false;
    }
    QLIST_FOREACH(hd, &ep->host_devs, next) {
        if (i-- == 0) {
            *usable = hd->usable;
            *n = hd->nr_usable;
            return true;
        }
    }
    return false;
}

static const ViommuCoreOps core_ops = {
    .endpoint_exists = core_endpoint_exists,
    .endpoint_changed = core_endpoint_changed,
    .notify_map = core_notify_map,
    .notify_unmap = core_notify_unmap,
    .host_usable = core_host_usable,
};

/* ---- request queue (5.13.6) ---- */

/* Whether any event of trace_request() is on (checked per request). */
static bool request_traced(void)
{
    return trace_event_get_state_backends(TRACE_VIRTIO_IOMMU_ATTACH) ||
           trace_event_get_state_backends(TRACE_VIRTIO_IOMMU_DETACH) ||
           trace_event_get_state_backends(TRACE_VIRTIO_IOMMU_MAP) ||
           trace_event_get_state_backends(TRACE_VIRTIO_IOMMU_UNMAP) ||
           trace_event_get_state_backends(TRACE_VIRTIO_IOMMU_UNMAP_DONE) ||
           trace_event_get_state_backends(TRACE_VIRTIO_IOMMU_PROBE) ||
           trace_event_get_state_backends(TRACE_VIRTIO_IOMMU_REQUEST_REFUSED);
}

/* The trace events of request @req, and why the core refused it. */
static void trace_request(const ViommuReqRecord *last, const uint8_t *req)
{
    ViommuReqRecord rec = *last, *r = &rec;

    viommu_req_fields(req, r);
    switch (r->refusal == VIOMMU_R_SHORT ? 0 : r->type) {
    case VIOMMU_T_ATTACH:
        trace_virtio_iommu_attach(r->domain, r->endpoint);
        break;
    case VIOMMU_T_DETACH:
        trace_virtio_iommu_detach(r->domain, r->endpoint);
        break;
    case VIOMMU_T_MAP:
        trace_virtio_iommu_map(r->domain, r->virt_start, r->virt_end,
                               r->phys_start, r->flags);
        break;
    case VIOMMU_T_UNMAP:
        trace_virtio_iommu_unmap(r->domain, r->virt_start, r->virt_end);
        if (r->status == VIOMMU_S_OK) {
            trace_virtio_iommu_unmap_done(r->domain, r->virt_start,
                                          r->virt_end);
        }
        break;
    case VIOMMU_T_PROBE:
        trace_virtio_iommu_probe(r->endpoint, r->status);
        break;
    default:
        break;
    }
    if (r->type && r->status != VIOMMU_S_OK) {
        trace_virtio_iommu_request_refused(r->type, r->status,
                                           viommu_refusal_name(r->refusal));
    }
}

/* One request, for the queue server (hw/virtio/virtio-iommu-ring.h). */
int virtio_iommu_run_request(VirtIOIOMMU *s, const uint8_t *req,
                             size_t req_len, uint64_t in_len, uint8_t **props)
{
    size_t probe_size = viommu_core_config(s->core)->probe_size;
    int status;

    if (in_len < VIOMMU_REQ_TAIL_SIZE) {
        return -1;
    }
    if (req_len && req[0] == VIOMMU_T_PROBE) {
        *props = g_malloc0(probe_size);
    }
    qemu_mutex_lock(&s->lock);
    status = viommu_core_handle(s->core, req, req_len, *props,
                                MIN(in_len - VIOMMU_REQ_TAIL_SIZE,
                                    probe_size));
    if (request_traced()) {
        trace_request(viommu_core_last_request(s->core), req);
    }
    if (status == VIOMMU_S_OK && req[0] == VIOMMU_T_UNMAP) {
        s->stats.inv_page++;
    } else if (status == VIOMMU_S_OK && req[0] == VIOMMU_T_DETACH) {
        s->stats.inv_device++;
    }
    virtio_iommu_unlock(s);
    if (status == VIOMMU_S_OK &&
        (req[0] == VIOMMU_T_ATTACH || req[0] == VIOMMU_T_DETACH)) {
        /* Switch address spaces before the driver can see completion. */
        refresh_all_endpoints(s);
    }
    return status;
}

static void virtio_iommu_handle_req(VirtIODevice *vdev, VirtQueue *vq)
{
    virtio_iommu_serve_requests(VIRTIO_IOMMU(vdev));
}

/* req_resume: the requests a slice left in the ring */
static void resume_requests(void *opaque)
{
    virtio_iommu_serve_requests(opaque);
}

/* ---- fault reporting on the event queue (5.13.6.9) ---- */

#define VIRTIO_IOMMU_LOG_BURST  16      /* guest-error lines a second */

static void G_GNUC_PRINTF(2, 3) virtio_iommu_guest_error(VirtIOIOMMU *s,
                                                         const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    viommu_guest_verror(&s->log_limit, VIRTIO_IOMMU_LOG_BURST,
                        "virtio-iommu", fmt, ap);
    va_end(ap);
}

static void record_fault(VirtIOIOMMU *s, ViommuXlate why, uint32_t ep,
                         uint64_t addr, IOMMUAccessFlags flag)
{
    uint8_t reason = why == VIOMMU_XLATE_FAULT_DOMAIN ?
                     VIOMMU_FAULT_R_DOMAIN : VIOMMU_FAULT_R_MAPPING;
    uint32_t flags = VIOMMU_FAULT_F_ADDRESS |
                     (flag & IOMMU_RO ? VIOMMU_FAULT_F_READ : 0) |
                     (flag & IOMMU_WO ? VIOMMU_FAULT_F_WRITE : 0);
    uint8_t rec[VIOMMU_FAULT_SIZE];

    viommu_stats_fault(&s->stats, reason);
    trace_virtio_iommu_report_fault(reason, flags, ep, addr);
    viommu_encode_fault(rec, reason, flags, ep, addr);
    if (!viommu_fault_queue_push_locked(&s->faults, rec)) {
        return;
    }
    virtio_iommu_guest_error(s, "DMA fault: endpoint 0x%x %s 0x%" PRIx64
                             ": %s", ep, flag & IOMMU_WO ? "write" : "read",
                             addr, reason == VIOMMU_FAULT_R_DOMAIN ?
                             "not attached to a domain and bypass is off" :
                             "no mapping with that permission");
}

/* Puts fault records on the event queue (ViommuFaultQueue). */
static void deliver_faults(void *opaque, const void *records, unsigned n)
{
    VirtIOIOMMU *s = opaque;
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    const uint8_t *rec = records;
    bool pushed = false;

    if (!virtio_device_started(vdev, vdev->status)) {
        return;             /* no driver: logged only */
    }
    for (unsigned i = 0; i < n; i++, rec += VIOMMU_FAULT_SIZE) {
        VirtQueueElement *elem = virtqueue_pop(s->event_vq, sizeof(*elem));

        if (!elem) {
            break;      /* "If no buffer is available ... drop the event" */
        }
        if (iov_size(elem->in_sg, elem->in_num) < VIOMMU_FAULT_SIZE) {
            virtqueue_push(s->event_vq, elem, 0);
        } else {
            iov_from_buf(elem->in_sg, elem->in_num, 0, rec,
                         VIOMMU_FAULT_SIZE);
            virtqueue_push(s->event_vq, elem, VIOMMU_FAULT_SIZE);
        }
        g_free(elem);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(vdev, s->event_vq);
    }
}

static void virtio_iommu_handle_event(VirtIODevice *vdev, VirtQueue *vq)
{
    /* New event buffers: nothing waits for them (faults are not queued). */
}

/* ---- IOMMUMemoryRegion ---- */

/* The largest block around @addr within @m whose both sides are aligned. */
static uint64_t block_mask(const IovaMapping *m, uint64_t addr, uint64_t mask)
{
    uint64_t delta = m->phys_start - m->virt_start;

    while (mask < (1ull << 30)) {
        uint64_t wider = mask << 1 | 1;
        if ((delta & wider) || (addr & ~wider) < m->virt_start ||
            (addr | wider) > m->virt_end) {
            break;
        }
        mask = wider;
    }
    return mask;
}

static IOMMUTLBEntry virtio_iommu_translate(IOMMUMemoryRegion *mr,
                                            hwaddr addr,
                                            IOMMUAccessFlags flag,
                                            int iommu_idx)
{
    VirtIOIOMMUEndpoint *ep = container_of(mr, VirtIOIOMMUEndpoint, iommu_mr);
    VirtIOIOMMU *s = ep->viommu;
    uint32_t id = endpoint_id(ep);
    uint64_t mask = granule_mask(s);
    uint32_t perm = (flag & IOMMU_RO ? VIOMMU_MAP_F_READ : 0) |
                    (flag & IOMMU_WO ? VIOMMU_MAP_F_WRITE : 0);
    IOMMUTLBEntry entry = {
        .target_as = &address_space_memory,
        .iova = addr & ~mask,
        .translated_addr = addr & ~mask,
        .addr_mask = mask,
        .perm = IOMMU_NONE,
    };
    IovaMapping m;
    ViommuXlate why;

    viommu_stats_translation(&s->stats);
    if (id == VIRTIO_IOMMU_EP_GONE) {
        return entry;               /* its bridge was unplugged: no access */
    }
    if (viommu_fast_translate(&ep->xc, id, addr, flag, &entry)) {
        return entry;
    }
    if (trace_event_get_state_backends(TRACE_VIRTIO_IOMMU_TRANSLATE)) {
        trace_virtio_iommu_translate(memory_region_name(MEMORY_REGION(mr)),
                                     id, addr, flag);
    }
    qemu_mutex_lock(&s->lock);
    why = viommu_core_translate(s->core, id, addr, perm, &m);
    switch (why) {
    case VIOMMU_XLATE_MAPPED:
        mask = block_mask(&m, addr, mask);
        entry.addr_mask = mask;
        entry.iova = addr & ~mask;
        entry.translated_addr = (m.phys_start + (addr - m.virt_start)) & ~mask;
        entry.perm = perm_of(m.flags);
        viommu_fast_fill(&ep->xc, id, &entry, id, VIOMMU_XC_NO_PASID);
        trace_virtio_iommu_translate_out(addr, entry.translated_addr |
                                         (addr & mask), id);
        break;
    case VIOMMU_XLATE_BYPASS:
        entry.perm = IOMMU_RW;
        break;
    default:
        if (flag != IOMMU_NONE) {
            record_fault(s, why, id, addr, flag);
        }
        break;
    }
    virtio_iommu_unlock(s);
    return entry;
}

static uint64_t virtio_iommu_min_page_size(IOMMUMemoryRegion *mr)
{
    VirtIOIOMMUEndpoint *ep = container_of(mr, VirtIOIOMMUEndpoint, iommu_mr);

    return granule_mask(ep->viommu) + 1;
}

/* Counts the endpoints with notifiers (VFIO, vhost) for core_notify(). */
static int virtio_iommu_notify_flag_changed(IOMMUMemoryRegion *mr,
                                            IOMMUNotifierFlag old,
                                            IOMMUNotifierFlag new,
                                            Error **errp)
{
    VirtIOIOMMUEndpoint *ep = container_of(mr, VirtIOIOMMUEndpoint, iommu_mr);

    if (old == IOMMU_NOTIFIER_NONE) {
        trace_virtio_iommu_notify_flag_add(memory_region_name(
                                               MEMORY_REGION(mr)));
        ep->viommu->nr_notified++;
    }
    if (new == IOMMU_NOTIFIER_NONE) {
        trace_virtio_iommu_notify_flag_del(memory_region_name(
                                               MEMORY_REGION(mr)));
        ep->viommu->nr_notified--;
    }
    return 0;
}

typedef struct ReplayCtx {
    VirtIOIOMMUEndpoint *ep;
    IOMMUNotifier *n;
} ReplayCtx;

static int replay_one(const IovaMapping *m, void *opaque)
{
    ReplayCtx *r = opaque;

    queue_event(r->ep->viommu, r->ep, r->n, IOMMU_NOTIFIER_MAP, m);
    return 0;
}

static void virtio_iommu_replay(IOMMUMemoryRegion *mr, IOMMUNotifier *n)
{
    VirtIOIOMMUEndpoint *ep = container_of(mr, VirtIOIOMMUEndpoint, iommu_mr);
    VirtIOIOMMU *s = ep->viommu;
    ReplayCtx r = { ep, n };

    if (!endpoint_alive(ep)) {
        return;
    }
    qemu_mutex_lock(&s->lock);
    viommu_core_foreach_mapping(s->core, endpoint_id(ep), replay_one, &r);
    virtio_iommu_unlock(s);
}

/* The endpoint of function @devfn on @bus, made on first sight. */
static VirtIOIOMMUEndpoint *endpoint_get(VirtIOIOMMU *s, PCIBus *bus,
                                         int devfn)
{
    VirtIOIOMMUEndpoint *ep;
    g_autofree char *name = NULL;

    QLIST_FOREACH(ep, &s->endpoints, next) {
        if (ep->bus == bus && ep->devfn == devfn) {
            return ep;
        }
    }
    ep = g_new0(VirtIOIOMMUEndpoint, 1);
    ep->viommu = s;
    ep->bus = bus;
    viommu_hold_bus(bus);       /* read for its ID; see endpoint_alive() */
    ep->devfn = devfn;
    qemu_mutex_lock(&s->lock);
    viommu_xc_add(&s->fast, &ep->xc, 0xffff);
    virtio_iommu_unlock(s);
    name = g_strdup_printf("virtio-iommu-%p-%02x.%x", bus, PCI_SLOT(devfn),
                           PCI_FUNC(devfn));
    trace_virtio_iommu_init_iommu_mr(name);
    memory_region_init(&ep->root, OBJECT(s), name, UINT64_MAX);
    memory_region_init_iommu(&ep->iommu_mr, sizeof(ep->iommu_mr),
                             TYPE_VIRTIO_IOMMU_MEMORY_REGION, OBJECT(s),
                             name, UINT64_MAX);
    memory_region_init_alias(&ep->bypass_mr, OBJECT(s), name,
                             get_system_memory(), 0,
                             memory_region_size(get_system_memory()));
    memory_region_add_subregion_overlap(&ep->root, 0,
                                        MEMORY_REGION(&ep->iommu_mr), 0);
    memory_region_add_subregion_overlap(&ep->root, 0, &ep->bypass_mr, 0);
    ep->bypassing = true;
    memory_region_set_enabled(MEMORY_REGION(&ep->iommu_mr), false);
    address_space_init(&ep->as, &ep->root, name);
    QLIST_INSERT_HEAD(&s->endpoints, ep, next);
    endpoint_refresh(ep);
    return ep;
}

static AddressSpace *virtio_iommu_find_add_as(PCIBus *bus, void *opaque,
                                              int devfn)
{
    return &endpoint_get(opaque, bus, devfn)->as;
}

/* ---- assigned devices: the host IOMMU's constraints (HostIOMMUDevice) ---- */

/*
 * Every guest MAP is mirrored by the host IOMMU (VFIO), which maps whole
 * pages of its own: the granule (the lowest bit of page_size_mask, 5.13.4)
 * must be at least the host's smallest page. granule=host lets it grow to
 * that page until the driver has started; a fixed granule does not change.
 */
static bool adopt_host_page_size(VirtIOIOMMU *s, HostIOMMUDevice *hiod,
                                 Error **errp)
{
    HostIOMMUDeviceClass *hiodc = HOST_IOMMU_DEVICE_GET_CLASS(hiod);
    uint64_t host_mask = hiodc->get_page_size_mask ?
                         hiodc->get_page_size_mask(hiod) : 0;
    uint64_t host_page = host_mask & -host_mask;
    uint64_t granule = granule_mask(s) + 1;
    g_autofree char *want = size_to_str(host_page);
    g_autofree char *have = size_to_str(granule);

    if (host_page <= granule) {
        return true;
    }
    if (s->granule_mode != GRANULE_MODE_HOST) {
        error_setg(errp, "virtio-iommu: %s: its host IOMMU maps pages of %s "
                   "or more, but granule is %s; set granule to host or to "
                   "at least %s", hiod->name, want, have, want);
        return false;
    }
    if (VIRTIO_DEVICE(s)->status) {
        error_setg(errp, "virtio-iommu: %s: its host IOMMU maps pages of %s "
                   "or more, but the guest's driver already uses a granule "
                   "of %s; plug it in before the guest starts, or set "
                   "granule to at least %s", hiod->name, want, have, want);
        return false;
    }
    qemu_mutex_lock(&s->lock);
    viommu_core_set_page_size_mask(s->core, -host_page);
    virtio_iommu_unlock(s);
    return true;
}

static VirtIOIOMMUHostDev *host_dev_new(HostIOMMUDevice *hiod, PCIBus *bus,
                                        int devfn)
{
    HostIOMMUDeviceClass *hiodc = HOST_IOMMU_DEVICE_GET_CLASS(hiod);
    GList *ranges = hiodc->get_iova_ranges ? hiodc->get_iova_ranges(hiod) :
                    NULL;
    VirtIOIOMMUHostDev *hd = g_new0(VirtIOIOMMUHostDev, 1);

    hd->hiod = hiod;
    hd->bus = bus;
    hd->devfn = devfn;
    hd->usable = g_new(ViommuRange, g_list_length(ranges));
    for (GList *l = ranges; l; l = l->next) {
        Range *r = l->data;

        hd->usable[hd->nr_usable++] = (ViommuRange){ range_lob(r),
                                                     range_upb(r) };
    }
    g_list_free_full(ranges, g_free);
    return hd;
}

static void host_dev_free(VirtIOIOMMUHostDev *hd)
{
    g_free(hd->usable);
    g_free(hd);
}

/* The endpoint's reserved regions follow its assigned devices (core). */
static ViommuHostResult refresh_host_constraints(VirtIOIOMMU *s,
                                                 VirtIOIOMMUEndpoint *ep)
{
    ViommuHostResult res;

    qemu_mutex_lock(&s->lock);
    res = viommu_core_refresh_host_usable(s->core, endpoint_id(ep));
    virtio_iommu_unlock(s);
    return res;
}

static bool host_constraints_fit(VirtIOIOMMU *s, VirtIOIOMMUEndpoint *ep,
                                 HostIOMMUDevice *hiod, Error **errp)
{
    switch (refresh_host_constraints(s, ep)) {
    case VIOMMU_HOST_OK:
        return true;
    case VIOMMU_HOST_TOO_MANY:
        error_setg(errp, "virtio-iommu: %s: what its host IOMMU cannot map "
                   "takes more reserved regions than a PROBE reply holds",
                   hiod->name);
        return false;
    case VIOMMU_HOST_CONFLICT:
        error_setg(errp, "virtio-iommu: %s: the guest's domain for endpoint "
                   "0x%x maps IOVAs that its host IOMMU cannot map",
                   hiod->name, endpoint_id(ep));
        return false;
    default:
        error_setg(errp, "virtio-iommu: %s: out of memory", hiod->name);
        return false;
    }
}

/*
 * @bus and @devfn name the assigned function itself; its DMA, and so the
 * endpoint, is that of the requester ID it is seen with (hiod->aliased_*:
 * functions behind a PCIe-to-PCI bridge are seen as the bridge, and the
 * endpoint then honours every one's host IOMMU).
 */
static bool virtio_iommu_set_iommu_device(PCIBus *bus, void *opaque,
                                          int devfn, HostIOMMUDevice *hiod,
                                          Error **errp)
{
    VirtIOIOMMU *s = opaque;
    VirtIOIOMMUEndpoint *ep = endpoint_get(s, hiod->aliased_bus,
                                           hiod->aliased_devfn);
    VirtIOIOMMUHostDev *hd = host_dev_new(hiod, bus, devfn);

    QLIST_INSERT_HEAD(&ep->host_devs, hd, next);
    /* the ranges first: a refused device leaves the granule as it was */
    if (!host_constraints_fit(s, ep, hiod, errp) ||
        !adopt_host_page_size(s, hiod, errp)) {
        QLIST_REMOVE(hd, next);
        host_dev_free(hd);
        refresh_host_constraints(s, ep);
        return false;
    }
    return true;
}

static void virtio_iommu_unset_iommu_device(PCIBus *bus, void *opaque,
                                            int devfn)
{
    VirtIOIOMMU *s = opaque;
    VirtIOIOMMUEndpoint *ep;
    VirtIOIOMMUHostDev *hd;

    QLIST_FOREACH(ep, &s->endpoints, next) {
        QLIST_FOREACH(hd, &ep->host_devs, next) {
            if (hd->bus == bus && hd->devfn == devfn) {
                QLIST_REMOVE(hd, next);
                host_dev_free(hd);
                refresh_host_constraints(s, ep);
                return;
            }
        }
    }
}

static const PCIIOMMUOps virtio_iommu_pci_ops = {
    .get_address_space = virtio_iommu_find_add_as,
    .set_iommu_device = virtio_iommu_set_iommu_device,
    .unset_iommu_device = virtio_iommu_unset_iommu_device,
};

/* ---- configuration space (5.13.4) ---- */

static void virtio_iommu_get_config(VirtIODevice *vdev, uint8_t *config_data)
{
    VirtIOIOMMU *s = VIRTIO_IOMMU(vdev);
    const ViommuCoreConfig *cfg = viommu_core_config(s->core);
    struct virtio_iommu_config config = {
        .page_size_mask = cpu_to_le64(cfg->page_size_mask),
        .input_range.start = cpu_to_le64(cfg->input_start),
        .input_range.end = cpu_to_le64(cfg->input_end),
        .domain_range.start = cpu_to_le32(cfg->domain_start),
        .domain_range.end = cpu_to_le32(cfg->domain_end),
        .probe_size = cpu_to_le32(cfg->probe_size),
        .bypass = viommu_core_bypass(s->core),
    };

    trace_virtio_iommu_get_config(cfg->page_size_mask, cfg->input_start,
                                  cfg->input_end, cfg->domain_start,
                                  cfg->domain_end, cfg->probe_size,
                                  config.bypass);
    memcpy(config_data, &config, sizeof(config));
}

static void virtio_iommu_set_config(VirtIODevice *vdev,
                                    const uint8_t *config_data)
{
    VirtIOIOMMU *s = VIRTIO_IOMMU(vdev);
    const struct virtio_iommu_config *config = (const void *)config_data;

    /* "the driver MAY write to bypass" once BYPASS_CONFIG is negotiated */
    if (!virtio_vdev_has_feature(vdev, VIRTIO_IOMMU_F_BYPASS_CONFIG) ||
        config->bypass > 1) {
        return;
    }
    trace_virtio_iommu_set_config(config->bypass);
    qemu_mutex_lock(&s->lock);
    viommu_xc_inv_all(&s->fast);
    viommu_core_set_bypass(s->core, config->bypass);
    virtio_iommu_unlock(s);
    refresh_all_endpoints(s);
}

static uint64_t virtio_iommu_get_features(VirtIODevice *vdev, uint64_t f,
                                          Error **errp)
{
    trace_virtio_iommu_get_features(f | offered_features);
    return f | offered_features;
}

static void virtio_iommu_set_features(VirtIODevice *vdev, uint64_t val)
{
    VirtIOIOMMU *s = VIRTIO_IOMMU(vdev);

    qemu_mutex_lock(&s->lock);
    viommu_core_set_features(s->core, val);
    virtio_iommu_unlock(s);
}

/* ---- life cycle ---- */

static void virtio_iommu_reset(VirtIODevice *vdev)
{
    VirtIOIOMMU *s = VIRTIO_IOMMU(vdev);

    trace_virtio_iommu_device_reset_exit();
    s->reset_count++;         /* a batch in progress drops its work */
    timer_del(s->req_resume);   /* and what a slice left is gone */
    /* 5.13.5: "When the device is reset, endpoints are not attached" */
    qemu_mutex_lock(&s->lock);
    viommu_xc_inv_all(&s->fast);
    viommu_core_reset(s->core);
    viommu_fault_queue_clear_locked(&s->faults);
    virtio_iommu_unlock(s);
    refresh_all_endpoints(s);
}

/* 5.13.4: bypass "SHOULD be restored to its initial value on system reset" */
static void virtio_iommu_system_reset(void *opaque)
{
    VirtIOIOMMU *s = opaque;

    trace_virtio_iommu_system_reset();
    qemu_mutex_lock(&s->lock);
    viommu_xc_inv_all(&s->fast);
    viommu_core_set_bypass(s->core, s->boot_bypass);
    virtio_iommu_unlock(s);
    refresh_all_endpoints(s);
}

static bool granule_size(VirtIOIOMMU *s, uint64_t *size, Error **errp)
{
    switch (s->granule_mode) {
    case GRANULE_MODE_4K:
        *size = 4 * KiB;
        return true;
    case GRANULE_MODE_8K:
        *size = 8 * KiB;
        return true;
    case GRANULE_MODE_16K:
        *size = 16 * KiB;
        return true;
    case GRANULE_MODE_64K:
        *size = 64 * KiB;
        return true;
    case GRANULE_MODE_HOST:
        *size = qemu_real_host_page_size();
        return true;
    default:
        error_setg(errp, "granule: unsupported value; allowed values are "
                   "4k, 8k, 16k, 64k and host");
        return false;
    }
}

static bool resv_regions_from_props(VirtIOIOMMU *s, ViommuResvRegion **out,
                                    Error **errp)
{
    ViommuResvRegion *r = g_new0(ViommuResvRegion, s->nr_prop_resv_regions);

    for (uint32_t i = 0; i < s->nr_prop_resv_regions; i++) {
        ReservedRegion *p = &s->prop_resv_regions[i];

        if (p->type != VIOMMU_RESV_MEM_T_RESERVED &&
            p->type != VIOMMU_RESV_MEM_T_MSI) {
            error_setg(errp, "reserved-regions: region %u has type %u; "
                       "allowed types are 0 (reserved) and 1 (MSI)",
                       i, p->type);
            g_free(r);
            return false;
        }
        r[i].start = range_lob(&p->range);
        r[i].end = range_upb(&p->range);
        r[i].subtype = p->type;
    }
    *out = r;
    return true;
}

static bool build_core(VirtIOIOMMU *s, Error **errp)
{
    ViommuCoreConfig cfg = {
        .domain_start = 0,
        .domain_end = UINT32_MAX,
        .input_start = 0,
        .max_mappings = MAX_MAPPINGS,
        .check_alignment = s->check_alignment,
    };
    g_autofree ViommuResvRegion *resv = NULL;
    uint64_t granule;

    if (s->aw_bits < 32 || s->aw_bits > 64) {
        error_setg(errp, "aw-bits: %u is out of range; allowed values are "
                   "32 to 64", s->aw_bits);
        return false;
    }
    if (!granule_size(s, &granule, errp) ||
        !resv_regions_from_props(s, &resv, errp)) {
        return false;
    }
    cfg.page_size_mask = -granule;
    cfg.input_end = s->aw_bits == 64 ? UINT64_MAX :
                    MAKE_64BIT_MASK(0, s->aw_bits);
    cfg.probe_size = viommu_core_probe_size_for(s->nr_prop_resv_regions);
    s->core = viommu_core_new(&cfg, &core_ops, s);
    viommu_xc_set_init(&s->fast);
    viommu_core_set_resv_regions(s->core, resv, s->nr_prop_resv_regions);
    viommu_core_set_bypass(s->core, s->boot_bypass);
    return true;
}

/* ---- introspection (query-viommu) ---- */

static ViommuEndpoint *endpoint_info(VirtIOIOMMU *s, VirtIOIOMMUEndpoint *ep)
{
    ViommuEndpoint *info = g_new0(ViommuEndpoint, 1);
    uint32_t id = endpoint_id(ep), domain;
    size_t mappings;
    bool bypass;

    info->bdf = viommu_info_bdf(id);
    info->device = viommu_info_device_path(ep->bus, ep->devfn);
    qemu_mutex_lock(&s->lock);
    if (!viommu_core_endpoint_domain(s->core, id, &domain, &bypass,
                                     &mappings)) {
        info->mode = viommu_core_endpoint_bypasses(s->core, id) ?
                     VIOMMU_ENDPOINT_MODE_BYPASS :
                     VIOMMU_ENDPOINT_MODE_BLOCKED;
    } else {
        info->has_domain = true;
        info->domain = domain;
        info->mode = bypass ? VIOMMU_ENDPOINT_MODE_IDENTITY :
                              VIOMMU_ENDPOINT_MODE_TRANSLATED;
        info->has_mappings = !bypass;
        info->mappings = mappings;
    }
    virtio_iommu_unlock(s);
    return info;
}

static void viommu_info_endpoints(Object *obj, ViommuEndpointList ***tail)
{
    VirtIOIOMMU *s = VIRTIO_IOMMU(obj);
    VirtIOIOMMUEndpoint *ep;

    QLIST_FOREACH(ep, &s->endpoints, next) {
        if (endpoint_alive(ep)) {
            QAPI_LIST_APPEND(*tail, endpoint_info(s, ep));
        }
    }
}

#define INFO_MAX_MAPPINGS 65536

typedef struct MappingList {
    ViommuMappingList **tail;
    unsigned n;
} MappingList;

static int add_mapping(const IovaMapping *m, void *opaque)
{
    MappingList *l = opaque;
    ViommuMapping *v;

    if (l->n++ == INFO_MAX_MAPPINGS) {
        return 1;                       /* stop */
    }
    v = g_new(ViommuMapping, 1);
    *v = (ViommuMapping) {
        .iova = m->virt_start, .size = m->virt_end - m->virt_start + 1,
        .addr = m->phys_start, .read = m->flags & VIOMMU_MAP_F_READ,
        .write = m->flags & VIOMMU_MAP_F_WRITE,
    };
    QAPI_LIST_APPEND(l->tail, v);
    return 0;
}

static ViommuEndpointDetail *viommu_info_detail(Object *obj, PCIDevice *pdev)
{
    VirtIOIOMMU *s = VIRTIO_IOMMU(obj);
    VirtIOIOMMUEndpoint *ep;
    ViommuEndpointDetail *d;
    MappingList l;
    uint32_t domain;
    size_t mappings;
    bool bypass;

    QLIST_FOREACH(ep, &s->endpoints, next) {
        if (ep->bus == pci_get_bus(pdev) && ep->devfn == pdev->devfn &&
            endpoint_alive(ep)) {
            break;
        }
    }
    if (!ep) {
        return NULL;
    }
    d = g_new0(ViommuEndpointDetail, 1);
    d->bdf = viommu_info_bdf(endpoint_id(ep));
    qemu_mutex_lock(&s->lock);
    if (!viommu_core_endpoint_domain(s->core, endpoint_id(ep), &domain,
                                     &bypass, &mappings)) {
        QAPI_LIST_PREPEND(d->entries, g_strdup_printf(
            "endpoint 0x%x: no domain; config.bypass %d", endpoint_id(ep),
            viommu_core_bypass(s->core)));
    } else {
        QAPI_LIST_PREPEND(d->entries, g_strdup_printf(
            "endpoint 0x%x: domain %u%s, %zu mappings", endpoint_id(ep),
            domain, bypass ? " (bypass: identity)" : "", mappings));
        l = (MappingList) { .tail = &d->mappings };
        viommu_core_foreach_mapping(s->core, endpoint_id(ep), add_mapping,
                                    &l);
        d->has_mappings = !bypass;
    }
    virtio_iommu_unlock(s);
    return d;
}

static const ViommuInfoOps viommu_info_ops = {
    .endpoints = viommu_info_endpoints,
    .detail = viommu_info_detail,
};

static void virtio_iommu_realize(DeviceState *dev, Error **errp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VirtIOIOMMU *s = VIRTIO_IOMMU(dev);

    if (!build_core(s, errp)) {
        return;
    }
    qemu_mutex_init(&s->lock);
    QLIST_INIT(&s->endpoints);
    virtio_init(vdev, VIRTIO_ID_IOMMU, sizeof(struct virtio_iommu_config));
    s->req_vq = virtio_add_queue(vdev, REQ_QUEUE_SIZE, virtio_iommu_handle_req);
    s->req_ring = g_new(VringSplit, 1);
    s->event_vq = virtio_add_queue(vdev, EVENT_QUEUE_SIZE,
                                   virtio_iommu_handle_event);
    /* guarded as virtio's own bottom halves are: by the transport */
    viommu_fault_queue_init(&s->faults,
                            DEVICE(qdev_get_parent_bus(dev)->parent),
                            &s->lock,
                            VIRTIO_IOMMU_FAULT_RING, VIOMMU_FAULT_SIZE,
                            deliver_faults, s);
    s->req_resume = timer_new_ns(QEMU_CLOCK_VIRTUAL, resume_requests, s);
    if (s->primary_bus) {
        pci_setup_iommu(s->primary_bus, &virtio_iommu_pci_ops, s);
    } else {
        warn_report("virtio-iommu: no primary-bus link; no endpoint is "
                    "behind this IOMMU");
    }
    qemu_register_reset(virtio_iommu_system_reset, s);
    /* shown as its PCI function, the device users name */
    viommu_info_register(OBJECT(s), OBJECT(qdev_get_parent_bus(dev)->parent ?
                                           qdev_get_parent_bus(dev)->parent :
                                           dev), &s->stats, &viommu_info_ops);
}

static void virtio_iommu_unrealize(DeviceState *dev)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VirtIOIOMMU *s = VIRTIO_IOMMU(dev);

    viommu_info_unregister(OBJECT(s));
    qemu_unregister_reset(virtio_iommu_system_reset, s);
    viommu_fault_queue_destroy(&s->faults);
    timer_free(s->req_resume);
    virtio_delete_queue(s->req_vq);
    g_free(s->req_ring);
    virtio_delete_queue(s->event_vq);
    virtio_cleanup(vdev);
    viommu_core_free(s->core);
    s->core = NULL;
    qemu_mutex_destroy(&s->lock);
}

/* ---- migration ---- */

static int virtio_iommu_pre_save(void *opaque)
{
    VirtIOIOMMU *s = opaque;
    size_t len = 0;

    g_free(s->migration_buf);
    qemu_mutex_lock(&s->lock);
    s->migration_buf = viommu_core_save(s->core, &len);
    virtio_iommu_unlock(s);
    if (!s->migration_buf || len > UINT32_MAX) {
        return -ENOMEM;
    }
    s->migration_len = len;
    return 0;
}

static int virtio_iommu_post_save(void *opaque)
{
    VirtIOIOMMU *s = opaque;

    /* viommu_core_save() allocates with malloc */
    free(s->migration_buf);
    s->migration_buf = NULL;
    return 0;
}

static int virtio_iommu_post_load(void *opaque, int version_id)
{
    VirtIOIOMMU *s = opaque;
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    bool ok;

    qemu_mutex_lock(&s->lock);
    viommu_xc_inv_all(&s->fast);
    ok = viommu_core_load(s->core, s->migration_buf, s->migration_len);
    viommu_core_set_features(s->core, vdev->guest_features);
    virtio_iommu_unlock(s);
    g_free(s->migration_buf);
    s->migration_buf = NULL;
    refresh_all_endpoints(s);
    /* requests a slice left on the source: served once the VM runs */
    timer_mod(s->req_resume, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    return ok ? 0 : -EINVAL;
}

static const VMStateDescription vmstate_virtio_iommu_state = {
    .name = "virtio-iommu-state",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = virtio_iommu_pre_save,
    .post_save = virtio_iommu_post_save,
    .post_load = virtio_iommu_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(migration_len, VirtIOIOMMU),
        VMSTATE_VBUFFER_ALLOC_UINT32(migration_buf, VirtIOIOMMU, 0, NULL,
                                     migration_len),
        VMSTATE_END_OF_LIST()
    },
};

/* Loaded before the devices whose DMA it translates (VFIO, vhost). */
static const VMStateDescription vmstate_virtio_iommu = {
    .name = "virtio-iommu",
    .priority = MIG_PRI_IOMMU,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_VIRTIO_DEVICE,
        VMSTATE_END_OF_LIST()
    },
};

/*
 * Names, types and defaults are those machine compat properties
 * (hw/core/machine.c, pc_q35.c, arm virt.c) and libvirt set.
 */
static const Property virtio_iommu_properties[] = {
    /* input address width: config.input_range is [0, 2^aw-bits - 1] */
    DEFINE_PROP_UINT8("aw-bits", VirtIOIOMMU, aw_bits, 64),
    /* the smallest bit of config.page_size_mask */
    DEFINE_PROP_GRANULE_MODE("granule", VirtIOIOMMU, granule_mode,
                             GRANULE_MODE_HOST),
    /* the initial value of config.bypass (5.13.4) */
    DEFINE_PROP_BOOL("boot-bypass", VirtIOIOMMU, boot_bypass, true),
    /* off only for tests that map sub-page ranges (see README.rst) */
    DEFINE_PROP_BOOL("x-check-alignment", VirtIOIOMMU, check_alignment, true),
    /* the PCI root bus whose functions are the endpoints; set by the proxy */
    DEFINE_PROP_LINK("primary-bus", VirtIOIOMMU, primary_bus,
                     TYPE_PCI_BUS, PCIBus *),
};

static void virtio_iommu_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_CLASS(klass);

    device_class_set_props(dc, virtio_iommu_properties);
    dc->vmsd = &vmstate_virtio_iommu;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    vdc->realize = virtio_iommu_realize;
    vdc->unrealize = virtio_iommu_unrealize;
    vdc->reset = virtio_iommu_reset;
    vdc->get_config = virtio_iommu_get_config;
    vdc->set_config = virtio_iommu_set_config;
    vdc->get_features = virtio_iommu_get_features;
    vdc->set_features = virtio_iommu_set_features;
    vdc->vmsd = &vmstate_virtio_iommu_state;
}

static void virtio_iommu_mr_class_init(ObjectClass *klass, void *data)
{
    IOMMUMemoryRegionClass *imrc = IOMMU_MEMORY_REGION_CLASS(klass);

    imrc->translate = virtio_iommu_translate;
    iommu_direct_opt_in(imrc);      /* every change reaches UNMAP notifiers */
    imrc->replay = virtio_iommu_replay;
    imrc->get_min_page_size = virtio_iommu_min_page_size;
    imrc->notify_flag_changed = virtio_iommu_notify_flag_changed;
}

static const TypeInfo virtio_iommu_types[] = {
    {
        .name = TYPE_VIRTIO_IOMMU,
        .parent = TYPE_VIRTIO_DEVICE,
        .instance_size = sizeof(VirtIOIOMMU),
        .class_init = virtio_iommu_class_init,
    }, {
        .name = TYPE_VIRTIO_IOMMU_MEMORY_REGION,
        .parent = TYPE_IOMMU_MEMORY_REGION,
        .class_init = virtio_iommu_mr_class_init,
    },
};

DEFINE_TYPES(virtio_iommu_types)

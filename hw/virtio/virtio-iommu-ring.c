/*
 * qemu-viommu: virtio-iommu's request queue server (see
 * hw/virtio/virtio-iommu-ring.h): split rings through our own ring code
 * over windows of guest RAM, anything else through virtqueue_pop().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/iov.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "hw/virtio/virtio.h"
#include "hw/virtio/virtio-iommu.h"
#include "exec/address-spaces.h"
#include "virtio-iommu-ring.h"

/*
 * Guest memory for the request ring. A batch touches the rings and the
 * requests, which drivers keep in few places: up to
 * VIRTIO_IOMMU_RING_WINDOWS windows of RAM are mapped per batch and reached
 * directly (writes marked dirty as address_space_write() would). The
 * windows are dropped at the end of the batch, under the BQL, so no memory
 * map change can come in between, except through the batch's own accesses
 * to something other than RAM: after such an access all windows go.
 */
#define RING_WINDOW_SIZE (2 * MiB)
/* Batches run again for kicks made by a batch's own DMA, at most */
#define RING_MAX_RERUNS 4

typedef struct RingWindow RingWindow;

static bool ring_win_covers(const RingWindow *w, hwaddr addr, size_t len)
{
    return addr >= w->start && addr - w->start < w->len &&
           len <= w->len - (addr - w->start);
}

static void ring_win_close_all(VirtIOIOMMU *s)
{
    while (s->nr_ring_win) {
        address_space_cache_destroy(&s->ring_win[--s->nr_ring_win].cache);
    }
    s->ring_win_next = 0;
}

/* Maps RAM from @start, @size at most, into @w; false if it is not RAM */
static bool ring_win_map(VirtIOIOMMU *s, RingWindow *w, hwaddr start,
                         hwaddr size, hwaddr addr, size_t len)
{
    int64_t got = address_space_cache_init(&w->cache,
                                           VIRTIO_DEVICE(s)->dma_as, start,
                                           size, true);

    w->start = start;
    w->len = got > 0 ? got : 0;
    if (!w->cache.ptr || !ring_win_covers(w, addr, len)) {
        address_space_cache_destroy(&w->cache);
        return false;
    }
    return true;
}

/* The window holding [addr, addr + len), mapped now if need be, or NULL */
static RingWindow *ring_win_find(VirtIOIOMMU *s, hwaddr addr, size_t len)
{
    hwaddr aligned = QEMU_ALIGN_DOWN(addr, RING_WINDOW_SIZE);
    RingWindow *w;
    unsigned i;

    for (i = 0; i < s->nr_ring_win; i++) {
        if (ring_win_covers(&s->ring_win[i], addr, len)) {
            return &s->ring_win[i];
        }
    }
    if (s->nr_ring_win == VIRTIO_IOMMU_RING_WINDOWS) {
        /* all in use: drop one, round robin; [0, nr) stays filled */
        unsigned victim = s->ring_win_next;

        s->ring_win_next = (victim + 1) % VIRTIO_IOMMU_RING_WINDOWS;
        address_space_cache_destroy(&s->ring_win[victim].cache);
        s->ring_win[victim] = s->ring_win[--s->nr_ring_win];
    }
    w = &s->ring_win[s->nr_ring_win];
    /* the whole aligned window, or from @addr if it starts outside RAM */
    if (ring_win_map(s, w, aligned, RING_WINDOW_SIZE, addr, len) ||
        ring_win_map(s, w, addr, aligned + RING_WINDOW_SIZE - addr, addr,
                     len)) {
        s->nr_ring_win++;
        return w;
    }
    return NULL;
}

/*
 * After an access to something other than RAM, which may have changed the
 * memory map or this device's own state (the guest chooses where its
 * buffers point): drop the windows, and have the batch look again.
 */
static void ring_io_done(VirtIOIOMMU *s)
{
    ring_win_close_all(s);
    s->ring_io_seen = true;
}

static bool ring_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
    VirtIOIOMMU *s = opaque;
    RingWindow *w = ring_win_find(s, addr, len);
    MemTxResult res;

    if (w) {
        return address_space_read_cached(&w->cache, addr - w->start, buf,
                                         len) == MEMTX_OK;
    }
    res = address_space_read(VIRTIO_DEVICE(s)->dma_as, addr,
                             MEMTXATTRS_UNSPECIFIED, buf, len);
    ring_io_done(s);
    return res == MEMTX_OK;
}

static bool ring_write(void *opaque, uint64_t addr, const void *buf,
                       size_t len)
{
    VirtIOIOMMU *s = opaque;
    RingWindow *w = ring_win_find(s, addr, len);
    MemTxResult res;

    if (w) {
        res = address_space_write_cached(&w->cache, addr - w->start, buf,
                                         len);
        address_space_cache_invalidate(&w->cache, addr - w->start, len);
        return res == MEMTX_OK;
    }
    res = address_space_write(VIRTIO_DEVICE(s)->dma_as, addr,
                              MEMTXATTRS_UNSPECIFIED, buf, len);
    ring_io_done(s);
    return res == MEMTX_OK;
}

/* Ring indices: one 16-bit access each, never torn (2.7.6, 2.7.8) */
static bool ring_load16(void *opaque, uint64_t addr, uint16_t *val)
{
    VirtIOIOMMU *s = opaque;
    RingWindow *w = ring_win_find(s, addr, 2);
    MemTxResult res = MEMTX_OK;

    if (w) {
        *val = address_space_lduw_le_cached(&w->cache, addr - w->start,
                                            MEMTXATTRS_UNSPECIFIED, &res);
        return res == MEMTX_OK;
    }
    *val = address_space_lduw_le(VIRTIO_DEVICE(s)->dma_as, addr,
                                 MEMTXATTRS_UNSPECIFIED, &res);
    ring_io_done(s);
    return res == MEMTX_OK;
}

static bool ring_store16(void *opaque, uint64_t addr, uint16_t val)
{
    VirtIOIOMMU *s = opaque;
    RingWindow *w = ring_win_find(s, addr, 2);
    MemTxResult res = MEMTX_OK;

    if (w) {
        address_space_stw_le_cached(&w->cache, addr - w->start, val,
                                    MEMTXATTRS_UNSPECIFIED, &res);
        address_space_cache_invalidate(&w->cache, addr - w->start, 2);
        return res == MEMTX_OK;
    }
    address_space_stw_le(VIRTIO_DEVICE(s)->dma_as, addr, val,
                         MEMTXATTRS_UNSPECIFIED, &res);
    ring_io_done(s);
    return res == MEMTX_OK;
}

static const VringMemOps ring_mem_ops = {
    .read = ring_read,
    .write = ring_write,
    .load16 = ring_load16,
    .store16 = ring_store16,
};

/* One batch on the split request ring, as it began */
typedef struct RingBatch {
    VirtIOIOMMU *s;
    VirtIODevice *vdev;
    VringSplit *r;
    int n;                      /* queue index */
    uint16_t first;             /* last_avail_idx (and used idx) at start */
    unsigned reset_count;
    unsigned budget;            /* requests this batch may still serve */
} RingBatch;

/* Was the queue reset under the batch (device reset or queue reset)? */
static bool batch_reset(const RingBatch *b)
{
    return b->s->reset_count != b->reset_count ||
           !virtio_queue_get_desc_addr(b->vdev, b->n) ||
           virtio_queue_get_last_avail_idx(b->vdev, b->n) != b->first;
}

/*
 * Must the batch stop? The batch's own DMA reaches whatever the guest
 * points it at, its own device's registers included: a reset, bus master
 * off or a moved ring ends the batch before anything more runs. Only an
 * access to something other than RAM can do that (nothing else runs: the
 * BQL is held), so the queue is looked at again only after one.
 */
static bool batch_stopped(const RingBatch *b)
{
    return b->s->ring_io_seen &&
           (batch_reset(b) || virtio_device_disabled(b->vdev) ||
            virtio_queue_get_desc_addr(b->vdev, b->n) != b->r->desc);
}

/* Serves the chain just popped: the request, then its tail (5.13.6) */
static VringStatus serve_chain(const RingBatch *b)
{
    VringSplit *r = b->r;
    uint8_t req[VIOMMU_REQ_MAX_SIZE];
    uint8_t tail[VIOMMU_REQ_TAIL_SIZE] = { 0 };
    uint64_t in_len = r->chain.in_len;
    g_autofree uint8_t *props = NULL;
    long req_len = vring_chain_read(r, req, sizeof(req));
    VringStatus st = VRING_OK;
    int status;

    if (req_len < 0 || batch_stopped(b)) {
        return req_len < 0 ? VRING_ERR_ACCESS : VRING_OK;
    }
    status = virtio_iommu_run_request(b->s, req, req_len, in_len, &props);
    if (status < 0) {
        vring_split_complete(r, 0);
        return VRING_OK;
    }
    if (props && status == VIOMMU_S_OK) {
        st = vring_chain_write(r, 0, props,
                               MIN(in_len - sizeof(tail),
                                   viommu_core_config(b->s->core)->probe_size));
    }
    tail[0] = status;
    if (st == VRING_OK && !batch_stopped(b)) {
        st = vring_chain_write(r, in_len - sizeof(tail), tail, sizeof(tail));
    }
    vring_split_complete(r, in_len);
    return st;
}

/*
 * Pops, serves and publishes until the ring is empty or broken, or
 * b->budget requests are served (b->budget is then 0: the rest waits for
 * resume_requests()).
 */
static VringStatus serve_batch(RingBatch *b)
{
    VringStatus st;

    for (;;) {
        if (!b->budget) {
            return VRING_OK;
        }
        st = vring_split_pop(b->r);
        if (st == VRING_EMPTY && !batch_stopped(b)) {
            /* publish; VRING_OK means the driver added more meanwhile */
            st = vring_split_publish(b->r);
            if (st == VRING_OK && !batch_stopped(b)) {
                continue;
            }
            return st;
        }
        if (st != VRING_OK || batch_stopped(b)) {
            return st;
        }
        st = serve_chain(b);
        b->budget--;
        if (st != VRING_OK || batch_stopped(b)) {
            return st;
        }
    }
}

/* The ring is broken (@st): the device needs a reset (2.1.2) */
static void ring_failed(const RingBatch *b, VringStatus st)
{
    virtio_error(b->vdev, "virtio-iommu: request queue: %s",
                 vring_status_str(st));
}

/*
 * The split ring, served by our own ring code (hw/viommu/vring-split.c).
 * Every request popped completes before this returns, so used idx equals
 * last_avail_idx at the start, and virtio.c's VirtQueue is brought up to
 * date at the end (as vhost does when it stops). True when it stopped
 * after one queue size of requests with more in the ring.
 */
static bool serve_split_ring(VirtIOIOMMU *s, VirtQueue *vq)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    RingBatch b = {
        .s = s, .vdev = vdev, .r = s->req_ring,
        .n = virtio_get_queue_index(vq), .reset_count = s->reset_count,
        .budget = virtio_queue_get_num(vdev, virtio_get_queue_index(vq)),
    };
    bool more = false;
    VringStatus st;

    s->ring_io_seen = false;

    b.first = virtio_queue_get_last_avail_idx(vdev, b.n);
    vring_split_start(b.r, &ring_mem_ops, s,
                      virtio_queue_get_desc_addr(vdev, b.n),
                      virtio_queue_get_avail_addr(vdev, b.n),
                      virtio_queue_get_used_addr(vdev, b.n),
                      virtio_queue_get_num(vdev, b.n),
                      virtio_vdev_has_feature(vdev, VIRTIO_RING_F_EVENT_IDX),
                      b.first);
    st = serve_batch(&b);
    if (st == VRING_OK && !b.budget && !batch_stopped(&b)) {
        /* a queue size served: publish it; VRING_OK: the driver added more */
        st = vring_split_publish(b.r);
        more = st == VRING_OK;
        if (st != VRING_EMPTY && st != VRING_OK && !batch_stopped(&b)) {
            ring_failed(&b, st);
        }
    } else if (st != VRING_EMPTY && st != VRING_OK && !batch_stopped(&b)) {
        vring_split_publish(b.r);
        if (!batch_stopped(&b)) {
            ring_failed(&b, st);
        }
    }
    ring_win_close_all(s);
    if (s->ring_io_seen && batch_reset(&b)) {
        return false;   /* the queue starts afresh: nothing to bring back */
    }
    virtio_queue_set_last_avail_idx(vdev, b.n, b.r->last_avail);
    virtio_queue_update_used_idx(vdev, b.n);
    if (b.r->nr_published >= 0x8000) {
        /* used idx may have lapped the last signalled one (2.7.7.2) */
        virtio_queue_invalidate_signalled_used(vdev, b.n);
    }
    if (b.r->nr_published) {
        virtio_notify(vdev, vq);
    }
    return more;
}

/*
 * The packed ring (device property packed=on), through virtio.c. True
 * when it stopped after one queue size of requests with more in the ring.
 */
static bool serve_virtqueue(VirtIOIOMMU *s, VirtQueue *vq)
{
    VirtQueueElement *elem;
    unsigned budget = virtio_queue_get_num(VIRTIO_DEVICE(s),
                                           virtio_get_queue_index(vq));
    bool any = false;

    while (budget && (elem = virtqueue_pop(vq, sizeof(*elem)))) {
        uint8_t req[VIOMMU_REQ_MAX_SIZE];
        uint8_t tail[VIOMMU_REQ_TAIL_SIZE] = { 0 };
        size_t in_len = iov_size(elem->in_sg, elem->in_num);
        size_t req_len = iov_to_buf(elem->out_sg, elem->out_num, 0, req,
                                    sizeof(req));
        g_autofree uint8_t *props = NULL;
        int status = virtio_iommu_run_request(s, req, req_len, in_len, &props);

        budget--;

        if (status >= 0) {
            if (props && status == VIOMMU_S_OK) {
                iov_from_buf(elem->in_sg, elem->in_num, 0, props,
                             viommu_core_config(s->core)->probe_size);
            }
            tail[0] = status;
            iov_from_buf(elem->in_sg, elem->in_num, in_len - sizeof(tail),
                         tail, sizeof(tail));
        }
        virtqueue_push(vq, elem, status < 0 ? 0 : in_len);
        g_free(elem);
        any = true;
    }
    if (any) {
        virtio_notify(VIRTIO_DEVICE(s), vq);
    }
    return !budget && !virtio_queue_empty(vq);
}

/*
 * Serves the request queue, one queue size of requests per call at most,
 * so that a driver that keeps the ring full (another vCPU refilling it)
 * cannot hold the BQL for ever: the rest is served from req_resume, a
 * timer of the virtual clock (it fires only while the VM runs), after the
 * main loop has had its turn.
 */
void virtio_iommu_serve_requests(VirtIOIOMMU *s)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    VirtQueue *vq = s->req_vq;
    int n = virtio_get_queue_index(vq);
    bool more = false;

    if (virtio_device_disabled(vdev) || !virtio_queue_get_desc_addr(vdev, n)) {
        return;
    }
    if (virtio_vdev_has_feature(vdev, VIRTIO_F_RING_PACKED) ||
        virtio_queue_get_num(vdev, n) > VRING_MAX_QUEUE) {
        more = serve_virtqueue(s, vq);
    } else if (s->serving_ring) {
        /* a kick from the batch's own DMA: served once the batch ends */
        s->ring_kicked = true;
    } else {
        unsigned runs = 0;

        s->serving_ring = true;
        do {
            s->ring_kicked = false;
            more = serve_split_ring(s, vq);
        } while (!more && s->ring_kicked && ++runs < RING_MAX_RERUNS &&
                 !virtio_device_disabled(vdev) &&
                 virtio_queue_get_desc_addr(vdev, n));
        s->serving_ring = false;
    }
    if (more) {
        timer_mod(s->req_resume, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    }
}


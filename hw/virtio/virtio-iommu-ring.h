/*
 * qemu-viommu: virtio-iommu's request queue server and the device glue
 * it serves (hw/virtio/virtio-iommu-ring.c, hw/virtio/virtio-iommu.c).
 *
 * The contract with QEMU's virtio.c: a split ring (virtio 1.3, 2.7) of at
 * most VRING_MAX_QUEUE entries is served by our own ring code
 * (hw/viommu/vring-split.c) over windows of guest RAM, and hands back to
 * virtio.c what it consumed and published (last_avail_idx, the used
 * index, notifications), so that a reset, migration or a switch to the
 * packed layout finds virtio.c's view current. Anything else (packed
 * rings, larger queues) goes through virtqueue_pop(). A device reset
 * during a batch (s->reset_count moved) drops the batch's work; a kick
 * made by a batch's own DMA is served once the batch ends.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIRTIO_VIRTIO_IOMMU_RING_H
#define HW_VIRTIO_VIRTIO_IOMMU_RING_H

#include "hw/virtio/virtio-iommu.h"

/*
 * Serves the request queue, a queue size of requests at most, the rest
 * from s->req_resume. Under the BQL.
 */
void virtio_iommu_serve_requests(VirtIOIOMMU *s);

/*
 * Runs one request of @req_len bytes whose device-writable part is @in_len
 * bytes (hw/virtio/virtio-iommu.c). Returns its status, or -1 when it is
 * too short to hold the tail (5.13.6.1: such a request is returned
 * unwritten). *props gets the properties of a PROBE (g_free()d by the
 * caller). Under the BQL, without s->lock.
 */
int virtio_iommu_run_request(VirtIOIOMMU *s, const uint8_t *req,
                             size_t req_len, uint64_t in_len, uint8_t **props);

#endif

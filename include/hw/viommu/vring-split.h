/*
 * qemu-viommu: the device side of a split virtqueue, independent of QEMU.
 *
 * Implements virtio 1.3 section 2.7 "Split Virtqueues" for a device that
 * completes every request before it returns: descriptor chains (2.7.5),
 * indirect tables (2.7.5.3), the available ring (2.7.6), the used ring
 * (2.7.8) and available buffer notification suppression (2.7.10). Guest
 * memory is reached through VringMemOps, so the ring is unit-tested and
 * fuzzed without QEMU.
 *
 * Everything a request needs lives in VringSplit itself (no allocation, no
 * large stack frames): the caller keeps one per queue.
 *
 * Not thread-safe: the caller serialises all calls.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_VRING_SPLIT_H
#define HW_VIOMMU_VRING_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest queue a device of ours offers; also the longest chain (2.7.5.1) */
#define VRING_MAX_QUEUE 1024

typedef struct VringMemOps {
    /* Copy guest memory at @addr; false if it cannot be read */
    bool (*read)(void *opaque, uint64_t addr, void *buf, size_t len);
    /* Copy into guest memory at @addr; false if it cannot be written */
    bool (*write)(void *opaque, uint64_t addr, const void *buf, size_t len);
    /*
     * A little-endian ring index at @addr, loaded or stored in one access:
     * the driver writes avail idx, and reads used idx and avail_event,
     * while the device works.
     */
    bool (*load16)(void *opaque, uint64_t addr, uint16_t *val);
    bool (*store16)(void *opaque, uint64_t addr, uint16_t val);
} VringMemOps;

typedef enum VringStatus {
    VRING_OK = 0,           /* a chain is ready in ring->chain */
    VRING_EMPTY,            /* nothing available */
    /* The driver broke the ring: the device needs a reset (2.1.2) */
    VRING_ERR_AVAIL_IDX,    /* avail idx moved by more than the queue size */
    VRING_ERR_HEAD,         /* head index beyond the descriptor table */
    VRING_ERR_NEXT,         /* next index beyond the descriptor table */
    VRING_ERR_LOOP,         /* chain longer than its table: a loop */
    VRING_ERR_INDIRECT,     /* bad indirect table: size, nesting or NEXT */
    VRING_ERR_ORDER,        /* device-readable after device-writable */
    VRING_ERR_TOO_LONG,     /* more than 2^32 bytes in one chain */
    VRING_ERR_ACCESS,       /* ring or buffer memory not accessible */
} VringStatus;

typedef struct VringSeg {
    uint64_t addr;
    uint32_t len;
} VringSeg;

/* One descriptor chain: seg[0, nr_out) readable, then nr_in writable */
typedef struct VringChain {
    uint16_t head;
    uint16_t nr_out, nr_in;
    uint64_t out_len, in_len;
    VringSeg seg[VRING_MAX_QUEUE];
} VringChain;

/* A used ring element (2.7.8): le32 id, le32 len */
#define VRING_USED_ELEM_SIZE 8

typedef struct VringSplit {
    const VringMemOps *ops;
    void *opaque;
    uint64_t desc, avail, used;     /* guest addresses of the three parts */
    uint16_t num;                   /* queue size */
    bool event_idx;                 /* VIRTIO_F_EVENT_IDX negotiated */
    uint16_t last_avail;            /* next available entry to consume */
    uint16_t avail_idx;             /* avail idx as last read */
    uint16_t used_idx;              /* used idx as last published */
    uint16_t nr_done;               /* completions not yet published */
    uint32_t nr_published;          /* completions published this batch */
    VringChain chain;               /* the chain vring_split_pop returned */
    uint16_t heads[VRING_MAX_QUEUE];        /* avail entries read ahead */
    /* completions to publish, encoded as they go to the used ring */
    uint8_t done[VRING_MAX_QUEUE * VRING_USED_ELEM_SIZE];
} VringSplit;

/*
 * Starts a batch on a queue whose consumed and used indices are both
 * @last_avail (no request in flight). @num is at most VRING_MAX_QUEUE.
 */
void vring_split_start(VringSplit *r, const VringMemOps *ops, void *opaque,
                       uint64_t desc, uint64_t avail, uint64_t used,
                       uint16_t num, bool event_idx, uint16_t last_avail);

/* Takes the next available chain into r->chain */
VringStatus vring_split_pop(VringSplit *r);

/*
 * Copies up to @len bytes of the chain's readable part; returns how many,
 * or -1 if guest memory could not be read.
 */
long vring_chain_read(VringSplit *r, void *buf, size_t len);

/* Writes @len bytes at @offset of the chain's writable part */
VringStatus vring_chain_write(VringSplit *r, uint64_t offset,
                              const void *buf, size_t len);

/* Completes the popped chain, @len bytes written (published later) */
void vring_split_complete(VringSplit *r, uint32_t len);

/*
 * Makes the completions visible to the driver (used ring, then used idx)
 * and, with event idx, asks to be notified of the next available entry.
 * Then looks at the available ring again: VRING_OK if the driver added
 * chains meanwhile (pop them), VRING_EMPTY if not, or an error.
 */
VringStatus vring_split_publish(VringSplit *r);

const char *vring_status_str(VringStatus st);

#endif

/*
 * qemu-viommu: the device side of a split virtqueue (virtio 1.3, 2.7).
 *
 * A batch reads the available ring once, walks each chain with a few
 * reads of its descriptor table, and publishes all its completions with
 * one or two writes of the used ring followed by the used index.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/vring-split.h"
#include "hw/viommu/le.h"

#include <string.h>

/* 2.7.5 The Virtqueue Descriptor Table */
#define DESC_SIZE 16
#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define DESC_F_INDIRECT 4

/* Descriptors fetched per read while walking a table */
#define DESC_BLOCK 4

/* 2.7.6 available ring: flags, idx, ring[num]; 2.7.8 used ring likewise */
#define RING_IDX_OFFSET 2
#define RING_ENTRIES_OFFSET 4

typedef struct Desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} Desc;

/* A descriptor table being walked: the queue's own, or an indirect one */
typedef struct DescTable {
    uint64_t addr;
    uint32_t size;          /* entries */
    uint32_t visited;       /* more visits than entries means a loop */
    uint32_t blk_first;     /* entries [blk_first, +blk_count) are in blk */
    uint32_t blk_count;
    uint8_t blk[DESC_BLOCK * DESC_SIZE];
} DescTable;

static bool mem_read(VringSplit *r, uint64_t addr, void *buf, size_t len)
{
    return r->ops->read(r->opaque, addr, buf, len);
}

static bool mem_write(VringSplit *r, uint64_t addr, const void *buf,
                      size_t len)
{
    return r->ops->write(r->opaque, addr, buf, len);
}

/* 2.7: queue sizes are powers of 2; a driver's odd size stays safe */
static inline uint16_t ring_slot(const VringSplit *r, uint16_t idx)
{
    return r->num & (r->num - 1) ? idx % r->num : idx & (r->num - 1);
}

void vring_split_start(VringSplit *r, const VringMemOps *ops, void *opaque,
                       uint64_t desc, uint64_t avail, uint64_t used,
                       uint16_t num, bool event_idx, uint16_t last_avail)
{
    r->ops = ops;
    r->opaque = opaque;
    r->desc = desc;
    r->avail = avail;
    r->used = used;
    r->num = num;
    r->event_idx = event_idx;
    r->last_avail = last_avail;
    r->avail_idx = last_avail;
    r->used_idx = last_avail;
    r->nr_done = 0;
    r->nr_published = 0;
}

/*
 * 2.7.6: reads avail idx and the entries it adds. The driver may be at most
 * a queue's worth ahead of what the device has consumed.
 */
static VringStatus read_avail(VringSplit *r)
{
    uint16_t idx, ahead, slot, first_part;

    if (!r->ops->load16(r->opaque, r->avail + RING_IDX_OFFSET, &idx)) {
        return VRING_ERR_ACCESS;
    }
    ahead = idx - r->last_avail;
    if (ahead > r->num) {
        return VRING_ERR_AVAIL_IDX;
    }
    if (!ahead) {
        return VRING_EMPTY;
    }
    /* the entries were written before idx: read them after it */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    slot = ring_slot(r, r->last_avail);
    first_part = ahead < r->num - slot ? ahead : r->num - slot;
    if (!mem_read(r, r->avail + RING_ENTRIES_OFFSET + 2u * slot,
                  &r->heads[slot], 2u * first_part) ||
        (ahead > first_part &&
         !mem_read(r, r->avail + RING_ENTRIES_OFFSET, &r->heads[0],
                   2u * (ahead - first_part)))) {
        return VRING_ERR_ACCESS;
    }
    r->avail_idx = idx;
    return VRING_OK;
}

static VringStatus table_get(VringSplit *r, DescTable *t, uint32_t i,
                             Desc *d)
{
    const uint8_t *p;

    if (i >= t->size) {
        return VRING_ERR_NEXT;
    }
    if (++t->visited > t->size) {
        return VRING_ERR_LOOP;
    }
    if (i < t->blk_first || i >= t->blk_first + t->blk_count) {
        uint32_t n = t->size - i < DESC_BLOCK ? t->size - i : DESC_BLOCK;

        if (!mem_read(r, t->addr + (uint64_t)i * DESC_SIZE, t->blk,
                      n * DESC_SIZE)) {
            return VRING_ERR_ACCESS;
        }
        t->blk_first = i;
        t->blk_count = n;
    }
    p = t->blk + (i - t->blk_first) * DESC_SIZE;
    d->addr = le_ld64(p);
    d->len = le_ld32(p + 8);
    d->flags = le_ld16(p + 12);
    d->next = le_ld16(p + 14);
    return VRING_OK;
}

static void table_init(DescTable *t, uint64_t addr, uint32_t size)
{
    t->addr = addr;
    t->size = size;
    t->visited = 0;
    t->blk_first = 0;
    t->blk_count = 0;
}

/* 2.7.4.2: device-readable buffers come before device-writable ones */
static VringStatus add_seg(VringChain *c, const Desc *d)
{
    unsigned n = c->nr_out + c->nr_in;

    if (n == VRING_MAX_QUEUE) {
        return VRING_ERR_LOOP;
    }
    if (d->flags & DESC_F_WRITE) {
        c->nr_in++;
        c->in_len += d->len;
    } else if (c->nr_in) {
        return VRING_ERR_ORDER;
    } else {
        c->nr_out++;
        c->out_len += d->len;
    }
    /* 2.7.5.1: a chain holds at most 2^32 bytes */
    if (c->out_len + c->in_len > UINT32_MAX) {
        return VRING_ERR_TOO_LONG;
    }
    c->seg[n].addr = d->addr;
    c->seg[n].len = d->len;
    return VRING_OK;
}

/*
 * Walks the chain at @head into r->chain. 2.7.5.3.1: an indirect
 * descriptor ends the chain of the queue's table (no NEXT), its table is a
 * whole number of descriptors, and holds no indirect descriptor itself.
 */
static VringStatus walk_chain(VringSplit *r, uint16_t head)
{
    VringChain *c = &r->chain;
    DescTable t;
    bool in_indirect = false;
    uint32_t i = head;
    VringStatus st;
    Desc d;

    c->head = head;
    c->nr_out = c->nr_in = 0;
    c->out_len = c->in_len = 0;
    table_init(&t, r->desc, r->num);
    for (;;) {
        st = table_get(r, &t, i, &d);
        if (st != VRING_OK) {
            return st;
        }
        if (d.flags & DESC_F_INDIRECT) {
            if (in_indirect || (d.flags & DESC_F_NEXT) || !d.len ||
                d.len % DESC_SIZE) {
                return VRING_ERR_INDIRECT;
            }
            in_indirect = true;
            table_init(&t, d.addr, d.len / DESC_SIZE);
            i = 0;
            continue;
        }
        st = add_seg(c, &d);
        if (st != VRING_OK || !(d.flags & DESC_F_NEXT)) {
            return st;
        }
        i = d.next;
    }
}

/* 2.7.8: used elements first, then (release) the used index */
static VringStatus flush_used(VringSplit *r)
{
    uint16_t n = r->nr_done;
    uint16_t slot = ring_slot(r, r->used_idx);
    uint16_t first_part = n < r->num - slot ? n : r->num - slot;

    if (!n) {
        return VRING_OK;
    }
    if (!mem_write(r, r->used + RING_ENTRIES_OFFSET +
                   (uint64_t)slot * VRING_USED_ELEM_SIZE,
                   r->done, (size_t)first_part * VRING_USED_ELEM_SIZE) ||
        (n > first_part &&
         !mem_write(r, r->used + RING_ENTRIES_OFFSET,
                    r->done + (size_t)first_part * VRING_USED_ELEM_SIZE,
                    (size_t)(n - first_part) * VRING_USED_ELEM_SIZE))) {
        return VRING_ERR_ACCESS;
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    r->used_idx += n;
    r->nr_published += n;
    r->nr_done = 0;
    return r->ops->store16(r->opaque, r->used + RING_IDX_OFFSET,
                           r->used_idx) ? VRING_OK : VRING_ERR_ACCESS;
}

VringStatus vring_split_pop(VringSplit *r)
{
    VringStatus st;
    uint16_t head;

    /* A driver that reuses buffers early must not overrun done[] */
    if (r->nr_done == r->num) {
        st = flush_used(r);
        if (st != VRING_OK) {
            return st;
        }
    }
    if (r->last_avail == r->avail_idx) {
        st = read_avail(r);
        if (st != VRING_OK) {
            return st;
        }
    }
    head = le_ld16((const uint8_t *)&r->heads[ring_slot(r, r->last_avail)]);
    r->last_avail++;
    if (head >= r->num) {
        return VRING_ERR_HEAD;
    }
    return walk_chain(r, head);
}

long vring_chain_read(VringSplit *r, void *buf, size_t len)
{
    const VringChain *c = &r->chain;
    uint8_t *out = buf;
    size_t done = 0;
    unsigned i;

    for (i = 0; i < c->nr_out && done < len; i++) {
        size_t n = c->seg[i].len < len - done ? c->seg[i].len : len - done;

        if (n && !mem_read(r, c->seg[i].addr, out + done, n)) {
            return -1;
        }
        done += n;
    }
    return done;
}

VringStatus vring_chain_write(VringSplit *r, uint64_t offset,
                              const void *buf, size_t len)
{
    const VringChain *c = &r->chain;
    const uint8_t *in = buf;
    unsigned i;

    for (i = c->nr_out; i < c->nr_out + c->nr_in && len; i++) {
        const VringSeg *s = &c->seg[i];
        size_t n;

        if (offset >= s->len) {
            offset -= s->len;
            continue;
        }
        n = s->len - offset < len ? s->len - offset : len;
        if (!mem_write(r, s->addr + offset, in, n)) {
            return VRING_ERR_ACCESS;
        }
        in += n;
        len -= n;
        offset = 0;
    }
    return len ? VRING_ERR_ACCESS : VRING_OK;
}

void vring_split_complete(VringSplit *r, uint32_t len)
{
    uint8_t *e = r->done + (size_t)r->nr_done++ * VRING_USED_ELEM_SIZE;

    le_st32(e, r->chain.head);
    le_st32(e + 4, len);
}

VringStatus vring_split_publish(VringSplit *r)
{
    VringStatus st = flush_used(r);

    if (st != VRING_OK) {
        return st;
    }
    if (r->last_avail != r->avail_idx) {
        return VRING_OK;
    }
    /* 2.7.10: avail_event, after the used ring, asks for the next kick */
    if (r->event_idx &&
        !r->ops->store16(r->opaque, r->used + RING_ENTRIES_OFFSET +
                         (uint64_t)r->num * VRING_USED_ELEM_SIZE,
                         r->last_avail)) {
        return VRING_ERR_ACCESS;
    }
    /* ... and is seen before avail idx is read again, or a kick is lost */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return read_avail(r);
}

const char *vring_status_str(VringStatus st)
{
    static const char *const text[] = {
        [VRING_OK] = "ok",
        [VRING_EMPTY] = "no buffer available",
        [VRING_ERR_AVAIL_IDX] = "available index moved past the queue size",
        [VRING_ERR_HEAD] = "chain head beyond the descriptor table",
        [VRING_ERR_NEXT] = "next descriptor beyond its table",
        [VRING_ERR_LOOP] = "descriptor chain loops or is too long",
        [VRING_ERR_INDIRECT] = "malformed indirect descriptor table",
        [VRING_ERR_ORDER] = "device-readable descriptor after a "
                            "device-writable one",
        [VRING_ERR_TOO_LONG] = "descriptor chain longer than 4 GiB",
        [VRING_ERR_ACCESS] = "ring or buffer address not accessible",
    };

    return (unsigned)st < sizeof(text) / sizeof(text[0]) && text[st] ?
           text[st] : "unknown ring status";
}

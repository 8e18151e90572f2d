/*
 * qemu-viommu: unit tests of the split virtqueue device side
 * (hw/viommu/vring-split.c), on a small fake guest memory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define FAKE_MEM_SIZE 0x10000
#include "vring-fake-mem.h"
#include "unit.h"

#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define TABLES 0x4000
#define BUFS 0x8000

enum { F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4 };

static VringSplit ring;

static void put16(uint64_t a, uint16_t v)
{
    le_st16(mem + a, v);
}

static void put32(uint64_t a, uint32_t v)
{
    le_st32(mem + a, v);
}

static uint16_t get16(uint64_t a)
{
    return le_ld16(mem + a);
}

static uint32_t get32(uint64_t a)
{
    return le_ld32(mem + a);
}

static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint64_t d = table + 16 * i;

    le_st64(mem + d, addr);
    put32(d + 8, len);
    put16(d + 12, flags);
    put16(d + 14, next);
}

/* Makes @head available at avail position @pos and publishes pos + 1 */
static void offer(uint16_t pos, uint16_t num, uint16_t head)
{
    put16(AVAIL + 4 + 2 * (pos % num), head);
    put16(AVAIL + 2, pos + 1);
}

static void start(uint16_t num, bool event_idx, uint16_t last_avail)
{
    memset(mem, 0, sizeof(mem));
    put16(AVAIL + 2, last_avail);
    put16(USED + 2, last_avail);
    vring_split_start(&ring, &ops, NULL, DESC, AVAIL, USED, num, event_idx,
                      last_avail);
}

/* A request as Linux queues it: 8 bytes out, 4 bytes in, chained */
static void direct_pair(unsigned i, uint64_t buf)
{
    put_desc(DESC, i, buf, 8, F_NEXT, i + 1);
    put_desc(DESC, i + 1, buf + 8, 4, F_WRITE, 0);
}

static void test_empty(void)
{
    start(8, false, 0);
    CHECK_EQ(vring_split_pop(&ring), VRING_EMPTY);
    CHECK_EQ(vring_split_publish(&ring), VRING_EMPTY);
    CHECK_EQ(get16(USED + 2), 0);
}

static void test_direct_chain(void)
{
    uint8_t req[16], tail[4] = { 7, 0, 0, 0 };

    start(8, false, 0);
    memcpy(mem + BUFS, "request!", 8);
    direct_pair(2, BUFS);
    offer(0, 8, 2);
    CHECK_EQ(vring_split_pop(&ring), VRING_OK);
    CHECK_EQ(ring.chain.head, 2);
    CHECK_EQ(ring.chain.nr_out, 1);
    CHECK_EQ(ring.chain.nr_in, 1);
    CHECK_EQ(ring.chain.out_len, 8);
    CHECK_EQ(ring.chain.in_len, 4);
    CHECK_EQ(vring_chain_read(&ring, req, sizeof(req)), 8);
    CHECK(!memcmp(req, "request!", 8));
    CHECK_EQ(vring_chain_write(&ring, 0, tail, 4), VRING_OK);
    CHECK_EQ(mem[BUFS + 8], 7);
    vring_split_complete(&ring, 4);
    /* nothing is visible before publish */
    CHECK_EQ(get16(USED + 2), 0);
    CHECK_EQ(vring_split_pop(&ring), VRING_EMPTY);
    CHECK_EQ(vring_split_publish(&ring), VRING_EMPTY);
    CHECK_EQ(get16(USED + 2), 1);
    CHECK_EQ(get32(USED + 4), 2);
    CHECK_EQ(get32(USED + 8), 4);
}

static void test_indirect_chain(void)
{
    uint8_t req[4];

    start(8, false, 0);
    memcpy(mem + BUFS, "ab", 2);
    memcpy(mem + BUFS + 0x10, "cd", 2);
    put_desc(TABLES, 0, BUFS, 2, F_NEXT, 1);
    put_desc(TABLES, 1, BUFS + 0x10, 2, F_NEXT, 2);
    put_desc(TABLES, 2, BUFS + 0x20, 3, F_NEXT | F_WRITE, 3);
    put_desc(TABLES, 3, BUFS + 0x30, 5, F_WRITE, 0);
    put_desc(DESC, 5, TABLES, 4 * 16, F_INDIRECT, 0);
    offer(0, 8, 5);
    CHECK_EQ(vring_split_pop(&ring), VRING_OK);
    CHECK_EQ(ring.chain.head, 5);
    CHECK_EQ(ring.chain.nr_out, 2);
    CHECK_EQ(ring.chain.nr_in, 2);
    CHECK_EQ(ring.chain.in_len, 8);
    /* gathers across segments */
    CHECK_EQ(vring_chain_read(&ring, req, sizeof(req)), 4);
    CHECK(!memcmp(req, "abcd", 4));
    /* the tail straddles the two writable segments */
    CHECK_EQ(vring_chain_write(&ring, 2, "XYZW", 4), VRING_OK);
    CHECK(!memcmp(mem + BUFS + 0x22, "X", 1));
    CHECK(!memcmp(mem + BUFS + 0x30, "YZW", 3));
    /* beyond the writable part */
    CHECK_EQ(vring_chain_write(&ring, 6, "XYZ", 3), VRING_ERR_ACCESS);
}

/* 2.7.5.3.1: a direct chain may end in one indirect descriptor */
static void test_direct_then_indirect(void)
{
    start(8, false, 0);
    put_desc(TABLES, 0, BUFS + 8, 4, F_WRITE, 0);
    put_desc(DESC, 0, BUFS, 8, F_NEXT, 1);
    put_desc(DESC, 1, TABLES, 16, F_INDIRECT, 0);
    offer(0, 8, 0);
    CHECK_EQ(vring_split_pop(&ring), VRING_OK);
    CHECK_EQ(ring.chain.nr_out, 1);
    CHECK_EQ(ring.chain.nr_in, 1);
}

static VringStatus pop_one(uint16_t head)
{
    offer(0, 8, head);
    return vring_split_pop(&ring);
}

static void test_bad_chains(void)
{
    start(8, false, 0);
    CHECK_EQ(pop_one(8), VRING_ERR_HEAD);

    start(8, false, 0);
    put_desc(DESC, 0, BUFS, 8, F_NEXT, 9);
    CHECK_EQ(pop_one(0), VRING_ERR_NEXT);

    start(8, false, 0);
    put_desc(DESC, 0, BUFS, 8, F_NEXT, 1);
    put_desc(DESC, 1, BUFS, 8, F_NEXT, 0);
    CHECK_EQ(pop_one(0), VRING_ERR_LOOP);

    start(8, false, 0);
    put_desc(DESC, 0, BUFS, 8, F_WRITE | F_NEXT, 1);
    put_desc(DESC, 1, BUFS, 8, 0, 0);
    CHECK_EQ(pop_one(0), VRING_ERR_ORDER);

    start(8, false, 0);
    put_desc(DESC, 0, TABLES, 24, F_INDIRECT, 0);
    CHECK_EQ(pop_one(0), VRING_ERR_INDIRECT);

    start(8, false, 0);
    put_desc(DESC, 0, TABLES, 0, F_INDIRECT, 0);
    CHECK_EQ(pop_one(0), VRING_ERR_INDIRECT);

    start(8, false, 0);
    put_desc(DESC, 0, TABLES, 16, F_INDIRECT | F_NEXT, 1);
    CHECK_EQ(pop_one(0), VRING_ERR_INDIRECT);

    start(8, false, 0);
    put_desc(TABLES, 0, TABLES, 16, F_INDIRECT, 0);
    put_desc(DESC, 0, TABLES, 16, F_INDIRECT, 0);
    CHECK_EQ(pop_one(0), VRING_ERR_INDIRECT);

    /* an indirect table that loops on itself */
    start(8, false, 0);
    put_desc(TABLES, 0, BUFS, 8, F_NEXT, 1);
    put_desc(TABLES, 1, BUFS, 8, F_NEXT, 0);
    put_desc(DESC, 0, TABLES, 32, F_INDIRECT, 0);
    CHECK_EQ(pop_one(0), VRING_ERR_LOOP);

    /* 2^32 bytes or more in one chain */
    start(8, false, 0);
    put_desc(DESC, 0, BUFS, 0x80000000u, F_NEXT, 1);
    put_desc(DESC, 1, BUFS, 0x80000000u, 0, 0);
    CHECK_EQ(pop_one(0), VRING_ERR_TOO_LONG);

    /* a table outside guest memory */
    start(8, false, 0);
    put_desc(DESC, 0, 0xfffffffffffff000ull, 16, F_INDIRECT, 0);
    CHECK_EQ(pop_one(0), VRING_ERR_ACCESS);
}

/* An indirect table longer than a chain may be holds a loop */
static void test_longest_chain(void)
{
    unsigned i;

    start(8, false, 0);
    for (i = 0; i < VRING_MAX_QUEUE; i++) {
        put_desc(TABLES, i, BUFS, 1, F_NEXT, i + 1);
    }
    put_desc(TABLES, VRING_MAX_QUEUE - 1, BUFS, 1, 0, 0);
    put_desc(DESC, 0, TABLES, VRING_MAX_QUEUE * 16, F_INDIRECT, 0);
    CHECK_EQ(pop_one(0), VRING_OK);
    CHECK_EQ(ring.chain.nr_out, VRING_MAX_QUEUE);
}

static void test_avail_idx_too_far(void)
{
    start(8, false, 0);
    put16(AVAIL + 2, 9);
    CHECK_EQ(vring_split_pop(&ring), VRING_ERR_AVAIL_IDX);
}

/* Indices wrap at 2^16 and slots at the queue size */
static void test_wrap(void)
{
    unsigned i;

    start(4, false, 0xfffe);
    for (i = 0; i < 4; i++) {
        direct_pair(0, BUFS);
        put16(AVAIL + 4 + 2 * ((0xfffe + i) % 4), 0);
    }
    put16(AVAIL + 2, (uint16_t)(0xfffe + 4));
    for (i = 0; i < 4; i++) {
        CHECK_EQ(vring_split_pop(&ring), VRING_OK);
        vring_split_complete(&ring, 4 + i);
    }
    /* a full queue's worth of completions is published by the next pop */
    nr_writes = 0;
    CHECK_EQ(vring_split_pop(&ring), VRING_EMPTY);
    CHECK_EQ(vring_split_publish(&ring), VRING_EMPTY);
    /* two writes of used elements around the end, then the index */
    CHECK_EQ(nr_writes, 3);
    CHECK_EQ(get16(USED + 2), 2);
    CHECK_EQ(get32(USED + 4 + 8 * 2 + 4), 4);
    CHECK_EQ(get32(USED + 4 + 8 * 3 + 4), 5);
    CHECK_EQ(get32(USED + 4 + 8 * 0 + 4), 6);
    CHECK_EQ(get32(USED + 4 + 8 * 1 + 4), 7);
}

/* 2.7.10: avail_event tells the driver to kick for the next entry */
static void test_event_idx(void)
{
    start(8, true, 0);
    direct_pair(0, BUFS);
    offer(0, 8, 0);
    CHECK_EQ(vring_split_pop(&ring), VRING_OK);
    vring_split_complete(&ring, 4);
    CHECK_EQ(vring_split_publish(&ring), VRING_EMPTY);
    CHECK_EQ(get16(USED + 4 + 8 * 8), 1);
}

/* A chain added while the batch ran is found by publish */
static void test_publish_sees_more(void)
{
    start(8, true, 0);
    direct_pair(0, BUFS);
    offer(0, 8, 0);
    CHECK_EQ(vring_split_pop(&ring), VRING_OK);
    vring_split_complete(&ring, 4);
    CHECK_EQ(vring_split_pop(&ring), VRING_EMPTY);
    offer(1, 8, 0);
    CHECK_EQ(vring_split_publish(&ring), VRING_OK);
    CHECK_EQ(vring_split_pop(&ring), VRING_OK);
    vring_split_complete(&ring, 4);
    CHECK_EQ(vring_split_publish(&ring), VRING_EMPTY);
    CHECK_EQ(get16(USED + 2), 2);
}

/*
 * A driver that reuses a buffer before it is used makes more than a
 * queue's worth of chains available in one batch: completions are then
 * published as the batch goes, never lost or overrun.
 */
static void test_reused_buffers(void)
{
    unsigned i;

    start(4, false, 0);
    direct_pair(0, BUFS);
    for (i = 0; i < 20; i++) {
        offer(i, 4, 0);
        CHECK_EQ(vring_split_pop(&ring), VRING_OK);
        vring_split_complete(&ring, 4);
    }
    CHECK_EQ(vring_split_publish(&ring), VRING_EMPTY);
    CHECK_EQ(get16(USED + 2), 20);
}

int main(void)
{
    RUN(test_empty);
    RUN(test_direct_chain);
    RUN(test_indirect_chain);
    RUN(test_direct_then_indirect);
    RUN(test_bad_chains);
    RUN(test_longest_chain);
    RUN(test_avail_idx_too_far);
    RUN(test_wrap);
    RUN(test_event_idx);
    RUN(test_publish_sees_more);
    RUN(test_reused_buffers);
    return unit_report("vring-split");
}

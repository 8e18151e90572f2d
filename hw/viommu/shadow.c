/*
 * qemu-viommu: the notifier shadow, shared by the VT-d and AMD-Vi models.
 *
 * A sync walks the guest's tables over the range twice, as runs: pages
 * that follow one another in IOVA and output with the same permissions.
 * The first pass drops every held mapping that no longer matches a run
 * it lies in whole (UNMAP); the second maps the parts of each run that
 * nothing held covers (MAP). Held mappings that still match stay, even
 * where a run could now be merged with them.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/shadow.h"

#include "hw/viommu/iova-map.h"
#include "hw/viommu/pow2-split.h"

#include <stdlib.h>

#define PERM_MASK   (VIOMMU_PT_READ | VIOMMU_PT_WRITE)

struct ViommuShadow {
    IovaMap *map;
    uint64_t holes[VIOMMU_SHADOW_MAX_HOLES][2];     /* sorted, inclusive */
    unsigned nr_holes;
};

typedef struct Emitter {
    ViommuShadowFn fn;
    void *opaque;
    bool map;
    const IovaMapping *m;
} Emitter;

static void emit_block(uint64_t start, uint64_t mask, void *opaque)
{
    Emitter *e = opaque;

    e->fn(e->map, start, e->m->phys_start + (start - e->m->virt_start), mask,
          e->m->flags & PERM_MASK, e->opaque);
}

static void emit(bool map, const IovaMapping *m, ViommuShadowFn fn,
                 void *opaque)
{
    Emitter e = { .fn = fn, .opaque = opaque, .map = map, .m = m };

    viommu_split_pow2(m->virt_start, m->virt_end,
                      m->phys_start - m->virt_start, emit_block, &e);
}

ViommuShadow *viommu_shadow_new(size_t max_mappings)
{
    ViommuShadow *s = calloc(1, sizeof(*s));

    if (!s) {
        return NULL;
    }
    s->map = iova_map_new(max_mappings);
    if (!s->map) {
        free(s);
        return NULL;
    }
    return s;
}

void viommu_shadow_free(ViommuShadow *s)
{
    if (s) {
        iova_map_free(s->map);
        free(s);
    }
}

size_t viommu_shadow_count(const ViommuShadow *s)
{
    return iova_map_count(s->map);
}

typedef struct UnmapCtx {
    ViommuShadowFn fn;
    void *opaque;
} UnmapCtx;

static int unmap_one(const IovaMapping *m, void *opaque)
{
    UnmapCtx *u = opaque;

    emit(false, m, u->fn, u->opaque);
    return 0;
}

void viommu_shadow_clear(ViommuShadow *s, ViommuShadowFn fn, void *opaque)
{
    UnmapCtx u = { fn, opaque };

    iova_map_clear(s->map, unmap_one, &u);
}

static int map_one(const IovaMapping *m, void *opaque)
{
    UnmapCtx *u = opaque;

    emit(true, m, u->fn, u->opaque);
    return 0;
}

void viommu_shadow_replay(const ViommuShadow *s, ViommuShadowFn fn,
                          void *opaque)
{
    UnmapCtx u = { fn, opaque };

    iova_map_foreach_in(s->map, 0, UINT64_MAX, map_one, &u);
}

bool viommu_shadow_set_holes(ViommuShadow *s, const uint64_t (*holes)[2],
                             unsigned n)
{
    unsigned i, j;

    if (n > VIOMMU_SHADOW_MAX_HOLES) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (holes[i][0] > holes[i][1]) {
            return false;
        }
        /* insertion by start */
        for (j = i; j > 0 && s->holes[j - 1][0] > holes[i][0]; j--) {
            s->holes[j][0] = s->holes[j - 1][0];
            s->holes[j][1] = s->holes[j - 1][1];
        }
        s->holes[j][0] = holes[i][0];
        s->holes[j][1] = holes[i][1];
    }
    s->nr_holes = n;
    return true;
}

/* ---- finding held mappings ---- */

typedef struct Find {
    const IovaMapping *run;     /* NULL: any overlap is a mismatch */
    IovaMapping found;
    bool hit;
} Find;

/* Stops at the first held mapping that does not lie, matching, in run. */
static int find_mismatch(const IovaMapping *m, void *opaque)
{
    Find *f = opaque;
    const IovaMapping *r = f->run;

    if (r && m->virt_start >= r->virt_start && m->virt_end <= r->virt_end &&
        m->phys_start - m->virt_start == r->phys_start - r->virt_start &&
        (m->flags & PERM_MASK) == (r->flags & PERM_MASK)) {
        return 0;
    }
    f->found = *m;
    f->hit = true;
    return 1;
}

static int find_first(const IovaMapping *m, void *opaque)
{
    Find *f = opaque;

    f->found = *m;
    f->hit = true;
    return 1;
}

/* Unmaps the held mappings meeting [start, last] that @run does not hold. */
static void drop_mismatches(ViommuShadow *s, uint64_t start, uint64_t last,
                            const IovaMapping *run, ViommuShadowFn fn,
                            void *opaque)
{
    Find f = { .run = run };

    for (;;) {
        f.hit = false;
        iova_map_foreach_in(s->map, start, last, find_mismatch, &f);
        if (!f.hit) {
            return;
        }
        iova_map_remove_range(s->map, f.found.virt_start, f.found.virt_end,
                              NULL, NULL);
        emit(false, &f.found, fn, opaque);
        /* what came before it matched and stays: go on after it */
        if (f.found.virt_end >= last) {
            return;
        }
        start = f.found.virt_end + 1;
    }
}

/* ---- runs of the guest's tables ---- */

typedef struct Sync Sync;
typedef void (*RunFn)(Sync *y, const IovaMapping *run);

struct Sync {
    ViommuShadow *s;
    uint64_t start, last;       /* the range, widened to held mappings */
    ViommuShadowFn fn;
    void *opaque;
    RunFn on_run;
    IovaMapping run;
    bool have_run;
    uint64_t cursor;            /* pass 1: first address not yet settled */
    bool cursor_done;           /* cursor passed the end of the space */
    bool full;
};

static void flush_run(Sync *y)
{
    if (y->have_run) {
        y->on_run(y, &y->run);
        y->have_run = false;
    }
}

/*
 * Adds [start, last] -> output to the current run, or starts a new one:
 * a run never crosses a boundary of 512 pages of the leaf's size (the
 * next level's entry), so that a changed page costs the unmapping of at
 * most that much.
 */
static void add_piece(Sync *y, uint64_t start, uint64_t last, uint64_t output,
                      unsigned perm, unsigned page_shift)
{
    unsigned boundary = page_shift + VIOMMU_PT_LEVEL_BITS;

    if (y->have_run && y->run.virt_end + 1 == start && y->run.flags == perm &&
        y->run.phys_start + (start - y->run.virt_start) == output &&
        (boundary >= 64 || (start & viommu_low_mask(boundary)))) {
        y->run.virt_end = last;
        return;
    }
    flush_run(y);
    y->run = (IovaMapping) {
        .virt_start = start, .virt_end = last, .phys_start = output,
        .flags = perm,
    };
    y->have_run = true;
}

static int take_leaf(const ViommuPtResult *leaf, void *opaque)
{
    Sync *y = opaque;
    uint64_t start = leaf->iova, output = leaf->output, a;
    uint64_t last = leaf->iova | viommu_low_mask(leaf->page_shift);
    unsigned perm = leaf->perm & PERM_MASK, i;

    if (!perm) {
        return 0;                       /* no access: nothing to map */
    }
    if (start < y->start) {
        output += y->start - start;
        start = y->start;
    }
    if (last > y->last) {
        last = y->last;
    }
    /* nothing in a hole (the interrupt window, say) reaches a notifier */
    a = start;
    for (i = 0; i < y->s->nr_holes; i++) {
        const uint64_t *h = y->s->holes[i];

        if (h[1] < a) {
            continue;
        }
        if (h[0] > last) {
            break;
        }
        if (h[0] > a) {
            add_piece(y, a, h[0] - 1, output + (a - start), perm,
                      leaf->page_shift);
        }
        if (h[1] >= last) {
            return 0;
        }
        a = h[1] + 1;
    }
    add_piece(y, a, last, output + (a - start), perm, leaf->page_shift);
    return 0;
}

/* Pass 1: held mappings in the gap before @run, or not matching it, go. */
static void settle_run(Sync *y, const IovaMapping *run)
{
    if (!y->cursor_done && run->virt_start > y->cursor) {
        drop_mismatches(y->s, y->cursor, run->virt_start - 1, NULL, y->fn,
                        y->opaque);
    }
    drop_mismatches(y->s, run->virt_start, run->virt_end, run, y->fn,
                    y->opaque);
    y->cursor = run->virt_end + 1;
    y->cursor_done = run->virt_end == UINT64_MAX;
}

/* Pass 2: what nothing holds of @run is mapped. */
static void map_run(Sync *y, const IovaMapping *run)
{
    uint64_t pos = run->virt_start;
    Find f;

    for (;;) {
        IovaMapping gap = *run;

        f = (Find) { 0 };
        iova_map_foreach_in(y->s->map, pos, run->virt_end, find_first, &f);
        gap.virt_start = pos;
        gap.virt_end = f.hit ? f.found.virt_start - 1 : run->virt_end;
        gap.phys_start = run->phys_start + (pos - run->virt_start);
        if (!f.hit || f.found.virt_start > pos) {
            if (iova_map_insert(y->s->map, &gap) == IOVA_MAP_OK) {
                emit(true, &gap, y->fn, y->opaque);
            } else {
                y->full = true;
            }
        }
        if (!f.hit || f.found.virt_end >= run->virt_end) {
            return;
        }
        pos = f.found.virt_end + 1;
    }
}

static ViommuPtFault walk_runs(Sync *y, const ViommuPtConfig *cfg, RunFn fn)
{
    ViommuPtFault fault = VIOMMU_PT_OK;

    y->on_run = fn;
    y->have_run = false;
    if (cfg) {
        viommu_pt_for_each_leaf(cfg, y->start, y->last, take_leaf, y, &fault);
    }
    flush_run(y);
    return fault;
}

/* Widens [start, last] to the held mappings it meets. */
static int widen(const IovaMapping *m, void *opaque)
{
    Sync *y = opaque;

    if (m->virt_start < y->start) {
        y->start = m->virt_start;
    }
    if (m->virt_end > y->last) {
        y->last = m->virt_end;
    }
    return 0;
}

ViommuShadowStatus viommu_shadow_sync(ViommuShadow *s,
                                      const ViommuPtConfig *cfg,
                                      uint64_t start, uint64_t last,
                                      ViommuShadowFn fn, void *opaque,
                                      ViommuPtFault *fault)
{
    Sync y = {
        .s = s, .start = start, .last = last, .fn = fn, .opaque = opaque,
    };

    *fault = VIOMMU_PT_OK;
    if (start > last) {
        return VIOMMU_SHADOW_OK;
    }
    y.start = start & ~0xfffull;        /* whole 4 KiB pages */
    y.last = last | 0xfff;
    iova_map_foreach_in(s->map, y.start, y.last, widen, &y);
    y.cursor = y.start;
    *fault = walk_runs(&y, cfg, settle_run);
    if (*fault != VIOMMU_PT_OK) {
        /* what the tables say is unknown: hold nothing there */
        drop_mismatches(s, y.start, y.last, NULL, fn, opaque);
        return VIOMMU_SHADOW_WALK_FAULT;
    }
    if (!y.cursor_done && y.cursor <= y.last) {
        drop_mismatches(s, y.cursor, y.last, NULL, fn, opaque);
    }
    *fault = walk_runs(&y, cfg, map_run);
    if (*fault != VIOMMU_PT_OK) {
        drop_mismatches(s, y.start, y.last, NULL, fn, opaque);
        return VIOMMU_SHADOW_WALK_FAULT;
    }
    return y.full ? VIOMMU_SHADOW_FULL : VIOMMU_SHADOW_OK;
}

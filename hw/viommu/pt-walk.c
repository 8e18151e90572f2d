/*
 * qemu-viommu: one walker for the I/O page-table formats of VT-d and AMD-Vi.
 *
 * Levels are numbered from 1 (the table of 4 KiB entries) up to the top;
 * an entry at level L maps 2^(12 + 9 (L - 1)) bytes of input address. A
 * format's decode() turns one entry into a step (absent, next table, leaf
 * or fault) and the permissions it grants; the walk ANDs those along the
 * way, as both specifications do.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/pt-walk.h"
#include "hw/viommu/pow2-split.h"

#include <stddef.h>

#define ENTRIES         (1u << VIOMMU_PT_LEVEL_BITS)
#define ADDR_FIELD      0x000ffffffffff000ull      /* bits 51:12 */
#define ALL_PERMS       (VIOMMU_PT_READ | VIOMMU_PT_WRITE | VIOMMU_PT_USER)

typedef enum PtStepKind {
    STEP_ABSENT,
    STEP_TABLE,
    STEP_LEAF,
    STEP_FAULT,
} PtStepKind;

typedef struct PtStep {
    PtStepKind kind;
    ViommuPtFault fault;        /* STEP_FAULT */
    uint64_t addr;              /* next table, or leaf output (page aligned) */
    int next_level;             /* STEP_TABLE */
    unsigned page_shift;        /* STEP_LEAF */
    unsigned perm;              /* what this entry grants */
    bool snoop;
} PtStep;

struct ViommuPtFormat {
    const char *name;
    int min_levels;
    int max_levels;
    bool canonical;             /* inputs sign-extended from the top bit */
    uint32_t large_levels;      /* levels that may hold a large leaf at all */
    void (*decode)(const ViommuPtConfig *cfg, uint64_t pte, int level,
                   PtStep *step);
    /* bits to set in a used entry (first stage A/D), or NULL */
    uint64_t (*used_bits)(bool leaf, unsigned perm);
};

static inline unsigned level_shift(int level)
{
    return VIOMMU_PT_PAGE_SHIFT + VIOMMU_PT_LEVEL_BITS * (level - 1);
}

/*
 * The output address field of an entry, aligned to 2^@align_shift, or a
 * reserved-bits fault if it, or the block it starts, passes the output width.
 */
static bool take_address(const ViommuPtConfig *cfg, uint64_t pte,
                         unsigned align_shift, PtStep *step)
{
    uint64_t addr = pte & ADDR_FIELD;

    if ((addr | viommu_low_mask(align_shift)) & ~cfg->out_mask) {
        step->kind = STEP_FAULT;
        step->fault = VIOMMU_PT_RESERVED;
        return false;
    }
    step->addr = addr & ~viommu_low_mask(align_shift);
    return true;
}

static void leaf_or_table(const ViommuPtConfig *cfg, uint64_t pte, int level,
                          bool large, PtStep *step)
{
    if (level > 1 && large &&
        !(cfg->leaf_levels & cfg->fmt->large_levels & (1u << level))) {
        step->kind = STEP_FAULT;       /* PS where the capability has none */
        step->fault = VIOMMU_PT_RESERVED;
        return;
    }
    if (level == 1 || large) {
        step->kind = STEP_LEAF;
        step->page_shift = level_shift(level);
    } else {
        step->kind = STEP_TABLE;
        step->next_level = level - 1;
        step->page_shift = VIOMMU_PT_PAGE_SHIFT;
    }
    take_address(cfg, pte, step->page_shift, step);
}

/*
 * VT-d second stage (VT-d 4.1, 9.8): R (bit 0) and W (bit 1), absent when
 * both are clear; PS (bit 7) makes a 2 MiB or 1 GiB leaf at levels 2 and 3
 * as SLLPS allows (its address bits below the page are reserved), and is
 * ignored at level 1; SNP (bit 11) in leaves.
 */
static void vtd_sl_decode(const ViommuPtConfig *cfg, uint64_t pte, int level,
                          PtStep *step)
{
    step->perm = (pte & 1 ? VIOMMU_PT_READ : 0) |
                 (pte & 2 ? VIOMMU_PT_WRITE : 0) | VIOMMU_PT_USER;
    bool large = level > 1 && (pte & (1u << 7));

    if (!(pte & 3)) {
        step->kind = STEP_ABSENT;
        return;
    }
    if (large && (pte & ADDR_FIELD & viommu_low_mask(level_shift(level)))) {
        step->kind = STEP_FAULT;        /* address bits below a large page */
        step->fault = VIOMMU_PT_RESERVED;
        return;
    }
    leaf_or_table(cfg, pte, level, large, step);
    step->snoop = pte & (1u << 11);
}

/*
 * x86-64 paging entries as the VT-d first stage uses them (VT-d 4.1, 9.7):
 * P (bit 0), R/W (bit 1), U/S (bit 2), A (bit 5), D (bit 6, leaves), PS
 * (bit 7) at levels 2 and 3; a large leaf's PAT is bit 12 and the bits
 * between it and the page's alignment are reserved.
 */
static void x86_fl_decode(const ViommuPtConfig *cfg, uint64_t pte, int level,
                          PtStep *step)
{
    bool large = level > 1 && (pte & (1u << 7));

    step->perm = VIOMMU_PT_READ | (pte & 2 ? VIOMMU_PT_WRITE : 0) |
                 (pte & 4 ? VIOMMU_PT_USER : 0);
    if (!(pte & 1)) {
        step->kind = STEP_ABSENT;
        return;
    }
    if (large && (pte & ADDR_FIELD & viommu_low_mask(level_shift(level)) &
                  ~(1ull << 12))) {
        step->kind = STEP_FAULT;
        step->fault = VIOMMU_PT_RESERVED;
        return;
    }
    leaf_or_table(cfg, pte, level, large, step);
}

static uint64_t x86_fl_used_bits(bool leaf, unsigned perm)
{
    return (1u << 5) | (leaf && (perm & VIOMMU_PT_WRITE) ? 1u << 6 : 0);
}

/*
 * AMD-Vi host page tables (AMD IOMMU 3.x, 2.2.3): PR (bit 0), Next Level
 * (bits 11:9), address (51:12), IR (bit 61), IW (bit 62). Next Level 0 is
 * a leaf of the level's own size; 1 to level - 1 a table (levels between
 * are skipped); 7 a leaf whose size is coded in the address: the count of
 * ones from bit 12 up, n, gives 2^(13 + n) bytes, between the level's own
 * size and the next level's.
 */
static void amd_v1_decode(const ViommuPtConfig *cfg, uint64_t pte, int level,
                          PtStep *step)
{
    unsigned next = (pte >> 9) & 7;
    unsigned shift;

    step->perm = (pte & (1ull << 61) ? VIOMMU_PT_READ : 0) |
                 (pte & (1ull << 62) ? VIOMMU_PT_WRITE : 0) | VIOMMU_PT_USER;
    if (!(pte & 1)) {
        step->kind = STEP_ABSENT;
        return;
    }
    if (next == 0) {                    /* a leaf of the level's own size */
        step->kind = STEP_LEAF;
        step->page_shift = level_shift(level);
        take_address(cfg, pte, step->page_shift, step);
        return;
    }
    if (next == 7) {
        shift = VIOMMU_PT_PAGE_SHIFT + 1;
        while (shift < 52 && (pte >> (shift - 1)) & 1) {
            shift++;
        }
        if (shift <= level_shift(level) ||
            (level_shift(level) + VIOMMU_PT_LEVEL_BITS < 64 &&
             shift >= level_shift(level) + VIOMMU_PT_LEVEL_BITS)) {
            step->kind = STEP_FAULT;
            step->fault = VIOMMU_PT_RESERVED;
            return;
        }
        step->kind = STEP_LEAF;
        step->page_shift = shift;
        take_address(cfg, pte, shift, step);
        return;
    }
    if ((int)next >= level) {
        step->kind = STEP_FAULT;
        step->fault = VIOMMU_PT_BAD_LEVEL;
        return;
    }
    step->kind = STEP_TABLE;
    step->next_level = next;
    take_address(cfg, pte, VIOMMU_PT_PAGE_SHIFT, step);
}

const ViommuPtFormat viommu_pt_vtd_sl = {
    .name = "vtd-second-stage",
    .min_levels = 3,
    .max_levels = 5,
    .large_levels = 1u << 2 | 1u << 3,         /* 2 MiB, 1 GiB */
    .decode = vtd_sl_decode,
};

const ViommuPtFormat viommu_pt_x86_fl = {
    .name = "x86-first-stage",
    .min_levels = 4,
    .max_levels = 5,
    .canonical = true,
    .large_levels = 1u << 2 | 1u << 3,         /* 2 MiB, 1 GiB */
    .decode = x86_fl_decode,
    .used_bits = x86_fl_used_bits,
};

const ViommuPtFormat viommu_pt_amd_v1 = {
    .name = "amd-v1",
    .min_levels = 1,
    .max_levels = 6,
    .decode = amd_v1_decode,
};

unsigned viommu_pt_input_bits(const ViommuPtConfig *cfg)
{
    unsigned bits = level_shift(cfg->levels) + VIOMMU_PT_LEVEL_BITS;

    return bits > 64 ? 64 : bits;
}

static bool config_ok(const ViommuPtConfig *cfg)
{
    return cfg->fmt && cfg->read && cfg->levels >= cfg->fmt->min_levels &&
           cfg->levels <= cfg->fmt->max_levels &&
           (!(cfg->flags & VIOMMU_PT_SET_AD) || cfg->write);
}

/* Whether @iova lies in the input range (canonical where the format is). */
static bool input_ok(const ViommuPtConfig *cfg, uint64_t iova)
{
    unsigned bits = viommu_pt_input_bits(cfg);
    uint64_t high;

    if (bits >= 64) {
        return true;
    }
    high = iova >> (bits - (cfg->fmt->canonical ? 1 : 0));
    return high == 0 ||
           (cfg->fmt->canonical && high == (~0ull >> (bits - 1)));
}

/* walk_once(): an entry changed under an A/D update, walk again */
#define WALK_AGAIN (-1)

static inline unsigned entry_index(uint64_t iova, int level)
{
    return (iova >> level_shift(level)) & (ENTRIES - 1);
}

/* False if the entry changed before its A/D bits could be set. */
static bool set_used(const ViommuPtConfig *cfg, uint64_t addr, uint64_t pte,
                     bool leaf, unsigned perm)
{
    uint64_t bits;

    if (!(cfg->flags & VIOMMU_PT_SET_AD) || !cfg->fmt->used_bits) {
        return true;
    }
    bits = cfg->fmt->used_bits(leaf, perm);
    return (pte & bits) == bits ||
           cfg->write(cfg->opaque, addr, pte, pte | bits);
}

/*
 * Fills a result for the leaf @step found at @level for @iova. An AMD
 * Next Level 7 page spans several entries that software must replicate;
 * the result covers only this entry's part of it, so that a walk and the
 * leaf visitor agree whatever the replicas say.
 */
static void leaf_result(const PtStep *step, int level, uint64_t iova,
                        unsigned granted, uint64_t pte, ViommuPtResult *res)
{
    unsigned shift = step->page_shift;
    uint64_t output = step->addr;

    if (shift > level_shift(level)) {
        output += iova & viommu_low_mask(shift) &
                  ~viommu_low_mask(level_shift(level));
        shift = level_shift(level);
    }
    *res = (ViommuPtResult) {
        .iova = iova & ~viommu_low_mask(shift),
        .output = output,
        .page_shift = shift,
        .perm = granted,
        .snoop = step->snoop,
        .level = level,
        .entry = pte,
    };
}

/* One walk; VIOMMU_PT_AD_RETRIES asks for another (an entry changed). */
static int walk_once(const ViommuPtConfig *cfg, uint64_t iova, unsigned perm,
                     ViommuPtResult *res)
{
    uint64_t table = cfg->root & ~viommu_low_mask(VIOMMU_PT_PAGE_SHIFT);
    uint64_t addr, pte = 0;
    unsigned granted = ALL_PERMS;
    int level = cfg->levels;
    PtStep step;

    *res = (ViommuPtResult) { .level = level };
    for (;;) {
        addr = table + 8ull * entry_index(iova, level);
        res->level = level;
        if (!cfg->read(cfg->opaque, addr, &pte)) {
            return VIOMMU_PT_READ_FAILED;
        }
        res->entry = pte;
        step = (PtStep) { .kind = STEP_ABSENT };
        cfg->fmt->decode(cfg, pte, level, &step);
        if (step.kind == STEP_ABSENT) {
            return VIOMMU_PT_NOT_PRESENT;
        }
        if (step.kind == STEP_FAULT) {
            return step.fault;
        }
        granted &= step.perm;
        if (step.kind == STEP_LEAF) {
            break;
        }
        /* skipped levels (AMD): their input bits must be zero */
        if (iova & viommu_low_mask(level_shift(level)) &
            ~viommu_low_mask(level_shift(step.next_level + 1))) {
            return VIOMMU_PT_ADDR_WIDTH;
        }
        if (!set_used(cfg, addr, pte, false, perm)) {
            return WALK_AGAIN;
        }
        table = step.addr;
        level = step.next_level;
    }
    if (perm & ~granted) {
        return VIOMMU_PT_PERM;
    }
    if (!set_used(cfg, addr, pte, true, perm)) {
        return WALK_AGAIN;
    }
    leaf_result(&step, level, iova, granted, pte, res);
    return VIOMMU_PT_OK;
}

ViommuPtFault viommu_pt_walk(const ViommuPtConfig *cfg, uint64_t iova,
                             unsigned perm, ViommuPtResult *res)
{
    int fault = WALK_AGAIN;

    *res = (ViommuPtResult) { .level = cfg->levels };
    if (!config_ok(cfg)) {
        return VIOMMU_PT_BAD_CONFIG;
    }
    if (!input_ok(cfg, iova)) {
        return VIOMMU_PT_ADDR_WIDTH;
    }
    for (int i = 0; i < VIOMMU_PT_AD_RETRIES && fault == WALK_AGAIN; i++) {
        fault = walk_once(cfg, iova, perm, res);
    }
    /* a guest that keeps changing the entry gets a fault, not a hang */
    return fault == WALK_AGAIN ? VIOMMU_PT_READ_FAILED : fault;
}

typedef struct LeafVisit {
    const ViommuPtConfig *cfg;
    uint64_t start, last;
    ViommuPtLeafFn fn;
    void *opaque;
    ViommuPtFault fault;
    uint64_t reads_left;
} LeafVisit;

/* The input address of entry @idx of a table at @level based at @base. */
static uint64_t entry_iova(const LeafVisit *v, int level, uint64_t base,
                           unsigned idx)
{
    uint64_t iova = base + ((uint64_t)idx << level_shift(level));
    unsigned bits = viommu_pt_input_bits(v->cfg);

    if (v->cfg->fmt->canonical && level == v->cfg->levels && bits < 64 &&
        (iova >> (bits - 1)) & 1) {
        iova |= ~viommu_low_mask(bits);
    }
    return iova;
}

static int visit_table(LeafVisit *v, int level, uint64_t table, uint64_t base,
                       uint64_t reach_last, unsigned granted)
{
    unsigned shift = level_shift(level), idx, count = ENTRIES;
    uint64_t iova, end, pte;
    ViommuPtResult res;
    PtStep step;
    int ret;

    if (shift + VIOMMU_PT_LEVEL_BITS > 64) {
        count = 1u << (64 - shift);     /* AMD mode 6: bits 63:57 */
    }
    for (idx = 0; idx < count; idx++) {
        iova = entry_iova(v, level, base, idx);
        end = iova | viommu_low_mask(shift);
        if (end < v->start || iova > v->last || iova > reach_last) {
            continue;
        }
        if (!v->reads_left--) {
            v->fault = VIOMMU_PT_TOO_LARGE;
            return 0;
        }
        if (!v->cfg->read(v->cfg->opaque, table + 8ull * idx, &pte)) {
            v->fault = VIOMMU_PT_READ_FAILED;
            return 0;
        }
        step = (PtStep) { .kind = STEP_ABSENT };
        v->cfg->fmt->decode(v->cfg, pte, level, &step);
        if (step.kind == STEP_TABLE) {
            /* a skipped level leaves only its zero-bits part reachable */
            uint64_t reach = viommu_low_mask(level_shift(step.next_level + 1));

            ret = visit_table(v, step.next_level, step.addr, iova,
                              iova | reach, granted & step.perm);
            if (ret || v->fault) {
                return ret;
            }
        } else if (step.kind == STEP_LEAF) {
            leaf_result(&step, level, iova, granted & step.perm, pte, &res);
            ret = v->fn(&res, v->opaque);
            if (ret) {
                return ret;
            }
        }
    }
    return 0;
}

int viommu_pt_for_each_leaf(const ViommuPtConfig *cfg, uint64_t start,
                            uint64_t last, ViommuPtLeafFn fn, void *opaque,
                            ViommuPtFault *fault)
{
    LeafVisit v = {
        .cfg = cfg, .start = start, .last = last, .fn = fn, .opaque = opaque,
        .reads_left = cfg->max_reads ? cfg->max_reads : VIOMMU_PT_MAX_READS,
    };
    int ret;

    *fault = VIOMMU_PT_OK;
    if (!config_ok(cfg)) {
        *fault = VIOMMU_PT_BAD_CONFIG;
        return 0;
    }
    if (start > last) {
        return 0;
    }
    ret = visit_table(&v, cfg->levels,
                      cfg->root & ~viommu_low_mask(VIOMMU_PT_PAGE_SHIFT), 0,
                      ~0ull, ALL_PERMS);
    *fault = v.fault;
    return ret;
}

/*
 * qemu-viommu: intel-iommu, a VT-d remapping hardware unit (Intel
 * Virtualization Technology for Directed I/O, Architecture Specification
 * rev. 4.x/5.0).
 *
 * QEMU glue around the QEMU-independent core (hw/viommu/): the register
 * file (chapter 11), the per-device address spaces, the context cache, the
 * queued and register-based invalidation (chapter 6), fault recording
 * (chapter 7), interrupt remapping (chapter 5) and the IOMMU notifiers
 * (VFIO, vhost) kept exact through the core's notifier shadow.
 *
 * Locking: the BQL covers the registers, the invalidation queue, the
 * address-space layout and the notifier shadows. s->lock covers the
 * context cache and the IOTLB, which translate() uses without the BQL
 * (IOThreads). Order: BQL, then s->lock; nothing is called with s->lock
 * held that could take the BQL or call a notifier.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "qemu/cutils.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/sysbus.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_bus.h"
#include "hw/pci/pci_host.h"
#include "hw/pci/pci_bridge.h"
#include "hw/pci-host/q35.h"
#include "hw/i386/pc.h"
#include "hw/i386/apic_internal.h"
#include "hw/i386/intel_iommu.h"
#include "hw/i386/viommu-glue.h"
#include "hw/i386/viommu-ram.h"
#include "hw/acpi/aml-build.h"
#include "migration/vmstate.h"
#include "exec/address-spaces.h"
#include "system/kvm.h"
#include "system/runstate.h"
#include "system/system.h"
#include "kvm/kvm_i386.h"
#include "acpi-common.h"
#include "e820_memory_layout.h"
#include "trace.h"

#include "hw/viommu/acpi-dmar.h"
#include "hw/viommu/iotlb.h"
#include "hw/viommu/pow2-split.h"
#include "hw/viommu/pt-walk.h"
#include "hw/viommu/regfile.h"
#include "hw/viommu/shadow.h"
#include "hw/viommu/xlate-fast.h"
#include "hw/viommu/iommu-direct.h"
#include "hw/viommu/vtd-context.h"
#include "hw/viommu/vtd-irte.h"
#include "hw/viommu/vtd-qi.h"

/* ---- registers (11.4) ---- */

enum {
    R_VER = 0x00, R_CAP = 0x08, R_ECAP = 0x10, R_GCMD = 0x18, R_GSTS = 0x1c,
    R_RTADDR = 0x20, R_CCMD = 0x28, R_FSTS = 0x34, R_FECTL = 0x38,
    R_FEDATA = 0x3c, R_FEADDR = 0x40, R_FEUADDR = 0x44, R_PMEN = 0x64,
    R_IQH = 0x80, R_IQT = 0x88, R_IQA = 0x90, R_ICS = 0x9c, R_IECTL = 0xa0,
    R_IEDATA = 0xa4, R_IEADDR = 0xa8, R_IEUADDR = 0xac, R_IQERCD = 0xb0,
    R_IRTA = 0xb8, R_IVA = 0xf0, R_IOTLB = 0xf8, R_FRCD = 0x220,
};

#define CAP_NFR_SHIFT   40      /* CAP.NFR: fault records less one */

/* GCMD / GSTS (11.4.4, 11.4.5) */
#define GS_CFI          (1u << 23)
#define GS_SIRTP        (1u << 24)
#define GS_IRE          (1u << 25)
#define GS_QIE          (1u << 26)
#define GS_WBF          (1u << 27)
#define GS_SFL          (1u << 29)
#define GS_SRTP         (1u << 30)
#define GS_TE           (1u << 31)

/* CCMD (11.4.7), IOTLB (11.4.8.1) */
#define CCMD_ICC        (1ull << 63)
#define IOTLB_IVT       (1ull << 63)

/* FSTS (11.4.9), FECTL/IECTL (11.4.10, 11.4.11.4), ICS */
#define FSTS_PFO        (1u << 0)
#define FSTS_PPF        (1u << 1)
#define FSTS_IQE        (1u << 4)
#define FSTS_ICE        (1u << 5)
#define FSTS_ITE        (1u << 6)
#define FSTS_FRI_SHIFT  8
#define CTL_IM          (1u << 31)
#define CTL_IP          (1u << 30)
#define ICS_IWC         1u

/* IQERCD.IQEI (11.4.7.4) */
#define IQEI_TAIL       1       /* IQT not aligned for 256-bit descriptors */
#define IQEI_FETCH      2       /* the descriptor could not be read */
#define IQEI_INVALID    3       /* reserved type, bits or granularity */

/* Fault recording register, upper quadword (11.4.14) */
#define FRCD_F          (1ull << 63)
#define FRCD_T_READ     (1ull << 62)

/* RTADDR.TTM, IQA.DW, IRTA.EIME */
#define RTADDR_TTM_SCALABLE     (1ull << 10)
#define IQA_DW                  (1ull << 11)
#define IRTA_EIME               (1ull << 11)

/* The interrupt address range: DMA writes here are interrupt requests. */
#define VTD_INTR_BASE   0xfee00000ULL
#define VTD_INTR_SIZE   0x100000ULL

#define VTD_IOTLB_ENTRIES   4096
#define VTD_SHADOW_MAX      (1u << 20)
#define VTD_LOG_BURST       16
#define VTD_QI_SLICE_NS     (2 * SCALE_MS)

/* What a resolved context says about a request. */
typedef enum VtdMode {
    VTD_MODE_TRANSLATE,
    VTD_MODE_PASS_THROUGH,
} VtdMode;

/* A context-cache entry: the device's resolved context (and PASID entry). */
typedef struct VtdCtxCache {
    bool valid;
    uint16_t sid;               /* resolved for this source ID */
    VtdMode mode;
    uint16_t domain;
    uint32_t pasid;             /* VIOMMU_IOTLB_NO_PASID in legacy mode */
    bool first_stage;
    bool fpd;
    uint64_t root;
    int levels;
} VtdCtxCache;

struct VTDAddressSpace {
    IntelIOMMUState *s;
    PCIBus *bus;                /* NULL: the IOAPIC's pseudo device */
    uint8_t devfn;
    ViommuSpaceRegions mr;      /* translated, or straight to memory */
    VtdCtxCache ctx;            /* under s->lock */
    IOMMUNotifierFlag notifier_flags;
    ViommuShadow *shadow;       /* what MAP notifiers hold */
    QLIST_ENTRY(VTDAddressSpace) next;
    ViommuXc xc;                /* translate fast path; filled under lock */
};

static uint32_t reg_l(IntelIOMMUState *s, hwaddr r)
{
    return ldl_le_p(s->csr + r);
}

static uint64_t reg_q(IntelIOMMUState *s, hwaddr r)
{
    return ldq_le_p(s->csr + r);
}

static void set_l(IntelIOMMUState *s, hwaddr r, uint32_t v)
{
    stl_le_p(s->csr + r, v);
}

static void set_q(IntelIOMMUState *s, hwaddr r, uint64_t v)
{
    stq_le_p(s->csr + r, v);
}

static void mod_l(IntelIOMMUState *s, hwaddr r, uint32_t clear, uint32_t set)
{
    set_l(s, r, (reg_l(s, r) & ~clear) | set);
}

/*
 * Whether the space's bus is still there: a bridge unplugged takes its
 * bus away (we hold a reference to the bus object, not to its bridge).
 */
static bool space_alive(VTDAddressSpace *vas)
{
    return !vas->bus || viommu_bus_alive(vas->bus);
}

/* Requester ID; X86_IOMMU_SID_INVALID once the bus is gone. */
static uint16_t space_sid(VTDAddressSpace *vas)
{
    if (!vas->bus) {
        return Q35_PSEUDO_BUS_PLATFORM << 8 | Q35_PSEUDO_DEVFN_IOAPIC;
    }
    if (!space_alive(vas)) {
        return X86_IOMMU_SID_INVALID;
    }
    return PCI_BUILD_BDF(pci_bus_num(vas->bus), vas->devfn);
}

/* Guest errors, at most VTD_LOG_BURST a second. */
static void G_GNUC_PRINTF(2, 3) vtd_guest_error(IntelIOMMUState *s,
                                                const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    viommu_guest_verror(&s->log_limit, VTD_LOG_BURST, "intel-iommu", fmt,
                        ap);
    va_end(ap);
}

/* ---- interrupts of the unit itself: fault and invalidation events ---- */

static void send_msi(uint64_t addr, uint32_t data)
{
    MSIMessage msg = { .address = addr, .data = data };

    trace_vtd_irq_generate(addr, data);
    if ((addr & 0xfff00000u) == VTD_INTR_BASE) {
        apic_get_class(NULL)->send_msi(&msg);
    }
}

/* Raises the event of control register @ctl, or marks it pending (IP). */
static void raise_event(IntelIOMMUState *s, hwaddr ctl)
{
    uint64_t addr;

    if (reg_l(s, ctl) & CTL_IM) {
        mod_l(s, ctl, 0, CTL_IP);
        return;
    }
    mod_l(s, ctl, CTL_IP, 0);
    addr = (uint64_t)reg_l(s, ctl + 8) | (uint64_t)reg_l(s, ctl + 12) << 32;
    send_msi(addr, reg_l(s, ctl + 4));
}

/* An event left pending while masked goes out once unmasked. */
static void unmask_event(IntelIOMMUState *s, hwaddr ctl)
{
    uint32_t v = reg_l(s, ctl);

    if (!(v & CTL_IM) && (v & CTL_IP)) {
        raise_event(s, ctl);
    }
}

/* ---- primary fault logging (7.3.1) ---- */

static void update_ppf(IntelIOMMUState *s)
{
    bool pending = false;

    for (int i = 0; i < s->nr_frcd; i++) {
        pending |= reg_q(s, R_FRCD + 16 * i + 8) & FRCD_F;
    }
    if (!!(reg_l(s, R_FSTS) & FSTS_PPF) != pending) {
        trace_vtd_fsts_ppf(pending);
    }
    mod_l(s, R_FSTS, FSTS_PPF, pending ? FSTS_PPF : 0);
}

/*
 * Whether the record filled last is still pending and says the same: QEMU
 * splits a faulting access into pieces of at most 8 bytes, each of which
 * translates again; one request is one record.
 */
static bool same_as_last_record(IntelIOMMUState *s, uint64_t lo, uint64_t hi)
{
    unsigned last = (s->frcd_next + s->nr_frcd - 1) % s->nr_frcd;

    return reg_q(s, R_FRCD + 16 * last) == lo &&
           reg_q(s, R_FRCD + 16 * last + 8) == hi;
}

/*
 * Records a fault of @reason for source @sid: @info is the faulting page
 * (DMA) or the IRTE index << 48 (interrupt). The records fill in turn,
 * wrapping at s->nr_frcd; FSTS.FRI names the first one pending. A fault
 * meeting a pending record, or PFO already set, is dropped and sets PFO.
 */
static void record_fault(IntelIOMMUState *s, uint16_t sid, uint8_t reason,
                         uint64_t info, bool read)
{
    hwaddr frcd;
    bool dropped;
    uint32_t fsts = reg_l(s, R_FSTS);
    uint64_t lo = info & ~0xfffull;
    uint64_t hi = FRCD_F | (read ? FRCD_T_READ : 0) |
                  (uint64_t)reason << 32 | sid;

    if (s->frcd_next >= s->nr_frcd) {
        s->frcd_next = 0;               /* left by a refused stream */
    }
    frcd = R_FRCD + 16 * s->frcd_next;
    if (same_as_last_record(s, lo, hi)) {
        return;
    }
    trace_vtd_dmar_fault(sid, reason, info, !read);
    viommu_stats_fault(&s->stats, reason);
    dropped = (fsts & FSTS_PFO) || (reg_q(s, frcd + 8) & FRCD_F);

    vtd_guest_error(s, "DMA fault: reason 0x%x, %s from %02x:%02x.%x at "
                    "0x%" PRIx64 "%s", reason, reason >= VTD_IR_REQ_RESERVED &&
                    reason <= VTD_IR_SID_MISMATCH ? "interrupt request" :
                    read ? "read" : "write", sid >> 8, PCI_SLOT(sid & 0xff),
                    PCI_FUNC(sid & 0xff), info,
                    dropped ? ", dropped: primary fault overflow" : "");
    if (fsts & FSTS_PFO) {
        return;
    }
    if (dropped) {
        mod_l(s, R_FSTS, 0, FSTS_PFO);
        raise_event(s, R_FECTL);
        return;
    }
    set_q(s, frcd, lo);
    set_q(s, frcd + 8, hi);
    trace_vtd_frr_new(s->frcd_next, reg_q(s, frcd + 8), reg_q(s, frcd));
    if (!(fsts & FSTS_PPF)) {
        /* FRI: the first pending record, as PPF goes up */
        mod_l(s, R_FSTS, 0xffu << FSTS_FRI_SHIFT,
              (uint32_t)s->frcd_next << FSTS_FRI_SHIFT);
    }
    s->frcd_next = (s->frcd_next + 1) % s->nr_frcd;
    if (!(fsts & FSTS_PPF)) {
        update_ppf(s);
        raise_event(s, R_FECTL);
    }
}

/* Delivers faults found without the BQL (ViommuFaultQueue). */
static void record_faults(void *opaque, const void *records, unsigned n)
{
    const VtdPendingFault *f = records;

    for (unsigned i = 0; i < n; i++) {
        record_fault(opaque, f[i].sid, f[i].reason, f[i].info, f[i].read);
    }
}

/*
 * A fault seen without the BQL (translate() from an IOThread) is recorded
 * by a bottom half in the main loop; at most VTD_PENDING_FAULTS wait.
 */
static void report_fault(IntelIOMMUState *s, uint16_t sid, uint8_t reason,
                         uint64_t info, bool read)
{
    VtdPendingFault f = { sid, reason, read, info };

    viommu_fault_report(&s->faults, &f);
}

/* ---- capabilities ---- */

/*
 * CAP.SAGAW (11.4.2) for an address width: bit 1 3-level (39 bits), bit 2
 * 4-level (48), bit 3 5-level (57); every level count up to the width.
 */
static uint8_t sagaw_of(uint8_t aw_bits)
{
    return aw_bits == VTD_HOST_AW_39BIT ? 0x2 :
           aw_bits == VTD_HOST_AW_48BIT ? 0x6 : 0xe;
}

static VtdCaps vtd_caps(IntelIOMMUState *s)
{
    X86IOMMUState *x86 = X86_IOMMU_DEVICE(s);

    return (VtdCaps) {
        .sagaw = s->dma_translation ? sagaw_of(s->aw_bits) : 0,
        .pass_through = x86->pt_supported,
        .device_iotlb = x86->dt_supported,
        .first_stage = s->flts,
        .second_stage = s->scalable_mode && !s->flts,
        .fl5lp = s->flts && s->aw_bits == VTD_HOST_AW_57BIT,
        .haw_mask = VTD_HAW_MASK(s->aw_bits),
    };
}

/* The capability registers this configuration offers (11.4.2, 11.4.3). */
static void compute_caps(IntelIOMMUState *s)
{
    X86IOMMUState *x86 = X86_IOMMU_DEVICE(s);
    uint64_t cap = 6;                               /* ND: 64K domains */
    uint64_t ecap = 1ull << 1 | (uint64_t)(R_IVA >> 4) << 8 | 0xfull << 20;

    cap |= (uint64_t)vtd_caps(s).sagaw << 8;
    cap |= (uint64_t)(s->aw_bits - 1) << 16;        /* MGAW */
    cap |= (uint64_t)(R_FRCD >> 4) << 24;           /* FRO */
    cap |= 3ull << 34 | 1ull << 39;                 /* SLLPS 2M 1G, PSI */
    cap |= (uint64_t)(VTD_NR_FRCD - 1) << CAP_NFR_SHIFT;
    cap |= 18ull << 48;                             /* MAMV */
    if (s->caching_mode) {
        cap |= 1ull << 7;
    }
    if (s->dma_drain) {
        cap |= 3ull << 54;                          /* DWD, DRD */
    }
    if (s->flts && s->fs1gp) {
        cap |= 1ull << 56;                          /* FS1GP */
    }
    if (vtd_caps(s).fl5lp) {
        cap |= 1ull << 60;                          /* FL5LP */
    }
    if (x86_iommu_ir_supported(x86)) {
        ecap |= 1ull << 3;
        if (s->intr_eim == ON_OFF_AUTO_ON) {
            ecap |= 1ull << 4;
        }
    }
    if (x86->dt_supported) {
        ecap |= 1ull << 2;
    }
    if (x86->pt_supported) {
        ecap |= 1ull << 6;
    }
    if (s->snoop_control) {
        ecap |= 1ull << 7;
    }
    if (s->scalable_mode) {
        ecap |= 1ull << 43;                         /* SMTS */
        ecap |= s->flts ? 1ull << 47 : (1ull << 46 | 1ull << 31);
        if (s->pasid) {
            ecap |= 1ull << 40;
        }
    }
    s->cap = cap;
    s->ecap = ecap;
}

/* ---- context resolution and the context cache ---- */

static uint32_t sl_leaf_levels(void)
{
    return 1u << 2 | 1u << 3;                       /* SLLPS: 2M, 1G */
}

/* Resolves the legacy context of @sid (9.1 to 9.3). */
/* Where the root entry of @sid's bus lies (guest-physical). */
static uint64_t root_entry_addr(IntelIOMMUState *s, uint16_t sid)
{
    return s->root_table + 16 * (sid >> 8);
}

/*
 * Where the context entry of @devfn lies in @table: 128-bit entries for
 * all 256 functions (legacy), or 256-bit ones for half of them (scalable).
 */
static uint64_t context_entry_addr(uint64_t table, bool scalable,
                                   uint8_t devfn)
{
    return scalable ? table + 32 * (devfn % 128) : table + 16 * devfn;
}

static VtdDmaFault resolve_legacy(IntelIOMMUState *s, uint16_t sid,
                                  const VtdCaps *caps, VtdCtxCache *c)
{
    uint64_t re[2], ce[2], table;
    VtdContext ctx;
    VtdDmaFault f;

    if (!viommu_ram_read_n(root_entry_addr(s, sid), re, 2)) {
        return VTD_FR_ROOT_READ;
    }
    f = vtd_root_context_table(re[0], re[1], false, sid & 0xff, caps, &table);
    if (f == VTD_FR_ROOT_NOT_PRESENT) {
        trace_vtd_re_not_present(sid >> 8);
    }
    if (f) {
        return f;
    }
    if (!viommu_ram_read_n(context_entry_addr(table, false, sid & 0xff),
                           ce, 2)) {
        return VTD_FR_CONTEXT_READ;
    }
    f = vtd_context_decode(ce[0], ce[1], caps, &ctx, &c->fpd);
    if (f == VTD_FR_CONTEXT_NOT_PRESENT) {
        trace_vtd_ce_not_present(sid >> 8, sid & 0xff);
    }
    if (f) {
        return f;
    }
    c->mode = ctx.type == VTD_TT_PASS_THROUGH ? VTD_MODE_PASS_THROUGH
                                              : VTD_MODE_TRANSLATE;
    c->domain = ctx.domain;
    c->pasid = VIOMMU_IOTLB_NO_PASID;
    c->first_stage = false;
    c->root = ctx.slptptr;
    c->levels = ctx.levels;
    return VTD_FR_OK;
}

/* Resolves the scalable-mode context and RID_PASID entry (9.4 to 9.6). */
static VtdDmaFault resolve_scalable(IntelIOMMUState *s, uint16_t sid,
                                    const VtdCaps *caps, VtdCtxCache *c)
{
    uint64_t re[2], ce[4], pe[8], table, ptable;
    uint8_t devfn = sid & 0xff;
    VtdSmContext ctx;
    VtdPasidEntry pasid;
    VtdDmaFault f;

    if (!viommu_ram_read_n(root_entry_addr(s, sid), re, 2)) {
        return VTD_FR_SM_ROOT_READ;
    }
    f = vtd_root_context_table(re[0], re[1], true, devfn, caps, &table);
    if (f) {
        return f;
    }
    if (!viommu_ram_read_n(context_entry_addr(table, true, devfn), ce, 4)) {
        return VTD_FR_SM_CONTEXT_READ;
    }
    f = vtd_sm_context_decode(ce, caps, &ctx, &c->fpd);
    if (f) {
        return f;
    }
    f = vtd_pasid_table(&ctx, ctx.rid_pasid, caps, viommu_ram_read_q, NULL,
                        &ptable, &c->fpd);
    if (f) {
        return f;
    }
    if (!viommu_ram_read_n(ptable + 64 * (ctx.rid_pasid % 64), pe, 8)) {
        return VTD_FR_SM_PASID_READ;
    }
    f = vtd_pasid_entry_decode(pe, caps, &pasid, &c->fpd);
    if (f) {
        return f;
    }
    c->domain = pasid.domain;
    c->pasid = ctx.rid_pasid;
    c->mode = VTD_MODE_TRANSLATE;
    c->first_stage = pasid.pgtt == VTD_PGTT_FIRST_STAGE;
    switch (pasid.pgtt) {
    case VTD_PGTT_PASS_THROUGH:
        c->mode = VTD_MODE_PASS_THROUGH;
        break;
    case VTD_PGTT_FIRST_STAGE:
        c->root = pasid.flptptr;
        c->levels = pasid.fs_levels;
        break;
    case VTD_PGTT_SECOND_STAGE:
        c->root = pasid.ssptptr;
        c->levels = pasid.ss_levels;
        break;
    default:
        return VTD_FR_SM_PASID_INVALID;         /* nested: not offered */
    }
    return VTD_FR_OK;
}

/*
 * The device's context, from the context cache or the tables; faults are
 * not cached. Called with s->lock held.
 */
static VtdDmaFault space_context(VTDAddressSpace *vas, VtdCtxCache *out)
{
    IntelIOMMUState *s = vas->s;
    uint16_t sid = space_sid(vas);
    VtdCtxCache c = { .valid = true, .sid = sid };
    VtdCaps caps;
    VtdDmaFault f;

    /* tagged by source ID, as hardware's: a renumbered bus looks again */
    if (vas->ctx.valid && vas->ctx.sid == sid) {
        *out = vas->ctx;
        return VTD_FR_OK;
    }
    *out = c;
    if (!space_alive(vas)) {
        return VTD_FR_CONTEXT_NOT_PRESENT;
    }
    caps = vtd_caps(s);
    if (s->root_scalable) {
        f = resolve_scalable(s, sid, &caps, &c);
    } else {
        f = resolve_legacy(s, sid, &caps, &c);
    }
    *out = c;
    if (f == VTD_FR_OK) {
        vas->ctx = c;
    }
    return f;
}

static ViommuPtConfig walk_config(IntelIOMMUState *s, const VtdCtxCache *c)
{
    ViommuPtConfig cfg = {
        .fmt = c->first_stage ? &viommu_pt_x86_fl : &viommu_pt_vtd_sl,
        .root = c->root,
        .levels = c->levels,
        .leaf_levels = c->first_stage ? (s->fs1gp ? 1u << 2 | 1u << 3
                                                  : 1u << 2)
                                      : sl_leaf_levels(),
        .out_mask = VTD_HAW_MASK(s->aw_bits),
        .flags = c->first_stage ? VIOMMU_PT_SET_AD : 0,
        .read = viommu_ram_read_q,
        .write = viommu_ram_cmpxchg_q,
    };
    return cfg;
}

/* The fault reason a walk fault is recorded with (7.1.3). */
static uint8_t walk_fault_reason(const VtdCtxCache *c, ViommuPtFault f,
                                 bool write)
{
    uint8_t legacy = vtd_fault_from_walk(f, write);

    if (c->pasid == VIOMMU_IOTLB_NO_PASID) {
        return legacy;
    }
    /* scalable mode: second stage 0x7x / first stage 0x9x equivalents */
    switch (f) {
    case VIOMMU_PT_PERM:
        return write ? 0x86 : 0x85;         /* SM: write / read denied */
    case VIOMMU_PT_RESERVED:
        return c->first_stage ? 0x92 : 0x7a;
    case VIOMMU_PT_ADDR_WIDTH:
        return 0x80;
    default:
        return c->first_stage ? 0x90 : 0x78;
    }
}

/* ---- DMA translation ---- */

typedef struct VtdXlate {
    ViommuIotlbEntry e;
    uint8_t fault;              /* 0: translated */
    bool fpd;
    bool cacheable;             /* from the IOTLB: the fast path may hold it */
} VtdXlate;

/* Translates @addr for @vas with s->lock held; fills *x. */
static void translate_locked(VTDAddressSpace *vas, uint64_t addr,
                             unsigned perm, VtdXlate *x)
{
    IntelIOMMUState *s = vas->s;
    uint16_t sid = space_sid(vas);
    VtdCtxCache c;
    ViommuPtConfig cfg;
    ViommuPtResult res;
    ViommuPtFault f;

    x->fault = space_context(vas, &c);
    x->fpd = c.fpd;
    if (x->fault) {
        return;
    }
    if (c.mode == VTD_MODE_PASS_THROUGH) {
        x->e = (ViommuIotlbEntry) {
            .iova = addr & ~0xfffull, .output = addr & ~0xfffull,
            .page_shift = 12, .perm = VIOMMU_PT_READ | VIOMMU_PT_WRITE,
        };
        return;
    }
    x->cacheable = true;
    if (viommu_iotlb_lookup(s->iotlb, sid, c.domain, c.pasid, addr, &x->e) &&
        (x->e.perm & perm) == perm) {
        trace_vtd_iotlb_page_hit(sid, addr, x->e.output, c.domain);
        return;
    }
    cfg = walk_config(s, &c);
    f = viommu_pt_walk(&cfg, addr, perm, &res);
    if (f) {
        x->fault = walk_fault_reason(&c, f, perm & VIOMMU_PT_WRITE);
        return;
    }
    x->e = (ViommuIotlbEntry) {
        .iova = res.iova, .output = res.output, .pasid = c.pasid,
        .sid = sid, .domain = c.domain, .page_shift = res.page_shift,
        .perm = res.perm & (VIOMMU_PT_READ | VIOMMU_PT_WRITE),
        .flags = res.snoop,
    };
    if (c.first_stage && !(perm & VIOMMU_PT_WRITE)) {
        /* D is set by a write walk: a write must not hit this entry */
        x->e.perm &= ~VIOMMU_PT_WRITE;
    }
    viommu_iotlb_insert(s->iotlb, &x->e);
    trace_vtd_iotlb_page_update(sid, addr, x->e.output, c.domain);
}

static IOMMUTLBEntry vtd_translate(IOMMUMemoryRegion *iommu, hwaddr addr,
                                   IOMMUAccessFlags flag, int iommu_idx)
{
    VTDAddressSpace *vas = container_of(iommu, VTDAddressSpace, mr.iommu);
    IntelIOMMUState *s = vas->s;
    IOMMUTLBEntry entry = {
        .target_as = &address_space_memory,
        .iova = addr & ~0xfffull,
        .translated_addr = addr & ~0xfffull,
        .addr_mask = 0xfff,
        .perm = IOMMU_NONE,
    };
    VtdXlate x;
    uint64_t mask;

    viommu_stats_translation(&s->stats);
    if (viommu_fast_translate(&vas->xc, space_sid(vas), addr, flag, &entry)) {
        return entry;
    }
    x.fault = 0;
    x.fpd = false;
    x.cacheable = false;
    qemu_mutex_lock(&s->lock);
    if (!s->translation_on) {
        entry.perm = IOMMU_RW;
        qemu_mutex_unlock(&s->lock);
        return entry;
    }
    translate_locked(vas, addr, viommu_walk_perm(flag), &x);
    if (!x.fault) {
        mask = viommu_low_mask(x.e.page_shift);
        entry.iova = x.e.iova & ~mask;
        entry.translated_addr = x.e.output & ~mask;
        entry.addr_mask = mask;
        entry.perm = viommu_iommu_perm(x.e.perm);
        if (x.cacheable) {
            viommu_fast_fill(&vas->xc, space_sid(vas), &entry, x.e.domain,
                             x.e.pasid);
        }
    }
    qemu_mutex_unlock(&s->lock);
    if (!x.fault && trace_event_get_state_backends(TRACE_VTD_DMAR_TRANSLATE)) {
        trace_vtd_dmar_translate(space_sid(vas) >> 8, PCI_SLOT(vas->devfn),
                                 PCI_FUNC(vas->devfn), addr,
                                 entry.translated_addr, entry.addr_mask);
    }
    if (x.fault && flag != IOMMU_NONE && !x.fpd) {
        report_fault(s, space_sid(vas), x.fault, addr, !(flag & IOMMU_WO));
    }
    return entry;
}

/* ---- address-space layout: translated, or straight to memory ---- */

/* Under the BQL: the iommu region for translation, nodmar otherwise. */
static void space_update(VTDAddressSpace *vas)
{
    IntelIOMMUState *s = vas->s;
    VtdCtxCache c;
    bool translating = false;

    if (s->translation_on) {
        qemu_mutex_lock(&s->lock);
        translating = space_context(vas, &c) != VTD_FR_OK ||
                      c.mode != VTD_MODE_PASS_THROUGH;
        qemu_mutex_unlock(&s->lock);
    }
    if (translating == vas->mr.translating) {
        return;
    }
    trace_vtd_switch_address_space(space_sid(vas) >> 8, PCI_SLOT(vas->devfn),
                                   PCI_FUNC(vas->devfn), translating);
    if (!translating) {
        viommu_drop_notified(&vas->mr.iommu, vas->notifier_flags, vas->shadow);
    }
    viommu_space_regions_switch(&vas->mr, translating);
}

static void update_all_spaces(IntelIOMMUState *s)
{
    GHashTableIter it;
    VTDAddressSpace *vas;

    /* one new memory map for all of them, not one per space */
    memory_region_transaction_begin();
    g_hash_table_iter_init(&it, s->spaces);
    while (g_hash_table_iter_next(&it, NULL, (void **)&vas)) {
        space_update(vas);
    }
    memory_region_transaction_commit();
}

/* ---- notifiers (VFIO, vhost) ---- */

/*
 * Under the BQL: MAP notifiers (VFIO) but @skip get the exact difference
 * between the tables and what they hold over [@start, @last].
 */
static void shadow_sync(VTDAddressSpace *vas, uint64_t start, uint64_t last,
                        IOMMUNotifier *skip)
{
    IntelIOMMUState *s = vas->s;
    ViommuNotifyTarget n = { .iommu = &vas->mr.iommu, .skip = skip };
    ViommuPtConfig cfg;
    ViommuPtFault fault;
    VtdCtxCache c;
    bool mapped;

    if (!vas->shadow) {
        return;
    }
    qemu_mutex_lock(&s->lock);
    mapped = s->translation_on && space_context(vas, &c) == VTD_FR_OK &&
             c.mode == VTD_MODE_TRANSLATE;
    qemu_mutex_unlock(&s->lock);
    if (mapped) {
        cfg = walk_config(s, &c);
        cfg.max_reads = 4 * VTD_SHADOW_MAX;
    }
    switch (viommu_shadow_sync(vas->shadow, mapped ? &cfg : NULL, start, last,
                               viommu_shadow_notify, &n, &fault)) {
    case VIOMMU_SHADOW_OK:
        break;
    case VIOMMU_SHADOW_FULL:
        vtd_guest_error(s, "more than %u mappings for notifiers of %s",
                        VTD_SHADOW_MAX, vas->mr.as.name);
        break;
    default:
        vtd_guest_error(s, "tables of %s unreadable (%d) while notified",
                        vas->mr.as.name, fault);
        break;
    }
}

/*
 * Under the BQL: after the guest invalidated [@start, @last] of @vas,
 * UNMAP-only notifiers (vhost) drop the range and MAP notifiers get the
 * difference (shadow_sync).
 */
static void space_sync(VTDAddressSpace *vas, uint64_t start, uint64_t last)
{
    if (vas->notifier_flags & IOMMU_NOTIFIER_UNMAP) {
        viommu_unmap_range(&vas->mr.iommu, IOMMU_NOTIFIER_UNMAP, start, last);
    }
    shadow_sync(vas, start, last, NULL);
}

/* DEVIOTLB_UNMAP to vhost with ATS, for a device-IOTLB invalidation. */
static void space_deviotlb_unmap(VTDAddressSpace *vas, uint64_t start,
                                 uint64_t last)
{
    if (vas->notifier_flags & IOMMU_NOTIFIER_DEVIOTLB_UNMAP) {
        viommu_unmap_range(&vas->mr.iommu, IOMMU_NOTIFIER_DEVIOTLB_UNMAP,
                           start, last);
    }
}

/*
 * Linux 6.13 and later put VFIO domains on first-stage tables when FLTS is
 * offered, and flush nothing when they map there, caching mode or not: a
 * relay would miss every new mapping.
 */
#define VTD_FLTS_NO_MAP_NOTIFIER "intel-iommu: x-flts (flts) cannot be " \
    "used with VFIO or other MAP notifiers (%s): guests map first-stage " \
    "tables without an invalidation to relay; turn x-flts off"

static int vtd_notify_flag_changed(IOMMUMemoryRegion *iommu,
                                   IOMMUNotifierFlag old,
                                   IOMMUNotifierFlag new, Error **errp)
{
    VTDAddressSpace *vas = container_of(iommu, VTDAddressSpace, mr.iommu);
    IntelIOMMUState *s = vas->s;
    if ((new & IOMMU_NOTIFIER_MAP) && !s->caching_mode) {
        error_setg(errp, "intel-iommu: %s needs caching-mode=on: VFIO and "
                   "other MAP notifiers only learn of new mappings from "
                   "the invalidations caching mode makes the guest send",
                   vas->mr.as.name);
        return -EINVAL;
    }
    if ((new & IOMMU_NOTIFIER_MAP) && s->flts) {
        error_setg(errp, VTD_FLTS_NO_MAP_NOTIFIER, vas->mr.as.name);
        return -EINVAL;
    }
    if (viommu_shadow_track(&vas->shadow, new, VTD_SHADOW_MAX, VTD_INTR_BASE,
                            VTD_INTR_SIZE, "intel-iommu", errp)) {
        return -ENOMEM;
    }
    if (old == IOMMU_NOTIFIER_NONE && new != IOMMU_NOTIFIER_NONE) {
        QLIST_INSERT_HEAD(&s->notified, vas, next);
    } else if (old != IOMMU_NOTIFIER_NONE && new == IOMMU_NOTIFIER_NONE) {
        QLIST_REMOVE(vas, next);
    }
    vas->notifier_flags = new;
    return 0;
}

/*
 * A notifier has just registered: the others get whatever changed since
 * they were last told, then @n gets every mapping held.
 */
static void vtd_replay(IOMMUMemoryRegion *iommu, IOMMUNotifier *n)
{
    VTDAddressSpace *vas = container_of(iommu, VTDAddressSpace, mr.iommu);
    ViommuNotifyTarget only = { .iommu = &vas->mr.iommu, .only = n };

    if (!vas->shadow || !(n->notifier_flags & IOMMU_NOTIFIER_MAP)) {
        return;
    }
    shadow_sync(vas, 0, UINT64_MAX, n);     /* vhost has nothing to drop */
    viommu_shadow_replay(vas->shadow, viommu_shadow_notify, &only);
}

/* ---- invalidation (6.5) ---- */

static bool sid_matches(uint16_t sid, uint16_t want, unsigned fm)
{
    /* FM: 1 to 3 ignore that many low bits of the function number */
    static const uint16_t ignore[4] = { 0, 0x4, 0x6, 0x7 };

    return ((sid ^ want) & ~ignore[fm & 3]) == 0;
}

/* Context-cache invalidation: global, of one domain, or of devices. */
static void inv_context(IntelIOMMUState *s, unsigned g, uint16_t domain,
                        uint16_t sid, unsigned fm)
{
    GHashTableIter it;
    VTDAddressSpace *vas;
    GPtrArray *changed = g_ptr_array_new();

    if (g == VTD_INV_CC_GLOBAL) {
        trace_vtd_inv_desc_cc_global();
        trace_vtd_context_cache_reset();
    } else if (g == VTD_INV_CC_DOMAIN) {
        trace_vtd_inv_desc_cc_domain(domain);
    } else {
        trace_vtd_inv_desc_cc_devices(sid, fm);
    }
    qemu_mutex_lock(&s->lock);
    s->stats.inv_global += g == VTD_INV_CC_GLOBAL;
    s->stats.inv_domain += g == VTD_INV_CC_DOMAIN;
    s->stats.inv_device += g == VTD_INV_CC_DEVICE;
    /* cached pages go with the contexts: one pass over the IOTLB */
    if (g == VTD_INV_CC_GLOBAL) {
        viommu_iotlb_flush(s->iotlb);
    } else if (g == VTD_INV_CC_DOMAIN) {
        viommu_iotlb_inv_range(s->iotlb, domain, VIOMMU_IOTLB_ANY_PASID, 0,
                               UINT64_MAX);
    }
    g_hash_table_iter_init(&it, s->spaces);
    while (g_hash_table_iter_next(&it, NULL, (void **)&vas)) {
        bool hit = g == VTD_INV_CC_GLOBAL ||
                   (g == VTD_INV_CC_DOMAIN &&
                    (!vas->ctx.valid || vas->ctx.domain == domain)) ||
                   (g == VTD_INV_CC_DEVICE &&
                    sid_matches(space_sid(vas), sid, fm));

        if (hit) {
            if (g == VTD_INV_CC_DEVICE && vas->ctx.valid) {
                viommu_iotlb_inv_sid(s->iotlb, space_sid(vas));
            }
            vas->ctx.valid = false;
            g_ptr_array_add(changed, vas);
        }
    }
    qemu_mutex_unlock(&s->lock);
    memory_region_transaction_begin();
    for (guint i = 0; i < changed->len; i++) {
        space_update(changed->pdata[i]);
    }
    memory_region_transaction_commit();
    for (guint i = 0; i < changed->len; i++) {
        vas = changed->pdata[i];
        if (vas->notifier_flags) {
            space_sync(vas, 0, UINT64_MAX);
        }
    }
    g_ptr_array_free(changed, true);
}

/* The trace event of an IOTLB invalidation, by its scope. */
static void trace_iotlb_scope(bool global, uint16_t domain, uint32_t pasid,
                              uint64_t start, uint64_t last)
{
    bool whole = start == 0 && last == UINT64_MAX;
    uint8_t am = whole ? 0 : ctz64(last - start + 1) - 12;

    if (global) {
        trace_vtd_inv_desc_iotlb_global();
    } else if (pasid == VIOMMU_IOTLB_ANY_PASID && whole) {
        trace_vtd_inv_desc_iotlb_domain(domain);
    } else if (pasid == VIOMMU_IOTLB_ANY_PASID) {
        trace_vtd_inv_desc_iotlb_pages(domain, start, am);
    } else if (whole) {
        trace_vtd_inv_desc_iotlb_pasid(domain, pasid);
    } else {
        trace_vtd_inv_desc_iotlb_pasid_pages(domain, start, am, pasid);
    }
}

/* IOTLB invalidation of @domain (or all, @global) over [start, last]. */
static void inv_iotlb(IntelIOMMUState *s, bool global, uint16_t domain,
                      uint32_t pasid, uint64_t start, uint64_t last)
{
    VTDAddressSpace *vas, *next;

    trace_iotlb_scope(global, domain, pasid, start, last);
    qemu_mutex_lock(&s->lock);
    if (global) {
        s->stats.inv_global++;
        viommu_iotlb_flush(s->iotlb);
    } else {
        (*(start == 0 && last == UINT64_MAX ? &s->stats.inv_domain
                                            : &s->stats.inv_page))++;
        viommu_iotlb_inv_range(s->iotlb, domain, pasid, start, last);
    }
    qemu_mutex_unlock(&s->lock);
    QLIST_FOREACH_SAFE(vas, &s->notified, next, next) {
        VtdCtxCache c;
        bool in_domain;

        qemu_mutex_lock(&s->lock);
        in_domain = global || (space_context(vas, &c) == VTD_FR_OK &&
                               c.domain == domain);
        qemu_mutex_unlock(&s->lock);
        if (in_domain) {
            space_sync(vas, start, last);
        }
    }
}

static void inv_device_iotlb(IntelIOMMUState *s, uint16_t sid,
                             uint64_t start, uint64_t last)
{
    VTDAddressSpace *vas, *next;

    QLIST_FOREACH_SAFE(vas, &s->notified, next, next) {
        if (space_sid(vas) == sid) {
            space_deviotlb_unmap(vas, start, last);
        }
    }
}

static void iotlb_page_range(uint64_t addr, unsigned am, uint64_t *start,
                             uint64_t *last)
{
    uint64_t mask = viommu_low_mask(12 + MIN(am, 52u));

    *start = addr & ~mask;
    *last = *start | mask;
}

/* ---- queued invalidation (6.5.2) ---- */

static void iq_error(IntelIOMMUState *s, unsigned iqei)
{
    set_q(s, R_IQERCD, (reg_q(s, R_IQERCD) & ~0xfull) | iqei);
    mod_l(s, R_FSTS, 0, FSTS_IQE);
    vtd_guest_error(s, "invalidation queue error %u at %u", iqei, s->iq_head);
    raise_event(s, R_FECTL);
}

static void inv_wait(IntelIOMMUState *s, const VtdInvDesc *d)
{
    if (d->wait_sw) {
        uint8_t buf[4];

        trace_vtd_inv_desc_wait_sw(d->status_addr, d->status_data);
        stl_le_p(buf, d->status_data);
        if (!viommu_ram_write(d->status_addr, buf, 4)) {
            vtd_guest_error(s, "invalidation wait status to 0x%" PRIx64
                            " outside RAM", d->status_addr);
        }
    }
    if (d->wait_if && !(reg_l(s, R_ICS) & ICS_IWC)) {
        trace_vtd_inv_desc_wait_irq("invalidation wait: ICS.IWC set");
        mod_l(s, R_ICS, 0, ICS_IWC);
        raise_event(s, R_IECTL);
    }
}

static void run_descriptor(IntelIOMMUState *s, const VtdInvDesc *d)
{
    X86IOMMUState *x86 = X86_IOMMU_DEVICE(s);
    uint64_t all = UINT64_MAX;

    switch (d->type) {
    case VTD_INV_CONTEXT:
    case VTD_INV_PASID_CACHE:
        inv_context(s, d->type == VTD_INV_PASID_CACHE ?
                    (d->granularity == VTD_INV_PC_GLOBAL ? VTD_INV_CC_GLOBAL
                                                         : VTD_INV_CC_DOMAIN)
                    : d->granularity, d->domain, d->sid, d->fm);
        break;
    case VTD_INV_IOTLB:
        inv_iotlb(s, d->granularity == VTD_INV_IOTLB_GLOBAL, d->domain,
                  VIOMMU_IOTLB_ANY_PASID,
                  d->granularity == VTD_INV_IOTLB_PAGE ? d->start : 0,
                  d->granularity == VTD_INV_IOTLB_PAGE ? d->last : all);
        break;
    case VTD_INV_PASID_IOTLB:
        inv_iotlb(s, false, d->domain, d->pasid,
                  d->granularity == VTD_INV_PIOTLB_PAGE ? d->start : 0,
                  d->granularity == VTD_INV_PIOTLB_PAGE ? d->last : all);
        break;
    case VTD_INV_DEVICE_IOTLB:
    case VTD_INV_PASID_DEVICE_IOTLB:
        inv_device_iotlb(s, d->sid, d->start, d->last);
        break;
    case VTD_INV_IEC:
        trace_vtd_inv_desc_iec(d->granularity, d->iec_index, d->iec_mask);
        x86_iommu_iec_notify_all(x86, d->granularity != 1, d->iec_index,
                                 d->iec_mask);
        break;
    case VTD_INV_WAIT:
        inv_wait(s, d);
        break;
    }
}

/*
 * Runs the queue from head to tail; stops at an invalid descriptor. After
 * VTD_QI_SLICE_NS it goes on from a bottom half, so that a long queue of
 * costly invalidations (notifiers over large tables) never holds the main
 * loop for long.
 */
static void qi_run(IntelIOMMUState *s)
{
    unsigned width = s->iq_dw ? 32 : 16;
    int64_t deadline = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
                       VTD_QI_SLICE_NS;

    trace_vtd_inv_qi_fetch();
    while (s->qi_on && !(reg_l(s, R_FSTS) & FSTS_IQE) &&
           s->iq_head != s->iq_tail) {
        uint64_t at = s->iq_base + (uint64_t)width * s->iq_head;
        uint64_t q[4] = {};
        VtdInvDesc d;

        trace_vtd_inv_qi_head(s->iq_head);
        if (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) > deadline) {
            qemu_bh_schedule(s->qi_bh);
            return;
        }
        if (!viommu_ram_read_n(at, q, width / 8)) {
            iq_error(s, IQEI_FETCH);
            return;
        }
        if (!vtd_inv_decode(q, s->iq_dw, &d) ||
            (d.type >= VTD_INV_PASID_IOTLB && !s->scalable_mode)) {
            iq_error(s, IQEI_INVALID);
            return;
        }
        if (trace_event_get_state_backends(TRACE_VTD_INV_DESC)) {
            trace_vtd_inv_desc(vtd_inv_type_name(d.type), q[1], q[0]);
        }
        s->iq_last_type = q[0] & 0xf;
        s->iq_head = (s->iq_head + 1) % s->iq_entries;
        set_q(s, R_IQH, (uint64_t)s->iq_head << (s->iq_dw ? 5 : 4));
        run_descriptor(s, &d);
    }
}

static void qi_continue(void *opaque)
{
    qi_run(opaque);
}

/* IQA's queue: base, descriptor width and size (11.4.7.3). */
static void latch_iqa(IntelIOMMUState *s)
{
    uint64_t iqa = reg_q(s, R_IQA);

    s->iq_base = iqa & VTD_HAW_MASK(s->aw_bits) & ~0xfffull;
    s->iq_dw = s->scalable_mode && (iqa & IQA_DW);
    s->iq_entries = 1u << ((iqa & 7) + (s->iq_dw ? 7 : 8));
    trace_vtd_inv_qi_setup(s->iq_base, s->iq_entries);
}

static void write_iqt(void *opaque, uint64_t old)
{
    IntelIOMMUState *s = opaque;
    uint64_t iqt = reg_q(s, R_IQT);

    if (s->iq_dw && (iqt & 0x10)) {
        iq_error(s, IQEI_TAIL);
        return;
    }
    s->iq_tail = (iqt >> (s->iq_dw ? 5 : 4)) % s->iq_entries;
    trace_vtd_inv_qi_tail(s->iq_tail);
    qi_run(s);
}

/* ---- register-based invalidation (6.5.1) ---- */

static void write_ccmd(void *opaque, uint64_t old)
{
    IntelIOMMUState *s = opaque;
    uint64_t v = reg_q(s, R_CCMD);
    unsigned g = (v >> 61) & 3;

    if (!(v & CCMD_ICC)) {
        return;
    }
    if (s->qi_on || g == 0) {
        vtd_guest_error(s, "CCMD 0x%" PRIx64 " %s", v,
                        s->qi_on ? "while QI is on" : "reserved CIRG");
        set_q(s, R_CCMD, v & ~CCMD_ICC & ~(3ull << 59));
        return;
    }
    inv_context(s, g, v & 0xffff, (v >> 16) & 0xffff, (v >> 32) & 3);
    set_q(s, R_CCMD, (v & ~CCMD_ICC & ~(3ull << 59)) | (uint64_t)g << 59);
}

static void write_iotlb(void *opaque, uint64_t old)
{
    IntelIOMMUState *s = opaque;
    uint64_t v = reg_q(s, R_IOTLB), iva = reg_q(s, R_IVA);
    unsigned g = (v >> 60) & 3;
    uint16_t domain = (v >> 32) & 0xffff;
    uint64_t start = 0, last = UINT64_MAX;

    if (!(v & IOTLB_IVT)) {
        return;
    }
    v &= ~IOTLB_IVT & ~(3ull << 57);
    if (s->qi_on || g == 0 || (iva & 0x3f) > 18) {
        vtd_guest_error(s, "IOTLB 0x%" PRIx64 " IVA 0x%" PRIx64 " refused",
                        v, iva);
        set_q(s, R_IOTLB, v);
        return;
    }
    if (g == VTD_INV_IOTLB_PAGE) {
        iotlb_page_range(iva & ~0xfffull, iva & 0x3f, &start, &last);
    }
    inv_iotlb(s, g == VTD_INV_IOTLB_GLOBAL, domain, VIOMMU_IOTLB_ANY_PASID,
              start, last);
    set_q(s, R_IOTLB, v | (uint64_t)g << 57);
}

/* ---- global command (11.4.4) ---- */

static void set_translation(IntelIOMMUState *s, bool on)
{
    trace_vtd_dmar_enable(on);
    qemu_mutex_lock(&s->lock);
    s->translation_on = on;
    viommu_iotlb_flush(s->iotlb);
    qemu_mutex_unlock(&s->lock);
    update_all_spaces(s);
    if (!on) {
        VTDAddressSpace *vas, *next;

        QLIST_FOREACH_SAFE(vas, &s->notified, next, next) {
            space_sync(vas, 0, UINT64_MAX);
        }
    }
}

static void latch_root(IntelIOMMUState *s)
{
    uint64_t rta = reg_q(s, R_RTADDR);

    qemu_mutex_lock(&s->lock);
    s->root_table = rta & VTD_HAW_MASK(s->aw_bits) & ~0xfffull;
    s->root_scalable = s->scalable_mode && (rta & RTADDR_TTM_SCALABLE);
    qemu_mutex_unlock(&s->lock);
    trace_vtd_reg_dmar_root(s->root_table, s->root_scalable);
}

static void latch_irta(IntelIOMMUState *s)
{
    uint64_t irta = reg_q(s, R_IRTA);

    s->irt_base = irta & VTD_HAW_MASK(s->aw_bits) & ~0xfffull;
    s->irt_entries = 2u << (irta & 0xf);
    s->irt_x2apic = (s->ecap & (1ull << 4)) && (irta & IRTA_EIME);
    trace_vtd_reg_ir_root(s->irt_base, s->irt_entries);
}

/* Interrupt routes built from the old table (KVM's) are stale: all go. */
static void flush_interrupt_routes(IntelIOMMUState *s)
{
    x86_iommu_iec_notify_all(X86_IOMMU_DEVICE(s), true, 0, 0);
}

static void write_gcmd(void *opaque, uint64_t old)
{
    IntelIOMMUState *s = opaque;
    uint32_t cmd = reg_l(s, R_GCMD), sts = reg_l(s, R_GSTS);
    uint32_t changed = cmd ^ sts;

    trace_vtd_reg_write_gcmd(sts, cmd);
    set_l(s, R_GCMD, 0);                    /* write-only */
    if (cmd & GS_SRTP) {
        latch_root(s);
        sts |= GS_SRTP;
    }
    if (cmd & GS_SIRTP) {
        latch_irta(s);
        sts |= GS_SIRTP;
        flush_interrupt_routes(s);
    }
    if ((changed & GS_QIE) && !(cmd & GS_QIE) && s->iq_head != s->iq_tail) {
        vtd_guest_error(s, "QI disabled with descriptors pending");
    }
    if (changed & GS_QIE) {
        s->qi_on = cmd & GS_QIE;
        trace_vtd_inv_qi_enable(s->qi_on);
        sts = (sts & ~GS_QIE) | (cmd & GS_QIE);
        if (s->qi_on) {
            latch_iqa(s);
            s->iq_head = 0;
            set_q(s, R_IQH, 0);
            write_iqt(s, 0);            /* a tail written before: run it */
        }
    }
    if ((changed & GS_IRE) && x86_iommu_ir_supported(X86_IOMMU_DEVICE(s))) {
        s->ir_on = cmd & GS_IRE;
        trace_vtd_ir_enable(s->ir_on);
        sts = (sts & ~GS_IRE) | (cmd & GS_IRE);
        flush_interrupt_routes(s);
    }
    if (changed & GS_CFI) {
        sts = (sts & ~GS_CFI) | (cmd & GS_CFI);
    }
    if ((changed & GS_TE) && s->dma_translation) {
        sts = (sts & ~GS_TE) | (cmd & GS_TE);
        set_l(s, R_GSTS, sts);
        set_translation(s, cmd & GS_TE);
    }
    if (!(sts & (GS_TE | GS_IRE))) {
        s->frcd_next = 0;           /* the record index restarts (7.3.1) */
    }
    set_l(s, R_GSTS, sts);
}

/* ---- register file ---- */

/* FECTL.IP goes once software has handled every fault condition. */
static void fault_conditions_cleared(IntelIOMMUState *s)
{
    if (!(reg_l(s, R_FSTS) & (FSTS_PFO | FSTS_PPF | FSTS_IQE | FSTS_ICE |
                              FSTS_ITE))) {
        trace_vtd_fsts_clear_ip();
        mod_l(s, R_FECTL, CTL_IP, 0);
    }
}

static void write_fsts(void *opaque, uint64_t old)
{
    IntelIOMMUState *s = opaque;

    fault_conditions_cleared(s);
    qi_run(s);                              /* IQE cleared: fetch again */
}

static void write_fectl(void *opaque, uint64_t old)
{
    IntelIOMMUState *s = opaque;

    trace_vtd_reg_write_fectl(reg_l(s, R_FECTL));
    unmask_event(s, R_FECTL);
}

static void write_ics(void *opaque, uint64_t old)
{
    IntelIOMMUState *s = opaque;

    if (!(reg_l(s, R_ICS) & ICS_IWC)) {
        trace_vtd_reg_ics_clear_ip();
        mod_l(s, R_IECTL, CTL_IP, 0);
    }
}

static void write_iectl(void *opaque, uint64_t old)
{
    IntelIOMMUState *s = opaque;

    trace_vtd_reg_write_iectl(reg_l(s, R_IECTL));
    unmask_event(s, R_IECTL);
}

static void write_iqa(void *opaque, uint64_t old)
{
    IntelIOMMUState *s = opaque;

    if (!s->qi_on) {
        latch_iqa(s);
    }
}

static void write_frcd(void *opaque, uint64_t old)
{
    IntelIOMMUState *s = opaque;

    update_ppf(s);
    fault_conditions_cleared(s);
}

/* A fault record's upper quadword: F is write-1-to-clear (11.4.14). */
#define FRCD_UPPER(i)   { R_FRCD + 16 * (i) + 8, 8, 0, FRCD_F, write_frcd }

/* Writable (rw) and write-1-to-clear (w1c) bits, and what a write does. */
static const ViommuReg vtd_regs[] = {
    { R_GCMD, 4, 0xff800000u, 0, write_gcmd },
    { R_RTADDR, 8, ~0x3ffull, 0, NULL },
    { R_CCMD, 8, CCMD_ICC | 3ull << 61 | 0x3ffffffffull, 0, write_ccmd },
    { R_FSTS, 4, 0, FSTS_PFO | FSTS_IQE | FSTS_ICE | FSTS_ITE, write_fsts },
    { R_FECTL, 4, CTL_IM, 0, write_fectl },
    { R_FEDATA, 4, 0xffffffffu, 0, NULL },
    { R_FEADDR, 4, ~3u, 0, NULL },
    { R_FEUADDR, 4, 0xffffffffu, 0, NULL },
    { R_IQT, 8, 0x7fff0ull, 0, write_iqt },
    { R_IQA, 8, ~0x7f8ull, 0, write_iqa },
    { R_ICS, 4, 0, ICS_IWC, write_ics },
    { R_IECTL, 4, CTL_IM, 0, write_iectl },
    { R_IEDATA, 4, 0xffffffffu, 0, NULL },
    { R_IEADDR, 4, ~3u, 0, NULL },
    { R_IEUADDR, 4, 0xffffffffu, 0, NULL },
    { R_IRTA, 8, ~0x7f0ull, 0, NULL },
    { R_IVA, 8, ~0xf80ull, 0, NULL },       /* ADDR, IH 6, AM 5:0 */
    { R_IOTLB, 8, (1ull << 63) | (3ull << 60) | (3ull << 48) |
                  (0xffffull << 32), 0, write_iotlb },
    FRCD_UPPER(0), FRCD_UPPER(1), FRCD_UPPER(2), FRCD_UPPER(3),
    FRCD_UPPER(4), FRCD_UPPER(5), FRCD_UPPER(6), FRCD_UPPER(7),
};
QEMU_BUILD_BUG_ON(VTD_NR_FRCD != 8);

static ViommuRegFile vtd_regfile(IntelIOMMUState *s)
{
    return (ViommuRegFile) {
        .bytes = s->csr, .size = VTD_MMIO_SIZE,
        .regs = vtd_regs, .nr_regs = ARRAY_SIZE(vtd_regs), .opaque = s,
    };
}

static uint64_t vtd_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    IntelIOMMUState *s = opaque;
    ViommuRegFile f = vtd_regfile(s);
    uint64_t val;

    if (!viommu_regfile_read(&f, addr, size, &val)) {
        vtd_guest_error(s, "read of %u at 0x%" HWADDR_PRIx, size, addr);
    }
    trace_vtd_reg_read(addr, size);
    return val;
}

/* Any size at any offset (hw/viommu/regfile.h). */
static void vtd_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                           unsigned size)
{
    IntelIOMMUState *s = opaque;
    ViommuRegFile f = vtd_regfile(s);

    trace_vtd_reg_write(addr, size, val);
    if (!viommu_regfile_write(&f, addr, val, size)) {
        vtd_guest_error(s, "write of %u at 0x%" HWADDR_PRIx, size, addr);
    }
}

static const MemoryRegionOps vtd_mmio_ops = {
    .read = vtd_mmio_read,
    .write = vtd_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .impl = { .min_access_size = 1, .max_access_size = 8 },
    .valid = { .min_access_size = 1, .max_access_size = 8 },
};

/* ---- interrupt remapping (5.1) ---- */

static void ir_fault(IntelIOMMUState *s, uint16_t sid, VtdIrFault f,
                     uint32_t index, bool fpd)
{
    if (fpd && vtd_ir_fault_qualified(f)) {
        return;
    }
    report_fault(s, sid, f, (uint64_t)index << 48, false);
}

/*
 * Remaps @src from @sid (X86_IOMMU_SID_INVALID: unknown) into @dst. With
 * @verify false the IRTE's source-ID verification (SVT, SQ) is not
 * applied: the IOAPIC's own requests, which no device can forge (see
 * ir_request()).
 */
static int remap_msi(IntelIOMMUState *s, MSIMessage *src, MSIMessage *dst,
                     uint16_t sid, bool verify)
{
    uint64_t irte[2];
    uint32_t index = 0;
    bool compat = false, fpd = false;
    VtdIrFault f;
    VtdIrq irq;
    X86IOMMUIrq out;

    trace_vtd_ir_remap_msi_req(src->address, src->data);
    if (!s->ir_on) {
        *dst = *src;
        return 0;
    }
    f = vtd_ir_request_index(src->address, src->data, &index, &compat);
    trace_vtd_ir_remap_type(compat ? "compatibility" : "remappable");
    if (f == VTD_IR_OK && compat) {
        /* CFI lets compatibility-format requests through in xAPIC mode */
        if ((reg_l(s, R_GSTS) & GS_CFI) && !s->irt_x2apic) {
            *dst = *src;
            return 0;
        }
        f = VTD_IR_COMPAT_BLOCKED;
    } else if (f == VTD_IR_OK && index >= s->irt_entries) {
        f = VTD_IR_INDEX_OVER;
    } else if (f == VTD_IR_OK && !viommu_ram_read_n(s->irt_base + 16ull * index,
                                             irte, 2)) {
        f = VTD_IR_READ_FAILED;
    } else if (f == VTD_IR_OK) {
        trace_vtd_ir_irte_get(index, irte[0], irte[1]);
        if ((!verify || sid == X86_IOMMU_SID_INVALID) &&
            extract64(irte[1], 18, 2) != 3) {   /* 3: reserved, a fault */
            irte[1] &= ~(3ull << 18);           /* SVT: no verification */
        }
        f = vtd_irte_decode(irte[0], irte[1], s->irt_x2apic, sid, &irq, &fpd);
    }
    if (f != VTD_IR_OK) {
        ir_fault(s, sid == X86_IOMMU_SID_INVALID ? 0 : sid, f, index, fpd);
        return -EINVAL;
    }
    out = (X86IOMMUIrq) {
        .trigger_mode = irq.level, .vector = irq.vector,
        .delivery_mode = irq.delivery_mode, .dest = irq.dest,
        .dest_mode = irq.dest_logical, .redir_hint = irq.redir_hint,
        .msi_addr_last_bits = src->address & 3,
    };
    trace_vtd_ir_remap(index, out.trigger_mode, out.vector,
                       out.delivery_mode, out.dest, out.dest_mode);
    x86_iommu_irq_to_msi_message(&out, dst);
    trace_vtd_ir_remap_msi(src->address, src->data, dst->address, dst->data);
    return 0;
}

static int vtd_int_remap(X86IOMMUState *iommu, MSIMessage *src,
                         MSIMessage *dst, uint16_t sid)
{
    return remap_msi(INTEL_IOMMU_DEVICE(iommu), src, dst, sid, true);
}

/*
 * A DMA write to the interrupt address range is an interrupt request of
 * the space's device: remapped (or blocked, with a fault) and delivered.
 * The IOAPIC's requests (the space without a bus) skip the IRTE's
 * source-ID check: a guest may name the PCI device wired to the pin there
 * rather than the IOAPIC, and upstream QEMU delivers those (its IOAPIC
 * sends without a requester ID). Hardware would block them; no device
 * can send as QEMU's IOAPIC, so nothing is protected by blocking them.
 * README lists this among the deviations.
 */
static void ir_request(void *opaque, MSIMessage *msg)
{
    VTDAddressSpace *vas = opaque;
    bool from_ioapic = !vas->bus;
    MSIMessage remapped;

    if (remap_msi(vas->s, msg, &remapped, space_sid(vas), !from_ioapic) < 0) {
        return;
    }
    apic_get_class(NULL)->send_msi(&remapped);
}

/* ---- per-device address spaces ---- */

static VTDAddressSpace *space_get(IntelIOMMUState *s, PCIBus *bus,
                                  uint8_t devfn)
{
    VTDAddressSpace *vas = viommu_space_table_lookup(s->spaces, bus, devfn);

    if (vas) {
        return vas;
    }
    vas = g_new0(VTDAddressSpace, 1);
    vas->s = s;
    vas->bus = bus;
    if (bus) {
        viommu_hold_bus(bus);           /* see space_alive() */
    }
    vas->devfn = devfn;
    qemu_mutex_lock(&s->lock);
    viommu_xc_add(&s->fast, &vas->xc, X86_IOMMU_SID_INVALID);
    qemu_mutex_unlock(&s->lock);
    viommu_space_regions_init(&vas->mr, OBJECT(s), "vtd", bus, devfn,
                              "ioapic", TYPE_INTEL_IOMMU_MEMORY_REGION,
                              VTD_INTR_BASE, VTD_INTR_SIZE, ir_request, vas);
    viommu_space_table_insert(s->spaces, bus, devfn, vas);
    space_update(vas);
    return vas;
}

static AddressSpace *vtd_get_address_space(PCIBus *bus, void *opaque,
                                           int devfn)
{
    return &space_get(opaque, bus, devfn)->mr.as;
}

/*
 * An assigned device (VFIO) is attached: refused with x-flts, as at the
 * first MAP notifier (vtd_notify_flag_changed), but at start-up.
 */
static bool vtd_set_iommu_device(PCIBus *bus, void *opaque, int devfn,
                                 HostIOMMUDevice *hiod, Error **errp)
{
    IntelIOMMUState *s = opaque;

    if (s->flts) {
        error_setg(errp, VTD_FLTS_NO_MAP_NOTIFIER, hiod->name);
        return false;
    }
    return true;
}

static const PCIIOMMUOps vtd_pci_ops = {
    .get_address_space = vtd_get_address_space,
    .set_iommu_device = vtd_set_iommu_device,
};

/* ---- reset and migration ---- */

static void init_registers(IntelIOMMUState *s)
{
    memset(s->csr, 0, sizeof(s->csr));
    s->nr_frcd = VTD_NR_FRCD;
    set_l(s, R_VER, 0x10);
    set_q(s, R_CAP, s->cap);
    set_q(s, R_ECAP, s->ecap);
    set_l(s, R_FECTL, CTL_IM);
    set_l(s, R_IECTL, CTL_IM);
}

static void clear_state(IntelIOMMUState *s)
{
    GHashTableIter it;
    VTDAddressSpace *vas;

    qemu_mutex_lock(&s->lock);
    s->root_table = s->irt_base = s->iq_base = 0;
    s->irt_entries = 0;
    s->iq_head = s->iq_tail = 0;
    s->iq_entries = 256;
    s->frcd_next = 0;
    s->iq_last_type = 0;
    s->translation_on = s->qi_on = s->ir_on = false;
    s->irt_x2apic = s->root_scalable = s->iq_dw = false;
    viommu_iotlb_flush(s->iotlb);
    g_hash_table_iter_init(&it, s->spaces);
    while (g_hash_table_iter_next(&it, NULL, (void **)&vas)) {
        vas->ctx.valid = false;
    }
    qemu_mutex_unlock(&s->lock);
}

static void vtd_reset(DeviceState *dev)
{
    IntelIOMMUState *s = INTEL_IOMMU_DEVICE(dev);
    VTDAddressSpace *vas, *next;

    trace_vtd_reset_exit();
    init_registers(s);
    clear_state(s);
    flush_interrupt_routes(s);
    update_all_spaces(s);
    QLIST_FOREACH_SAFE(vas, &s->notified, next, next) {
        viommu_drop_notified(&vas->mr.iommu, 0, vas->shadow);
    }
}

/* Rebuilds what is not in the stream from the registers, and checks it. */
static int vtd_post_load(void *opaque, int version_id)
{
    IntelIOMMUState *s = opaque;
    uint64_t iq_base = s->iq_base;
    uint16_t entries = s->iq_entries;
    GHashTableIter it;
    VTDAddressSpace *vas;

    latch_iqa(s);
    if (!s->qi_on) {
        s->iq_head = s->iq_tail = 0;        /* reset when QI is enabled */
    } else if (entries < 128 || entries > 32768 || !is_power_of_2(entries) ||
               s->iq_head >= entries || s->iq_tail >= entries) {
        error_report("intel-iommu: migration stream has queue head %u and "
                     "tail %u of %u descriptors", s->iq_head, s->iq_tail,
                     entries);
        return -EINVAL;
    } else {
        /* the queue as latched when QI was enabled */
        s->iq_entries = entries;
        s->iq_base = iq_base & VTD_HAW_MASK(s->aw_bits) & ~0xfffull;
    }
    /* as many fault records as the guest was told of at its boot */
    s->nr_frcd = MIN(extract64(reg_q(s, R_CAP), CAP_NFR_SHIFT, 8) + 1,
                     VTD_NR_FRCD);
    if (s->frcd_next >= s->nr_frcd ||
        extract32(reg_l(s, R_FSTS), FSTS_FRI_SHIFT, 8) >= s->nr_frcd) {
        error_report("intel-iommu: migration stream has fault record %u "
                     "(FRI %u) of %u", s->frcd_next,
                     extract32(reg_l(s, R_FSTS), FSTS_FRI_SHIFT, 8),
                     s->nr_frcd);
        s->frcd_next = 0;       /* a run after the refusal stays in bounds */
        return -EINVAL;
    }
    update_ppf(s);              /* PPF says whether a record is pending */
    s->root_scalable = s->scalable_mode &&
                       (reg_q(s, R_RTADDR) & RTADDR_TTM_SCALABLE);
    s->root_table &= VTD_HAW_MASK(s->aw_bits) & ~0xfffull;
    s->irt_base &= VTD_HAW_MASK(s->aw_bits) & ~0xfffull;
    s->irt_entries = MIN(s->irt_entries, 1u << 16);
    s->irt_x2apic = s->irt_x2apic && (s->ecap & (1ull << 4));
    s->ir_on = s->ir_on && x86_iommu_ir_supported(X86_IOMMU_DEVICE(s));
    s->translation_on = s->translation_on && s->dma_translation;
    /* the capabilities are this configuration's, but for NFR */
    set_q(s, R_CAP, deposit64(s->cap, CAP_NFR_SHIFT, 8, s->nr_frcd - 1));
    set_q(s, R_ECAP, s->ecap);
    qemu_mutex_lock(&s->lock);
    viommu_iotlb_flush(s->iotlb);
    g_hash_table_iter_init(&it, s->spaces);
    while (g_hash_table_iter_next(&it, NULL, (void **)&vas)) {
        vas->ctx.valid = false;
    }
    qemu_mutex_unlock(&s->lock);
    update_all_spaces(s);
    if (s->qi_on && s->iq_head != s->iq_tail) {
        qemu_bh_schedule(s->qi_bh);         /* the source had not finished */
    }
    return 0;
}

/* Version 1 carries the default configuration's whole state. */
static const VMStateField vtd_vmstate_v1[] = {
    /* QEMU 10.0's layout: be64 x 3, be32, be16 x 4, the registers */
    VMSTATE_UINT64_ARRAY(table_addrs, IntelIOMMUState, 3),
    VMSTATE_UINT32(irt_entries, IntelIOMMUState),
    VMSTATE_UINT16_ARRAY(queue_state, IntelIOMMUState, 4),
    VMSTATE_STATIC_BUFFER(csr, IntelIOMMUState, 0, NULL, 0, DMAR_REG_SIZE),
    VMSTATE_UINT8(iq_last_type, IntelIOMMUState),
    VMSTATE_UNUSED(1),      /* a byte 10.0 no longer uses */
    VMSTATE_BOOL_ARRAY(unit_state, IntelIOMMUState, 4),
    VMSTATE_END_OF_LIST()
};

/*
 * With no record pending, which record the next fault fills makes no
 * difference: the index restarts, so that QEMU 10.0 (one record) can take
 * the stream.
 */
static int vtd_pre_save(void *opaque)
{
    IntelIOMMUState *s = opaque;

    if (!(reg_l(s, R_FSTS) & FSTS_PPF)) {
        s->frcd_next = 0;
    }
    return 0;
}

/*
 * Fault records 1 to 7 lie beyond QEMU 10.0's register file: they go in a
 * subsection while one is pending or the index is past record 0, state
 * 10.0 cannot hold (it refuses the subsection, and the source runs on).
 */
static bool frcd_more_needed(void *opaque)
{
    IntelIOMMUState *s = opaque;

    for (int i = 1; i < VTD_NR_FRCD; i++) {
        if (reg_q(s, R_FRCD + 16 * i + 8) & FRCD_F) {
            return true;
        }
    }
    return s->frcd_next != 0;
}

static const VMStateDescription vtd_vmstate_frcd_more = {
    .name = "iommu-intel/fault-records",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = frcd_more_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_STATIC_BUFFER(csr, IntelIOMMUState, 0, NULL, DMAR_REG_SIZE,
                              VTD_MMIO_SIZE),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vtd_vmstate = {
    .name = "iommu-intel",
    .fields = vtd_vmstate_v1,
    .pre_save = vtd_pre_save,
    .subsections = (const VMStateDescription * const []) {
        &vtd_vmstate_frcd_more,
        NULL
    },
    .post_load = vtd_post_load,
    .priority = MIG_PRI_IOMMU,
    .version_id = 1,
    .minimum_version_id = 1,
};

/* ---- configuration ---- */

/*
 * Whether x2APIC interrupts can reach the vCPUs: always with QEMU's own
 * APICs (TCG), with KVM only through its in-kernel irqchip.
 */
static bool x2apic_deliverable(IntelIOMMUState *s)
{
    return !kvm_enabled() || s->buggy_eim || kvm_irqchip_in_kernel();
}

/*
 * eim=auto: on whenever interrupt remapping is on and x2APIC interrupts
 * can be delivered. (10.0 turned it on with KVM's irqchip only, so that a
 * TCG guest ran without x2APIC.)
 */
static OnOffAuto decide_eim(IntelIOMMUState *s)
{
    bool ir = x86_iommu_ir_supported(X86_IOMMU_DEVICE(s));

    if (s->intr_eim != ON_OFF_AUTO_AUTO) {
        return s->intr_eim;
    }
    return ir && x2apic_deliverable(s) ? ON_OFF_AUTO_ON : ON_OFF_AUTO_OFF;
}

/* vCPUs whose APIC IDs only x2APIC interrupt remapping can address */
static bool apic_ids_above_255(void)
{
    MachineState *ms = MACHINE(qdev_get_machine());

    return object_dynamic_cast(OBJECT(ms), TYPE_X86_MACHINE) &&
           X86_MACHINE(ms)->apic_id_limit > 255;
}

static bool eim_without_ir(IntelIOMMUState *s)
{
    return s->intr_eim == ON_OFF_AUTO_ON &&
           !x86_iommu_ir_supported(X86_IOMMU_DEVICE(s));
}

static bool eim_without_kvm_x2apic(IntelIOMMUState *s)
{
    return s->intr_eim == ON_OFF_AUTO_ON && !s->buggy_eim &&
           kvm_irqchip_is_split() && !kvm_enable_x2apic();
}

static bool bad_aw_bits(IntelIOMMUState *s)
{
    return s->aw_bits != VTD_HOST_AW_39BIT &&
           s->aw_bits != VTD_HOST_AW_48BIT && s->aw_bits != VTD_HOST_AW_57BIT;
}

static bool flts_outside_sm(IntelIOMMUState *s)
{
    return s->flts && !s->scalable_mode;
}

static bool flts_at_39(IntelIOMMUState *s)
{
    return s->flts && s->aw_bits == VTD_HOST_AW_39BIT;
}

static bool sm_without_drain(IntelIOMMUState *s)
{
    return s->scalable_mode && !s->dma_drain;
}

static bool pasid_outside_sm(IntelIOMMUState *s)
{
    return s->pasid && !s->scalable_mode;
}

/* Combinations this model refuses, each with what to set instead. */
static const struct {
    bool (*refused)(IntelIOMMUState *s);
    const char *why;
} vtd_config_rules[] = {
    { bad_aw_bits, "aw-bits must be 39, 48 or 57" },
    { eim_without_ir, "eim=on needs intremap=on" },
    { flts_outside_sm, "x-flts (flts) needs x-scalable-mode (scalable-mode)" },
    { flts_at_39, "x-flts (flts) needs aw-bits=48 or 57" },
    { sm_without_drain, "x-scalable-mode (scalable-mode) needs dma-drain=on" },
    { pasid_outside_sm, "x-pasid-mode needs x-scalable-mode (scalable-mode)" },
};

#define RMRR_SYNTAX "BASE-LIMIT:ID[:ID...], several separated by ';'"

/* An RMRR's scopes fit its 16-bit length (8.4): 8188 devices at most. */
#define RMRR_MAX_DEVICES ((UINT16_MAX - 24) / 8)

/* Why the ids of an RMRR are refused, or NULL. */
static const char *rmrr_ids_refused(char **ids)
{
    if (!ids[0] || !*ids[0]) {
        return "no device id";
    }
    if (g_strv_length(ids) > RMRR_MAX_DEVICES) {
        return "more devices than an RMRR holds (8188)";
    }
    for (char **id = ids; *id; id++) {
        if (!**id) {
            return "an empty device id";
        }
        for (char **other = ids; other < id; other++) {
            if (!strcmp(*other, *id)) {
                return "a device id named twice";
            }
        }
    }
    return NULL;
}

static void free_rmrrs(IntelIOMMUState *s)
{
    for (unsigned i = 0; i < s->nr_rmrrs; i++) {
        g_strfreev(s->rmrrs[i].ids);
    }
    g_clear_pointer(&s->rmrrs, g_free);
    s->nr_rmrrs = 0;
}

/* Parses the "rmrr" property into s->rmrrs. */
static bool parse_rmrrs(IntelIOMMUState *s, Error **errp)
{
    g_auto(GStrv) entries = NULL;

    if (!s->rmrr_spec || !*s->rmrr_spec) {
        return true;
    }
    entries = g_strsplit(s->rmrr_spec, ";", -1);
    s->rmrrs = g_new0(VtdRmrr, g_strv_length(entries));
    for (char **e = entries; *e; e++) {
        g_auto(GStrv) parts = g_strsplit(*e, ":", -1);
        VtdRmrr *r = &s->rmrrs[s->nr_rmrrs];
        const char *why = NULL;

        why = dmar_rmrr_parse_range(parts[0] ? parts[0] : "", s->aw_bits,
                                    &r->base, &r->limit);
        if (!why) {
            why = rmrr_ids_refused(parts + 1);
        }
        if (why) {
            error_setg(errp, "intel-iommu: rmrr '%s': %s (the syntax is "
                       RMRR_SYNTAX ")", *e, why);
            free_rmrrs(s);
            return false;
        }
        r->ids = g_strdupv(parts + 1);
        s->nr_rmrrs++;
    }
    return true;
}

/* Each RMRR is reserved memory in the E820 map, as firmware makes it. */
static void reserve_rmrrs(IntelIOMMUState *s)
{
    for (unsigned i = 0; i < s->nr_rmrrs; i++) {
        e820_add_entry(s->rmrrs[i].base,
                       s->rmrrs[i].limit - s->rmrrs[i].base + 1,
                       E820_RESERVED);
    }
}

/* The PCI device an RMRR names by id, or NULL. */
static PCIDevice *rmrr_device(const char *id)
{
    DeviceState *d = qdev_find_recursive(sysbus_get_default(), id);

    return d ? (PCIDevice *)object_dynamic_cast(OBJECT(d), TYPE_PCI_DEVICE)
             : NULL;
}

static bool check_config(IntelIOMMUState *s, Error **errp)
{
    bool auto_eim;

    for (size_t i = 0; i < ARRAY_SIZE(vtd_config_rules); i++) {
        if (vtd_config_rules[i].refused(s)) {
            error_setg(errp, "intel-iommu: %s", vtd_config_rules[i].why);
            return false;
        }
    }
    if (!parse_rmrrs(s, errp)) {
        return false;
    }
    auto_eim = s->intr_eim == ON_OFF_AUTO_AUTO;
    s->intr_eim = decide_eim(s);
    if (eim_without_kvm_x2apic(s)) {
        error_setg(errp, "intel-iommu: eim=on needs KVM's X2APIC_API");
        return false;
    }
    if (auto_eim && s->intr_eim == ON_OFF_AUTO_OFF &&
        x86_iommu_ir_supported(X86_IOMMU_DEVICE(s)) && apic_ids_above_255()) {
        error_setg(errp, "intel-iommu: vCPUs with APIC IDs above 255 need "
                   "x2APIC interrupt remapping (eim), which KVM delivers "
                   "only with kernel-irqchip=split; set eim=off to boot "
                   "with those vCPUs unusable");
        return false;
    }
    return true;
}

static int refuse_vfio_without_cm(Object *child, void *opaque)
{
    IntelIOMMUState *s = opaque;

    if (object_dynamic_cast(child, "vfio-pci") && !s->caching_mode) {
        error_report("intel-iommu: device assignment (vfio-pci) needs "
                     "caching-mode=on");
        exit(1);
    }
    return 0;
}

/*
 * RMRR scopes here are one-entry paths from a root bus (8.3.1), so their
 * devices sit on root buses.
 */
static void check_rmrr_devices(IntelIOMMUState *s)
{
    for (unsigned i = 0; i < s->nr_rmrrs; i++) {
        for (char **id = s->rmrrs[i].ids; *id; id++) {
            PCIDevice *d = rmrr_device(*id);

            if (!d) {
                error_report("intel-iommu: rmrr names '%s', which is not "
                             "the id of a PCI device", *id);
                exit(1);
            }
            if (!pci_bus_is_root(pci_get_bus(d))) {
                error_report("intel-iommu: rmrr names '%s', which is behind "
                             "a bridge: RMRR devices must sit on a root bus",
                             *id);
                exit(1);
            }
        }
    }
}

static void vtd_machine_done(Notifier *n, void *data)
{
    object_child_foreach_recursive(object_get_root(), refuse_vfio_without_cm,
                                   x86_iommu_get_default());
    check_rmrr_devices(INTEL_IOMMU_DEVICE(x86_iommu_get_default()));
}

static Notifier vtd_machine_done_notifier = { .notify = vtd_machine_done };

/* ---- introspection (query-viommu) ---- */

/*
 * The space @opaque as query-viommu shows it (a ViommuDescribeFn), or
 * NULL; called with s->lock held.
 */
static ViommuEndpoint *space_endpoint(void *opaque, ViommuPtConfig *cfg,
                                      bool *walk)
{
    VTDAddressSpace *vas = opaque;
    IntelIOMMUState *s = vas->s;
    ViommuEndpoint *ep;
    VtdCtxCache c;

    if (!vas->bus || !space_alive(vas)) {
        return NULL;
    }
    ep = g_new0(ViommuEndpoint, 1);
    ep->bdf = viommu_info_bdf(space_sid(vas));
    ep->device = viommu_info_device_path(vas->bus, vas->devfn);
    if (!s->translation_on) {
        ep->mode = VIOMMU_ENDPOINT_MODE_BYPASS;
    } else if (space_context(vas, &c)) {
        ep->mode = VIOMMU_ENDPOINT_MODE_BLOCKED;
    } else {
        ep->has_domain = true;
        ep->domain = c.domain;
        ep->mode = c.mode == VTD_MODE_PASS_THROUGH ?
                   VIOMMU_ENDPOINT_MODE_IDENTITY :
                   VIOMMU_ENDPOINT_MODE_TRANSLATED;
        *walk = c.mode != VTD_MODE_PASS_THROUGH;
        *cfg = walk_config(s, &c);
    }
    return ep;
}

static void vtd_info_endpoints(Object *obj, ViommuEndpointList ***tail)
{
    IntelIOMMUState *s = INTEL_IOMMU_DEVICE(obj);

    viommu_info_collect(s->spaces, &s->lock, space_endpoint, tail);
}

static void vtd_info_iotlb(Object *obj, uint64_t *hits, uint64_t *misses)
{
    IntelIOMMUState *s = INTEL_IOMMU_DEVICE(obj);

    viommu_info_iotlb(s->iotlb, &s->lock, hits, misses);
}

/* The root and context entries of @sid, raw, as text lines. */
static void context_lines(IntelIOMMUState *s, uint16_t sid, strList ***tail)
{
    VtdCaps caps = vtd_caps(s);
    uint64_t re[2], ce[4] = {}, table;
    unsigned n = s->root_scalable ? 4 : 2;

    QAPI_LIST_APPEND(*tail, g_strdup_printf("root table 0x%" PRIx64 " (%s)",
                     s->root_table, s->root_scalable ? "scalable" : "legacy"));
    if (!viommu_ram_read_n(root_entry_addr(s, sid), re, 2)) {
        QAPI_LIST_APPEND(*tail, g_strdup("root entry: not in RAM"));
        return;
    }
    QAPI_LIST_APPEND(*tail, g_strdup_printf("root entry %02x: 0x%016" PRIx64
                     " 0x%016" PRIx64, sid >> 8, re[1], re[0]));
    if (vtd_root_context_table(re[0], re[1], s->root_scalable, sid & 0xff,
                               &caps, &table) ||
        !viommu_ram_read_n(context_entry_addr(table, s->root_scalable,
                                              sid & 0xff), ce, n)) {
        QAPI_LIST_APPEND(*tail, g_strdup("context entry: none"));
        return;
    }
    QAPI_LIST_APPEND(*tail, s->root_scalable ?
        g_strdup_printf("context entry: 0x%016" PRIx64 " 0x%016" PRIx64
                        " 0x%016" PRIx64 " 0x%016" PRIx64, ce[3], ce[2],
                        ce[1], ce[0]) :
        g_strdup_printf("context entry: 0x%016" PRIx64 " 0x%016" PRIx64,
                        ce[1], ce[0]));
}

static ViommuEndpointDetail *vtd_info_detail(Object *obj, PCIDevice *pdev)
{
    IntelIOMMUState *s = INTEL_IOMMU_DEVICE(obj);
    AddressSpace *as = pci_device_iommu_address_space(pdev);
    VTDAddressSpace *vas = NULL, *v;
    GHashTableIter it;
    ViommuEndpointDetail *d;
    strList **tail;
    VtdCtxCache c;
    VtdDmaFault f;

    /* the space its DMA uses (behind a PCI bridge: the bridge's) */
    g_hash_table_iter_init(&it, s->spaces);
    while (g_hash_table_iter_next(&it, NULL, (void **)&v)) {
        if (&v->mr.as == as) {
            vas = v;
        }
    }
    if (!vas) {
        return NULL;
    }
    d = g_new0(ViommuEndpointDetail, 1);
    d->bdf = viommu_info_bdf(space_sid(vas));
    tail = &d->entries;
    qemu_mutex_lock(&s->lock);
    if (!s->translation_on) {
        QAPI_LIST_APPEND(tail, g_strdup("translation off (GSTS.TES 0)"));
    } else {
        context_lines(s, space_sid(vas), &tail);
        f = space_context(vas, &c);
        QAPI_LIST_APPEND(tail, f ?
            g_strdup_printf("decoded: fault reason 0x%x", f) :
            g_strdup_printf("decoded: %s, domain %u, %s%s, %d levels, "
                            "table 0x%" PRIx64 ", FPD %d",
                            c.mode == VTD_MODE_PASS_THROUGH ? "pass-through"
                                                            : "translated",
                            c.domain, c.first_stage ? "first stage"
                                                    : "second stage",
                            c.pasid == VIOMMU_IOTLB_NO_PASID ? "" :
                            " (PASID entry of RID_PASID)", c.levels,
                            c.root, c.fpd));
    }
    qemu_mutex_unlock(&s->lock);
    return d;
}

static const ViommuInfoOps vtd_info_ops = {
    .endpoints = vtd_info_endpoints,
    .iotlb = vtd_info_iotlb,
    .detail = vtd_info_detail,
};

static void vtd_realize(DeviceState *dev, Error **errp)
{
    IntelIOMMUState *s = INTEL_IOMMU_DEVICE(dev);
    PCMachineState *pcms = PC_MACHINE(qdev_get_machine());
    X86MachineState *x86ms = X86_MACHINE(pcms);

    if (!check_config(s, errp)) {
        return;
    }
    reserve_rmrrs(s);
    viommu_info_register(OBJECT(s), OBJECT(s), &s->stats, &vtd_info_ops);
    compute_caps(s);
    qemu_mutex_init(&s->lock);
    s->iotlb = viommu_iotlb_new(VTD_IOTLB_ENTRIES);
    viommu_xc_set_init(&s->fast);
    viommu_iotlb_set_fast(s->iotlb, &s->fast);
    viommu_fault_queue_init(&s->faults, DEVICE(s), &s->lock,
                            VTD_PENDING_FAULTS, sizeof(VtdPendingFault),
                            record_faults, s);
    s->qi_bh = qemu_bh_new_guarded(qi_continue, s,
                                   &DEVICE(s)->mem_reentrancy_guard);
    s->spaces = viommu_space_table_new();
    QLIST_INIT(&s->notified);
    memory_region_init_io(&s->csrmem, OBJECT(s), &vtd_mmio_ops, s,
                          "intel-iommu", VTD_MMIO_SIZE);
    sysbus_init_mmio(SYS_BUS_DEVICE(s), &s->csrmem);
    sysbus_mmio_map(SYS_BUS_DEVICE(s), 0, Q35_HOST_BRIDGE_IOMMU_ADDR);
    init_registers(s);
    clear_state(s);
    pci_setup_iommu(pcms->pcibus, &vtd_pci_ops, s);
    s->ioapic_space = space_get(s, NULL, Q35_PSEUDO_DEVFN_IOAPIC);
    x86ms->ioapic_as = &s->ioapic_space->mr.as;
    qemu_add_machine_init_done_notifier(&vtd_machine_done_notifier);
}

/* ---- DMAR (8.1), through hook 3 in acpi-build.c ---- */

typedef struct ScopeList {
    DmarScope *v;
    unsigned n, cap;
} ScopeList;

static void append_scope(ScopeList *l, DmarScope scope)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = g_renew(DmarScope, l->v, l->cap);
    }
    l->v[l->n++] = scope;
}

static void add_scope(PCIBus *bus, PCIDevice *dev, void *opaque)
{
    append_scope(opaque, (DmarScope) {
        .type = object_dynamic_cast(OBJECT(dev), TYPE_PCI_BRIDGE) ?
                DMAR_SCOPE_PCI_SUBHIERARCHY : DMAR_SCOPE_PCI_ENDPOINT,
        .bus = pci_bus_num(bus),
        .devfn = dev->devfn,
    });
}

/* Every function on each translated host bridge's root bus. */
static int add_host_bridge_scopes(Object *obj, void *opaque)
{
    PCIBus *bus;

    if (!object_dynamic_cast(obj, TYPE_PCI_HOST_BRIDGE)) {
        return 0;
    }
    bus = PCI_HOST_BRIDGE(obj)->bus;
    if (bus && !pci_bus_bypass_iommu(bus)) {
        pci_for_each_device_under_bus(bus, add_scope, opaque);
    }
    return 0;
}

/* A root-bus device that can cache translations (ATS): a SATC scope. */
static void add_ats_scope(PCIBus *bus, PCIDevice *dev, void *opaque)
{
    if (pci_is_express(dev) && dev->exp.ats_cap) {
        add_scope(bus, dev, opaque);
    }
}

static int add_satc_scopes(Object *obj, void *opaque)
{
    PCIBus *bus;

    if (!object_dynamic_cast(obj, TYPE_PCI_HOST_BRIDGE)) {
        return 0;
    }
    bus = PCI_HOST_BRIDGE(obj)->bus;
    if (bus && !pci_bus_bypass_iommu(bus)) {
        pci_for_each_device_under_bus(bus, add_ats_scope, opaque);
    }
    return 0;
}

/* The DMAR's RMRRs: each one's devices where they are now (8.4). */
static DmarRmrr *rmrr_entries(IntelIOMMUState *s, ScopeList *scopes,
                              unsigned *nr)
{
    DmarRmrr *v = g_new0(DmarRmrr, s->nr_rmrrs);
    g_autofree unsigned *first = g_new0(unsigned, s->nr_rmrrs + 1);

    *nr = 0;
    for (unsigned i = 0; i < s->nr_rmrrs; i++) {
        for (char **id = s->rmrrs[i].ids; *id; id++) {
            PCIDevice *d = rmrr_device(*id);

            if (d) {
                add_scope(pci_get_bus(d), d, scopes);
            }
        }
        v[*nr] = (DmarRmrr) { .base = s->rmrrs[i].base,
                              .limit = s->rmrrs[i].limit,
                              .nr_scopes = scopes->n - first[*nr] };
        if (v[*nr].nr_scopes) {
            first[++*nr] = scopes->n;       /* an RMRR without devices goes */
        }
    }
    for (unsigned i = 0; i < *nr; i++) {
        v[i].scopes = scopes->v + first[i];     /* final once all are in */
    }
    return v;
}

void intel_iommu_build_dmar(GArray *table_data, BIOSLinker *linker,
                            const char *oem_id, const char *oem_table_id)
{
    X86IOMMUState *x86 = x86_iommu_get_default();
    IntelIOMMUState *s = INTEL_IOMMU_DEVICE(x86);
    AcpiTable table = { .sig = "DMAR", .rev = 1, .oem_id = oem_id,
                        .oem_table_id = oem_table_id };
    ScopeList l = {}, rmrr_scopes = {}, satc = {};
    unsigned nr_rmrrs;
    g_autofree DmarRmrr *rmrrs = rmrr_entries(s, &rmrr_scopes, &nr_rmrrs);
    DmarConfig cfg;
    size_t len;
    uint8_t *body;

    append_scope(&l, (DmarScope) { DMAR_SCOPE_IOAPIC, ACPI_BUILD_IOAPIC_ID,
                                   Q35_PSEUDO_BUS_PLATFORM,
                                   Q35_PSEUDO_DEVFN_IOAPIC });
    object_child_foreach_recursive(object_get_root(), add_host_bridge_scopes,
                                   &l);
    if (x86->dt_supported && s->scalable_mode) {
        /* integrated devices with ATS: the SATC (8.8) */
        object_child_foreach_recursive(object_get_root(), add_satc_scopes,
                                       &satc);
    }
    cfg = (DmarConfig) {
        .host_address_width = s->aw_bits,
        .flags = (x86_iommu_ir_supported(x86) ? DMAR_FLAG_INTR_REMAP : 0) |
                 (s->x2apic_opt_out ? DMAR_FLAG_X2APIC_OPT_OUT : 0) |
                 (s->platform_opt_in ? DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN : 0) |
                 (s->dma_translation ? 0 : DMAR_FLAG_DMA_REMAP_OPT_OUT),
        .drhd_base = Q35_HOST_BRIDGE_IOMMU_ADDR,
        .scopes = l.v, .nr_scopes = l.n,
        .rmrrs = rmrrs, .nr_rmrrs = nr_rmrrs,
        .atsr_all_ports = x86->dt_supported,
        .satc_scopes = satc.v, .nr_satc_scopes = satc.n,
    };
    len = dmar_encode(&cfg, NULL, 0);
    if (!len) {
        error_report("intel-iommu: %u device scopes do not fit a DRHD", l.n);
        g_free(l.v);
        g_free(rmrr_scopes.v);
        g_free(satc.v);
        return;
    }
    body = g_malloc(len);
    dmar_encode(&cfg, body, len);
    acpi_table_begin(&table, table_data);
    g_array_append_vals(table_data, body, len);
    acpi_table_end(linker, &table);
    g_free(body);
    g_free(l.v);
    g_free(rmrr_scopes.v);
    g_free(satc.v);
}

/* ---- types ---- */

/* QEMU 10.0's properties, and the newer spellings of two of them. */
static const Property vtd_properties[] = {
    /* translation */
    DEFINE_PROP_UINT8("aw-bits", IntelIOMMUState, aw_bits,
                      VTD_HOST_ADDRESS_WIDTH),
    DEFINE_PROP_BOOL("dma-translation", IntelIOMMUState, dma_translation,
                     true),
    DEFINE_PROP_BOOL("caching-mode", IntelIOMMUState, caching_mode, false),
    DEFINE_PROP_BOOL("snoop-control", IntelIOMMUState, snoop_control, false),
    DEFINE_PROP_BOOL("dma-drain", IntelIOMMUState, dma_drain, true),
    DEFINE_PROP_BOOL("stale-tm", IntelIOMMUState, stale_tm, false),
    /* scalable mode */
    DEFINE_PROP_BOOL("scalable-mode", IntelIOMMUState, scalable_mode, false),
    DEFINE_PROP_BOOL("x-scalable-mode", IntelIOMMUState, scalable_mode,
                     false),
    DEFINE_PROP_BOOL("flts", IntelIOMMUState, flts, false),
    DEFINE_PROP_BOOL("x-flts", IntelIOMMUState, flts, false),
    DEFINE_PROP_BOOL("fs1gp", IntelIOMMUState, fs1gp, true),
    DEFINE_PROP_BOOL("x-pasid-mode", IntelIOMMUState, pasid, false),
    /* interrupt remapping: x2APIC mode */
    DEFINE_PROP_ON_OFF_AUTO("eim", IntelIOMMUState, intr_eim,
                            ON_OFF_AUTO_AUTO),
    DEFINE_PROP_BOOL("x-buggy-eim", IntelIOMMUState, buggy_eim, false),
    DEFINE_PROP_BOOL("x2apic-opt-out", IntelIOMMUState, x2apic_opt_out, false),
    DEFINE_PROP_BOOL("platform-opt-in", IntelIOMMUState, platform_opt_in,
                     false),
    /* reserved memory regions (RMRR) and their devices */
    DEFINE_PROP_STRING("rmrr", IntelIOMMUState, rmrr_spec),
    /* accepted; VER stays 1.0 */
    DEFINE_PROP_UINT32("version", IntelIOMMUState, version, 0),
};

static void vtd_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    X86IOMMUClass *x86_class = X86_IOMMU_DEVICE_CLASS(klass);

    device_class_set_legacy_reset(dc, vtd_reset);
    dc->vmsd = &vtd_vmstate;
    device_class_set_props(dc, vtd_properties);
    dc->hotpluggable = false;
    dc->user_creatable = true;
    dc->desc = "Intel IOMMU (VT-d) DMA Remapping device";
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    x86_class->realize = vtd_realize;
    x86_class->int_remap = vtd_int_remap;
}

static void vtd_iommu_memory_region_class_init(ObjectClass *klass, void *data)
{
    IOMMUMemoryRegionClass *imrc = IOMMU_MEMORY_REGION_CLASS(klass);

    imrc->translate = vtd_translate;
    iommu_direct_opt_in(imrc);      /* every change reaches UNMAP notifiers */
    imrc->notify_flag_changed = vtd_notify_flag_changed;
    imrc->replay = vtd_replay;
}

static const TypeInfo vtd_types[] = {
    {
        .name = TYPE_INTEL_IOMMU_DEVICE,
        .parent = TYPE_X86_IOMMU_DEVICE,
        .instance_size = sizeof(IntelIOMMUState),
        .class_init = vtd_class_init,
    }, {
        .name = TYPE_INTEL_IOMMU_MEMORY_REGION,
        .parent = TYPE_IOMMU_MEMORY_REGION,
        .class_init = vtd_iommu_memory_region_class_init,
    },
};

DEFINE_TYPES(vtd_types)

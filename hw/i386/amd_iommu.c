/*
 * qemu-viommu: amd-iommu, an AMD-Vi IOMMU (AMD I/O Virtualization
 * Technology (IOMMU) Specification, rev. 3.x).
 *
 * QEMU glue around the QEMU-independent core (hw/viommu/): the register
 * file (3.4), the per-device address spaces, the device table cache
 * (2.2.2), the command buffer (2.4), the event log (2.5), interrupt
 * remapping (2.2.5) and the IOMMU notifiers (VFIO, vhost) kept exact
 * through the core's notifier shadow. Translation follows each device's
 * table entry and nothing else: no property turns it off behind the
 * guest's back.
 *
 * Locking: the BQL covers the registers, the command buffer, the event
 * log, the address-space layout and the notifier shadows. s->lock covers
 * the device table cache and the IOTLB, which translate() uses without
 * the BQL (IOThreads). Order: BQL, then s->lock; nothing is called with
 * s->lock held that could take the BQL or call a notifier.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/ctype.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/sysbus.h"
#include "hw/pci/msi.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_bus.h"
#include "hw/pci/pci_host.h"
#include "hw/pci/pci_bridge.h"
#include "hw/pci/pcie.h"
#include "hw/i386/pc.h"
#include "hw/i386/apic_internal.h"
#include "hw/i386/amd_iommu.h"
#include "hw/i386/viommu-glue.h"
#include "hw/i386/viommu-ram.h"
#include "hw/acpi/aml-build.h"
#include "migration/vmstate.h"
#include "exec/address-spaces.h"
#include "system/kvm.h"
#include "system/system.h"
#include "acpi-common.h"

#include "hw/viommu/acpi-ivrs.h"
#include "hw/viommu/amd-cmd.h"
#include "hw/viommu/amd-dte.h"
#include "hw/viommu/amd-event.h"
#include "hw/viommu/amd-irte.h"
#include "hw/viommu/iotlb.h"
#include "hw/viommu/pow2-split.h"
#include "hw/viommu/pt-walk.h"
#include "hw/viommu/regfile.h"
#include "hw/viommu/shadow.h"
#include "hw/viommu/xlate-fast.h"
#include "hw/viommu/iommu-direct.h"
#include "trace.h"
#include "trace/trace-hw_viommu.h"

/* ---- registers (3.4) ---- */

enum {
    R_DEVTAB = 0x00, R_CMDBUF = AMDVI_MMIO_COMMAND_BASE, R_EVTLOG = 0x10,
    R_CONTROL = AMDVI_MMIO_CONTROL,
    R_EXCL_BASE = 0x20, R_EXCL_LIMIT = 0x28, R_EFR = 0x30,
    R_XT_EVT = 0x170, R_XT_PPR = 0x178, R_XT_GALOG = 0x180,
    R_CMD_HEAD = AMDVI_MMIO_COMMAND_HEAD, R_CMD_TAIL = AMDVI_MMIO_COMMAND_TAIL,
    R_EVT_HEAD = 0x2010,
    R_EVT_TAIL = 0x2018, R_STATUS = 0x2020,
};

/* Control (3.4.3) */
#define CTL_IOMMU_EN        AMDVI_MMIO_CONTROL_AMDVIEN
#define CTL_EVT_LOG_EN      (1ull << 2)
#define CTL_EVT_INT_EN      (1ull << 3)
#define CTL_COMWAIT_INT_EN  (1ull << 4)
#define CTL_CMDBUF_EN       AMDVI_MMIO_CONTROL_CMDBUFLEN
#define CTL_GA_EN           (1ull << 17)
#define CTL_XT_EN           (1ull << 50)
#define CTL_INTCAPXT_EN     (1ull << 51)
#define CTL_IRT_CACHE_DIS   (1ull << 59)
/*
 * IommuEn..CmdBufEn (HtTunEn, InvTimeOut, PassPW, ResPassPW, Coherent,
 * Isoc are kept and mean nothing here), GAEn, IRTCacheDis
 */
#define CTL_RW              (0x1fffull | CTL_GA_EN | CTL_IRT_CACHE_DIS)

/* Status (3.4.8) */
#define ST_EVT_OVERFLOW     (1ull << 0)
#define ST_EVT_INT          (1ull << 1)
#define ST_COMWAIT_INT      (1ull << 2)
#define ST_EVT_RUN          (1ull << 3)
#define ST_CMD_RUN          (1ull << 4)

/* Extended features (3.4.5) */
#define EFR_PREF_SUP        (1ull << 0)
#define EFR_XT_SUP          (1ull << 2)
#define EFR_IA_SUP          (1ull << 6)
#define EFR_GA_SUP          (1ull << 7)
#define EFR_HATS_SHIFT      10          /* 2: six levels; 3: no v1 tables */

/* The secure device capability (3.2) of AMDVI-PCI */
#define CAP_ID_SECURE       0x0f
#define CAP_SIZE            0x18
#define CAP_TYPE_IOMMU      (3u << 16)
#define CAP_REV_1           (1u << 19)
#define CAP_IOTLB_SUP       (1u << 24)
#define CAP_NP_CACHE        (1u << 26)
#define CAP_EFR_SUP         (1u << 27)
#define CAP_EXT             (1u << 28)

#define BASE_MASK           0x000ffffffffff000ull
#define PTR_MASK            AMDVI_MMIO_CMDBUF_HEAD_MASK  /* head, tail: 18:4 */
#define OUT_MASK            ((1ull << 52) - 1)  /* system address width */

/* The interrupt address range: DMA writes here are interrupt requests. */
#define AMDVI_INTR_BASE     0xfee00000ULL
#define AMDVI_INTR_SIZE     0x100000ULL

#define AMDVI_IOTLB_ENTRIES 4096
#define AMDVI_SHADOW_MAX    (1u << 20)
#define AMDVI_LOG_BURST     16
#define AMDVI_CMD_SLICE_NS  (2 * SCALE_MS)
#define AMDVI_MAX_MODE      6

/* What a device's table entry came to, cached until invalidated. */
typedef enum AmdviDteState {
    DTE_OK,
    DTE_ILLEGAL,                /* reserved bits: ILLEGAL_DEV_TABLE_ENTRY */
    DTE_UNREADABLE,             /* DEV_TAB_HARDWARE_ERROR */
    DTE_BEYOND,                 /* DeviceID beyond the table */
} AmdviDteState;

typedef struct AmdviDteCache {
    bool valid;
    uint16_t devid;             /* read for this DeviceID (bus renumbering) */
    AmdviDteState state;
    AmdDte dte;
    bool irq_reported;          /* this bad entry's interrupt event logged */
} AmdviDteCache;

struct AMDVIAddressSpace {
    AMDVIState *s;
    PCIBus *bus;                /* NULL: the IOAPIC's pseudo device */
    uint8_t devfn;
    ViommuSpaceRegions mr;      /* translated, or straight to memory */
    AmdviDteCache dc;           /* under s->lock */
    IOMMUNotifierFlag notifier_flags;
    ViommuShadow *shadow;       /* what MAP notifiers hold */
    QLIST_ENTRY(AMDVIAddressSpace) next;
    ViommuXc xc;                /* translate fast path; filled under lock */
};

static uint64_t reg_q(AMDVIState *s, hwaddr r)
{
    return ldq_le_p(s->regs + r);
}

static void set_q(AMDVIState *s, hwaddr r, uint64_t v)
{
    stq_le_p(s->regs + r, v);
}

static void mod_q(AMDVIState *s, hwaddr r, uint64_t clear, uint64_t set)
{
    set_q(s, r, (reg_q(s, r) & ~clear) | set);
}

static bool ctl(AMDVIState *s, uint64_t bit)
{
    return reg_q(s, R_CONTROL) & bit;
}

/* Bytes of the ring whose base register is @r: 2^Len entries of 16. */
static uint32_t ring_len(AMDVIState *s, hwaddr r)
{
    unsigned len = (reg_q(s, r) >> 56) & 0xf;

    return 16u << MAX(len, 8u);
}

static uint32_t ring_ptr(AMDVIState *s, hwaddr r)
{
    return reg_q(s, r) & PTR_MASK;
}

/* Whether the space's bus is still there (a bridge may be unplugged). */
static bool space_alive(AMDVIAddressSpace *as)
{
    return !as->bus || viommu_bus_alive(as->bus);
}

/* DeviceID: bus << 8 | devfn. */
static uint16_t space_devid(AMDVIAddressSpace *as)
{
    if (!as->bus) {
        return as->s->ioapic_devid;
    }
    if (!space_alive(as)) {
        return X86_IOMMU_SID_INVALID;
    }
    return PCI_BUILD_BDF(pci_bus_num(as->bus), as->devfn);
}

/* Guest errors, at most AMDVI_LOG_BURST a second. */
static void G_GNUC_PRINTF(2, 3) amdvi_guest_error(AMDVIState *s,
                                                  const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    viommu_guest_verror(&s->log_limit, AMDVI_LOG_BURST, "amd-iommu", fmt, ap);
    va_end(ap);
}

/*
 * The IOMMU raises its interrupt itself: whatever its function's Bus
 * Master Enable says (Linux leaves it clear), and not through interrupt
 * remapping (Linux gives its function a device table entry that blocks
 * interrupts and programs a plain MSI message).
 */
static void raise_interrupt(AMDVIState *s)
{
    PCIDevice *pd = s->pci_dev ? &s->pci_dev->dev : NULL;
    MSIMessage msg;

    if (ctl(s, CTL_INTCAPXT_EN)) {
        uint64_t xt = reg_q(s, R_XT_EVT);
        X86IOMMUIrq irq = {
            .vector = xt >> 32,
            .dest = ((xt >> 8) & 0xffffff) | (uint32_t)(xt >> 56) << 24,
            .dest_mode = (xt >> 2) & 1,
        };

        x86_iommu_irq_to_msi_message(&irq, &msg);
    } else if (pd && msi_enabled(pd)) {
        msg = msi_get_message(pd, 0);
    } else {
        return;
    }
    if ((msg.address & 0xfff00000u) == AMDVI_INTR_BASE) {
        apic_get_class(NULL)->send_msi(&msg);
    }
}

/* ---- the event log (2.5) ---- */

static void update_status(AMDVIState *s)
{
    bool on = ctl(s, CTL_IOMMU_EN);
    uint64_t run = (on && ctl(s, CTL_EVT_LOG_EN) && !s->evt_overflowed ?
                    ST_EVT_RUN : 0) |
                   (on && ctl(s, CTL_CMDBUF_EN) && !s->cmd_halted ?
                    ST_CMD_RUN : 0);

    mod_q(s, R_STATUS, ST_EVT_RUN | ST_CMD_RUN, run);
}

/*
 * Under the BQL: appends one event, or on a full log sets EventOverflow
 * and stops logging until software turns EventLogEn off and on.
 */
static void write_event(AMDVIState *s, const uint32_t d[4])
{
    uint32_t len = ring_len(s, R_EVTLOG);
    long slot;
    uint8_t buf[AMD_EVENT_SIZE];

    viommu_stats_fault(&s->stats, d[1] >> 28);     /* EventCode */
    if (!(reg_q(s, R_STATUS) & ST_EVT_RUN)) {
        s->lost_events++;
        return;
    }
    slot = amd_event_log_slot(ring_ptr(s, R_EVT_HEAD),
                              ring_ptr(s, R_EVT_TAIL), len);
    if (slot < 0) {
        trace_amdvi_evntlog_fail(reg_q(s, R_EVTLOG) & BASE_MASK,
                                 ring_ptr(s, R_EVT_TAIL));
        s->evt_overflowed = true;
        mod_q(s, R_STATUS, 0, ST_EVT_OVERFLOW);
        update_status(s);
        s->lost_events++;
        if (ctl(s, CTL_EVT_INT_EN)) {
            raise_interrupt(s);
        }
        return;
    }
    for (int i = 0; i < 4; i++) {
        stl_le_p(buf + 4 * i, d[i]);
    }
    if (!viommu_ram_write((reg_q(s, R_EVTLOG) & BASE_MASK) + slot, buf,
                          sizeof(buf))) {
        amdvi_guest_error(s, "event log outside RAM");
    }
    set_q(s, R_EVT_TAIL, (slot + AMD_EVENT_SIZE) % len);
    if (ctl(s, CTL_EVT_INT_EN)) {
        mod_q(s, R_STATUS, 0, ST_EVT_INT);
        raise_interrupt(s);
    }
}

static void log_event(AMDVIState *s, const AmdEvent *e)
{
    uint32_t d[4];

    amd_event_encode(e, d);
    write_event(s, d);
}

/* Logs events found without the BQL (ViommuFaultQueue). */
static void log_events(void *opaque, const void *records, unsigned n)
{
    const AmdviPendingEvent *e = records;

    for (unsigned i = 0; i < n; i++) {
        write_event(opaque, e[i].d);
    }
}

/*
 * An event seen without the BQL (translate() from an IOThread) is logged
 * by a bottom half; at most AMDVI_PENDING_EVENTS wait, the rest are lost
 * as they would be in a full log.
 */
static void report_event(AMDVIState *s, const AmdEvent *e)
{
    AmdviPendingEvent p;

    amd_event_encode(e, p.d);
    viommu_fault_report(&s->events, &p);
}

/* ---- device table (2.2.2) ---- */

/* Where the device table entry of @devid lies (guest-physical). */
static uint64_t dte_addr(AMDVIState *s, uint16_t devid)
{
    return (reg_q(s, R_DEVTAB) & BASE_MASK) + AMD_DTE_SIZE * devid;
}

/* The device table entry of @devid, read from RAM and decoded. */
static AmdviDteState read_dte(AMDVIState *s, uint16_t devid, AmdDte *out)
{
    uint64_t base = reg_q(s, R_DEVTAB), q[4];
    uint32_t entries = ((base & 0x1ff) + 1) * (4096 / AMD_DTE_SIZE);

    *out = (AmdDte) {};
    if (devid >= entries || devid == X86_IOMMU_SID_INVALID) {
        return DTE_BEYOND;
    }
    if (!viommu_ram_read_n(dte_addr(s, devid), q, 4)) {
        return DTE_UNREADABLE;
    }
    if (amd_dte_decode(q, s->dma_translation ? AMDVI_MAX_MODE : 0, OUT_MASK,
                       out)) {
        return DTE_ILLEGAL;
    }
    return DTE_OK;
}

/* With s->lock held: the entry of @as, read and decoded once. */
static AmdviDteState space_dte(AMDVIAddressSpace *as, AmdDte *out)
{
    uint16_t devid = space_devid(as);

    if (!as->dc.valid || as->dc.devid != devid) {
        as->dc.state = read_dte(as->s, devid, &as->dc.dte);
        as->dc.devid = devid;
        as->dc.valid = true;
        as->dc.irq_reported = false;
    }
    *out = as->dc.dte;
    return as->dc.state;
}

/* The event for an entry that could not be used (@flags: I, RW). */
static void dte_event(AMDVIState *s, uint16_t devid, AmdviDteState st,
                      uint64_t addr, uint16_t flags)
{
    AmdEvent e = {
        .code = st == DTE_UNREADABLE ? AMD_EVENT_DEV_TAB_HW_ERROR
                                     : AMD_EVENT_ILLEGAL_DEV_TABLE_ENTRY,
        .devid = devid, .addr = addr,
        .flags = flags | (st == DTE_ILLEGAL ? AMD_EVENT_RZ : 0),
    };

    amdvi_guest_error(s, "DMA fault: device table entry of %02x:%02x.%x %s",
                      devid >> 8, PCI_SLOT(devid), PCI_FUNC(devid),
                      st == DTE_UNREADABLE ? "unreadable" :
                      st == DTE_BEYOND ? "beyond the table" : "reserved bits");
    if (st == DTE_UNREADABLE) {
        e.addr = dte_addr(s, devid);
    }
    trace_amdvi_invalid_dte(dte_addr(s, devid));
    report_event(s, &e);
}

static ViommuPtConfig walk_config(const AmdDte *d)
{
    ViommuPtConfig cfg = {
        .fmt = &viommu_pt_amd_v1,
        .root = d->root,
        .levels = d->mode,
        .out_mask = OUT_MASK,
        .read = viommu_ram_read_q,
    };
    return cfg;
}

/* ---- DMA translation (2.2.3) ---- */

typedef struct AmdviXlate {
    ViommuIotlbEntry e;
    bool fault;
    AmdviDteState dte_state;    /* DTE_OK: a page fault, if any */
    AmdEventCode code;
    uint16_t flags;             /* of the IO_PAGE_FAULT */
    bool suppress;              /* SA: no event */
    bool cacheable;             /* from the IOTLB: the fast path may hold it */
} AmdviXlate;

static void page_fault(AmdviXlate *x, ViommuPtFault f, const AmdDte *d)
{
    x->fault = true;
    x->code = f == VIOMMU_PT_READ_FAILED ? AMD_EVENT_PAGE_TAB_HW_ERROR
                                         : AMD_EVENT_IO_PAGE_FAULT;
    switch (f) {
    case VIOMMU_PT_PERM:
        x->flags = AMD_EVENT_PR | AMD_EVENT_PE;
        break;
    case VIOMMU_PT_RESERVED:
    case VIOMMU_PT_BAD_LEVEL:
    case VIOMMU_PT_ADDR_WIDTH:
        x->flags = AMD_EVENT_PR | AMD_EVENT_RZ;
        break;
    default:
        x->flags = 0;
        break;
    }
    x->suppress = d->suppress_faults;
}

/* Translates @addr for @as with s->lock held; fills *x. */
static void translate_locked(AMDVIAddressSpace *as, uint64_t addr,
                             unsigned perm, AmdviXlate *x)
{
    AMDVIState *s = as->s;
    uint16_t devid = space_devid(as);
    ViommuPtConfig cfg;
    ViommuPtResult res;
    ViommuPtFault f;
    AmdDte d;

    x->dte_state = space_dte(as, &d);
    if (x->dte_state != DTE_OK) {
        x->fault = true;
        return;
    }
    x->e = (ViommuIotlbEntry) {
        .iova = addr & ~0xfffull, .output = addr & ~0xfffull,
        .page_shift = 12, .perm = VIOMMU_PT_READ | VIOMMU_PT_WRITE,
    };
    if (!d.valid || d.dma == AMD_DTE_DMA_UNTRANSLATED) {
        return;
    }
    x->e.domain = d.domain;
    if (d.dma == AMD_DTE_DMA_BLOCKED) {
        x->e.perm = 0;
        page_fault(x, VIOMMU_PT_NOT_PRESENT, &d);
        return;
    }
    if (d.dma == AMD_DTE_DMA_MODE0) {
        x->e.perm = d.perm;
        if ((d.perm & perm) != perm) {
            page_fault(x, VIOMMU_PT_PERM, &d);
        }
        return;
    }
    if (viommu_iotlb_lookup(s->iotlb, devid, d.domain, VIOMMU_IOTLB_NO_PASID,
                            addr, &x->e) && (x->e.perm & perm) == perm) {
        trace_amdvi_iotlb_hit(devid >> 8, PCI_SLOT(devid), PCI_FUNC(devid),
                              addr, x->e.output);
        x->cacheable = true;
        return;
    }
    cfg = walk_config(&d);
    f = viommu_pt_walk(&cfg, addr, perm, &res);
    if (f == VIOMMU_PT_OK && (d.perm & perm) != perm) {
        f = VIOMMU_PT_PERM;
    }
    if (f) {
        page_fault(x, f, &d);
        x->e.perm = 0;
        x->e.domain = d.domain;
        return;
    }
    x->e = (ViommuIotlbEntry) {
        .iova = res.iova, .output = res.output,
        .pasid = VIOMMU_IOTLB_NO_PASID, .sid = devid, .domain = d.domain,
        .page_shift = res.page_shift,
        .perm = res.perm & d.perm & (VIOMMU_PT_READ | VIOMMU_PT_WRITE),
    };
    viommu_iotlb_insert(s->iotlb, &x->e);
    trace_amdvi_cache_update(d.domain, devid >> 8, PCI_SLOT(devid),
                             PCI_FUNC(devid), addr, res.output);
    x->cacheable = true;
}

static void xlate_event(AMDVIState *s, uint16_t devid, const AmdviXlate *x,
                        uint64_t addr, bool write)
{
    AmdEvent e = {
        .code = x->code, .devid = devid, .domain = x->e.domain,
        .flags = x->flags | (write ? AMD_EVENT_RW : 0), .addr = addr,
    };

    if (x->dte_state != DTE_OK) {
        dte_event(s, devid, x->dte_state, addr, e.flags & AMD_EVENT_RW);
        return;
    }
    if (x->suppress) {
        return;
    }
    amdvi_guest_error(s, "DMA fault: %s from %02x:%02x.%x at 0x%" PRIx64
                      " flags 0x%x",
                      x->code == AMD_EVENT_IO_PAGE_FAULT ? "IO_PAGE_FAULT"
                      : "PAGE_TAB_HARDWARE_ERROR", devid >> 8,
                      PCI_SLOT(devid), PCI_FUNC(devid), addr, e.flags);
    if (x->code == AMD_EVENT_IO_PAGE_FAULT) {
        trace_amdvi_page_fault(addr);
    } else {
        trace_amdvi_get_pte_hwerror(addr);
    }
    report_event(s, &e);
}

static IOMMUTLBEntry amdvi_translate(IOMMUMemoryRegion *iommu, hwaddr addr,
                                     IOMMUAccessFlags flag, int iommu_idx)
{
    AMDVIAddressSpace *as = container_of(iommu, AMDVIAddressSpace, mr.iommu);
    AMDVIState *s = as->s;
    IOMMUTLBEntry entry = {
        .target_as = &address_space_memory,
        .iova = addr & ~0xfffull,
        .translated_addr = addr & ~0xfffull,
        .addr_mask = 0xfff,
        .perm = IOMMU_NONE,
    };
    AmdviXlate x = {};
    uint64_t mask;

    viommu_stats_translation(&s->stats);
    if (viommu_fast_translate(&as->xc, space_devid(as), addr, flag, &entry)) {
        return entry;
    }
    qemu_mutex_lock(&s->lock);
    if (!ctl(s, CTL_IOMMU_EN)) {
        entry.perm = IOMMU_RW;
        qemu_mutex_unlock(&s->lock);
        return entry;
    }
    translate_locked(as, addr, viommu_walk_perm(flag), &x);
    if (!x.fault || x.e.perm) {
        mask = viommu_low_mask(x.e.page_shift);
        entry.iova = x.e.iova & ~mask;
        entry.translated_addr = x.e.output & ~mask;
        entry.addr_mask = mask;
        entry.perm = viommu_iommu_perm(x.e.perm);
        if (!x.fault && x.cacheable) {
            viommu_fast_fill(&as->xc, space_devid(as), &entry, x.e.domain,
                             VIOMMU_IOTLB_NO_PASID);
        }
    }
    qemu_mutex_unlock(&s->lock);
    if (x.fault && flag != IOMMU_NONE) {
        xlate_event(s, space_devid(as), &x, addr, flag & IOMMU_WO);
    } else if (!x.fault &&
               trace_event_get_state_backends(TRACE_AMDVI_TRANSLATION_RESULT)) {
        trace_amdvi_translation_result(space_devid(as) >> 8,
                                       PCI_SLOT(as->devfn),
                                       PCI_FUNC(as->devfn), addr,
                                       entry.translated_addr);
    }
    return entry;
}

/* ---- address-space layout: translated, or straight to memory ---- */

/* Whether @as may bypass translate(): untranslated with both rights. */
static bool space_untranslated(AMDVIAddressSpace *as)
{
    AMDVIState *s = as->s;
    AmdDte d;
    bool plain;

    if (!ctl(s, CTL_IOMMU_EN)) {
        return true;
    }
    qemu_mutex_lock(&s->lock);
    plain = space_dte(as, &d) == DTE_OK &&
            (!d.valid || d.dma == AMD_DTE_DMA_UNTRANSLATED ||
             (d.dma == AMD_DTE_DMA_MODE0 &&
              d.perm == (VIOMMU_PT_READ | VIOMMU_PT_WRITE)));
    qemu_mutex_unlock(&s->lock);
    return plain;
}

/* Under the BQL: the iommu region for translation, nodma otherwise. */
static void space_update(AMDVIAddressSpace *as)
{
    bool translating = !space_untranslated(as);

    if (translating == as->mr.translating) {
        return;
    }
    trace_amdvi_switch_address_space(space_devid(as) >> 8, PCI_SLOT(as->devfn),
                                     PCI_FUNC(as->devfn), translating);
    if (!translating) {
        viommu_drop_notified(&as->mr.iommu, as->notifier_flags, as->shadow);
    }
    viommu_space_regions_switch(&as->mr, translating);
}

/* ---- notifiers (VFIO, vhost) ---- */

/*
 * Under the BQL: MAP notifiers (VFIO) but @skip get the exact difference
 * between the tables and what they hold over [@start, @last].
 */
static void shadow_sync(AMDVIAddressSpace *as, uint64_t start, uint64_t last,
                        IOMMUNotifier *skip)
{
    AMDVIState *s = as->s;
    ViommuNotifyTarget n = { .iommu = &as->mr.iommu, .skip = skip };
    ViommuPtConfig cfg;
    ViommuPtFault fault;
    AmdDte d;
    bool mapped;

    if (!as->shadow) {
        return;
    }
    qemu_mutex_lock(&s->lock);
    mapped = ctl(s, CTL_IOMMU_EN) && space_dte(as, &d) == DTE_OK &&
             d.valid && d.dma == AMD_DTE_DMA_TRANSLATED;
    qemu_mutex_unlock(&s->lock);
    if (mapped) {
        cfg = walk_config(&d);
        cfg.max_reads = 4 * AMDVI_SHADOW_MAX;
    }
    switch (viommu_shadow_sync(as->shadow, mapped ? &cfg : NULL, start, last,
                               viommu_shadow_notify, &n, &fault)) {
    case VIOMMU_SHADOW_OK:
        break;
    case VIOMMU_SHADOW_FULL:
        amdvi_guest_error(s, "more than %u mappings for notifiers of %s",
                          AMDVI_SHADOW_MAX, as->mr.as.name);
        break;
    default:
        amdvi_guest_error(s, "tables of %s unreadable (%d) while notified",
                          as->mr.as.name, fault);
        break;
    }
}

/* Under the BQL: after an invalidation of [@start, @last] of @as. */
static void space_sync(AMDVIAddressSpace *as, uint64_t start, uint64_t last)
{
    if (as->notifier_flags & IOMMU_NOTIFIER_UNMAP) {
        viommu_unmap_range(&as->mr.iommu, IOMMU_NOTIFIER_UNMAP, start, last);
    }
    shadow_sync(as, start, last, NULL);
}

static int amdvi_notify_flag_changed(IOMMUMemoryRegion *iommu,
                                     IOMMUNotifierFlag old,
                                     IOMMUNotifierFlag new, Error **errp)
{
    AMDVIAddressSpace *as = container_of(iommu, AMDVIAddressSpace, mr.iommu);
    AMDVIState *s = as->s;

    if (viommu_shadow_track(&as->shadow, new, AMDVI_SHADOW_MAX,
                            AMDVI_INTR_BASE, AMDVI_INTR_SIZE, "amd-iommu",
                            errp)) {
        return -ENOMEM;
    }
    if (old == IOMMU_NOTIFIER_NONE && new != IOMMU_NOTIFIER_NONE) {
        QLIST_INSERT_HEAD(&s->notified, as, next);
    } else if (old != IOMMU_NOTIFIER_NONE && new == IOMMU_NOTIFIER_NONE) {
        QLIST_REMOVE(as, next);
    }
    as->notifier_flags = new;
    return 0;
}

/*
 * A notifier has just registered: the others get whatever changed since
 * they were last told, then @n gets every mapping held.
 */
static void amdvi_replay(IOMMUMemoryRegion *iommu, IOMMUNotifier *n)
{
    AMDVIAddressSpace *as = container_of(iommu, AMDVIAddressSpace, mr.iommu);
    ViommuNotifyTarget only = { .iommu = &as->mr.iommu, .only = n };

    if (!as->shadow || !(n->notifier_flags & IOMMU_NOTIFIER_MAP)) {
        return;
    }
    shadow_sync(as, 0, UINT64_MAX, n);
    viommu_shadow_replay(as->shadow, viommu_shadow_notify, &only);
}

/* ---- invalidation ---- */

/* Interrupt routes built from old entries (KVM's) are stale: all go. */
static void flush_interrupt_routes(AMDVIState *s)
{
    x86_iommu_iec_notify_all(X86_IOMMU_DEVICE(s), true, 0, 0);
}

/*
 * Device table entries of @devid (all: -1) are read again; the spaces
 * switch between translated and not, and their notifiers are brought in
 * line with whatever tables the entries now name.
 */
static void inv_devtab(AMDVIState *s, int devid)
{
    GHashTableIter it;
    AMDVIAddressSpace *as;
    GPtrArray *changed = g_ptr_array_new();

    qemu_mutex_lock(&s->lock);
    if (devid < 0) {
        viommu_iotlb_flush(s->iotlb);
    } else {
        viommu_iotlb_inv_sid(s->iotlb, devid);
    }
    g_hash_table_iter_init(&it, s->spaces);
    while (g_hash_table_iter_next(&it, NULL, (void **)&as)) {
        if (devid < 0 || space_devid(as) == devid) {
            as->dc.valid = false;
            g_ptr_array_add(changed, as);
        }
    }
    qemu_mutex_unlock(&s->lock);
    memory_region_transaction_begin();
    for (guint i = 0; i < changed->len; i++) {
        space_update(changed->pdata[i]);
    }
    memory_region_transaction_commit();
    for (guint i = 0; i < changed->len; i++) {
        as = changed->pdata[i];
        if (as->notifier_flags) {
            space_sync(as, 0, UINT64_MAX);
        }
    }
    g_ptr_array_free(changed, true);
    flush_interrupt_routes(s);          /* the interrupt half may differ */
}

/* INVALIDATE_IOMMU_PAGES: @domain over [start, last]. */
static void inv_pages(AMDVIState *s, uint16_t domain, uint64_t start,
                      uint64_t last)
{
    AMDVIAddressSpace *as, *next;

    qemu_mutex_lock(&s->lock);
    (*(start == 0 && last == UINT64_MAX ? &s->stats.inv_domain
                                        : &s->stats.inv_page))++;
    viommu_iotlb_inv_range(s->iotlb, domain, VIOMMU_IOTLB_ANY_PASID, start,
                           last);
    qemu_mutex_unlock(&s->lock);
    QLIST_FOREACH_SAFE(as, &s->notified, next, next) {
        AmdDte d;
        bool in_domain;

        qemu_mutex_lock(&s->lock);
        in_domain = space_dte(as, &d) == DTE_OK && d.valid &&
                    d.domain == domain;
        qemu_mutex_unlock(&s->lock);
        if (in_domain) {
            space_sync(as, start, last);
        }
    }
}

/* INVALIDATE_IOTLB_PAGES: what the device (vhost with ATS) cached. */
static void inv_device_iotlb(AMDVIState *s, uint16_t devid, uint64_t start,
                             uint64_t last)
{
    AMDVIAddressSpace *as, *next;

    QLIST_FOREACH_SAFE(as, &s->notified, next, next) {
        if (space_devid(as) == devid &&
            (as->notifier_flags & IOMMU_NOTIFIER_DEVIOTLB_UNMAP)) {
            viommu_unmap_range(&as->mr.iommu, IOMMU_NOTIFIER_DEVIOTLB_UNMAP,
                               start, last);
        }
    }
}

/* ---- the command buffer (2.4) ---- */

static AmdCmdCaps cmd_caps(void)
{
    AmdCmdCaps caps = { .invalidate_all = true, .prefetch = true };

    return caps;
}

static void completion_wait(AMDVIState *s, const AmdCmd *c)
{
    trace_amdvi_completion_wait(c->cw_addr, c->cw_data);
    if (c->cw_store) {
        uint8_t buf[8];

        stq_le_p(buf, c->cw_data);
        if (!viommu_ram_write(c->cw_addr, buf, 8)) {
            amdvi_guest_error(s, "COMPLETION_WAIT store to 0x%" PRIx64
                              " outside RAM", c->cw_addr);
        }
    }
    if (c->cw_interrupt) {
        mod_q(s, R_STATUS, 0, ST_COMWAIT_INT);
        if (ctl(s, CTL_COMWAIT_INT_EN)) {
            raise_interrupt(s);
        }
    }
}

static void run_command(AMDVIState *s, const AmdCmd *c)
{
    switch (c->type) {
    case AMD_CMD_COMPLETION_WAIT:
        completion_wait(s, c);
        break;
    case AMD_CMD_INV_DEVTAB_ENTRY:
        trace_amdvi_devtab_inval(c->devid >> 8, PCI_SLOT(c->devid),
                                 PCI_FUNC(c->devid));
        s->stats.inv_device++;
        inv_devtab(s, c->devid);
        break;
    case AMD_CMD_INV_IOMMU_PAGES:
        trace_amdvi_pages_inval(c->domain);
        inv_pages(s, c->domain, c->start, c->last);
        break;
    case AMD_CMD_INV_IOTLB_PAGES:
        trace_amdvi_iotlb_inval();
        inv_device_iotlb(s, c->devid, c->start, c->last);
        break;
    case AMD_CMD_INV_INTERRUPT_TABLE:
        trace_amdvi_intr_inval();
        flush_interrupt_routes(s);
        break;
    case AMD_CMD_INV_IOMMU_ALL:
        trace_amdvi_all_inval();
        s->stats.inv_global++;
        inv_devtab(s, -1);
        flush_interrupt_routes(s);
        break;
    case AMD_CMD_PREFETCH_IOMMU_PAGES:  /* a hint */
        trace_amdvi_prefetch_pages();
        break;
    default:
        break;
    }
}

/* Stops the buffer at a command that cannot run, with its event. */
static void cmd_halt(AMDVIState *s, AmdEventCode code, uint64_t addr)
{
    AmdEvent e = { .code = code, .addr = addr };

    amdvi_guest_error(s, "%s at 0x%" PRIx64 ": command buffer stopped",
                      code == AMD_EVENT_ILLEGAL_COMMAND ? "illegal command"
                      : "unreadable command", addr);
    s->cmd_halted = true;
    update_status(s);
    log_event(s, &e);
}

/*
 * Runs the buffer from head to tail. After AMDVI_CMD_SLICE_NS it goes on
 * from a bottom half, so that a long buffer of costly invalidations never
 * holds the main loop for long.
 */
static void cmd_run(AMDVIState *s)
{
    uint32_t len = ring_len(s, R_CMDBUF);
    uint64_t base = reg_q(s, R_CMDBUF) & BASE_MASK;
    AmdCmdCaps caps = cmd_caps();
    int64_t deadline = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
                       AMDVI_CMD_SLICE_NS;

    while ((reg_q(s, R_STATUS) & ST_CMD_RUN) &&
           ring_ptr(s, R_CMD_HEAD) != ring_ptr(s, R_CMD_TAIL)) {
        uint32_t head = ring_ptr(s, R_CMD_HEAD);
        uint64_t q[2];
        uint32_t d[4];
        AmdCmd c;

        if (head >= len || ring_ptr(s, R_CMD_TAIL) >= len) {
            cmd_halt(s, AMD_EVENT_COMMAND_HW_ERROR, base + head);
            return;
        }
        if (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) > deadline) {
            qemu_bh_schedule(s->cmd_bh);
            return;
        }
        if (!viommu_ram_read_n(base + head, q, 2)) {
            trace_amdvi_command_read_fail(base, head);
            cmd_halt(s, AMD_EVENT_COMMAND_HW_ERROR, base + head);
            return;
        }
        d[0] = q[0];
        d[1] = q[0] >> 32;
        d[2] = q[1];
        d[3] = q[1] >> 32;
        if (!amd_cmd_decode(d, &caps, &c)) {
            trace_amdvi_unhandled_command(d[1] >> 28);
            cmd_halt(s, AMD_EVENT_ILLEGAL_COMMAND, base + head);
            return;
        }
        trace_amdvi_command_exec(head, ring_ptr(s, R_CMD_TAIL), base);
        set_q(s, R_CMD_HEAD, (head + 16) % len);
        run_command(s, &c);
    }
}

static void cmd_continue(void *opaque)
{
    cmd_run(opaque);
}

/* ---- register file ---- */

static void write_devtab(void *opaque, uint64_t old)
{
    AMDVIState *s = opaque;

    if (reg_q(s, R_DEVTAB) != old) {
        inv_devtab(s, -1);
    }
}

static void write_cmdbuf(void *opaque, uint64_t old)
{
    AMDVIState *s = opaque;

    if (!ctl(s, CTL_CMDBUF_EN)) {
        set_q(s, R_CMD_HEAD, 0);
        set_q(s, R_CMD_TAIL, 0);
    }
}

static void write_evtlog(void *opaque, uint64_t old)
{
    AMDVIState *s = opaque;

    if (!ctl(s, CTL_EVT_LOG_EN)) {
        set_q(s, R_EVT_HEAD, 0);
        set_q(s, R_EVT_TAIL, 0);
    }
}

static void write_control(void *opaque, uint64_t old)
{
    AMDVIState *s = opaque;
    uint64_t now = reg_q(s, R_CONTROL), on = now & ~old;
    uint64_t changed = now ^ old;

    if (on & CTL_CMDBUF_EN) {
        s->cmd_halted = false;
    }
    if (on & CTL_EVT_LOG_EN) {
        s->evt_overflowed = false;
    }
    update_status(s);
    trace_amdvi_control_status(reg_q(s, R_STATUS));
    if (changed & CTL_IOMMU_EN) {
        inv_devtab(s, -1);
    }
    if (changed & (CTL_IOMMU_EN | CTL_GA_EN | CTL_XT_EN)) {
        flush_interrupt_routes(s);
    }
    cmd_run(s);
}

static void write_cmd_tail(void *opaque, uint64_t old)
{
    AMDVIState *s = opaque;

    cmd_run(s);
}

/* Writable (rw) and write-1-to-clear (w1c) bits, and what a write does. */
static const ViommuReg amdvi_regs[] = {
    { R_DEVTAB, 8, BASE_MASK | 0x1ff, 0, write_devtab },
    { R_CMDBUF, 8, BASE_MASK | 0xfull << 56, 0, write_cmdbuf },
    { R_EVTLOG, 8, BASE_MASK | 0xfull << 56, 0, write_evtlog },
    { R_CONTROL, 8, CTL_RW | CTL_XT_EN | CTL_INTCAPXT_EN, 0, write_control },
    { R_EXCL_BASE, 8, BASE_MASK | 3, 0, NULL },
    { R_EXCL_LIMIT, 8, BASE_MASK, 0, NULL },
    { R_XT_EVT, 8, 0xff000000ffffff04ull | 0xffull << 32, 0, NULL },
    { R_XT_PPR, 8, 0xff000000ffffff04ull | 0xffull << 32, 0, NULL },
    { R_XT_GALOG, 8, 0xff000000ffffff04ull | 0xffull << 32, 0, NULL },
    { R_CMD_HEAD, 8, PTR_MASK, 0, NULL },
    { R_CMD_TAIL, 8, PTR_MASK, 0, write_cmd_tail },
    { R_EVT_HEAD, 8, PTR_MASK, 0, NULL },
    { R_EVT_TAIL, 8, PTR_MASK, 0, NULL },
    { R_STATUS, 8, 0, ST_EVT_OVERFLOW | ST_EVT_INT | ST_COMWAIT_INT, NULL },
};

/* What the configuration lets software set in register @r. */
static uint64_t reg_rw(void *opaque, const ViommuReg *r)
{
    AMDVIState *s = opaque;

    if (r->off == R_CONTROL && !s->xtsup) {
        return r->rw & ~(CTL_XT_EN | CTL_INTCAPXT_EN);
    }
    if (r->off >= R_XT_EVT && r->off <= R_XT_GALOG && !s->xtsup) {
        return 0;
    }
    return r->rw;
}

/* Register names for traces (3.4), by the offset of their quadword. */
static const char *reg_name(hwaddr addr)
{
    static const struct {
        hwaddr off;
        const char *name;
    } names[] = {
        { R_DEVTAB, "DevTabBase" }, { R_CMDBUF, "CmdBufBase" },
        { R_EVTLOG, "EventLogBase" }, { R_CONTROL, "Control" },
        { R_EXCL_BASE, "ExclusionBase" }, { R_EXCL_LIMIT, "ExclusionLimit" },
        { R_EFR, "ExtFeatures" }, { R_XT_EVT, "XTGenIntrEvent" },
        { R_XT_PPR, "XTGenIntrPPR" }, { R_XT_GALOG, "XTGenIntrGALog" },
        { R_CMD_HEAD, "CmdBufHead" }, { R_CMD_TAIL, "CmdBufTail" },
        { R_EVT_HEAD, "EventLogHead" }, { R_EVT_TAIL, "EventLogTail" },
        { R_STATUS, "Status" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if ((addr & ~7ull) == names[i].off) {
            return names[i].name;
        }
    }
    return "other";
}

static ViommuRegFile amdvi_regfile(AMDVIState *s)
{
    return (ViommuRegFile) {
        .bytes = s->regs, .size = AMDVI_REGS_SIZE,
        .regs = amdvi_regs, .nr_regs = ARRAY_SIZE(amdvi_regs),
        .rw_mask = reg_rw, .opaque = s,
    };
}

static uint64_t amdvi_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    ViommuRegFile f = amdvi_regfile(opaque);
    uint64_t val;

    if (!viommu_regfile_read(&f, addr, size, &val)) {
        trace_amdvi_mmio_read_invalid(AMDVI_REGS_SIZE, addr, size);
    }
    if (trace_event_get_state_backends(TRACE_AMDVI_MMIO_READ)) {
        trace_amdvi_mmio_read(reg_name(addr), addr, size, addr & ~7ull);
    }
    return val;
}

/* Any size at any offset (hw/viommu/regfile.h). */
static void amdvi_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                             unsigned size)
{
    ViommuRegFile f = amdvi_regfile(opaque);

    if (trace_event_get_state_backends(TRACE_AMDVI_MMIO_WRITE)) {
        trace_amdvi_mmio_write(reg_name(addr), addr, size, val, addr & ~7ull);
    }
    viommu_regfile_write(&f, addr, val, size);
}

static const MemoryRegionOps amdvi_mmio_ops = {
    .read = amdvi_mmio_read,
    .write = amdvi_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .impl = { .min_access_size = 1, .max_access_size = 8 },
    .valid = { .min_access_size = 1, .max_access_size = 8 },
};

/* ---- interrupt remapping (2.2.5) ---- */

/* MSI data delivery modes (bits 10:8) */
enum {
    DM_FIXED = 0, DM_ARBITRATED = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5,
    DM_EXTINT = 7,
};

static void ir_fault(AMDVIState *s, uint16_t devid, uint16_t flags,
                     uint64_t addr, bool sup_iopf)
{
    AmdEvent e = {
        .code = AMD_EVENT_IO_PAGE_FAULT, .devid = devid,
        .flags = AMD_EVENT_I | AMD_EVENT_RW | flags, .addr = addr,
    };

    if (sup_iopf) {
        return;
    }
    amdvi_guest_error(s, "interrupt from %02x:%02x.%x blocked (0x%x)",
                      devid >> 8, PCI_SLOT(devid), PCI_FUNC(devid), flags);
    report_event(s, &e);
}

/* Whether an interrupt of delivery mode @dm passes unremapped. */
static bool passes_through(const AmdDte *d, unsigned dm, bool *blocked)
{
    *blocked = false;
    switch (dm) {
    case DM_FIXED:
    case DM_ARBITRATED:
        *blocked = d->int_ctl == AMD_DTE_INTCTL_ABORT;
        return d->int_ctl == AMD_DTE_INTCTL_FORWARD;
    case DM_NMI:
        *blocked = !d->nmi_pass;
        return d->nmi_pass;
    case DM_INIT:
        *blocked = !d->init_pass;
        return d->init_pass;
    case DM_EXTINT:
        *blocked = !d->eint_pass;
        return d->eint_pass;
    case DM_SMI:                /* system management: SysMgt says */
        *blocked = d->sysmgt == AMD_DTE_SYSMGT_BLOCK;
        return !*blocked;
    default:
        *blocked = true;
        return false;
    }
}

/* Reads and decodes IRTE @index of @d; AMD_IRTE_OK fills *irq. */
static AmdIrteFault read_irte(AMDVIState *s, const AmdDte *d, uint32_t index,
                              AmdIrq *irq, bool *sup_iopf)
{
    uint64_t q[2];
    uint32_t w;

    *sup_iopf = false;
    trace_amdvi_ir_irte(d->irt_root, (ctl(s, CTL_GA_EN) ? 16ull : 4ull) * index);
    if (ctl(s, CTL_GA_EN)) {
        if (!viommu_ram_read_n(d->irt_root + 16ull * index, q, 2)) {
            return AMD_IRTE_RESERVED;
        }
        trace_amdvi_ir_irte_ga_val(q[1], q[0]);
        return amd_irte_decode_ga(q[0], q[1], ctl(s, CTL_XT_EN), irq,
                                  sup_iopf);
    }
    if (!viommu_ram_read(d->irt_root + 4ull * index, &w, 4)) {
        return AMD_IRTE_RESERVED;
    }
    trace_amdvi_ir_irte_val(le32_to_cpu(w));
    return amd_irte_decode32(le32_to_cpu(w), irq, sup_iopf);
}

/*
 * @devid's DTE for an interrupt into @d; false (and the event, once per
 * entry: software's invalidation reads it again) when it is unusable.
 */
static bool irq_dte(AMDVIState *s, uint16_t devid, AMDVIAddressSpace *as,
                    uint64_t addr, AmdDte *d)
{
    AmdviDteState st;
    bool report;

    qemu_mutex_lock(&s->lock);
    st = as ? space_dte(as, d) : read_dte(s, devid, d);
    report = st != DTE_OK && !(as && as->dc.irq_reported);
    if (report && as) {
        as->dc.irq_reported = true;
    }
    qemu_mutex_unlock(&s->lock);
    if (report) {
        dte_event(s, devid, st, addr, AMD_EVENT_I | AMD_EVENT_RW);
        if (as) {
            amdvi_guest_error(s, "interrupt: DTE %04x unusable (%d); "
                              "further events for it wait for its "
                              "invalidation", devid, st);
        }
    }
    return st == DTE_OK;
}

/* Remaps @src from @devid into @dst; -EINVAL when it is blocked. */
static int remap_msi(AMDVIState *s, MSIMessage *src, MSIMessage *dst,
                     uint16_t devid, AMDVIAddressSpace *as)
{
    unsigned dm = (src->data >> 8) & 7;
    uint32_t index = src->data & 0x7ff;
    AmdIrteFault f;
    AmdDte d;
    AmdIrq irq;
    X86IOMMUIrq out;
    bool sup = false, blocked;

    *dst = *src;
    trace_amdvi_ir_remap_msi_req(src->address, src->data, devid);
    if (!ctl(s, CTL_IOMMU_EN)) {
        return 0;
    }
    if (!irq_dte(s, devid, as, src->address, &d)) {
        return -EINVAL;
    }
    if (!d.iv || passes_through(&d, dm, &blocked)) {
        return 0;
    }
    if (blocked) {
        ir_fault(s, devid, 0, src->address, d.ig);
        return -EINVAL;
    }
    if (index >= d.irt_entries) {
        ir_fault(s, devid, AMD_EVENT_RZ, src->address, d.ig);
        return -EINVAL;
    }
    f = read_irte(s, &d, index, &irq, &sup);
    if (f != AMD_IRTE_OK) {
        ir_fault(s, devid, f == AMD_IRTE_NOT_REMAPPED ? 0 : AMD_EVENT_RZ,
                 src->address, sup);
        return -EINVAL;
    }
    out = (X86IOMMUIrq) {
        .trigger_mode = (src->data >> 15) & 1, .vector = irq.vector,
        .delivery_mode = irq.int_type, .dest = irq.dest,
        .dest_mode = irq.dest_logical, .redir_hint = (src->address >> 3) & 1,
        .msi_addr_last_bits = src->address & 3,
    };
    x86_iommu_irq_to_msi_message(&out, dst);
    trace_amdvi_ir_remap_msi(src->address, src->data, dst->address, dst->data);
    return 0;
}

static AMDVIAddressSpace *space_get(AMDVIState *s, PCIBus *bus,
                                    uint8_t devfn);

static AMDVIAddressSpace *space_of_devid(AMDVIState *s, uint16_t devid)
{
    PCIDevice *pdev;

    if (devid == X86_IOMMU_SID_INVALID || devid == s->ioapic_devid) {
        return s->ioapic_space;
    }
    pdev = pci_find_device(PC_MACHINE(qdev_get_machine())->pcibus,
                           devid >> 8, devid & 0xff);
    return pdev ? space_get(s, pci_get_bus(pdev), devid & 0xff) : NULL;
}

/*
 * Interrupt routes (KVM) come here with the requester ID: its space's
 * cached entry if it has one, else the entry read for that DeviceID.
 */
static int amdvi_int_remap(X86IOMMUState *iommu, MSIMessage *src,
                           MSIMessage *dst, uint16_t sid)
{
    AMDVIState *s = AMD_IOMMU_DEVICE(iommu);

    return remap_msi(s, src, dst, sid == X86_IOMMU_SID_INVALID ?
                     s->ioapic_devid : sid, space_of_devid(s, sid));
}

/*
 * A DMA write to the interrupt address range is an interrupt request of
 * the space's device: remapped (or blocked, with an event) and delivered.
 */
static void ir_request(void *opaque, MSIMessage *msg)
{
    AMDVIAddressSpace *as = opaque;
    MSIMessage remapped;

    trace_amdvi_mem_ir_write_req(msg->address, msg->data, 4);
    if (remap_msi(as->s, msg, &remapped, space_devid(as), as) < 0) {
        return;
    }
    trace_amdvi_mem_ir_write(remapped.address, remapped.data);
    apic_get_class(NULL)->send_msi(&remapped);
}

/* ---- per-device address spaces ---- */

static AMDVIAddressSpace *space_get(AMDVIState *s, PCIBus *bus,
                                    uint8_t devfn)
{
    AMDVIAddressSpace *as = viommu_space_table_lookup(s->spaces, bus, devfn);

    if (as) {
        return as;
    }
    as = g_new0(AMDVIAddressSpace, 1);
    as->s = s;
    as->bus = bus;
    if (bus) {
        viommu_hold_bus(bus);           /* see space_alive() */
    }
    as->devfn = devfn;
    qemu_mutex_lock(&s->lock);
    viommu_xc_add(&s->fast, &as->xc, X86_IOMMU_SID_INVALID);
    qemu_mutex_unlock(&s->lock);
    viommu_space_regions_init(&as->mr, OBJECT(s), "amdvi", bus, devfn,
                              "ioapic", TYPE_AMD_IOMMU_MEMORY_REGION,
                              AMDVI_INTR_BASE, AMDVI_INTR_SIZE, ir_request,
                              as);
    viommu_space_table_insert(s->spaces, bus, devfn, as);
    space_update(as);
    return as;
}

static AddressSpace *amdvi_get_address_space(PCIBus *bus, void *opaque,
                                             int devfn)
{
    return &space_get(opaque, bus, devfn)->mr.as;
}

static const PCIIOMMUOps amdvi_pci_ops = {
    .get_address_space = amdvi_get_address_space,
};

/* ---- reset and migration ---- */

uint64_t amdvi_extended_feature_register(AMDVIState *s)
{
    return s->efr;
}

static void compute_efr(AMDVIState *s)
{
    s->efr = EFR_PREF_SUP | EFR_IA_SUP | EFR_GA_SUP |
             (uint64_t)(s->dma_translation ? 2 : 3) << EFR_HATS_SHIFT |
             (s->xtsup ? EFR_XT_SUP : 0);
}

static void init_registers(AMDVIState *s)
{
    memset(s->regs, 0, sizeof(s->regs));
    set_q(s, R_EFR, s->efr);
    s->cmd_halted = s->evt_overflowed = false;
}

static void clear_caches(AMDVIState *s)
{
    GHashTableIter it;
    AMDVIAddressSpace *as;

    qemu_mutex_lock(&s->lock);
    viommu_iotlb_flush(s->iotlb);
    g_hash_table_iter_init(&it, s->spaces);
    while (g_hash_table_iter_next(&it, NULL, (void **)&as)) {
        as->dc.valid = false;
    }
    qemu_mutex_unlock(&s->lock);
}

static void update_all_spaces(AMDVIState *s)
{
    GHashTableIter it;
    AMDVIAddressSpace *as;

    memory_region_transaction_begin();
    g_hash_table_iter_init(&it, s->spaces);
    while (g_hash_table_iter_next(&it, NULL, (void **)&as)) {
        space_update(as);
    }
    memory_region_transaction_commit();
}

static void amdvi_reset(DeviceState *dev)
{
    AMDVIState *s = AMD_IOMMU_DEVICE(dev);
    AMDVIAddressSpace *as, *next;

    trace_amdvi_reset_exit();
    init_registers(s);
    clear_caches(s);
    flush_interrupt_routes(s);
    update_all_spaces(s);
    QLIST_FOREACH_SAFE(as, &s->notified, next, next) {
        viommu_drop_notified(&as->mr.iommu, 0, as->shadow);
    }
}

/* Rebuilds what is not in the stream, and checks what is. */
static int amdvi_post_load(void *opaque, int version_id)
{
    AMDVIState *s = opaque;
    AMDVIAddressSpace *as, *next;

    set_q(s, R_EFR, s->efr);            /* this configuration's */
    update_status(s);
    clear_caches(s);
    flush_interrupt_routes(s);
    update_all_spaces(s);
    QLIST_FOREACH_SAFE(as, &s->notified, next, next) {
        space_sync(as, 0, UINT64_MAX);
    }
    if (ring_ptr(s, R_CMD_HEAD) != ring_ptr(s, R_CMD_TAIL)) {
        qemu_bh_schedule(s->cmd_bh);    /* the source had not finished */
    }
    return 0;
}

static const VMStateDescription amdvi_vmstate = {
    .name = "amd-iommu",
    .version_id = 1,
    .minimum_version_id = 1,
    .priority = MIG_PRI_IOMMU,
    .post_load = amdvi_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY(regs, AMDVIState, AMDVI_REGS_SIZE),
        VMSTATE_BOOL(cmd_halted, AMDVIState),
        VMSTATE_BOOL(evt_overflowed, AMDVIState),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- the PCI function (AMDVI-PCI) ---- */

static void amdvi_pci_realize(PCIDevice *pdev, Error **errp)
{
    AMDVIPCIState *p = AMD_IOMMU_PCI(pdev);
    uint8_t *cap;
    int off;

    off = pci_add_capability(pdev, CAP_ID_SECURE, 0, CAP_SIZE, errp);
    if (off < 0) {
        return;
    }
    p->capab_offset = off;
    if (msi_init(pdev, 0, 1, true, false, errp) < 0) {
        return;
    }
    cap = pdev->config + off;
    pci_set_long(cap, CAP_ID_SECURE | pci_get_byte(cap + 1) << 8 |
                 CAP_TYPE_IOMMU | CAP_REV_1 | CAP_NP_CACHE | CAP_EFR_SUP |
                 CAP_EXT);
    pci_set_long(cap + 4, (AMDVI_BASE_ADDR & 0xffffc000u) | 1);
    pci_set_long(cap + 8, AMDVI_BASE_ADDR >> 32);
    pci_set_long(cap + 12, 0xff000000);     /* devices 0..ff of bus 0 */
    pci_set_long(cap + 16, 40 << 8 | 64 << 15);     /* PA, VA: as IVinfo */
}

static const VMStateDescription amdvi_pci_vmstate = {
    .name = "amd-iommu-pci",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(dev, AMDVIPCIState),
        VMSTATE_END_OF_LIST()
    },
};

static void amdvi_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->vendor_id = PCI_VENDOR_ID_AMD;
    k->device_id = 0x1419;
    k->class_id = 0x0806;                  /* system peripheral: IOMMU */
    k->realize = amdvi_pci_realize;
    dc->vmsd = &amdvi_pci_vmstate;
    dc->desc = "AMD IOMMU (AMD-Vi) PCI function";
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

/* ---- the southbridge function (amd-iommu-southbridge) ---- */

static const VMStateDescription amdvi_sb_vmstate = {
    .name = TYPE_AMD_IOMMU_SOUTHBRIDGE,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(dev, AMDVISouthbridge),
        VMSTATE_END_OF_LIST()
    },
};

static void amdvi_sb_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->vendor_id = AMDVI_SB_VENDOR_ID;
    k->device_id = AMDVI_SB_DEVICE_ID;
    k->class_id = AMDVI_SB_CLASS;
    dc->vmsd = &amdvi_sb_vmstate;
    dc->desc = "Southbridge SMBus function naming the IOAPIC (amd-iommu)";
    dc->user_creatable = false;         /* amd-iommu's southbridge=on */
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

/* ---- configuration and realize ---- */

/* Parses 1 or 2 hexadecimal digits, at most @max, ending at @sep. */
static bool parse_bdf_field(const char **str, char sep, unsigned max,
                            unsigned *val)
{
    const char *p = *str;

    for (*val = 0; qemu_isxdigit(*p) && p - *str < 2; p++) {
        *val = *val * 16 + g_ascii_xdigit_value(*p);
    }
    if (p == *str || *p != sep || *val > max) {
        return false;
    }
    *str = sep ? p + 1 : p;
    return true;
}

/* Parses "BB:DD.F" (or "DD.F", bus 0) into a DeviceID. */
static bool parse_bdf(const char *str, uint16_t *devid)
{
    unsigned bus = 0, dev, fn;

    if (strchr(str, ':') && !parse_bdf_field(&str, ':', 0xff, &bus)) {
        return false;
    }
    if (!parse_bdf_field(&str, '.', 0x1f, &dev) ||
        !parse_bdf_field(&str, '\0', 7, &fn)) {
        return false;
    }
    *devid = PCI_BUILD_BDF(bus, PCI_DEVFN(dev, fn));
    return true;
}

/*
 * The function at the IOAPIC's DeviceID (southbridge=on): ours, unless
 * the slot is taken; then the user says where the IOAPIC's ID goes.
 */
static bool realize_southbridge(AMDVIState *s, PCIBus *bus, Error **errp)
{
    uint8_t devfn = s->ioapic_devid & 0xff;
    PCIDevice *there;

    if (!s->southbridge_on) {
        return true;
    }
    if (s->ioapic_devid >> 8 || PCI_FUNC(devfn)) {
        error_setg(errp, "amd-iommu: ioapic-id must name function 0 of a "
                   "slot on bus 0 (00:DD.0) where the southbridge function "
                   "is created (a guest scans no other function of a slot "
                   "without function 0); with southbridge=off it may name "
                   "any function");
        return false;
    }
    there = pci_find_device(bus, 0, devfn);
    if (there) {
        error_setg(errp, "amd-iommu: 00:%02x.%x (ioapic-id) is taken by "
                   "%s; move the IOAPIC's DeviceID with ioapic-id=DD.F, "
                   "or give that function its place with southbridge=off",
                   PCI_SLOT(devfn), PCI_FUNC(devfn),
                   object_get_typename(OBJECT(there)));
        return false;
    }
    object_initialize_child(OBJECT(s), "amdvi-southbridge", &s->southbridge,
                            TYPE_AMD_IOMMU_SOUTHBRIDGE);
    qdev_prop_set_int32(DEVICE(&s->southbridge), "addr", devfn);
    return qdev_realize(DEVICE(&s->southbridge), &bus->qbus, errp);
}

/*
 * Once the machine is built: with southbridge=off, warn if ioapic-id
 * names no SMBus or ISA-bridge function, which Linux 7.3 and later want
 * there before they turn interrupt remapping on.
 */
static void check_ioapic_function(Notifier *n, void *data)
{
    AMDVIState *s = container_of(n, AMDVIState, machine_done);
    PCIBus *bus = PC_MACHINE(qdev_get_machine())->pcibus;
    PCIDevice *dev;
    uint16_t class;

    if (s->ioapic_devid >> 8) {
        return;     /* other buses are numbered by firmware, later */
    }
    dev = pci_find_device(bus, 0, s->ioapic_devid & 0xff);
    class = dev ? pci_get_word(dev->config + PCI_CLASS_DEVICE) : 0;
    if (class != AMDVI_SB_CLASS && class != PCI_CLASS_BRIDGE_ISA &&
        x86_iommu_ir_supported(X86_IOMMU_DEVICE(s))) {
        warn_report("amd-iommu: ioapic-id %02x:%02x.%x names no SMBus or "
                    "ISA-bridge function; Linux 7.3 and later guests will "
                    "turn interrupt remapping off", s->ioapic_devid >> 8,
                    PCI_SLOT(s->ioapic_devid), PCI_FUNC(s->ioapic_devid));
    }
}

/* The AMDVI-PCI function: ours on bus 0, or the one pci-id names. */
static bool realize_pci_function(AMDVIState *s, PCIBus *bus, Error **errp)
{
    Object *o;

    if (!s->pci_id) {
        object_initialize_child(OBJECT(s), "amdvi-pci", &s->pci,
                                TYPE_AMD_IOMMU_PCI);
        if (!qdev_realize(DEVICE(&s->pci), &bus->qbus, errp)) {
            return false;
        }
        s->pci_dev = &s->pci;
        return true;
    }
    o = object_resolve_path_type(s->pci_id, TYPE_AMD_IOMMU_PCI, NULL);
    if (!o) {
        error_setg(errp, "amd-iommu: pci-id '%s' names no %s device",
                   s->pci_id, TYPE_AMD_IOMMU_PCI);
        return false;
    }
    s->pci_dev = AMD_IOMMU_PCI(o);
    return true;
}

static bool check_config(AMDVIState *s, Error **errp)
{
    X86MachineState *x86ms = X86_MACHINE(qdev_get_machine());
    bool ir = x86_iommu_ir_supported(X86_IOMMU_DEVICE(s));

    if (s->xtsup && !ir) {
        error_setg(errp, "amd-iommu: xtsup=on needs intremap=on");
        return false;
    }
    s->ioapic_devid = AMDVI_IOAPIC_SB_DEVID;
    if (s->ioapic_id && !parse_bdf(s->ioapic_id, &s->ioapic_devid)) {
        error_setg(errp, "amd-iommu: ioapic-id '%s' is not a PCI address: "
                   "BB:DD.F or DD.F in hexadecimal, bus 00-ff, device "
                   "00-1f, function 0-7 (e.g. 00:14.0)", s->ioapic_id);
        return false;
    }
    if (x86ms->apic_id_limit > 255 && !s->xtsup) {
        if (kvm_enabled()) {
            error_setg(errp, "amd-iommu: APIC IDs above 255 need xtsup=on");
            return false;
        }
        warn_report("amd-iommu: vCPUs with APIC IDs above 255 are only "
                    "reachable with xtsup=on");
    }
    return true;
}

/* ---- introspection (query-viommu) ---- */

/*
 * The space @opaque as query-viommu shows it (a ViommuDescribeFn), or
 * NULL; called with s->lock held.
 */
static ViommuEndpoint *space_endpoint(void *opaque, ViommuPtConfig *cfg,
                                      bool *walk)
{
    AMDVIAddressSpace *as = opaque;
    AMDVIState *s = as->s;
    ViommuEndpoint *ep;
    AmdDte d;

    if (!as->bus || !viommu_bus_alive(as->bus)) {
        return NULL;
    }
    ep = g_new0(ViommuEndpoint, 1);
    ep->bdf = viommu_info_bdf(space_devid(as));
    ep->device = viommu_info_device_path(as->bus, as->devfn);
    if (!ctl(s, CTL_IOMMU_EN)) {
        ep->mode = VIOMMU_ENDPOINT_MODE_BYPASS;
    } else if (space_dte(as, &d) != DTE_OK) {
        ep->mode = VIOMMU_ENDPOINT_MODE_BLOCKED;
    } else if (!d.valid || d.dma == AMD_DTE_DMA_UNTRANSLATED) {
        ep->mode = VIOMMU_ENDPOINT_MODE_BYPASS;
    } else {
        ep->has_domain = true;
        ep->domain = d.domain;
        ep->mode = d.dma == AMD_DTE_DMA_BLOCKED ?
                   VIOMMU_ENDPOINT_MODE_BLOCKED :
                   d.dma == AMD_DTE_DMA_MODE0 ?
                   VIOMMU_ENDPOINT_MODE_IDENTITY :
                   VIOMMU_ENDPOINT_MODE_TRANSLATED;
        *walk = ep->mode == VIOMMU_ENDPOINT_MODE_TRANSLATED;
        *cfg = walk_config(&d);
    }
    return ep;
}

static void amdvi_info_endpoints(Object *obj, ViommuEndpointList ***tail)
{
    AMDVIState *s = AMD_IOMMU_DEVICE(obj);

    viommu_info_collect(s->spaces, &s->lock, space_endpoint, tail);
}

static void amdvi_info_iotlb(Object *obj, uint64_t *hits, uint64_t *misses)
{
    AMDVIState *s = AMD_IOMMU_DEVICE(obj);

    viommu_info_iotlb(s->iotlb, &s->lock, hits, misses);
}

static ViommuEndpointDetail *amdvi_info_detail(Object *obj, PCIDevice *pdev)
{
    AMDVIState *s = AMD_IOMMU_DEVICE(obj);
    AddressSpace *dma_as = pci_device_iommu_address_space(pdev);
    AMDVIAddressSpace *as = NULL, *a;
    GHashTableIter it;
    uint64_t base = reg_q(s, R_DEVTAB), q[4];
    ViommuEndpointDetail *d;
    strList **tail;
    uint16_t devid;
    AmdDte dte;
    AmdviDteState st;

    /* the space its DMA uses (behind a PCI bridge: the bridge's) */
    g_hash_table_iter_init(&it, s->spaces);
    while (g_hash_table_iter_next(&it, NULL, (void **)&a)) {
        if (&a->mr.as == dma_as) {
            as = a;
        }
    }
    if (!as) {
        return NULL;
    }
    devid = space_devid(as);
    d = g_new0(ViommuEndpointDetail, 1);
    d->bdf = viommu_info_bdf(devid);
    tail = &d->entries;
    QAPI_LIST_APPEND(tail, g_strdup_printf("device table 0x%" PRIx64
                     ", %s", (uint64_t)(base & BASE_MASK),
                     ctl(s, CTL_IOMMU_EN) ? "IOMMU on" : "IOMMU off"));
    if (viommu_ram_read_n(dte_addr(s, devid), q, 4)) {
        QAPI_LIST_APPEND(tail, g_strdup_printf("DTE %04x: 0x%016" PRIx64
                         " 0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64,
                         devid, q[3], q[2], q[1], q[0]));
    }
    qemu_mutex_lock(&s->lock);
    st = space_dte(as, &dte);
    qemu_mutex_unlock(&s->lock);
    QAPI_LIST_APPEND(tail, st != DTE_OK ?
        g_strdup_printf("decoded: unusable (%s)", st == DTE_ILLEGAL ?
                        "reserved bits" : st == DTE_BEYOND ?
                        "beyond the table" : "not in RAM") :
        g_strdup_printf("decoded: V %d, domain %u, mode %d, table 0x%" PRIx64
                        ", IR %d IW %d", dte.valid, dte.domain, dte.mode,
                        dte.root, !!(dte.perm & VIOMMU_PT_READ),
                        !!(dte.perm & VIOMMU_PT_WRITE)));
    return d;
}

static const ViommuInfoOps amdvi_info_ops = {
    .endpoints = amdvi_info_endpoints,
    .iotlb = amdvi_info_iotlb,
    .detail = amdvi_info_detail,
};

static void amdvi_realize(DeviceState *dev, Error **errp)
{
    AMDVIState *s = AMD_IOMMU_DEVICE(dev);
    PCMachineState *pcms = PC_MACHINE(qdev_get_machine());
    X86MachineState *x86ms = X86_MACHINE(pcms);

    if (!check_config(s, errp) ||
        !realize_pci_function(s, pcms->pcibus, errp) ||
        !realize_southbridge(s, pcms->pcibus, errp)) {
        return;
    }
    s->machine_done.notify = check_ioapic_function;
    qemu_add_machine_init_done_notifier(&s->machine_done);
    compute_efr(s);
    if (X86_IOMMU_DEVICE(s)->dt_supported) {     /* device-iotlb=on: ATS */
        uint8_t *cap = s->pci_dev->dev.config + s->pci_dev->capab_offset;

        pci_set_long(cap, pci_get_long(cap) | CAP_IOTLB_SUP);
    }
    qemu_mutex_init(&s->lock);
    s->iotlb = viommu_iotlb_new(AMDVI_IOTLB_ENTRIES);
    viommu_xc_set_init(&s->fast);
    viommu_iotlb_set_fast(s->iotlb, &s->fast);
    viommu_fault_queue_init(&s->events, DEVICE(s), &s->lock,
                            AMDVI_PENDING_EVENTS, sizeof(AmdviPendingEvent),
                            log_events, s);
    s->cmd_bh = qemu_bh_new_guarded(cmd_continue, s,
                                    &DEVICE(s)->mem_reentrancy_guard);
    s->spaces = viommu_space_table_new();
    QLIST_INIT(&s->notified);
    viommu_info_register(OBJECT(s), OBJECT(s), &s->stats, &amdvi_info_ops);
    memory_region_init_io(&s->mr_mmio, OBJECT(s), &amdvi_mmio_ops, s,
                          "amdvi-mmio", AMDVI_MMIO_SIZE);
    sysbus_init_mmio(SYS_BUS_DEVICE(s), &s->mr_mmio);
    sysbus_mmio_map(SYS_BUS_DEVICE(s), 0, AMDVI_BASE_ADDR);
    init_registers(s);
    pci_setup_iommu(pcms->pcibus, &amdvi_pci_ops, s);
    s->ioapic_space = space_get(s, NULL, 0);
    x86ms->ioapic_as = &s->ioapic_space->mr.as;
}

/* ---- IVRS (5.2), through hook 4 in acpi-build.c ---- */

typedef struct EntryList {
    IvrsDevEntry *v;
    unsigned n, cap;
} EntryList;

static void append_entry(EntryList *l, IvrsDevEntry e)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = g_renew(IvrsDevEntry, l->v, l->cap);
    }
    l->v[l->n++] = e;
}

static void add_device(PCIBus *bus, PCIDevice *dev, void *opaque);

/*
 * Below a bridge: a range for a leaf PCIe bus, the devices one by one
 * where there are buses further down, and for a conventional bus an alias
 * range: its devices reach the IOMMU with the bridge's requester ID (or
 * the secondary bus's, behind a PCIe-to-PCI bridge).
 */
static void add_bridge(PCIBus *bus, PCIDevice *dev, EntryList *l)
{
    PCIBus *sec_bus = pci_bridge_get_sec_bus(PCI_BRIDGE(dev));
    uint8_t sec = pci_bus_num(sec_bus);
    uint8_t sub = dev->config[PCI_SUBORDINATE_BUS];
    uint16_t first = PCI_BUILD_BDF(sec, 0), last = PCI_BUILD_BDF(sub, 0xff);

    if (!pci_bus_is_express(sec_bus)) {
        bool pcie_to_pci = pci_is_express(dev) &&
                           pcie_cap_get_type(dev) == PCI_EXP_TYPE_PCI_BRIDGE;

        append_entry(l, (IvrsDevEntry) {
            .type = IVRS_DEV_ALIAS_RANGE, .devid = first,
            .alias = pcie_to_pci ? first
                                 : PCI_BUILD_BDF(pci_bus_num(bus), dev->devfn),
        });
        append_entry(l, (IvrsDevEntry) {
            .type = IVRS_DEV_RANGE_END, .devid = last,
        });
    } else if (sec == sub) {
        append_entry(l, (IvrsDevEntry) {
            .type = IVRS_DEV_RANGE_START, .devid = first,
        });
        append_entry(l, (IvrsDevEntry) {
            .type = IVRS_DEV_RANGE_END, .devid = last,
        });
    } else {
        pci_for_each_device(sec_bus, sec, add_device, l);
    }
}

static void add_device(PCIBus *bus, PCIDevice *dev, void *opaque)
{
    append_entry(opaque, (IvrsDevEntry) {
        .type = IVRS_DEV_SELECT,
        .devid = PCI_BUILD_BDF(pci_bus_num(bus), dev->devfn),
    });
    if (object_dynamic_cast(OBJECT(dev), TYPE_PCI_BRIDGE)) {
        add_bridge(bus, dev, opaque);
    }
}

static int add_host_bridge(Object *obj, void *opaque)
{
    PCIBus *bus;

    if (!object_dynamic_cast(obj, TYPE_PCI_HOST_BRIDGE)) {
        return 0;
    }
    bus = PCI_HOST_BRIDGE(obj)->bus;
    if (bus && !pci_bus_bypass_iommu(bus)) {
        pci_for_each_device_under_bus(bus, add_device, opaque);
    }
    return 0;
}

/*
 * HPET 0 is listed as on AMD boards, unless its FSB (MSI) delivery is on:
 * QEMU's HPET sends those to memory directly, never through remapping, so
 * a guest told to remap them would program messages that arrive wrong.
 */
static bool hpet_sends_msi(void)
{
    Object *hpet = object_resolve_path_type("", "hpet", NULL);

    return hpet && object_property_get_bool(hpet, "msi", NULL);
}

static IvrsConfig ivrs_config(AMDVIState *s, const EntryList *l)
{
    X86IOMMUState *x86 = X86_IOMMU_DEVICE(s);
    uint8_t iotlb = x86->dt_supported ? IVHD_FLAG_IOTLB_SUP : 0;
    IvrsConfig cfg = {
        .ivinfo = 1 | 40 << 8,          /* EFRSup, PA 40 bits, VA 0: 64 */
        .iommu_devid = pci_get_bdf(&s->pci_dev->dev),
        .cap_offset = s->pci_dev->capab_offset,
        .base = AMDVI_BASE_ADDR,
        .flags10 = IVHD_FLAG_HT_TUN_EN | iotlb | IVHD_FLAG_PREF_SUP,
        .flags11 = IVHD_FLAG_HT_TUN_EN | iotlb,
        /* XTSup 0, IASup 5, GASup 6, HATS 31:30 as in the EFR */
        .features10 = (s->xtsup ? 1u : 0) | 1u << 5 | 1u << 6 |
                      (uint32_t)((s->efr >> EFR_HATS_SHIFT) & 3) << 30,
        .attributes = s->dma_translation ? 0 : IVHD_ATTR_HATDIS,
        .efr = s->efr,
        .ivhd40 = true,
        .entries = l->v,
        .nr_entries = l->n,
    };
    return cfg;
}

void amd_iommu_build_ivrs(GArray *table_data, BIOSLinker *linker,
                          const char *oem_id, const char *oem_table_id)
{
    AMDVIState *s = AMD_IOMMU_DEVICE(x86_iommu_get_default());
    AcpiTable table = { .sig = "IVRS", .rev = 1, .oem_id = oem_id,
                        .oem_table_id = oem_table_id };
    EntryList l = {};
    IvrsConfig cfg;
    size_t len;
    uint8_t *body;

    object_child_foreach_recursive(object_get_root(), add_host_bridge, &l);
    if (!l.n) {
        append_entry(&l, (IvrsDevEntry) { .type = IVRS_DEV_ALL });
    }
    if (x86_iommu_ir_supported(X86_IOMMU_DEVICE(s))) {
        append_entry(&l, (IvrsDevEntry) {
            .type = IVRS_DEV_SPECIAL, .handle = ACPI_BUILD_IOAPIC_ID,
            .alias = s->ioapic_devid, .variety = IVRS_SPECIAL_IOAPIC,
        });
        if (!hpet_sends_msi()) {
            append_entry(&l, (IvrsDevEntry) {
                .type = IVRS_DEV_SPECIAL, .handle = 0,
                .alias = s->ioapic_devid,
                .variety = IVRS_SPECIAL_HPET,
            });
        }
    }
    cfg = ivrs_config(s, &l);
    len = ivrs_encode(&cfg, NULL, 0);
    if (!len) {
        error_report("amd-iommu: %u device entries do not fit an IVHD", l.n);
        g_free(l.v);
        return;
    }
    body = g_malloc(len);
    ivrs_encode(&cfg, body, len);
    acpi_table_begin(&table, table_data);
    g_array_append_vals(table_data, body, len);
    acpi_table_end(linker, &table);
    g_free(body);
    g_free(l.v);
}

/* ---- types ---- */

/*
 * QEMU 10.0's property, and those of later releases. dma-remap is
 * accepted for their command lines; translation follows each device's
 * table entry whatever it says.
 */
static const Property amdvi_properties[] = {
    DEFINE_PROP_BOOL("xtsup", AMDVIState, xtsup, false),
    DEFINE_PROP_STRING("pci-id", AMDVIState, pci_id),
    DEFINE_PROP_BOOL("dma-remap", AMDVIState, dma_remap, false),
    DEFINE_PROP_BOOL("dma-translation", AMDVIState, dma_translation, true),
    DEFINE_PROP_STRING("ioapic-id", AMDVIState, ioapic_id),
    DEFINE_PROP_BOOL("southbridge", AMDVIState, southbridge_on, true),
};

static void amdvi_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    X86IOMMUClass *x86_class = X86_IOMMU_DEVICE_CLASS(klass);

    device_class_set_legacy_reset(dc, amdvi_reset);
    dc->vmsd = &amdvi_vmstate;
    device_class_set_props(dc, amdvi_properties);
    dc->hotpluggable = false;
    dc->user_creatable = true;
    dc->desc = "AMD IOMMU (AMD-Vi) DMA Remapping device";
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    x86_class->realize = amdvi_realize;
    x86_class->int_remap = amdvi_int_remap;
}

static void amdvi_iommu_memory_region_class_init(ObjectClass *klass,
                                                 void *data)
{
    IOMMUMemoryRegionClass *imrc = IOMMU_MEMORY_REGION_CLASS(klass);

    imrc->translate = amdvi_translate;
    iommu_direct_opt_in(imrc);      /* every change reaches UNMAP notifiers */
    imrc->notify_flag_changed = amdvi_notify_flag_changed;
    imrc->replay = amdvi_replay;
}

static const TypeInfo amdvi_types[] = {
    {
        .name = TYPE_AMD_IOMMU_DEVICE,
        .parent = TYPE_X86_IOMMU_DEVICE,
        .instance_size = sizeof(AMDVIState),
        .class_init = amdvi_class_init,
    }, {
        .name = TYPE_AMD_IOMMU_PCI,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(AMDVIPCIState),
        .class_init = amdvi_pci_class_init,
        .interfaces = (InterfaceInfo[]) {
            { INTERFACE_CONVENTIONAL_PCI_DEVICE },
            { },
        },
    }, {
        .name = TYPE_AMD_IOMMU_SOUTHBRIDGE,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(AMDVISouthbridge),
        .class_init = amdvi_sb_class_init,
        .interfaces = (InterfaceInfo[]) {
            { INTERFACE_CONVENTIONAL_PCI_DEVICE },
            { },
        },
    }, {
        .name = TYPE_AMD_IOMMU_MEMORY_REGION,
        .parent = TYPE_IOMMU_MEMORY_REGION,
        .class_init = amdvi_iommu_memory_region_class_init,
    },
};

DEFINE_TYPES(amdvi_types)

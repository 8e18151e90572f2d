/*
 * qemu-viommu: Intel VT-d DMA and interrupt remapping (intel-iommu).
 *
 * The device model is written from the Intel Virtualization Technology for
 * Directed I/O Architecture Specification (rev. 4.x/5.0); its translation
 * structures are decoded and walked by the QEMU-independent core in
 * hw/viommu/. This header is what the rest of QEMU sees: the type, the
 * fields the pc machine and the ACPI builder read, and the DMAR builder.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_I386_INTEL_IOMMU_H
#define HW_I386_INTEL_IOMMU_H

#include "hw/i386/x86-iommu.h"
#include "hw/i386/viommu-glue.h"
#include "hw/acpi/bios-linker-loader.h"
#include "hw/viommu/xlate-cache.h"
#include "hw/viommu/viommu-info.h"
#include "qemu/thread.h"
#include "qom/object.h"

#define TYPE_INTEL_IOMMU_DEVICE "intel-iommu"
OBJECT_DECLARE_SIMPLE_TYPE(IntelIOMMUState, INTEL_IOMMU_DEVICE)

#define TYPE_INTEL_IOMMU_MEMORY_REGION "intel-iommu-iommu-memory-region"

/* Where the pc machines put the remapping hardware unit's registers. */
#define Q35_HOST_BRIDGE_IOMMU_ADDR  0xfed90000ULL

/*
 * The register file as QEMU 10.0 migrates it: through the first fault
 * recording register (11.4). The other VTD_NR_FRCD - 1 records follow it.
 */
#define DMAR_REG_SIZE               0x230
#define VTD_NR_FRCD                 8       /* fault records (NFR + 1) */
#define VTD_MMIO_SIZE               (DMAR_REG_SIZE + 16 * (VTD_NR_FRCD - 1))

/* Guest address widths (aw-bits) and the CAP.MGAW field (11.4.2). */
#define VTD_HOST_AW_39BIT           39
#define VTD_HOST_AW_48BIT           48
#define VTD_HOST_AW_57BIT           57
#define VTD_HOST_ADDRESS_WIDTH      VTD_HOST_AW_48BIT
#define VTD_HAW_MASK(aw)            ((1ULL << (aw)) - 1)
#define VTD_MGAW_FROM_CAP(cap)      ((cap >> 16) & 0x3fULL)

/* x2APIC destinations in a remapped MSI: APIC ID bits 31:8 (kvm.c) */
#define VTD_MSI_ADDR_HI_MASK        0xffffffff00000000ULL
#define VTD_MSI_ADDR_HI_SHIFT       32
#define VTD_MSI_ADDR_LO_MASK        0x00000000ffffffffULL

typedef struct VTDAddressSpace VTDAddressSpace;
struct ViommuIotlb;

/* A fault seen outside the BQL, recorded later by the main loop. */
#define VTD_PENDING_FAULTS 16
typedef struct VtdPendingFault {
    uint16_t sid;
    uint8_t reason;
    bool read;
    uint64_t info;
} VtdPendingFault;

/* An RMRR of the "rmrr" property: a range and the devices (ids) using it. */
typedef struct VtdRmrr {
    uint64_t base, limit;       /* limit inclusive */
    char **ids;                 /* NULL-terminated */
} VtdRmrr;

/*
 * One remapping hardware unit (DRHD) covering every PCI device of the
 * machine. Register contents live in csr[] at their offsets (little
 * endian); the fields from root_table to irt_x2apic, with csr, make the
 * migration stream of vmstate "iommu-intel" version 1, in the order and
 * meaning QEMU 10.0 gives them: table addresses, queue positions and size
 * in descriptors, the IRTE count, and the GSTS bits.
 */
struct IntelIOMMUState {
    X86IOMMUState x86_iommu;
    MemoryRegion csrmem;
    uint8_t csr[VTD_MMIO_SIZE];

    union {                     /* the three table addresses */
        struct {
            uint64_t root_table;    /* root table (RTADDR, latched by SRTP) */
            uint64_t irt_base;      /* interrupt remapping table (IRTA) */
            uint64_t iq_base;       /* invalidation queue base (IQA) */
        };
        uint64_t table_addrs[3];
    };
    uint32_t irt_entries;       /* IRTEs in the table: 2^(S + 1) */
    union {                     /* queue positions, in descriptors */
        struct {
            uint16_t iq_head;
            uint16_t iq_tail;
            uint16_t iq_entries;    /* descriptors in the queue */
            uint16_t frcd_next;     /* the fault record to fill next */
        };
        uint16_t queue_state[4];
    };
    uint8_t iq_last_type;
    union {                     /* GSTS.TES, QIES, IRES and IRTA.EIME */
        struct {
            bool translation_on;
            bool qi_on;
            bool ir_on;
            bool irt_x2apic;        /* x2APIC mode */
        };
        bool unit_state[4];
    };

    bool root_scalable;         /* RTADDR.TTM: scalable-mode root table */
    bool iq_dw;                 /* IQA.DW: 256-bit descriptors */

    /* properties ("intremap", "device-iotlb" and "pt" are x86-iommu's) */
    uint32_t version;
    OnOffAuto intr_eim;
    bool buggy_eim;
    bool x2apic_opt_out;        /* DMAR flag X2APIC_OPT_OUT */
    bool platform_opt_in;       /* DMAR flag DMA_CTRL_PLATFORM_OPT_IN */
    char *rmrr_spec;            /* "rmrr": BASE-LIMIT:ID[:ID...][;...] */
    VtdRmrr *rmrrs;
    unsigned nr_rmrrs;
    uint8_t aw_bits;
    bool caching_mode;
    bool scalable_mode;
    bool flts;
    bool snoop_control;
    bool pasid;
    bool dma_drain;
    bool dma_translation;
    bool stale_tm;
    bool fs1gp;

    uint64_t cap, ecap;         /* what this configuration offers */
    uint8_t nr_frcd;            /* fault records in use: CAP.NFR + 1 */
    QemuMutex lock;             /* translation state; taken under the BQL */
    struct ViommuIotlb *iotlb;
    ViommuXcSet fast;           /* endpoints' fast paths, under lock */
    GHashTable *spaces;         /* (bus, devfn) -> VTDAddressSpace */
    QLIST_HEAD(, VTDAddressSpace) notified;     /* spaces with notifiers */
    VTDAddressSpace *ioapic_space;
    QEMUBH *qi_bh;              /* a long queue goes on from here */
    ViommuFaultQueue faults;    /* found without the BQL */
    ViommuStats stats;          /* query-viommu's counters */
    ViommuLogLimit log_limit;   /* rate bound of guest-error messages */
};

/*
 * Appends the DMAR table (VT-d 8.1) for the intel-iommu of the machine to
 * @table_data, as the pc machines' ACPI builder does for its other tables.
 * Called through qemu-viommu hook 3 in hw/i386/acpi-build.c.
 */
void intel_iommu_build_dmar(GArray *table_data, BIOSLinker *linker,
                            const char *oem_id, const char *oem_table_id);

#endif

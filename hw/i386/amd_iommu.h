/*
 * qemu-viommu: AMD-Vi DMA and interrupt remapping (amd-iommu, AMDVI-PCI).
 *
 * The device model is written from the AMD I/O Virtualization Technology
 * (IOMMU) Specification (rev. 3.x); its tables and commands are decoded
 * and walked by the QEMU-independent core in hw/viommu/. This header is
 * what the rest of QEMU sees: the types, the fields the pc machine and the
 * ACPI builder read, and the IVRS builder.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_I386_AMD_IOMMU_H
#define HW_I386_AMD_IOMMU_H

#include "hw/i386/x86-iommu.h"
#include "hw/i386/viommu-glue.h"
#include "hw/pci/pci_device.h"
#include "hw/acpi/bios-linker-loader.h"
#include "hw/viommu/xlate-cache.h"
#include "hw/viommu/viommu-info.h"
#include "qemu/thread.h"
#include "qom/object.h"

#define TYPE_AMD_IOMMU_DEVICE "amd-iommu"
OBJECT_DECLARE_SIMPLE_TYPE(AMDVIState, AMD_IOMMU_DEVICE)

#define TYPE_AMD_IOMMU_PCI "AMDVI-PCI"
OBJECT_DECLARE_SIMPLE_TYPE(AMDVIPCIState, AMD_IOMMU_PCI)

#define TYPE_AMD_IOMMU_MEMORY_REGION "amd-iommu-iommu-memory-region"

/* Where the pc machines put the IOMMU's registers, and their size. */
#define AMDVI_BASE_ADDR         0xfed80000ULL
#define AMDVI_MMIO_SIZE         0x4000
/* The registers that hold state: 0x0000..0x01ff and 0x2000..0x204f. */
#define AMDVI_REGS_SIZE         0x2050

/*
 * Registers and fields (3.4) that tests outside the model drive, by the
 * names QEMU's own qtests use (tests/qtest/amd-iommu-test.c): offsets
 * from AMDVI_BASE_ADDR, 64 bits each.
 */
#define AMDVI_MMIO_COMMAND_BASE     0x0008  /* Command Buffer Base Address */
#define AMDVI_MMIO_CONTROL          0x0018  /* IOMMU Control */
#define AMDVI_MMIO_COMMAND_HEAD     0x2000  /* Command Buffer Head Pointer */
#define AMDVI_MMIO_COMMAND_TAIL     0x2008  /* Command Buffer Tail Pointer */
#define AMDVI_MMIO_CMDBUF_HEAD_MASK 0x7fff0ull      /* CmdHeadPtr, 18:4 */
#define AMDVI_MMIO_CONTROL_AMDVIEN  (1ull << 0)     /* Control: IommuEn */
#define AMDVI_MMIO_CONTROL_CMDBUFLEN (1ull << 12)   /* Control: CmdBufEn */
#define AMDVI_COMMAND_SIZE          16      /* bytes per command (2.4) */
#define AMDVI_CMD_COMPLETION_WAIT   0x1     /* opcode, command bits 63:60 */

/*
 * The DeviceID the IOAPIC's (and HPET's) interrupts carry, their IVRS
 * special entries, by default: 00:14.0, where AMD's southbridge (FCH)
 * has its SMBus function. ioapic-id moves it.
 */
#define AMDVI_IOAPIC_SB_DEVID   0x00a0      /* 00:14.0 */

/*
 * The southbridge function at the IOAPIC's DeviceID: class SMBus (0c05),
 * which Linux 7.3 and later require there (6.12 requires 00:14.0), with
 * an ID no driver binds: 1b36:00ff, QEMU's vendor ID, subsystem 1af4:1100.
 * Configuration space only: no BAR, no interrupt.
 */
#define TYPE_AMD_IOMMU_SOUTHBRIDGE "amd-iommu-southbridge"
#define AMDVI_SB_VENDOR_ID      0x1b36
#define AMDVI_SB_DEVICE_ID      0x00ff
#define AMDVI_SB_CLASS          0x0c05      /* serial bus: SMBus */

typedef struct AMDVISouthbridge {
    PCIDevice dev;
} AMDVISouthbridge;

/* The IOMMU's PCI function (class 0806), and its capability's offset. */
struct AMDVIPCIState {
    PCIDevice dev;
    uint32_t capab_offset;
};

typedef struct AMDVIAddressSpace AMDVIAddressSpace;
struct ViommuIotlb;

/* An event seen outside the BQL, logged later by the main loop. */
#define AMDVI_PENDING_EVENTS 16
typedef struct AmdviPendingEvent {
    uint32_t d[4];
} AmdviPendingEvent;

/*
 * One IOMMU covering every PCI device of the machine. Register contents
 * live in regs[] at their offsets (little endian) and are the whole
 * migration stream, with the two halt flags.
 */
struct AMDVIState {
    X86IOMMUState iommu;
    AMDVIPCIState pci;          /* our own function, unless pci-id names one */
    AMDVIPCIState *pci_dev;     /* the function in use */
    AMDVISouthbridge southbridge;   /* at ioapic_devid, southbridge=on */
    uint16_t ioapic_devid;      /* the IOAPIC's and HPET's DeviceID */
    MemoryRegion mr_mmio;
    uint8_t regs[AMDVI_REGS_SIZE];
    bool cmd_halted;            /* stopped on a bad command until re-enabled */
    bool evt_overflowed;        /* stopped on overflow until re-enabled */

    /* properties ("intremap", "device-iotlb" and "pt" are x86-iommu's) */
    bool xtsup;
    char *pci_id;
    bool dma_remap;             /* accepted: translation follows each DTE */
    bool dma_translation;       /* off: HATS says v1 tables are not offered */
    char *ioapic_id;            /* "BB:DD.F": ioapic_devid */
    bool southbridge_on;        /* create the southbridge function there */
    Notifier machine_done;      /* checks what ioapic-id names */

    uint64_t efr;               /* what this configuration offers */
    QemuMutex lock;             /* DTE cache and IOTLB; taken under the BQL */
    struct ViommuIotlb *iotlb;
    ViommuXcSet fast;           /* endpoints' fast paths, under lock */
    GHashTable *spaces;         /* (bus, devfn) -> AMDVIAddressSpace */
    QLIST_HEAD(, AMDVIAddressSpace) notified;   /* spaces with notifiers */
    AMDVIAddressSpace *ioapic_space;
    QEMUBH *cmd_bh;             /* a long command buffer goes on from here */
    ViommuFaultQueue events;    /* found without the BQL */
    uint64_t lost_events;       /* to a full event log */
    ViommuLogLimit log_limit;   /* rate bound of guest-error messages */
    ViommuStats stats;          /* query-viommu's counters */
};

/* EFR (3.4.x) of the default configuration, for the stub build. */
#define AMDVI_DEFAULT_EXT_FEATURES  0x8c1ull

/* The EFR this IOMMU reports (register 0x30, IVHD 11h/40h image). */
uint64_t amdvi_extended_feature_register(AMDVIState *s);

/*
 * Appends the IVRS table (AMD IOMMU 5.2) for the amd-iommu of the machine
 * to @table_data, as the pc machines' ACPI builder does for its other
 * tables. Called through qemu-viommu hook 4 in hw/i386/acpi-build.c.
 */
void amd_iommu_build_ivrs(GArray *table_data, BIOSLinker *linker,
                          const char *oem_id, const char *oem_table_id);

#endif

/*
 * qemu-viommu: VT-d interrupt remapping, request and IRTE decoding
 * (VT-d 4.1, 5.1: interrupt requests in remappable format, 9.10: the
 * interrupt remapping table entry). Posted-format IRTEs (IM = 1) are
 * refused as reserved: this model does not post interrupts.
 *
 * Independent of QEMU: the device model reads the IRTE (two little-endian
 * quadwords at IRTA + 16 * index) and turns a fault into its fault record.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_VTD_IRTE_H
#define HW_VIOMMU_VTD_IRTE_H

#include <stdbool.h>
#include <stdint.h>

/* Interrupt-remapping fault reasons (VT-d 4.1, 7.1.3, table 26) */
typedef enum VtdIrFault {
    VTD_IR_OK = 0,
    VTD_IR_REQ_RESERVED = 0x20,     /* reserved fields in the request */
    VTD_IR_INDEX_OVER = 0x21,       /* index beyond the table (IRTA.S) */
    VTD_IR_NOT_PRESENT = 0x22,      /* IRTE P clear */
    VTD_IR_READ_FAILED = 0x23,      /* the IRTE could not be read */
    VTD_IR_IRTE_RESERVED = 0x24,    /* reserved fields or encodings set */
    VTD_IR_COMPAT_BLOCKED = 0x25,   /* compatibility format, not allowed */
    VTD_IR_SID_MISMATCH = 0x26,     /* source-ID verification failed */
} VtdIrFault;

/*
 * A remapped interrupt, as the IRTE describes it. delivery_mode is DLM:
 * 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT.
 */
typedef struct VtdIrq {
    uint32_t dest;                  /* APIC ID: 8 bits in xAPIC mode */
    uint8_t vector;
    uint8_t delivery_mode;
    bool dest_logical;              /* DM */
    bool redir_hint;                /* RH */
    bool level;                     /* TM */
} VtdIrq;

/*
 * Decodes an interrupt request (an MSI write of @data to @addr). The
 * compatibility format (address bit 4 clear) sets *@compat, for the model
 * to pass or block (VTD_IR_COMPAT_BLOCKED) as GSTS.CFIS says; the
 * remappable format gives the IRTE index in *@index. An address with bits
 * 63:32 set is VTD_IR_REQ_RESERVED.
 */
VtdIrFault vtd_ir_request_index(uint64_t addr, uint32_t data,
                                uint32_t *index, bool *compat);

/*
 * Decodes the IRTE @lo (bits 63:0), @hi (bits 127:64) for a request from
 * source ID @sid (bus << 8 | devfn), with @eim true in x2APIC mode
 * (IRTA.EIME). On VTD_IR_OK fills *@irq. *@fpd is the entry's Fault
 * Processing Disable, whatever the result: a qualified fault
 * (vtd_ir_fault_qualified) is not recorded when it is set.
 */
VtdIrFault vtd_irte_decode(uint64_t lo, uint64_t hi, bool eim, uint16_t sid,
                           VtdIrq *irq, bool *fpd);

/* Whether FPD suppresses the recording of @fault (VT-d 4.1, 7.1.3). */
bool vtd_ir_fault_qualified(VtdIrFault fault);

#endif

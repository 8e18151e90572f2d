/*
 * qemu-viommu: VT-d queued-invalidation descriptors (VT-d 4.1, 6.5.2).
 *
 * Decodes one descriptor of the invalidation queue, 128 or 256 bits (IQA.DW),
 * into its type and fields, checking every reserved bit and encoding: a
 * descriptor that fails is what sets IQE (FSTS) with IQEI "invalid
 * descriptor" and stops the queue at its head. Independent of QEMU.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_VTD_QI_H
#define HW_VIOMMU_VTD_QI_H

#include <stdbool.h>
#include <stdint.h>

typedef enum VtdInvType {
    VTD_INV_CONTEXT = 1,            /* context-cache */
    VTD_INV_IOTLB = 2,
    VTD_INV_DEVICE_IOTLB = 3,
    VTD_INV_IEC = 4,                /* interrupt entry cache */
    VTD_INV_WAIT = 5,
    VTD_INV_PASID_IOTLB = 6,
    VTD_INV_PASID_CACHE = 7,
    VTD_INV_PASID_DEVICE_IOTLB = 8,
} VtdInvType;

/* Granularities, as the descriptors code them (G). */
#define VTD_INV_CC_GLOBAL       1   /* context-cache */
#define VTD_INV_CC_DOMAIN       2
#define VTD_INV_CC_DEVICE       3
#define VTD_INV_IOTLB_GLOBAL    1   /* IOTLB */
#define VTD_INV_IOTLB_DOMAIN    2
#define VTD_INV_IOTLB_PAGE      3
#define VTD_INV_PIOTLB_PASID    2   /* PASID-IOTLB: non-global of a PASID */
#define VTD_INV_PIOTLB_PAGE     3   /* page-selective within a PASID */
#define VTD_INV_PC_DOMAIN       0   /* PASID-cache: every PASID of a domain */
#define VTD_INV_PC_PASID        1
#define VTD_INV_PC_GLOBAL       3

/* One decoded descriptor; fields a type does not have are zero. */
typedef struct VtdInvDesc {
    VtdInvType type;
    unsigned granularity;       /* G as above; IEC: 1 index-selective */
    uint16_t domain;            /* DID */
    uint16_t sid;               /* source ID (context, device-IOTLB) */
    unsigned fm;                /* context: function mask, 0 to 3 */
    uint32_t pasid;
    uint64_t start, last;       /* IOTLB/device-IOTLB range, inclusive */
    bool ih;                    /* invalidation hint: leaves only */
    bool global;                /* PASID device-IOTLB: G */
    uint32_t iec_index;         /* IEC: first IRTE index */
    unsigned iec_mask;          /* IEC: 2^IM entries */
    bool wait_if, wait_sw, wait_fn;     /* wait: interrupt, status, fence */
    uint32_t status_data;       /* wait: the dword written with SW */
    uint64_t status_addr;       /* wait: where, 4-byte aligned */
} VtdInvDesc;

/*
 * Decodes the descriptor @q (2 quadwords, or 4 with @wide) into *@d.
 * Returns false for an invalid descriptor: an unknown type, a reserved bit
 * or field set, or a reserved granularity (IQE). An address mask that
 * reaches past bit 63 covers everything.
 */
bool vtd_inv_decode(const uint64_t *q, bool wide, VtdInvDesc *d);

/* The name of descriptor type @type (6.5.2), for traces; "unknown" else. */
const char *vtd_inv_type_name(VtdInvType type);

#endif

/*
 * qemu-viommu: AMD-Vi event log entries (AMD IOMMU spec rev. 3.x, 2.5
 * "Event Logging").
 *
 * An event is 128 bits, four little-endian dwords: the DeviceID in 15:0 of
 * the first (PASID[19:16] in 19:16 where the type has one), the DomainID
 * or PASID[15:0] in 15:0 of the second, its flags in 27:16 and the event
 * code in 31:28; an address in the last two.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_AMD_EVENT_H
#define HW_VIOMMU_AMD_EVENT_H

#include <stdint.h>

#define AMD_EVENT_SIZE          16      /* bytes per entry */

typedef enum AmdEventCode {
    AMD_EVENT_ILLEGAL_DEV_TABLE_ENTRY = 0x1,
    AMD_EVENT_IO_PAGE_FAULT = 0x2,
    AMD_EVENT_DEV_TAB_HW_ERROR = 0x3,
    AMD_EVENT_PAGE_TAB_HW_ERROR = 0x4,
    AMD_EVENT_ILLEGAL_COMMAND = 0x5,
    AMD_EVENT_COMMAND_HW_ERROR = 0x6,
    AMD_EVENT_IOTLB_INV_TIMEOUT = 0x7,
    AMD_EVENT_INVALID_DEVICE_REQUEST = 0x8,
} AmdEventCode;

/* Flags of the fault events (2.5.2, 2.5.3), bit n of dword 1 bits 27:16 */
#define AMD_EVENT_GN            (1u << 0)   /* guest (PASID) address */
#define AMD_EVENT_NX            (1u << 1)
#define AMD_EVENT_US            (1u << 2)
#define AMD_EVENT_I             (1u << 3)   /* an interrupt request */
#define AMD_EVENT_PR            (1u << 4)   /* the entry was present */
#define AMD_EVENT_RW            (1u << 5)   /* a write */
#define AMD_EVENT_PE            (1u << 6)   /* permission denied */
#define AMD_EVENT_RZ            (1u << 7)   /* reserved bit or value */
#define AMD_EVENT_TR            (1u << 8)   /* a translation request */

/* INVALID_DEVICE_REQUEST types (2.5.8), in flags bits 11:9 */
#define AMD_EVENT_REQ_TYPE_SHIFT    9
#define AMD_EVENT_REQ_TRANSLATION_DISABLED  1   /* ATS with TV or I clear */

/* One event. */
typedef struct AmdEvent {
    AmdEventCode code;
    uint16_t devid;
    uint16_t domain;            /* DomainID (or PASID[15:0]) */
    uint16_t flags;             /* AMD_EVENT_* (12 bits) */
    uint64_t addr;              /* faulting address, entry or command */
} AmdEvent;

/* Lays out @e as the four dwords of a log entry in @d. */
void amd_event_encode(const AmdEvent *e, uint32_t d[4]);

/*
 * Where the next event goes in a log of @len bytes (2^EventLen entries)
 * whose head and tail are byte offsets: the tail, or -1 if the log is
 * full (one entry is always left empty: tail + 16 == head is full) or
 * the offsets are out of the log (treated as an overflow).
 */
long amd_event_log_slot(uint32_t head, uint32_t tail, uint32_t len);

#endif

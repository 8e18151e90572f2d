/*
 * qemu-viommu: AMD-Vi event log entries (AMD IOMMU spec rev. 3.x, 2.5).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/amd-event.h"

void amd_event_encode(const AmdEvent *e, uint32_t d[4])
{
    d[0] = e->devid;
    d[1] = e->domain | (uint32_t)(e->flags & 0xfff) << 16 |
           (uint32_t)(e->code & 0xf) << 28;
    d[2] = (uint32_t)e->addr;
    d[3] = e->addr >> 32;
    if (e->code == AMD_EVENT_ILLEGAL_COMMAND ||
        e->code == AMD_EVENT_COMMAND_HW_ERROR) {
        d[0] = 0;                   /* only the command's address */
        d[1] &= 0xf0000000u;
    }
}

long amd_event_log_slot(uint32_t head, uint32_t tail, uint32_t len)
{
    if (head >= len || tail >= len || (head | tail) % AMD_EVENT_SIZE) {
        return -1;
    }
    if ((tail + AMD_EVENT_SIZE) % len == head) {
        return -1;
    }
    return tail;
}

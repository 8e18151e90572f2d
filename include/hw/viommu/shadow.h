/*
 * qemu-viommu: the notifier shadow, shared by the VT-d and AMD-Vi models.
 *
 * IOMMU notifiers (VFIO, vhost) mirror a guest's I/O page tables. The
 * shadow remembers what they were told, as mappings in the store of
 * hw/viommu/iova-map.h, so that when the guest invalidates a range the
 * model can send them exactly the difference between the guest's tables
 * (walked with hw/viommu/pt-walk.h) and what they hold:
 *   - a mapping they hold is unmapped only if some page of it changed,
 *     and then whole: every UNMAP covers exactly blocks that were mapped
 *     (the same naturally aligned power-of-two blocks as the MAP);
 *   - what is new is mapped as runs of contiguous pages with the same
 *     permissions, within one entry of the next level up (512 pages of
 *     the leaf's size: what one changed page can cost), each split into
 *     the largest blocks aligned on both the IOVA and the output side;
 *   - UNMAPs come before MAPs, so a notifier never sees a MAP over a
 *     mapping it still holds.
 * A mapping that reaches outside the invalidated range is checked whole.
 *
 * Independent of QEMU; the device model's lock covers it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_SHADOW_H
#define HW_VIOMMU_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/viommu/pt-walk.h"

typedef struct ViommuShadow ViommuShadow;

/*
 * One notifier event: MAP (@map true) or UNMAP of the block
 * [@iova, @iova + @mask] -> [@output, @output + @mask], @mask + 1 a power
 * of two to which both addresses are aligned; @perm is VIOMMU_PT_READ |
 * VIOMMU_PT_WRITE (for an UNMAP, what the MAP had).
 */
typedef void (*ViommuShadowFn)(bool map, uint64_t iova, uint64_t output,
                               uint64_t mask, unsigned perm, void *opaque);

/*
 * WALK_FAULT: a table could not be read or walked; the range was unmapped
 * and nothing mapped. FULL: more runs than max_mappings; what did not fit
 * was not mapped.
 */
typedef enum ViommuShadowStatus {
    VIOMMU_SHADOW_OK = 0,
    VIOMMU_SHADOW_WALK_FAULT,
    VIOMMU_SHADOW_FULL,
} ViommuShadowStatus;

#define VIOMMU_SHADOW_MAX_HOLES 8

/* A shadow of at most @max_mappings runs; NULL if out of memory. */
ViommuShadow *viommu_shadow_new(size_t max_mappings);
void viommu_shadow_free(ViommuShadow *s);

/* The runs the notifiers hold. */
size_t viommu_shadow_count(const ViommuShadow *s);

/*
 * Brings what the notifiers hold of [@start, @last] (inclusive, widened to
 * whole 4 KiB pages and to whole held mappings) in line with the tables of
 * @cfg; @cfg NULL means
 * nothing is mapped there (the device left translation). Emits UNMAPs,
 * then MAPs, through @fn. The tables are walked twice (once to find what
 * changed, once to map what is new). On VIOMMU_SHADOW_WALK_FAULT, *@fault
 * says why.
 */
ViommuShadowStatus viommu_shadow_sync(ViommuShadow *s,
                                      const ViommuPtConfig *cfg,
                                      uint64_t start, uint64_t last,
                                      ViommuShadowFn fn, void *opaque,
                                      ViommuPtFault *fault);

/* Unmaps everything the notifiers hold (reset, detach, notifier gone). */
void viommu_shadow_clear(ViommuShadow *s, ViommuShadowFn fn, void *opaque);

/* MAPs everything held, for a notifier that has just registered. */
void viommu_shadow_replay(const ViommuShadow *s, ViommuShadowFn fn,
                          void *opaque);

/*
 * IOVA ranges (@n pairs of first and last address, at most
 * VIOMMU_SHADOW_MAX_HOLES) that no MAP may touch, such as the interrupt
 * window that splits the notifiers VFIO registers: runs and blocks stop at
 * their edges. Set before the first sync. Returns false if @n is too large
 * or a pair is reversed (nothing changed).
 */
bool viommu_shadow_set_holes(ViommuShadow *s, const uint64_t (*holes)[2],
                             unsigned n);

#endif

/*
 * qemu-viommu: an ordered store of non-overlapping IOVA mappings.
 *
 * Independent of QEMU (C99 and libc only) so that it is unit-tested and
 * fuzzed on its own. Nodes live in a chunked pool addressed by 32-bit
 * indices, which keeps a mapping at 40 bytes and never moves a node.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_IOVA_MAP_H
#define HW_VIOMMU_IOVA_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct IovaMapping {
    uint64_t virt_start;
    uint64_t virt_end;      /* inclusive */
    uint64_t phys_start;
    uint32_t flags;
} IovaMapping;

typedef struct IovaMap IovaMap;

typedef enum IovaMapResult {
    IOVA_MAP_OK = 0,
    IOVA_MAP_OVERLAP,       /* insert: the range meets an existing mapping */
    IOVA_MAP_SPLIT,         /* remove: the range would cut a mapping in two */
    IOVA_MAP_NOMEM,         /* insert: the store is full or out of memory */
} IovaMapResult;

/* Called for each mapping visited; a non-zero return stops the walk. */
typedef int (*IovaMapVisitFn)(const IovaMapping *m, void *opaque);

IovaMap *iova_map_new(size_t max_mappings);
void iova_map_free(IovaMap *map);
size_t iova_map_count(const IovaMap *map);

/* Bytes the store holds for its nodes (for the memory benchmark). */
size_t iova_map_footprint(const IovaMap *map);

IovaMapResult iova_map_insert(IovaMap *map, const IovaMapping *m);

/* For tests: the tree is ordered, balanced and holds count mappings */
bool iova_map_check(const IovaMap *map);

/* The mapping that contains @addr, or NULL. */
const IovaMapping *iova_map_lookup(const IovaMap *map, uint64_t addr);

/* Whether any mapping meets [start, end]. */
bool iova_map_overlaps(const IovaMap *map, uint64_t start, uint64_t end);

/*
 * Removes every mapping that lies inside [start, end], calling @fn on each
 * before it goes, in address order. If a mapping is only partly covered,
 * nothing is removed and IOVA_MAP_SPLIT is returned (virtio 1.3, 5.13.6.6:
 * "partially removing a mapping isn't supported").
 */
IovaMapResult iova_map_remove_range(IovaMap *map, uint64_t start, uint64_t end,
                                    IovaMapVisitFn fn, void *opaque);

/* Visits, in address order, the mappings that meet [start, end]. */
int iova_map_foreach_in(const IovaMap *map, uint64_t start, uint64_t end,
                        IovaMapVisitFn fn, void *opaque);

/* Removes everything, calling @fn (may be NULL) on each mapping first. */
void iova_map_clear(IovaMap *map, IovaMapVisitFn fn, void *opaque);

#endif

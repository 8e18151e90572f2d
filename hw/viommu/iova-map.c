/*
 * qemu-viommu: an ordered store of non-overlapping IOVA mappings.
 *
 * An AVL tree keyed by virt_start. Since mappings never overlap, ordering by
 * start also orders by end, so "the mapping holding addr" is the one with
 * the greatest start <= addr.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/iova-map.h"

#include <stdlib.h>
#include <string.h>

#define NIL            0u       /* index 0 is never a node */
#define CHUNK_SHIFT    12
#define CHUNK_NODES    (1u << CHUNK_SHIFT)
#define MAX_HEIGHT     64

typedef struct Node {
    IovaMapping m;              /* flags' low 8 bits only are kept */
    uint32_t left;
    uint32_t right;
} Node;

struct IovaMap {
    Node **chunks;
    uint32_t nr_chunks;
    uint32_t next_fresh;        /* first never-used index */
    uint32_t free_list;         /* freed nodes, linked through .left */
    uint32_t root;
    size_t count;
    size_t max_count;
    uint8_t *height;            /* per node, kept apart to keep Node small */
    size_t height_cap;
};

static inline Node *node(const IovaMap *map, uint32_t i)
{
    return &map->chunks[i >> CHUNK_SHIFT][i & (CHUNK_NODES - 1)];
}

static inline int height(const IovaMap *map, uint32_t i)
{
    return i == NIL ? 0 : map->height[i];
}

static inline void fix_height(IovaMap *map, uint32_t i)
{
    int l = height(map, node(map, i)->left);
    int r = height(map, node(map, i)->right);

    map->height[i] = (uint8_t)(1 + (l > r ? l : r));
}

IovaMap *iova_map_new(size_t max_mappings)
{
    IovaMap *map = calloc(1, sizeof(*map));

    if (map) {
        map->next_fresh = 1;
        map->max_count = max_mappings ? max_mappings : (size_t)UINT32_MAX - 1;
        if (map->max_count > (size_t)UINT32_MAX - 1) {
            map->max_count = (size_t)UINT32_MAX - 1;
        }
    }
    return map;
}

void iova_map_free(IovaMap *map)
{
    if (!map) {
        return;
    }
    for (uint32_t c = 0; c < map->nr_chunks; c++) {
        free(map->chunks[c]);
    }
    free(map->chunks);
    free(map->height);
    free(map);
}

size_t iova_map_count(const IovaMap *map)
{
    return map->count;
}

size_t iova_map_footprint(const IovaMap *map)
{
    return (size_t)map->nr_chunks * CHUNK_NODES * (sizeof(Node) + 1) +
           map->nr_chunks * sizeof(Node *) + sizeof(*map);
}

static bool grow_pool(IovaMap *map)
{
    uint32_t c = map->nr_chunks;
    Node **chunks = realloc(map->chunks, (c + 1) * sizeof(*chunks));
    uint8_t *h;

    if (!chunks) {
        return false;
    }
    map->chunks = chunks;
    chunks[c] = malloc(CHUNK_NODES * sizeof(Node));
    if (!chunks[c]) {
        return false;
    }
    h = realloc(map->height, (size_t)(c + 1) * CHUNK_NODES);
    if (!h) {
        free(chunks[c]);
        return false;
    }
    map->height = h;
    map->nr_chunks = c + 1;
    return true;
}

static uint32_t alloc_node(IovaMap *map)
{
    uint32_t i = map->free_list;

    if (i != NIL) {
        map->free_list = node(map, i)->left;
        return i;
    }
    if (map->next_fresh >> CHUNK_SHIFT >= map->nr_chunks && !grow_pool(map)) {
        return NIL;
    }
    return map->next_fresh++;
}

static void free_node(IovaMap *map, uint32_t i)
{
    node(map, i)->left = map->free_list;
    map->free_list = i;
}

static uint32_t rotate_right(IovaMap *map, uint32_t y)
{
    uint32_t x = node(map, y)->left;

    node(map, y)->left = node(map, x)->right;
    node(map, x)->right = y;
    fix_height(map, y);
    fix_height(map, x);
    return x;
}

static uint32_t rotate_left(IovaMap *map, uint32_t x)
{
    uint32_t y = node(map, x)->right;

    node(map, x)->right = node(map, y)->left;
    node(map, y)->left = x;
    fix_height(map, x);
    fix_height(map, y);
    return y;
}

static uint32_t rebalance(IovaMap *map, uint32_t i)
{
    Node *n = node(map, i);
    int balance;

    fix_height(map, i);
    balance = height(map, n->left) - height(map, n->right);
    if (balance > 1) {
        Node *l = node(map, n->left);
        if (height(map, l->left) < height(map, l->right)) {
            n->left = rotate_left(map, n->left);
        }
        return rotate_right(map, i);
    }
    if (balance < -1) {
        Node *r = node(map, n->right);
        if (height(map, r->right) < height(map, r->left)) {
            n->right = rotate_right(map, n->right);
        }
        return rotate_left(map, i);
    }
    return i;
}

/* Greatest node with virt_start <= key, or NIL. */
static uint32_t floor_node(const IovaMap *map, uint64_t key)
{
    uint32_t i = map->root, best = NIL;

    while (i != NIL) {
        const Node *n = node(map, i);
        if (n->m.virt_start <= key) {
            best = i;
            i = n->right;
        } else {
            i = n->left;
        }
    }
    return best;
}

/* Least node with virt_start >= key, or NIL. */
static uint32_t ceil_node(const IovaMap *map, uint64_t key)
{
    uint32_t i = map->root, best = NIL;

    while (i != NIL) {
        const Node *n = node(map, i);
        if (n->m.virt_start >= key) {
            best = i;
            i = n->left;
        } else {
            i = n->right;
        }
    }
    return best;
}

const IovaMapping *iova_map_lookup(const IovaMap *map, uint64_t addr)
{
    uint32_t i = floor_node(map, addr);

    if (i != NIL && node(map, i)->m.virt_end >= addr) {
        return &node(map, i)->m;
    }
    return NULL;
}

bool iova_map_overlaps(const IovaMap *map, uint64_t start, uint64_t end)
{
    uint32_t i = floor_node(map, end);

    return i != NIL && node(map, i)->m.virt_end >= start;
}

/*
 * Descends from the root towards where @m goes, recording the path in
 * @path/@went_left. The mappings before and after @m.virt_start both lie
 * on that path, so meeting neither means no overlap. Returns the depth, or
 * -1 on overlap.
 */
static int find_slot(const IovaMap *map, const IovaMapping *m,
                     uint32_t *path, bool *went_left)
{
    uint32_t i = map->root;
    int depth = 0;

    while (i != NIL) {
        const Node *n = node(map, i);

        went_left[depth] = m->virt_start < n->m.virt_start;
        if (went_left[depth] ? m->virt_end >= n->m.virt_start
                             : n->m.virt_end >= m->virt_start) {
            return -1;
        }
        path[depth++] = i;
        i = went_left[depth - 1] ? n->left : n->right;
    }
    return depth;
}

IovaMapResult iova_map_insert(IovaMap *map, const IovaMapping *m)
{
    uint32_t path[MAX_HEIGHT], child;
    bool went_left[MAX_HEIGHT];
    int depth;

    if (m->virt_end < m->virt_start) {
        return IOVA_MAP_OVERLAP;
    }
    depth = find_slot(map, m, path, went_left);
    if (depth < 0) {
        return IOVA_MAP_OVERLAP;
    }
    if (map->count >= map->max_count) {
        return IOVA_MAP_NOMEM;
    }
    child = alloc_node(map);
    if (child == NIL) {
        return IOVA_MAP_NOMEM;
    }
    node(map, child)->m = *m;
    node(map, child)->left = NIL;
    node(map, child)->right = NIL;
    map->height[child] = 1;
    map->count++;
    /* Back up the path; once a subtree keeps its root and height, stop */
    while (depth-- > 0) {
        uint32_t parent = path[depth];
        uint8_t old_height = map->height[parent];

        if (went_left[depth]) {
            node(map, parent)->left = child;
        } else {
            node(map, parent)->right = child;
        }
        child = rebalance(map, parent);
        if (child == parent && map->height[parent] == old_height) {
            return IOVA_MAP_OK;
        }
    }
    map->root = child;
    return IOVA_MAP_OK;
}

/* Unlinks the least node of the subtree at @root into *@min. */
static uint32_t unlink_min(IovaMap *map, uint32_t root, uint32_t *min)
{
    Node *n = node(map, root);

    if (n->left == NIL) {
        *min = root;
        return n->right;
    }
    n->left = unlink_min(map, n->left, min);
    return rebalance(map, root);
}

static uint32_t remove_at(IovaMap *map, uint32_t root, uint64_t key)
{
    Node *n;

    if (root == NIL) {
        return NIL;
    }
    n = node(map, root);
    if (key < n->m.virt_start) {
        n->left = remove_at(map, n->left, key);
    } else if (key > n->m.virt_start) {
        n->right = remove_at(map, n->right, key);
    } else {
        uint32_t left = n->left, right = n->right, succ;

        free_node(map, root);
        map->count--;
        if (right == NIL) {
            return left;
        }
        right = unlink_min(map, right, &succ);
        node(map, succ)->left = left;
        node(map, succ)->right = right;
        return rebalance(map, succ);
    }
    return rebalance(map, root);
}

IovaMapResult iova_map_remove_range(IovaMap *map, uint64_t start, uint64_t end,
                                    IovaMapVisitFn fn, void *opaque)
{
    const IovaMapping *first = iova_map_lookup(map, start);
    const IovaMapping *last;
    uint32_t i;

    /* The usual case: exactly one mapping, removed whole */
    if (first && first->virt_start == start && first->virt_end == end) {
        IovaMapping gone = *first;

        if (fn) {
            fn(&gone, opaque);
        }
        map->root = remove_at(map, map->root, start);
        return IOVA_MAP_OK;
    }
    last = iova_map_lookup(map, end);
    if ((first && first->virt_start < start) ||
        (last && last->virt_end > end)) {
        return IOVA_MAP_SPLIT;
    }
    while ((i = ceil_node(map, start)) != NIL &&
           node(map, i)->m.virt_start <= end) {
        IovaMapping gone = node(map, i)->m;

        if (fn) {
            fn(&gone, opaque);
        }
        map->root = remove_at(map, map->root, gone.virt_start);
        if (gone.virt_end >= end) {
            break;
        }
        start = gone.virt_end + 1;
    }
    return IOVA_MAP_OK;
}

static int visit_in(const IovaMap *map, uint32_t i, uint64_t start,
                    uint64_t end, IovaMapVisitFn fn, void *opaque)
{
    const Node *n;
    int ret;

    if (i == NIL) {
        return 0;
    }
    n = node(map, i);
    if (n->m.virt_start > start) {
        ret = visit_in(map, n->left, start, end, fn, opaque);
        if (ret) {
            return ret;
        }
    }
    if (n->m.virt_end >= start && n->m.virt_start <= end) {
        ret = fn(&n->m, opaque);
        if (ret) {
            return ret;
        }
    }
    if (n->m.virt_start < end) {
        return visit_in(map, n->right, start, end, fn, opaque);
    }
    return 0;
}

int iova_map_foreach_in(const IovaMap *map, uint64_t start, uint64_t end,
                        IovaMapVisitFn fn, void *opaque)
{
    return visit_in(map, map->root, start, end, fn, opaque);
}

void iova_map_clear(IovaMap *map, IovaMapVisitFn fn, void *opaque)
{
    if (fn) {
        visit_in(map, map->root, 0, UINT64_MAX, fn, opaque);
    }
    map->root = NIL;
    map->count = 0;
    map->free_list = NIL;
    map->next_fresh = 1;
}

/* Height of the subtree at @i if it is a valid AVL tree in order, or -1 */
static int check_subtree(const IovaMap *map, uint32_t i, uint64_t lo,
                         uint64_t hi, size_t *nodes)
{
    const Node *n;
    int l, r;

    if (i == NIL) {
        return 0;
    }
    n = node(map, i);
    if (n->m.virt_start < lo || n->m.virt_end > hi ||
        n->m.virt_end < n->m.virt_start) {
        return -1;
    }
    l = n->m.virt_start == 0 ? (n->left == NIL ? 0 : -1) :
        check_subtree(map, n->left, lo, n->m.virt_start - 1, nodes);
    r = n->m.virt_end == UINT64_MAX ? (n->right == NIL ? 0 : -1) :
        check_subtree(map, n->right, n->m.virt_end + 1, hi, nodes);
    if (l < 0 || r < 0 || l - r > 1 || r - l > 1 ||
        map->height[i] != 1 + (l > r ? l : r)) {
        return -1;
    }
    ++*nodes;
    return map->height[i];
}

bool iova_map_check(const IovaMap *map)
{
    size_t nodes = 0;

    return check_subtree(map, map->root, 0, UINT64_MAX, &nodes) >= 0 &&
           nodes == map->count;
}

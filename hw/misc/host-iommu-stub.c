/*
 * qemu-viommu: x-host-iommu-stub, a PCI function that stands for a device
 * assigned through VFIO, for tests only.
 *
 * It hands the vIOMMU it sits behind a HostIOMMUDevice whose page sizes
 * and usable IOVA range are properties, as VFIO does for a real device
 * (pci_device_set_iommu_device at realize, unset at exit). That reaches
 * what no x86 host here can show with a real IOMMU: a host IOMMU whose
 * smallest page is larger than the guest's granule.
 *
 *   -device x-host-iommu-stub,page-size=64k,iova-end=0x7fffffffff
 *
 * With notifier=on it also listens to its DMA address space as VFIO does:
 * an IOMMU MAP/UNMAP notifier on every IOMMU region that appears there
 * (registered, then replayed), holding what it was told as VFIO's type1
 * container would. It counts MAPs and UNMAPs and the events VFIO would
 * refuse (a MAP over a held mapping, an UNMAP that is not exactly one held
 * mapping) in registers of BAR 0: 0x00 MAPs, 0x08 UNMAPs, 0x10 refused,
 * 0x18 bytes held; a write anywhere zeroes the counts. With
 * unmap-only=on too, its notifiers take UNMAPs only, as vhost's do; with
 * deviotlb=on, device-IOTLB UNMAPs only, as vhost's do with ATS. With
 * reenter=on, each MAP notification translates its IOVA again through
 * the IOMMU region from inside the notifier, as a notifier may (the memory
 * API it calls can reach the IOMMU): a model that notified with its lock
 * held deadlocks there. 0x20 counts the translations that agreed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/range.h"
#include "qapi/error.h"
#include "hw/pci/pci_device.h"
#include "hw/qdev-properties.h"
#include "system/host_iommu_device.h"
#include "exec/memory.h"

#define TYPE_HOST_IOMMU_STUB "x-host-iommu-stub"
#define TYPE_HOST_IOMMU_STUB_HIOD "x-host-iommu-stub-hiod"
OBJECT_DECLARE_SIMPLE_TYPE(HostIOMMUStub, HOST_IOMMU_STUB)

typedef struct StubHostIOMMU {
    HostIOMMUDevice parent_obj;
    uint64_t page_size;
    uint64_t iova_end;
} StubHostIOMMU;

typedef struct StubNotifier {
    IOMMUNotifier n;
    IOMMUMemoryRegion *mr;
    struct HostIOMMUStub *stub;
    QLIST_ENTRY(StubNotifier) next;
} StubNotifier;

struct HostIOMMUStub {
    PCIDevice parent_obj;
    uint64_t page_size;     /* the host IOMMU's smallest page */
    uint64_t iova_end;      /* it maps [0, iova_end] */
    bool notifier;
    bool unmap_only;
    bool deviotlb;
    bool reenter;
    StubHostIOMMU *hiod;
    MemoryRegion bar;
    MemoryListener listener;
    QLIST_HEAD(, StubNotifier) notifiers;
    GTree *held;            /* iova -> last iova (uint64_t *) */
    uint64_t maps, unmaps, refused, bytes, agreed;
};

/* A held mapping [start, last]: key and value of s->held. */
typedef struct StubRange {
    uint64_t start, last;
} StubRange;

static gint cmp_range(gconstpointer a, gconstpointer b, gpointer unused)
{
    const StubRange *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

/* g_tree_search: 0 where the node overlaps the wanted range. */
static gint find_overlap(gconstpointer key, gconstpointer want)
{
    const StubRange *node = key, *w = want;

    return node->start > w->last ? -1 : node->last < w->start;
}

/* reenter=on: does translate() say what the MAP @e said? */
static bool stub_translation_agrees(StubNotifier *sn, IOMMUTLBEntry *e)
{
    IOMMUMemoryRegionClass *imrc = IOMMU_MEMORY_REGION_GET_CLASS(sn->mr);
    IOMMUTLBEntry t = imrc->translate(sn->mr, e->iova, IOMMU_NONE,
                                      sn->n.iommu_idx);
    hwaddr mask = MIN(t.addr_mask, e->addr_mask);
    hwaddr at = (t.translated_addr & ~t.addr_mask) | (e->iova & t.addr_mask);

    return t.perm == e->perm &&
           (at & ~mask) == (e->translated_addr & ~mask);
}

static void stub_notify(IOMMUNotifier *n, IOMMUTLBEntry *e)
{
    StubNotifier *sn = container_of(n, StubNotifier, n);
    HostIOMMUStub *s = sn->stub;
    StubRange want = { e->iova, e->iova + e->addr_mask };
    StubRange *held = g_tree_search(s->held, find_overlap, &want);

    if (s->unmap_only || s->deviotlb) {
        s->unmaps++;                    /* vhost drops what it cached */
        return;
    }
    if (e->perm != IOMMU_NONE) {
        s->maps++;
        if (s->reenter && stub_translation_agrees(sn, e)) {
            s->agreed++;
        }
        if (held) {
            s->refused++;
            return;
        }
        held = g_memdup2(&want, sizeof(want));
        g_tree_insert(s->held, held, held);
        s->bytes += e->addr_mask + 1;
        return;
    }
    s->unmaps++;
    if (!held || held->start != want.start || held->last != want.last) {
        s->refused++;
        return;
    }
    g_tree_remove(s->held, held);
    s->bytes -= e->addr_mask + 1;
}

static void stub_region_add(MemoryListener *l, MemoryRegionSection *sec)
{
    HostIOMMUStub *s = container_of(l, HostIOMMUStub, listener);
    StubNotifier *sn;
    Error *err = NULL;
    hwaddr first = sec->offset_within_region;
    hwaddr last = first + int128_get64(int128_sub(sec->size, int128_one()));

    if (!memory_region_is_iommu(sec->mr)) {
        return;
    }
    sn = g_new0(StubNotifier, 1);
    sn->stub = s;
    sn->mr = IOMMU_MEMORY_REGION(sec->mr);
    iommu_notifier_init(&sn->n, stub_notify,
                        s->deviotlb ? IOMMU_NOTIFIER_DEVIOTLB_UNMAP :
                        s->unmap_only ? IOMMU_NOTIFIER_UNMAP
                                      : IOMMU_NOTIFIER_IOTLB_EVENTS,
                        first, last,
                        memory_region_iommu_attrs_to_index(
                            sn->mr, MEMTXATTRS_UNSPECIFIED));
    if (memory_region_register_iommu_notifier(sec->mr, &sn->n, &err)) {
        error_report_err(err);
        g_free(sn);
        return;
    }
    QLIST_INSERT_HEAD(&s->notifiers, sn, next);
    if (!s->unmap_only && !s->deviotlb) {
        memory_region_iommu_replay(sn->mr, &sn->n);
    }
}

static void stub_region_del(MemoryListener *l, MemoryRegionSection *sec)
{
    HostIOMMUStub *s = container_of(l, HostIOMMUStub, listener);
    StubNotifier *sn, *next;

    QLIST_FOREACH_SAFE(sn, &s->notifiers, next, next) {
        if (MEMORY_REGION(sn->mr) == sec->mr &&
            sn->n.start == sec->offset_within_region) {
            memory_region_unregister_iommu_notifier(sec->mr, &sn->n);
            QLIST_REMOVE(sn, next);
            g_free(sn);
            /* VFIO drops the whole section from its container */
            g_tree_destroy(s->held);
            s->held = g_tree_new_full(cmp_range, NULL, g_free, NULL);
            s->bytes = 0;
        }
    }
}

static uint64_t stub_bar_read(void *opaque, hwaddr addr, unsigned size)
{
    HostIOMMUStub *s = opaque;
    uint64_t regs[5] = { s->maps, s->unmaps, s->refused, s->bytes,
                         s->agreed };

    return addr < sizeof(regs) ? regs[addr / 8] >> (8 * (addr % 8)) : 0;
}

static void stub_bar_write(void *opaque, hwaddr addr, uint64_t val,
                           unsigned size)
{
    HostIOMMUStub *s = opaque;

    s->maps = s->unmaps = s->refused = s->agreed = 0;
}

static const MemoryRegionOps stub_bar_ops = {
    .read = stub_bar_read,
    .write = stub_bar_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .impl = { .min_access_size = 8, .max_access_size = 8 },
};

static void stub_listen(HostIOMMUStub *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);

    s->held = g_tree_new_full(cmp_range, NULL, g_free, NULL);
    s->listener = (MemoryListener) {
        .name = "x-host-iommu-stub",
        .region_add = stub_region_add,
        .region_del = stub_region_del,
    };
    memory_listener_register(&s->listener,
                             pci_device_iommu_address_space(pdev));
}

static uint64_t stub_page_size_mask(HostIOMMUDevice *hiod)
{
    StubHostIOMMU *h = container_of(hiod, StubHostIOMMU, parent_obj);

    return -h->page_size;
}

static GList *stub_iova_ranges(HostIOMMUDevice *hiod)
{
    StubHostIOMMU *h = container_of(hiod, StubHostIOMMU, parent_obj);
    Range *r = g_new(Range, 1);

    range_set_bounds(r, 0, h->iova_end);
    return g_list_append(NULL, r);
}

static void host_iommu_stub_realize(PCIDevice *pdev, Error **errp)
{
    HostIOMMUStub *s = HOST_IOMMU_STUB(pdev);
    StubHostIOMMU *h;

    if (!is_power_of_2(s->page_size) || s->page_size < 4096) {
        error_setg(errp, "page-size: %" PRIu64 " is not allowed; allowed "
                   "values are powers of two from 4k", s->page_size);
        return;
    }
    h = (StubHostIOMMU *)object_new(TYPE_HOST_IOMMU_STUB_HIOD);
    h->page_size = s->page_size;
    h->iova_end = s->iova_end;
    h->parent_obj.name = g_strdup(DEVICE(pdev)->id ?: TYPE_HOST_IOMMU_STUB);
    if (!pci_device_set_iommu_device(pdev, &h->parent_obj, errp)) {
        object_unref(OBJECT(h));
        return;
    }
    s->hiod = h;
    memory_region_init_io(&s->bar, OBJECT(s), &stub_bar_ops, s,
                          "x-host-iommu-stub", 4096);
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->bar);
    if (s->notifier) {
        stub_listen(s);
    }
}

static void host_iommu_stub_exit(PCIDevice *pdev)
{
    HostIOMMUStub *s = HOST_IOMMU_STUB(pdev);

    if (s->notifier) {
        memory_listener_unregister(&s->listener);
        g_tree_destroy(s->held);
    }
    pci_device_unset_iommu_device(pdev);
    object_unref(OBJECT(s->hiod));
    s->hiod = NULL;
}

static const Property host_iommu_stub_properties[] = {
    DEFINE_PROP_SIZE("page-size", HostIOMMUStub, page_size, 4096),
    DEFINE_PROP_UINT64("iova-end", HostIOMMUStub, iova_end, UINT64_MAX),
    DEFINE_PROP_BOOL("notifier", HostIOMMUStub, notifier, false),
    DEFINE_PROP_BOOL("unmap-only", HostIOMMUStub, unmap_only, false),
    DEFINE_PROP_BOOL("deviotlb", HostIOMMUStub, deviotlb, false),
    DEFINE_PROP_BOOL("reenter", HostIOMMUStub, reenter, false),
};

static void host_iommu_stub_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = host_iommu_stub_realize;
    k->exit = host_iommu_stub_exit;
    k->vendor_id = PCI_VENDOR_ID_REDHAT;
    k->device_id = PCI_DEVICE_ID_REDHAT_TEST;
    k->class_id = PCI_CLASS_OTHERS;
    dc->desc = "stands for a VFIO device to test a vIOMMU (tests only)";
    device_class_set_props(dc, host_iommu_stub_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static void stub_hiod_class_init(ObjectClass *klass, void *data)
{
    HostIOMMUDeviceClass *hiodc = HOST_IOMMU_DEVICE_CLASS(klass);

    hiodc->get_page_size_mask = stub_page_size_mask;
    hiodc->get_iova_ranges = stub_iova_ranges;
}

static const TypeInfo host_iommu_stub_types[] = {
    {
        .name = TYPE_HOST_IOMMU_STUB,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(HostIOMMUStub),
        .class_init = host_iommu_stub_class_init,
        .interfaces = (InterfaceInfo[]) {
            { INTERFACE_CONVENTIONAL_PCI_DEVICE },
            { },
        },
    }, {
        .name = TYPE_HOST_IOMMU_STUB_HIOD,
        .parent = TYPE_HOST_IOMMU_DEVICE,
        .instance_size = sizeof(StubHostIOMMU),
        .class_init = stub_hiod_class_init,
    },
};

DEFINE_TYPES(host_iommu_stub_types)

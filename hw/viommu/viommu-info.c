/*
 * qemu-viommu: query-viommu and "info viommu" (see viommu-info.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-viommu.h"
#include "qapi/qapi-visit-viommu.h"
#include "qobject/qdict.h"
#include "monitor/monitor.h"
#include "monitor/hmp.h"
#include "hw/qdev-core.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_bus.h"
#include "hw/viommu/viommu-info.h"

typedef struct ViommuInfoEntry {
    Object *iommu, *shown;
    ViommuStats *stats;
    const ViommuInfoOps *ops;
} ViommuInfoEntry;

static GSList *viommu_registry;         /* of ViommuInfoEntry, under BQL */

void viommu_info_register(Object *iommu, Object *shown, ViommuStats *stats,
                          const ViommuInfoOps *ops)
{
    ViommuInfoEntry *e = g_new(ViommuInfoEntry, 1);

    *e = (ViommuInfoEntry) { iommu, shown, stats, ops };
    viommu_registry = g_slist_append(viommu_registry, e);
}

void viommu_info_unregister(Object *iommu)
{
    for (GSList *l = viommu_registry; l; l = l->next) {
        ViommuInfoEntry *e = l->data;

        if (e->iommu == iommu) {
            viommu_registry = g_slist_delete_link(viommu_registry, l);
            g_free(e);
            return;
        }
    }
}

ViommuStats *viommu_info_stats(Object *owner)
{
    for (GSList *l = viommu_registry; l; l = l->next) {
        ViommuInfoEntry *e = l->data;

        if (e->iommu == owner) {
            return e->stats;
        }
    }
    return NULL;
}

char *viommu_info_bdf(uint16_t sid)
{
    return g_strdup_printf("%02x:%02x.%x", sid >> 8, PCI_SLOT(sid & 0xff),
                           PCI_FUNC(sid & 0xff));
}

char *viommu_info_device_path(PCIBus *bus, uint8_t devfn)
{
    PCIDevice *d = bus ? bus->devices[devfn] : NULL;

    return d ? object_get_canonical_path(OBJECT(d)) : NULL;
}

static ViommuCounters *counters_of(const ViommuInfoEntry *e)
{
    const ViommuStats *st = e->stats;
    ViommuCounters *c = g_new0(ViommuCounters, 1);
    ViommuFaultCountList **tail = &c->faults;

    c->translations = qatomic_read(&st->translations);
    if (e->ops->iotlb) {
        e->ops->iotlb(e->iommu, &c->iotlb_hits, &c->iotlb_misses);
    }
    c->inv_global = st->inv_global;
    c->inv_domain = st->inv_domain;
    c->inv_page = st->inv_page;
    c->inv_device = st->inv_device;
    c->notifier_maps = st->notifier_maps;
    c->notifier_unmaps = st->notifier_unmaps;
    for (unsigned r = 0; r < ARRAY_SIZE(st->faults); r++) {
        if (st->faults[r]) {
            ViommuFaultCount *f = g_new(ViommuFaultCount, 1);

            *f = (ViommuFaultCount) { .reason = r, .count = st->faults[r] };
            QAPI_LIST_APPEND(tail, f);
        }
    }
    return c;
}

/* The PCI device @name names: an id, or a QOM path. */
static PCIDevice *find_pci_device(const char *name, Error **errp)
{
    Object *o = object_resolve_path_type(name, TYPE_PCI_DEVICE, NULL);
    DeviceState *d;

    if (!o) {
        d = qdev_find_recursive(sysbus_get_default(), name);
        o = d ? object_dynamic_cast(OBJECT(d), TYPE_PCI_DEVICE) : NULL;
    }
    if (!o) {
        error_setg(errp, "query-viommu: '%s' is not a PCI device (an id or "
                   "a QOM path)", name);
        return NULL;
    }
    return PCI_DEVICE(o);
}

static gint by_bdf(gconstpointer a, gconstpointer b)
{
    return strcmp((*(ViommuEndpoint *const *)a)->bdf,
                  (*(ViommuEndpoint *const *)b)->bdf);
}

/* @list in requester ID order, for an answer that reads the same twice. */
static ViommuEndpointList *sorted_endpoints(ViommuEndpointList *list)
{
    g_autoptr(GPtrArray) v = g_ptr_array_new();
    ViommuEndpointList *out = NULL, **tail = &out;

    for (ViommuEndpointList *l = list; l; l = l->next) {
        g_ptr_array_add(v, l->value);
        l->value = NULL;
    }
    qapi_free_ViommuEndpointList(list);
    g_ptr_array_sort(v, by_bdf);
    for (guint i = 0; i < v->len; i++) {
        QAPI_LIST_APPEND(tail, (ViommuEndpoint *)v->pdata[i]);
    }
    return out;
}

ViommuInfoList *qmp_query_viommu(const char *device, Error **errp)
{
    ViommuInfoList *list = NULL, **tail = &list;
    PCIDevice *pdev = NULL;

    if (device) {
        pdev = find_pci_device(device, errp);
        if (!pdev) {
            return NULL;
        }
    }
    for (GSList *l = viommu_registry; l; l = l->next) {
        ViommuInfoEntry *e = l->data;
        ViommuInfo *info = g_new0(ViommuInfo, 1);
        ViommuEndpointList **ep_tail = &info->endpoints;

        info->path = object_get_canonical_path(e->shown);
        info->model = g_strdup(object_get_typename(e->shown));
        e->ops->endpoints(e->iommu, &ep_tail);
        info->endpoints = sorted_endpoints(info->endpoints);
        info->counters = counters_of(e);
        if (pdev && e->ops->detail) {
            info->detail = e->ops->detail(e->iommu, pdev);
        }
        QAPI_LIST_APPEND(tail, info);
    }
    return list;
}

static void hmp_print_endpoint(Monitor *mon, const ViommuEndpoint *ep)
{
    monitor_printf(mon, "  %s %-10s", ep->bdf,
                   ViommuEndpointMode_str(ep->mode));
    if (ep->has_domain) {
        monitor_printf(mon, " domain %u", ep->domain);
    }
    if (ep->has_mappings) {
        monitor_printf(mon, " mappings %" PRIu64, ep->mappings);
    }
    monitor_printf(mon, "%s%s\n", ep->device ? " " : "",
                   ep->device ? ep->device : "");
}

static void hmp_print_counters(Monitor *mon, const ViommuCounters *c)
{
    monitor_printf(mon, "  translations %" PRIu64 ", IOTLB hits %" PRIu64
                   " misses %" PRIu64 "\n", c->translations, c->iotlb_hits,
                   c->iotlb_misses);
    monitor_printf(mon, "  invalidations: global %" PRIu64 " domain %" PRIu64
                   " page %" PRIu64 " device %" PRIu64 "\n", c->inv_global,
                   c->inv_domain, c->inv_page, c->inv_device);
    monitor_printf(mon, "  notifiers: maps %" PRIu64 " unmaps %" PRIu64 "\n",
                   c->notifier_maps, c->notifier_unmaps);
    for (ViommuFaultCountList *f = c->faults; f; f = f->next) {
        monitor_printf(mon, "  faults of reason 0x%x: %" PRIu64 "\n",
                       f->value->reason, f->value->count);
    }
}

static void hmp_info_viommu(Monitor *mon, const QDict *qdict)
{
    const char *device = qdict_get_try_str(qdict, "device");
    Error *err = NULL;
    ViommuInfoList *list = qmp_query_viommu(device, &err);

    if (hmp_handle_error(mon, err)) {
        return;
    }
    if (!list) {
        monitor_printf(mon, "no virtual IOMMU\n");
    }
    for (ViommuInfoList *l = list; l; l = l->next) {
        ViommuInfo *i = l->value;

        monitor_printf(mon, "%s (%s)\n", i->path, i->model);
        for (ViommuEndpointList *ep = i->endpoints; ep; ep = ep->next) {
            hmp_print_endpoint(mon, ep->value);
        }
        hmp_print_counters(mon, i->counters);
        if (i->detail) {
            monitor_printf(mon, "  %s:\n", i->detail->bdf);
            for (strList *s = i->detail->entries; s; s = s->next) {
                monitor_printf(mon, "    %s\n", s->value);
            }
            for (ViommuMappingList *m = i->detail->mappings; m; m = m->next) {
                monitor_printf(mon, "    0x%" PRIx64 " +0x%" PRIx64
                               " -> 0x%" PRIx64 " %s%s\n", m->value->iova,
                               m->value->size, m->value->addr,
                               m->value->read ? "r" : "-",
                               m->value->write ? "w" : "-");
            }
        }
    }
    qapi_free_ViommuInfoList(list);
}

static void viommu_info_init(void)
{
    monitor_register_hmp("viommu", true, hmp_info_viommu);
}
type_init(viommu_info_init);

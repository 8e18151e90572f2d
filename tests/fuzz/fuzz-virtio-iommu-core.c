/*
 * qemu-viommu: fuzz target for the virtio-iommu request path.
 *
 * The input is a stream of requests, each a length byte and that many
 * request bytes, interleaved with translations. With libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -DVIOMMU_LIBFUZZER ...
 * Without it, main() replays a fixed number of pseudo-random inputs, which
 * `make check` runs under ASan and UBSan.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/virtio-iommu-core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool exists(void *o, uint32_t ep) { return ep < 4 || ep == 0x100; }
static void changed(void *o, uint32_t ep) { }
static void notify(void *o, uint32_t ep, const IovaMapping *m)
{
    if (m->virt_end < m->virt_start) {
        abort();                /* never relay an empty or reversed range */
    }
}

/* Endpoint 2 is an assigned device whose host IOMMU maps only these */
static const ViommuRange host_ranges[] = {
    { 0x1000, 0xfffff }, { 0x200000, 0xffffffff },
};

static bool host_usable(void *o, uint32_t ep, size_t i,
                        const ViommuRange **r, size_t *n)
{
    *r = host_ranges;
    *n = 2;
    return ep == 2 && i == 0;
}

static const ViommuCoreOps ops = {
    exists, changed, notify, notify, host_usable,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ViommuCoreConfig cfg = {
        .page_size_mask = ~0xfffull, .input_end = UINT64_MAX,
        .domain_end = 64, .probe_size = 512, .max_mappings = 256,
        .check_alignment = size & 1,
    };
    ViommuResvRegion msi = { 0xfee00000, 0xfeefffff, VIOMMU_RESV_MEM_T_MSI };
    ViommuCore *c = viommu_core_new(&cfg, &ops, NULL);
    uint8_t props[512];
    size_t off = 0;

    viommu_core_set_resv_regions(c, &msi, 1);
    viommu_core_set_features(c, size > 1 ? data[1] : 0x7f);
    while (off < size) {
        size_t len = data[off++] % (VIOMMU_REQ_MAX_SIZE + 8);
        IovaMapping m;

        if (len > size - off) {
            len = size - off;
        }
        viommu_core_handle(c, data + off, len, props, off & 0x200 ? 100 : 512);
        if (len >= 12) {
            uint64_t iova;
            memcpy(&iova, data + off + len - 8, 8);
            viommu_core_translate(c, data[off + 1] & 3, iova,
                                  data[off + 2] & 3, &m);
        }
        off += len;
    }
    {
        size_t len;
        uint8_t *state = viommu_core_save(c, &len);
        if (state && !viommu_core_load(c, state, len)) {
            abort();            /* a saved state always loads back */
        }
        free(state);
    }
    viommu_core_reset(c);
    if (viommu_core_nr_mappings(c) != 0) {
        abort();
    }
    viommu_core_free(c);
    return 0;
}

#ifndef VIOMMU_LIBFUZZER
/* Requests that look like requests: a valid type and small fields. */
static size_t make_input(uint8_t *buf, size_t cap, uint64_t *seed)
{
    size_t n = 0;

    buf[n++] = 0;
    buf[n++] = 0x7f;
    while (n + 80 < cap) {
        uint8_t len = 20 + (*seed >> 33) % 60, *r;
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        buf[n++] = len;
        r = buf + n;
        for (int i = 0; i < len; i++) {
            *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
            r[i] = (*seed >> 40) & ((i % 8) < 2 ? 0x1f : 0x0f);
        }
        r[0] = 1 + (r[0] % 5);
        n += len;
        if ((*seed >> 20) % 16 == 0) {
            break;
        }
    }
    return n;
}

/* inputs replayed by make unit (an argument overrides it) */
#define FUZZ_RUNS 200000

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : FUZZ_RUNS;
    uint64_t seed = 42;
    static uint8_t buf[4096];

    for (int i = 0; i < runs; i++) {
        LLVMFuzzerTestOneInput(buf, make_input(buf, sizeof(buf), &seed));
    }
    printf("ok 1 - fuzz-virtio-iommu-core: %d inputs\n1..1\n", runs);
    return 0;
}
#endif

#!/bin/bash
# make bench: our build against a pristine upstream QEMU (the pin of
# scripts/qemu-pin.sh, 10.0.13) built from the same tarball with the same
# configure options (build/upstream/obj), and against Debian's stock
# qemu-system-x86_64 for the guest figure. Runs alternate (ours, upstream,
# ours, ...) and each figure is the median of BENCH_ROUNDS runs; ratios
# > 1 mean ours is better. Last lines:
#   NAME ours=X upstream=Y ratio=R
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rounds=${BENCH_ROUNDS:-5}
fw=$top/build/ours/firmware
ours=$top/build/ours/obj/qemu-system-x86_64
upstream=$top/build/upstream/obj/qemu-system-x86_64
drv=$top/scripts/bench/qtest_viommu.py

make -C "$top" qemu >/dev/null
ninja -C "$top/build/upstream/obj" -j"$(nproc)" qemu-system-x86_64 >/dev/null
"$top/scripts/deps.sh" guest bench

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A samples
measure() {     # measure NAME COMMAND-TEMPLATE ({} is the binary)
    local name=$1; shift
    for r in $(seq "$rounds"); do
        for who in ours upstream; do
            local bin=${!who} v
            v=$("${@//\{\}/$bin}")
            samples[$name.$who]+="$v "
            echo "  $name round $r $who: $v" >&2
        done
    done
}

guest_boot_once() {  # guest_boot_once BINARY NAME: seconds, or fails
    local bin=$1 name=$2
    (
        . "$top/scripts/guest-boot.sh"
        GUEST_QEMU=$bin GUEST_NET=0 GUEST_DISK_SIZE=96M guest_boot "$name" amd64 -M q35 \
            -device "${BENCH_IOMMU:-virtio-iommu-pci}" -- iommu.strict=1 \
            viommu.bench=20000 ${BENCH_APPEND:-}
        # a figure counts only from a guest that translated, intact
        [ "$(guest_result "$name" iommus)" = 1 ] &&
        [ "$(guest_result "$name" guest.faults)" = 0 ] &&
        [ -n "$(guest_result "$name" disk.md5.after)" ] &&
        [ "$(guest_result "$name" disk.md5.written)" = \
          "$(guest_result "$name" disk.md5.read)" ] &&
        [ "$(guest_result "$name" disk.md5.read)" = \
          "$(guest_result "$name" disk.md5.after)" ] &&
        guest_result "$name" bench.seconds
    )
}

# guest_reads BINARY: seconds for N 4 KiB direct reads, strict mode, in a
# guest; a boot that crashes, faults or reads back other data is kept in
# $failed (with its console) and booted again, up to 3 times (then "nan")
failed=$top/build/guest/bench-failed.log
rm -f "$failed"
guest_reads() {
    local bin=$1 name try v
    for try in 1 2 3; do
        name=bench-$(basename "$(dirname "$(dirname "$bin")")")-$RANDOM
        if v=$(guest_boot_once "$bin" "$name") && [ -n "$v" ]; then
            rm -f "$top/build/guest/$name".*
            echo "$v"
            return 0
        fi
        echo "${BENCH_IOMMU:-virtio-iommu-pci} $bin $top/build/guest/$name.console" >> "$failed"
        echo "bench: guest failed (${BENCH_IOMMU:-virtio-iommu-pci}, $bin): $top/build/guest/$name.console" >&2
    done
    echo nan
}

echo "== MAP+UNMAP requests through the virtqueue (qtest, no guest CPU)" >&2
measure map_unmap_per_s python3 "$drv" {} "$fw" map-unmap 16000
echo "== QEMU CPU time per MAP or UNMAP request (ns)" >&2
measure map_unmap_cpu_ns python3 "$drv" {} "$fw" map-unmap-cpu 16000
echo "== edu DMA transfers translated by the vIOMMU (qtest)" >&2
measure dma_per_s python3 "$drv" {} "$fw" dma 3000
echo "== resident memory per mapping" >&2
measure bytes_per_mapping_1e5 python3 "$drv" {} "$fw" memory 100000
measure bytes_per_mapping_1e6 python3 "$drv" {} "$fw" memory 1000000
echo "== guest: 20000 4 KiB direct reads, iommu.strict=1 (seconds)" >&2
measure guest_4k_read_s guest_reads {}

# virtio-blk 4 KiB reads through each IOMMU over without it (qtest), each
# binary against itself: blk_ratio_virtio, blk_ratio_intel, blk_ratio_amd
# (upstream's amd-iommu with pt=off, so that it translates)
blk_ratio() {   # blk_ratio BINARY virtio|intel|amd: two pairs, alternating
    local none=0 iommu=0 v
    for _ in 1 2; do
        v=$(python3 "$top/scripts/bench/qtest_vtd_blk.py" "$1" "$fw" none 2000)
        none=$((none + v))
        v=$(python3 "$top/scripts/bench/qtest_vtd_blk.py" "$1" "$fw" "$2" 2000)
        iommu=$((iommu + v))
    done
    awk -v i="$iommu" -v n="$none" 'BEGIN {printf "%.3f", i / n}'
}
for kind in virtio intel amd; do
    echo "== $kind: virtio-blk 4 KiB reads through the IOMMU / without (qtest)" >&2
    measure "blk_ratio_$kind" blk_ratio {} "$kind"
done
echo "== intel-iommu: guest 20000 4 KiB direct reads, strict (seconds)" >&2
intel_guest_reads() { BENCH_IOMMU=intel-iommu BENCH_APPEND=intel_iommu=on guest_reads "$1"; }
measure intel_guest_4k_read_s intel_guest_reads {}

# an L1 guest's VFIO user (the relay test's L2) doing MAP+UNMAP pairs
# through L0's intel-iommu
relay_rate() {
    (cd "$top/build/ours/src/qemu/tests/functional" &&
     VIOMMU_BENCH_RELAY=40 VIOMMU_L0_FIRMWARE=$fw QEMU_TEST_QEMU_BINARY=$1 \
     QEMU_BUILD_ROOT=$top/build/ours/obj \
     PYTHONPATH=$top/build/ours/src/qemu/python:$top/build/ours/src/qemu/tests/functional \
     "$top/build/ours/obj/pyvenv/bin/python3" -m unittest \
        test_x86_64_viommu_vfio_relay.ViommuVfioRelay.test_intel_map_unmap_rate 2>&1 |
     sed -n 's/^guest_vfio_map_unmap_per_s //p')
}
echo "== intel-iommu: an L1 VFIO user's MAP+UNMAP pairs a second" >&2
measure guest_vfio_map_unmap_per_s relay_rate {}

# The 5-level cost: VT-d translations a second for virtio-blk reads (3 pages
# a request), through tables of 4 levels (aw-bits 48, ours and upstream)
# and 5 (aw-bits 57, ours only: upstream refuses it); "miss" invalidates
# the IOTLB before each kick of 64 requests, so that each one walks
xlate_per_s() {     # xlate_per_s BINARY AW hit|miss
    python3 "$top/scripts/bench/qtest_vtd_blk.py" "$1" "$fw" intel 2000 \
        "$2" "$3" | awk '{print 3 * $1}'
}
echo "== 5-level cost: VT-d translations a second, aw-bits 48 and 57" >&2
measure vtd_xlate_hit_per_s_48 xlate_per_s {} 48 hit
measure vtd_xlate_miss_per_s_48 xlate_per_s {} 48 miss
for r in $(seq "$rounds"); do
    for m in hit miss; do
        v=$(xlate_per_s "$ours" 57 $m)
        samples[vtd_xlate_${m}_per_s_57.ours]+="$v "
        echo "  vtd_xlate_${m}_per_s_57 round $r ours: $v" >&2
    done
done

# Invalidations with a MAP notifier attached: ours only, as pristine
# upstream has no notifier user without VFIO hardware or vhost
inval_rounds() {    # inval_rounds NAME QTEST-SCRIPT: NAME_inval_{page,domain}
    local r page dom
    for r in $(seq "$rounds"); do
        read -r page dom < <(python3 "$top/tests/qtest/$2" \
            "$ours" "$fw" bench 4000 10000)
        samples[$1_inval_page_per_s.ours]+="$page "
        samples[$1_inval_domain_1e4_per_s.ours]+="$dom "
        echo "  $1_inval round $r ours: page $page domain(1e4) $dom" >&2
    done
}
inval_rounds intel notify_vtd.py

# amd-iommu: the guest reads against upstream 10.0.13's, which translates
# (10.0.2's could not: it panicked with interrupt remapping and bypassed
# translation without); the invalidation rates are ours only, as above
amd_guest_reads() { BENCH_IOMMU=amd-iommu guest_reads "$1"; }
echo "== amd-iommu: guest 20000 4 KiB direct reads, strict (seconds)" >&2
measure amd_guest_4k_read_s amd_guest_reads {}
inval_rounds amd notify_amd.py

debian=/usr/bin/qemu-system-x86_64
if [ -x "$debian" ]; then
    for r in $(seq "$rounds"); do
        v=$(guest_reads "$debian")
        samples[guest_4k_read_s.debian]+="$v "
        echo "  guest_4k_read_s round $r debian-stock: $v" >&2
    done
fi

report() {      # report NAME HIGHER-IS-BETTER
    local o u ratio
    o=$(echo "${samples[$1.ours]}" | tr ' ' '\n' | grep . | median)
    u=$(echo "${samples[$1.upstream]}" | tr ' ' '\n' | grep . | median)
    if [ "$2" = 1 ]; then
        ratio=$(awk -v o="$o" -v u="$u" 'BEGIN {printf "%.2f", o / u}')
    else
        ratio=$(awk -v o="$o" -v u="$u" 'BEGIN {printf "%.2f", u / o}')
    fi
    echo "$1 ours=$o upstream=$u ratio=$ratio"
}

if [ -n "${samples[guest_4k_read_s.debian]:-}" ]; then
    d=$(echo "${samples[guest_4k_read_s.debian]}" | tr ' ' '\n' | grep . | median)
    o=$(echo "${samples[guest_4k_read_s.ours]}" | tr ' ' '\n' | grep . | median)
    echo "guest_4k_read_s(debian-stock) ours=$o debian=$d ratio=$(awk -v o="$o" -v d="$d" 'BEGIN {printf "%.2f", d / o}')"
fi
report map_unmap_per_s 1
report map_unmap_cpu_ns 0
report dma_per_s 1
report bytes_per_mapping_1e5 0
report bytes_per_mapping_1e6 0
report guest_4k_read_s 0
report blk_ratio_virtio 1
report blk_ratio_intel 1
report blk_ratio_amd 1
report intel_guest_4k_read_s 0
report guest_vfio_map_unmap_per_s 1
report vtd_xlate_hit_per_s_48 1
report vtd_xlate_miss_per_s_48 1
report amd_guest_4k_read_s 0
ours_median() { echo "${samples[$1.ours]}" | tr ' ' '\n' | grep . | median; }
for m in hit miss; do
    o=$(ours_median "vtd_xlate_${m}_per_s_57")
    o48=$(ours_median "vtd_xlate_${m}_per_s_48")
    echo "vtd_xlate_${m}_per_s_57 ours=$o upstream=n/a ours_57_over_48=$(
        awk -v a="$o" -v b="$o48" 'BEGIN {printf "%.3f", a / b}')"
done
for f in intel_inval_page_per_s intel_inval_domain_1e4_per_s; do
    echo "$f ours=$(echo "${samples[$f.ours]}" | tr ' ' '\n' | grep . | median) upstream=n/a"
done
for f in amd_inval_page_per_s amd_inval_domain_1e4_per_s; do
    echo "$f ours=$(echo "${samples[$f.ours]}" | tr ' ' '\n' | grep . | median) upstream=n/a"
done
if [ -s "$failed" ]; then
    echo "guest boots that failed (each booted again; consoles kept):"
    awk '{n[$1 " " $2]++} END {for (k in n) print "  " n[k] "x " k}' "$failed"
fi

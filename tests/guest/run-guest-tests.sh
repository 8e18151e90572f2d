#!/bin/bash
# Guest tests: Debian's 6.12 kernel behind our virtio-iommu, under TCG, on
# q35, pc and arm virt, in strict, lazy and passthrough (identity) modes.
# Each asserts what the guest itself reports: the VIOT parsed, one IOMMU,
# virtio-blk and virtio-net in IOMMU groups of the expected type, 4 MiB
# written and read back intact with direct I/O (checked again on the host,
# in the disk image), a DHCP lease over virtio-net, and no DMA fault on
# either side.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

passed=0 failed=0
# GUEST_ONLY="case ...": run only those cases (while working on one)
want() { [ -z "${GUEST_ONLY:-}" ] || [[ " $GUEST_ONLY " == *" $1 "* ]]; }
check() {       # check CASE WHAT GOT WANT
    if [ "$3" = "$4" ]; then
        echo "  ok   $1: $2 = $3"
    else
        echo "  FAIL $1: $2 = '$3', expected '$4'"
        CASE_FAILED=1
    fi
}

# Vendor:device of virtio-blk and virtio-net modern functions.
BLK=0x1af4:0x1042
NET=0x1af4:0x1041

assert_guest() {    # assert_guest CASE GROUP-TYPE VIOT
    local c=$1 type=$2 viot=$3 md5w md5r host_md5
    check "$c" "guest finished" "$(guest_result "$c" done)" 1
    check "$c" "VIOT table" "$(guest_result "$c" viot)" "$viot"
    check "$c" "IOMMU devices" "$(guest_result "$c" iommus)" 1
    check "$c" "request ring" "$(guest_result "$c" iommu.ring)" "${WANT_RING:-split}"
    check "$c" "virtio-blk group type" "$(guest_result "$c" "group.$BLK" | cut -d: -f2)" "$type"
    check "$c" "virtio-net group type" "$(guest_result "$c" "group.$NET" | cut -d: -f2)" "$type"
    check "$c" "disk write" "$(guest_result "$c" disk.write)" ok
    md5w=$(guest_result "$c" disk.md5.written)
    md5r=$(guest_result "$c" disk.md5.read)
    host_md5=$(head -c 4194304 "$GUEST_WORK/$c.img" | md5sum | cut -d' ' -f1)
    check "$c" "data read back (guest)" "$md5r" "$md5w"
    check "$c" "data on the host disk" "$host_md5" "$md5w"
    check "$c" "DHCP lease" "$(guest_result "$c" net.lease)" 10.0.2.15
    check "$c" "guest-reported faults" "$(guest_result "$c" guest.faults)" 0
    check "$c" "device-reported DMA faults" \
        "$(grep -c 'DMA fault' "$GUEST_WORK/$c.qemu.log" 2>/dev/null)" 0
}

run_case() {    # run_case NAME ARCH TYPE VIOT QEMU-ARGS... -- APPEND
    local c=$1 arch=$2 type=$3 viot=$4; shift 4
    want "$c" || return 0
    CASE_FAILED=0
    echo "guest test $c"
    local t0=$SECONDS
    guest_boot "$c" "$arch" "$@"
    assert_guest "$c" "$type" "$viot"
    echo "  ($((SECONDS - t0)) s; console: $GUEST_WORK/$c.console)"
    if [ "$CASE_FAILED" = 0 ]; then passed=$((passed + 1)); else
        failed=$((failed + 1)); tail -30 "$GUEST_WORK/$c.console"; fi
}

X86="-device virtio-iommu-pci"
run_case q35-strict amd64 DMA present -M q35 $X86 -- iommu.strict=1
run_case q35-lazy amd64 DMA-FQ present -M q35 $X86 -- iommu.strict=0
run_case q35-passthrough amd64 identity present -M q35 $X86 -- iommu.passthrough=1
run_case pc-strict amd64 DMA present -M pc $X86 -- iommu.strict=1
# a packed request ring is served through virtio.c, not our split ring code
WANT_RING=packed run_case q35-packed-ring amd64 DMA present -M q35 \
    -device virtio-iommu-pci,packed=on -- iommu.strict=1
if [ -e "$GUEST_CACHE/linux-arm64/vmlinuz" ]; then
    cp /usr/share/AAVMF/AAVMF_VARS.fd "$GUEST_WORK/arm-vars.fd"
    run_case virt-strict arm64 DMA present -M virt -cpu max \
        -drive if=pflash,format=raw,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd \
        -drive if=pflash,format=raw,file="$GUEST_WORK/arm-vars.fd" \
        -device virtio-iommu-pci -- iommu.strict=1
fi

# Firmware without a virtio-iommu driver (seeds/004): with boot-bypass on,
# OVMF reads the kernel and initramfs from the virtio-blk disk through the
# IOMMU and the guest runs; with boot-bypass=off that DMA is refused, each
# refusal is reported, and QEMU keeps running and answers QMP.
firmware_case_bypass_on() {
    local c=ovmf-boot-bypass
    want "$c" || return 0
    CASE_FAILED=0
    echo "guest test $c"
    guest_ovmf_boot "$c" "$GUEST_TIMEOUT" ""
    check "$c" "guest booted from the disk" "$(guest_result "$c" done)" 1
    check "$c" "guest IOMMU devices" "$(guest_result "$c" iommus)" 1
    check "$c" "device-reported DMA faults" \
        "$(grep -c 'DMA fault' "$GUEST_WORK/$c.qemu.log" 2>/dev/null)" 0
    if [ "$CASE_FAILED" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

firmware_case_bypass_off() {
    local c=ovmf-no-boot-bypass status faults
    want "$c" || return 0
    CASE_FAILED=0
    echo "guest test $c"
    guest_ovmf_boot "$c" 330 ",boot-bypass=off" &
    local pid=$! waited=0
    # wait until the firmware has tried its DMA and been refused
    while [ $waited -lt 300 ] && ! grep -qs 'DMA fault' "$GUEST_WORK/$c.qemu.log"; do
        sleep 2; waited=$((waited + 2))
    done
    sleep 5
    status=$(python3 "$GUEST_TOP/tests/guest/qmp.py" "$GUEST_WORK/$c.qmp" query-status quit 2>&1 | head -1)
    wait $pid
    local rc=$?
    faults=$(grep -c 'DMA fault' "$GUEST_WORK/$c.qemu.log" 2>/dev/null)
    check "$c" "DMA faults reported" "$([ "${faults:-0}" -gt 0 ] && echo yes || echo no)" yes
    check "$c" "first fault" "$(grep -m1 -o 'not attached to a domain and bypass is off' "$GUEST_WORK/$c.qemu.log")" \
        "not attached to a domain and bypass is off"
    check "$c" "guest did not boot" "$(guest_result "$c" done)" ""
    check "$c" "QEMU still running (QMP query-status)" \
        "$(echo "$status" | grep -o '"status": "[a-z]*"')" '"status": "running"'
    check "$c" "QEMU exit status after quit" "$rc" 0
    echo "  ($faults faults reported)"
    if [ "$CASE_FAILED" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

# Live migration in the middle of strict-mode I/O, where every read costs a
# MAP and an UNMAP through the request ring: the destination takes over the
# queue, the guest's reads go on and finish, the data read back afterwards
# is intact, and neither side reports a fault.
qmp() { python3 "$GUEST_TOP/tests/guest/qmp.py" "$@"; }

migrate_case() {
    local c=q35-migrate w=$GUEST_WORK st="" waited=0 src dst rc qemu args
    want "$c" || return 0
    CASE_FAILED=0
    echo "guest test $c"
    rm -f "$w/$c".*
    truncate -s 256M "$w/$c.img"      # room for the 60000 reads
    qemu=$GUEST_OBJ/qemu-system-x86_64
    args=(-L "$GUEST_FW" -accel tcg -m 512 -smp 2 -nodefaults -display none
          -no-reboot -d guest_errors -M q35 -device virtio-iommu-pci
          -kernel "$GUEST_CACHE/linux-amd64/vmlinuz"
          -initrd "$(guest_initramfs amd64)"
          -append "console=ttyS0 panic=-1 quiet loglevel=4 iommu.strict=1 viommu.disk=1 viommu.bench=60000"
          -drive "if=none,id=disk0,file=$w/$c.img,format=raw"
          -device virtio-blk-pci,drive=disk0,iommu_platform=on,disable-legacy=on)
    timeout "$GUEST_TIMEOUT" "$qemu" "${args[@]}" -serial "file:$w/$c.console" \
        -D "$w/$c.qemu.log" -qmp "unix:$w/$c.qmp,server=on,wait=off" \
        > "$w/$c.stdout" 2>&1 &
    src=$!
    timeout "$GUEST_TIMEOUT" "$qemu" "${args[@]}" -serial "file:$w/$c.dst.console" \
        -D "$w/$c.dst.qemu.log" -incoming "unix:$w/$c.mig" \
        > "$w/$c.dst.stdout" 2>&1 &
    dst=$!
    while [ $waited -lt 240 ] && [ -z "$(guest_result "$c" bench.started 2>/dev/null)" ]; do
        sleep 1; waited=$((waited + 1))
    done
    sleep 2
    qmp "$w/$c.qmp" 'migrate-set-parameters {"max-bandwidth": 4294967296}' \
        "migrate {\"uri\": \"unix:$w/$c.mig\"}" > /dev/null
    for waited in $(seq 120); do
        st=$(qmp "$w/$c.qmp" query-migrate 2>/dev/null |
             grep -o '"status": "[a-z-]*"' | head -1)
        case "$st" in *completed*|*failed*|*cancelled*|"") break ;; esac
        sleep 1
    done
    qmp "$w/$c.qmp" quit > /dev/null 2>&1
    wait $src
    wait $dst
    rc=$?
    check "$c" "migration" "$st" '"status": "completed"'
    check "$c" "reads under way when it migrated" "$(guest_result "$c" bench.reads)" ""
    check "$c" "reads finished on the destination" "$(guest_result "$c.dst" bench.reads)" 60000
    check "$c" "data read back after migration" "$(guest_result "$c.dst" disk.md5.after)" \
        "$(guest_result "$c" disk.md5.written)"
    check "$c" "guest-reported faults" "$(guest_result "$c.dst" guest.faults)" 0
    check "$c" "device-reported DMA faults" \
        "$(cat "$w/$c.qemu.log" "$w/$c.dst.qemu.log" 2>/dev/null | grep -c 'DMA fault')" 0
    check "$c" "destination exit status" "$rc" 0
    if [ "$CASE_FAILED" = 0 ]; then passed=$((passed + 1)); else
        failed=$((failed + 1)); tail -n 20 "$w/$c.dst.console"
        tail -n 20 "$w/$c.dst.stdout"; fi
}

migrate_case
firmware_case_bypass_on
firmware_case_bypass_off

echo "guest tests: $passed passed, $failed failed"
[ "$failed" = 0 ]

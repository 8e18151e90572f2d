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

firmware_case_bypass_on
firmware_case_bypass_off

echo "guest tests: $passed passed, $failed failed"
[ "$failed" = 0 ]

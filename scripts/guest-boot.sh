# qemu-viommu: boots the guest kit (scripts/guest-kit.sh) behind our
# virtio-iommu under TCG and reads its "RESULT k=v" lines: the demo and the
# benchmark's guest figure. (The tests are functional tests: tests/functional.)
# shellcheck shell=bash

GUEST_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GUEST_OBJ=$GUEST_TOP/build/ours/obj
GUEST_FW=$GUEST_TOP/build/ours/firmware
GUEST_KIT=$GUEST_OBJ/viommu-guest-kit
GUEST_WORK=$GUEST_TOP/build/guest
GUEST_TIMEOUT=${GUEST_TIMEOUT:-300}     # seconds; then GUEST_TIMEOUT_SIGNAL (TERM)
mkdir -p "$GUEST_WORK"
[ -e "$GUEST_KIT/amd64/initramfs.cpio.gz" ] ||
    { echo "guest-boot: no guest kit in $GUEST_KIT (scripts/guest-kit.sh)" >&2; exit 1; }

# guest_boot NAME ARCH MACHINE-ARGS... -- APPEND
#   Boots, writes $GUEST_WORK/NAME.console and NAME.qemu.log, and a fresh
#   16 MiB disk NAME.img (virtio-blk) if GUEST_DISK=1, with virtio-net if
#   GUEST_NET=1. Extra QEMU arguments come before "--".
guest_boot() {
    local name=$1 arch=$2; shift 2
    local qemu_args=() append kernel initrd qemu console
    while [ "$1" != -- ]; do qemu_args+=("$1"); shift; done
    shift
    append=$*
    kernel=$GUEST_KIT/$arch/vmlinuz
    initrd=$GUEST_KIT/$arch/initramfs.cpio.gz
    console=$GUEST_WORK/$name.console
    case "$arch" in
    amd64) qemu=${GUEST_QEMU:-$GUEST_OBJ/qemu-system-x86_64}
           append="console=ttyS0 $append" ;;
    arm64) qemu=${GUEST_QEMU:-$GUEST_OBJ/qemu-system-aarch64}
           append="console=ttyAMA0 $append" ;;
    esac
    if [ "${GUEST_DISK:-1}" = 1 ]; then
        rm -f "$GUEST_WORK/$name.img"
        truncate -s "${GUEST_DISK_SIZE:-16M}" "$GUEST_WORK/$name.img"
        qemu_args+=(-drive "if=none,id=disk0,file=$GUEST_WORK/$name.img,format=raw"
                    -device "virtio-blk-pci,drive=disk0,iommu_platform=on,disable-legacy=on${GUEST_BLK_OPTS:-}")
        append="$append viommu.disk=1"
    fi
    if [ "${GUEST_NET:-1}" = 1 ]; then
        qemu_args+=(-netdev user,id=net0
                    -device virtio-net-pci,netdev=net0,iommu_platform=on,disable-legacy=on,romfile=)
        append="$append viommu.net=1"
    fi
    timeout -s "${GUEST_TIMEOUT_SIGNAL:-TERM}" "$GUEST_TIMEOUT" "$qemu" -L "$GUEST_FW" -accel tcg -m 512 -smp 2 \
        -nodefaults -display none -no-reboot -serial "file:$console" \
        -d guest_errors -D "$GUEST_WORK/$name.qemu.log" \
        -kernel "$kernel" -initrd "$initrd" \
        -append "panic=-1 quiet loglevel=4 $append" "${qemu_args[@]}" \
        > "$GUEST_WORK/$name.stdout" 2>&1
}

# guest_result NAME KEY: the value the guest reported for KEY
guest_result() {
    sed -n "s/.*RESULT $2=\(.*\)$/\1/p" "$GUEST_WORK/$1.console" | tr -d '\r' | head -1
}

# qemu-viommu: shared by the guest tests, the demo and the benchmark.
# Boots Debian's 6.12 kernel with a busybox initramfs (tests/guest/init)
# behind our virtio-iommu, under TCG, and collects "RESULT k=v" lines.
# shellcheck shell=bash

GUEST_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GUEST_OBJ=$GUEST_TOP/build/ours/obj
GUEST_FW=$GUEST_TOP/build/ours/firmware
GUEST_WORK=$GUEST_TOP/build/guest
GUEST_CACHE=${QEMU_VIOMMU_CACHE:-$HOME/.cache/qemu-viommu}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-300}

guest_initramfs() {
    local arch=$1 out=$GUEST_WORK/initramfs-$1.cpio.gz
    mkdir -p "$GUEST_WORK"
    if [ ! -f "$out" ] || [ "$GUEST_TOP/tests/guest/init" -nt "$out" ] ||
       [ "$GUEST_TOP/tests/guest/mkinitramfs.sh" -nt "$out" ]; then
        "$GUEST_TOP/tests/guest/mkinitramfs.sh" "$arch" "$out"
    fi
    echo "$out"
}

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
    kernel=$GUEST_CACHE/linux-$arch/vmlinuz
    initrd=${GUEST_INITRD:-$(guest_initramfs "$arch")}
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
    timeout "$GUEST_TIMEOUT" "$qemu" -L "$GUEST_FW" -accel tcg -m 512 -smp 2 \
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

# guest_efi_disk: a FAT disk with the kernel as an EFI application, the
# initramfs and a startup.nsh for the UEFI shell (the guest runs its checks
# with disk and net off: the disk is what the firmware reads).
guest_efi_disk() {
    local out=$GUEST_WORK/efi-boot.img initrd
    initrd=$(guest_initramfs amd64)
    if [ ! -f "$out" ] || [ "$initrd" -nt "$out" ]; then
        rm -f "$out.tmp"
        truncate -s 40M "$out.tmp"
        mkfs.vfat -F 32 "$out.tmp" >/dev/null
        mcopy -i "$out.tmp" "$GUEST_CACHE/linux-amd64/vmlinuz" ::/vmlinuz.efi
        mcopy -i "$out.tmp" "$initrd" ::/initrd
        printf 'fs0:\r\n\\vmlinuz.efi console=ttyS0 initrd=\\initrd panic=-1 quiet viommu.disk=0 viommu.net=0\r\n' \
            > "$GUEST_WORK/startup.nsh"
        mcopy -i "$out.tmp" "$GUEST_WORK/startup.nsh" ::/startup.nsh
        mv "$out.tmp" "$out"
    fi
    echo "$out"
}

# guest_ovmf_boot NAME SECONDS IOMMU-OPTS: OVMF boots the EFI disk (virtio-blk,
# iommu_platform=on) behind our virtio-iommu. QEMU is left running with a QMP
# socket at $GUEST_WORK/NAME.qmp; the caller inspects and stops it.
guest_ovmf_boot() {
    local name=$1 secs=$2 opts=$3 disk
    disk=$(guest_efi_disk)
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$GUEST_WORK/$name.vars"
    rm -f "$GUEST_WORK/$name.qmp"
    timeout "$secs" "$GUEST_OBJ/qemu-system-x86_64" -L "$GUEST_FW" -M q35 \
        -accel tcg -m 512 -nodefaults -display none -no-reboot \
        -serial "file:$GUEST_WORK/$name.console" \
        -qmp "unix:$GUEST_WORK/$name.qmp,server=on,wait=off" \
        -d guest_errors -D "$GUEST_WORK/$name.qemu.log" \
        -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
        -drive "if=pflash,format=raw,file=$GUEST_WORK/$name.vars" \
        -device "virtio-iommu-pci$opts" \
        -drive "if=none,id=efi0,file=$disk,format=raw,snapshot=on" \
        -device virtio-blk-pci,drive=efi0,iommu_platform=on,disable-legacy=on \
        > "$GUEST_WORK/$name.stdout" 2>&1
}

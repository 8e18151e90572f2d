#!/bin/bash
# Installs what qemu-viommu needs on Debian 12 (bookworm), as root, with apt.
# Usage: scripts/deps.sh build|guest|guest-arm64|libvirt|stress|bench ...   (idempotent; quiet when done)
set -euo pipefail

# Firmware is a build dependency: prepare-tree.sh links it into the build
# tree (with edk2 images made from OVMF/AAVMF) and the qtests boot SeaBIOS.
need_build="build-essential ninja-build ccache pkg-config bzip2 xz-utils curl
  libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev libslirp-dev
  python3-venv python3-setuptools flex bison patch
  seabios ovmf qemu-efi-aarch64 ipxe-qemu"
need_build_bpo="meson python3-pycotap"
need_guest="busybox-static cpio kmod mtools dosfstools"
need_stress="gdb"
need_bench_bpo="qemu-system-x86"
# libvirt 9.0's daemons and virsh (no QEMU package: libvirt runs ours)
need_libvirt="libvirt-daemon-system libvirt-clients"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

debian_mirror() {
    # The Debian archive this machine's apt already uses (no host is named here).
    { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
      grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
          awk '{print $2}'; } | grep -E '/debian/?$' | head -1 | sed 's,/$,,' ||
        true    # a missing sources file is no error here
}

ensure_backports() {
    if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return
    fi
    local uri
    uri=$(debian_mirror)
    [ -n "$uri" ] || { echo "deps: no Debian mirror configured for apt" >&2; exit 1; }
    as_root tee /etc/apt/sources.list.d/qemu-viommu-backports.sources >/dev/null <<EOS
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
    APT_UPDATED=
}

missing() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
            echo "$p"
    done
}

APT_UPDATED=
apt_install() {
    local suite=$1; shift
    local todo
    todo=$(missing "$@")
    [ -n "$todo" ] || return 0
    if [ -z "$APT_UPDATED" ]; then
        as_root apt-get update -q >/dev/null
        APT_UPDATED=1
    fi
    echo "deps: installing $(echo $todo)"
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends ${suite:+-t $suite} $todo >/dev/null
}

# Debian's 6.12 kernels (bookworm-backports) for the guests: fetched with
# apt-get download and unpacked under the cache, never installed on the host.
# Leaves $cache/linux-ARCH/vmlinuz and $cache/linux-ARCH/modules/VERSION/.
fetch_kernel() {
    local arch=$1
    local cache=${QEMU_VIOMMU_CACHE:-$HOME/.cache/qemu-viommu}
    local dir=$cache/linux-$arch pkg k
    [ -e "$dir/vmlinuz" ] && return 0
    if [ "$arch" != "$(dpkg --print-architecture)" ] &&
       ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        as_root dpkg --add-architecture "$arch"
        APT_UPDATED=
    fi
    [ -n "$APT_UPDATED" ] || { as_root apt-get update -q >/dev/null; APT_UPDATED=1; }
    pkg=$(apt-cache -t bookworm-backports depends "linux-image-$arch:$arch" 2>/dev/null |
          awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [ -n "$pkg" ] || { echo "deps: no $arch kernel package found" >&2; return 1; }
    echo "deps: fetching ${pkg%:*} ($arch guest kernel)"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    (cd "$dir.tmp" && apt-get download -q -t bookworm-backports "${pkg%:*}:$arch" >/dev/null 2>&1 &&
     dpkg-deb -x ./*.deb root)
    k=$(ls "$dir.tmp"/root/boot/vmlinuz-* | head -1)
    cp "$k" "$dir.tmp/vmlinuz"
    mv "$dir.tmp/root/lib/modules" "$dir.tmp/modules"
    rm -rf "$dir.tmp/root" "$dir.tmp"/*.deb "$dir"
    mv "$dir.tmp" "$dir"
}

# A foreign architecture's busybox-static, for that architecture's guests.
fetch_busybox() {
    local arch=$1
    local dir=${QEMU_VIOMMU_CACHE:-$HOME/.cache/qemu-viommu}/busybox-$arch
    [ -x "$dir/busybox" ] && return 0
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    (cd "$dir.tmp" && apt-get download -q "busybox-static:$arch" >/dev/null 2>&1 &&
     dpkg-deb -x ./*.deb root)
    cp "$dir.tmp/root/bin/busybox" "$dir.tmp/busybox"
    rm -rf "$dir.tmp/root" "$dir.tmp"/*.deb "$dir"
    mv "$dir.tmp" "$dir"
}

for what in "$@"; do
    case "$what" in
    build)
        apt_install "" $need_build
        ensure_backports
        apt_install bookworm-backports $need_build_bpo ;;
    guest)
        apt_install "" $need_guest
        ensure_backports
        fetch_kernel amd64 ;;
    guest-arm64)
        ensure_backports
        fetch_kernel arm64
        fetch_busybox arm64 ;;
    libvirt)
        apt_install "" $need_libvirt ;;
    stress)
        apt_install "" $need_stress ;;
    bench)
        ensure_backports
        apt_install bookworm-backports $need_bench_bpo ;;
    *) echo "deps: unknown set '$what' (build, guest, guest-arm64, libvirt, stress, bench)" >&2; exit 2 ;;
    esac
done

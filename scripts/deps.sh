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

# Packages that are only downloaded for the guests (kernels, a foreign
# architecture's busybox) come through a private apt configuration under
# the cache: its own sources (the suites below, amd64 and arm64, from the
# mirror the host's apt uses), lists and status. The host's sources, lists
# and architectures stay as they were.
PAPT_SUITES="bookworm bookworm-backports trixie trixie-backports"
private_apt() {   # private_apt ARGS...: apt-get ARGS with the private config
    local cache=${QEMU_VIOMMU_CACHE:-$HOME/.cache/qemu-viommu}
    local dir=$cache/apt uri
    if [ ! -e "$dir/apt.conf" ]; then
        uri=$(debian_mirror)
        [ -n "$uri" ] || { echo "deps: no Debian mirror configured for apt" >&2; exit 1; }
        mkdir -p "$dir"/{etc/apt.conf.d,etc/preferences.d,etc/sources.list.d} \
                 "$dir"/state/lists/partial "$dir"/cache/archives/partial
        : > "$dir/state/status"
        printf 'deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
            $(for s in $PAPT_SUITES; do echo "$uri $s"; done) > "$dir/etc/sources.list"
        cat > "$dir/apt.conf.tmp" <<EOC
Dir::Etc "$dir/etc";
Dir::State "$dir/state";
Dir::State::status "$dir/state/status";
Dir::Cache "$dir/cache";
APT::Architecture "amd64";
APT::Architectures { "amd64"; "arm64"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOC
        mv "$dir/apt.conf.tmp" "$dir/apt.conf"
    fi
    if [ "$1" != update ] && [ ! -e "$dir/state/updated" ]; then
        private_apt update
    fi
    if [ "$1" = update ]; then
        APT_CONFIG=$dir/apt.conf apt-get -q update >/dev/null
        touch "$dir/state/updated"
        return
    fi
    APT_CONFIG=$dir/apt.conf "$@"
}

# Debian's kernels for the guests, fetched through the private apt and
# unpacked under the cache, never installed:
#   linux-ARCH          6.12 (bookworm-backports), what every suite boots
#   linux-ARCH-newest   the newest Debian ships (trixie-backports: 7.3),
#                       whose image package is split into linux-binary-*
#                       (the kernel) and linux-modules-* (its modules)
# Each leaves vmlinuz, modules/VERSION/ and version (the package's version).
# Remove a directory to fetch that kernel again.
fetch_kernel() {
    local arch=$1 which=${2:-}
    local cache=${QEMU_VIOMMU_CACHE:-$HOME/.cache/qemu-viommu}
    local dir=$cache/linux-$arch suite=bookworm-backports pkg k m
    if [ "$which" = newest ]; then
        dir=$cache/linux-$arch-newest suite=trixie-backports
    fi
    [ -e "$dir/vmlinuz" ] && return 0
    pkg=$(private_apt apt-cache -t $suite depends "linux-image-$arch:$arch" 2>/dev/null |
          awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [ -n "$pkg" ] || { echo "deps: no $arch kernel package in $suite" >&2; return 1; }
    pkg=${pkg%:*}
    # the image package, and what holds its kernel and modules if split
    local pkgs="$pkg:$arch"
    pkgs+=" $(private_apt apt-cache -t $suite depends "$pkg:$arch" 2>/dev/null |
              awk '/Depends: linux-(binary|modules)-[0-9]/ {print $2}' | sort -u | tr '\n' ' ')"
    echo "deps: fetching $pkg from $suite ($arch guest kernel)"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    # shellcheck disable=SC2086
    (cd "$dir.tmp" && private_apt apt-get download -q -t $suite $pkgs >/dev/null &&
     for d in ./*.deb; do dpkg-deb -x "$d" root; done)
    k=$(ls "$dir.tmp"/root/boot/vmlinuz-* "$dir.tmp"/root/usr/lib/modules/*/vmlinuz \
          2>/dev/null | head -1 || true)
    [ -n "$k" ] || { echo "deps: no kernel image in $pkgs" >&2; return 1; }
    cp "$k" "$dir.tmp/vmlinuz"
    mkdir "$dir.tmp/modules"
    for m in "$dir.tmp"/root/lib/modules/* "$dir.tmp"/root/usr/lib/modules/*; do
        if [ -d "$m/kernel" ]; then mv "$m" "$dir.tmp/modules/"; fi
    done
    dpkg-deb -f "$dir.tmp"/"${pkg}"_*.deb Version > "$dir.tmp/version"
    rm -rf "$dir.tmp/root" "$dir.tmp"/*.deb "$dir"
    mv "$dir.tmp" "$dir"
}

# A foreign architecture's busybox-static, for that architecture's guests.
fetch_busybox() {
    local arch=$1
    local dir=${QEMU_VIOMMU_CACHE:-$HOME/.cache/qemu-viommu}/busybox-$arch
    [ -x "$dir/busybox" ] && return 0
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    (cd "$dir.tmp" && private_apt apt-get download -q -t bookworm "busybox-static:$arch" >/dev/null &&
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
        fetch_kernel amd64
        fetch_kernel amd64 newest ;;
    guest-arm64)
        fetch_kernel arm64
        fetch_kernel arm64 newest
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

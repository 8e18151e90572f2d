#!/bin/bash
# Installs what qemu-viommu needs on Debian 12 (bookworm) or 13 (trixie), as
# root, with apt, each release from its own suites: its main suite, and its
# own backports only where main's version is too old (bookworm: meson and
# pycotap for the build, QEMU for make bench; trixie: libvirt 12).
# Usage: scripts/deps.sh build|guest|guest-arm64|libvirt|stress|bench ...   (idempotent; quiet when done)
set -euo pipefail

# Firmware is a build dependency: prepare-tree.sh links it into the build
# tree (with edk2 images made from OVMF/AAVMF) and the qtests boot SeaBIOS.
need_build="build-essential ninja-build ccache pkg-config bzip2 xz-utils curl
  libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev libslirp-dev
  python3-venv python3-setuptools flex bison patch
  seabios ovmf qemu-efi-aarch64 ipxe-qemu"
# meson >= 1.5 (QEMU 10.0): bookworm has 1.0, trixie 1.7
need_build_new="meson>=1.5 python3-pycotap"
need_guest="busybox-static cpio kmod mtools dosfstools"
need_stress="gdb"
# Debian's own QEMU of the pinned series, a second peer for make bench
need_bench_new="qemu-system-x86>=1:10.0"
# libvirt's daemons and virsh (no QEMU package: libvirt runs ours):
# bookworm's 9.0; trixie's backports 12 (main's 11.3 predates <iommu
# model='amd'>)
need_libvirt="libvirt-daemon-system libvirt-clients"

# The host's Debian release, and the suite for what its main has too old
# (empty: main will do).
codename=$(. /etc/os-release; echo "${VERSION_CODENAME:-}")
case "$codename" in
bookworm) new_build=bookworm-backports new_bench=bookworm-backports
          new_libvirt= libvirt_min=9.0 ;;
trixie)   new_build= new_bench= new_libvirt=trixie-backports libvirt_min=12.0 ;;
*) echo "deps: Debian 12 (bookworm) or 13 (trixie) wanted, this is" \
        "'$(. /etc/os-release; echo "${PRETTY_NAME:-unknown}")'" >&2; exit 1 ;;
esac

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

# ensure_backports SUITE: the release's own backports in apt's sources
# (/etc/apt/sources.list.d/qemu-viommu-backports.sources), if not there.
ensure_backports() {
    local suite=$1
    [ -n "$suite" ] || return 0
    # (active lines of active files only: not comments, not *.disabled)
    if grep -Eqs "^[^#]*[[:space:]]$suite([[:space:]]|\$)" /etc/apt/sources.list \
            /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; then
        return
    fi
    local uri
    uri=$(debian_mirror)
    [ -n "$uri" ] || { echo "deps: no Debian mirror configured for apt" >&2; exit 1; }
    as_root tee /etc/apt/sources.list.d/qemu-viommu-backports.sources >/dev/null <<EOS
Types: deb
URIs: $uri
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
    APT_UPDATED=
}

# The packages of "$@" (each NAME or NAME>=VERSION) not installed, or
# installed older than VERSION: their names.
missing() {
    local p name min have
    for p in "$@"; do
        name=${p%%>=*} min=
        [ "$name" = "$p" ] || min=${p#*>=}
        have=$(dpkg-query -W -f='${Status} ${Version}\n' "$name" 2>/dev/null |
               awk '/^install ok installed/ {print $4}' || true)
        if [ -z "$have" ] || { [ -n "$min" ] &&
                               dpkg --compare-versions "$have" lt "$min"; }; then
            echo "$name"
        fi
    done
}

# apt_install_pinned SUITE PKG...: only the packages APT_PINS names (apt
# patterns, e.g. "libvirt*") come from SUITE, for this one transaction (the
# host's own preferences kept, nothing written under /etc); their other
# dependencies come from the release's own suites, as a plain install
# would take them (libvirt 12 from trixie-backports, QEMU from trixie).
apt_install_pinned() {
    local suite=$1; shift
    local prefs
    prefs=$(mktemp)
    { [ -f /etc/apt/preferences ] && cat /etc/apt/preferences && echo
      printf 'Package: %s\nPin: release n=%s\nPin-Priority: 990\n' \
          "$APT_PINS" "$suite"; } > "$prefs"
    chmod 644 "$prefs"
    # shellcheck disable=SC2068
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends -o Dir::Etc::Preferences="$prefs" $@ >/dev/null
    rm -f "$prefs"
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
    if [ -n "$suite" ] && [ -n "${APT_PINS:-}" ]; then
        apt_install_pinned "$suite" $todo
    else
        # shellcheck disable=SC2086
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends ${suite:+-t $suite} $todo >/dev/null
    fi
    todo=$(missing "$@")
    [ -z "$todo" ] || { echo "deps: still missing or too old after apt:" \
                             "$(echo $todo) (wanted: $*)" >&2; exit 1; }
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
        ensure_backports "$new_build"
        apt_install "$new_build" $need_build_new ;;
    guest)
        apt_install "" $need_guest
        fetch_kernel amd64
        fetch_kernel amd64 newest ;;
    guest-arm64)
        fetch_kernel arm64
        fetch_kernel arm64 newest
        fetch_busybox arm64 ;;
    libvirt)
        ensure_backports "$new_libvirt"
        # shellcheck disable=SC2046
        APT_PINS="libvirt* libnss-libvirt" \
        apt_install "$new_libvirt" $(for p in $need_libvirt; do
                                         echo "$p>=$libvirt_min"; done) ;;
    stress)
        apt_install "" $need_stress ;;
    bench)
        ensure_backports "$new_bench"
        apt_install "$new_bench" $need_bench_new ;;
    *) echo "deps: unknown set '$what' (build, guest, guest-arm64, libvirt, stress, bench)" >&2; exit 2 ;;
    esac
done

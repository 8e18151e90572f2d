#!/bin/bash
# make install / make uninstall: our qemu-system-x86_64 and qemu-system-aarch64
# with their data, laid out under PREFIX (default /usr/local) as Debian's QEMU
# packages lay QEMU out under /usr:
#   PREFIX/bin/qemu-system-{x86_64,aarch64}
#   PREFIX/share/qemu/   keymaps and trace-events-all (QEMU's own meson install),
#                        SeaBIOS and iPXE ROMs as links to Debian's seabios and
#                        ipxe-qemu files (as qemu-system-data has them), and
#                        QEMU's x86 option ROMs built from the pinned source
# The binaries are relocatable: from PREFIX/bin they find PREFIX/share/qemu.
# A file that belongs to a Debian package is never overwritten: if one is in
# the way (PREFIX=/usr beside Debian's qemu-system-x86, say), nothing at all is
# installed. PREFIX/share/qemu-viommu/installed-files lists what was installed,
# and uninstall removes exactly that. DESTDIR, if set, is prepended to every
# path written (staged installs; the package check then looks at PREFIX).
# Usage: scripts/install.sh install|uninstall OBJ FIRMWARE-DIR PREFIX
set -euo pipefail
umask 022
[ $# = 4 ] || { echo "usage: scripts/install.sh install|uninstall OBJ FIRMWARE-DIR PREFIX" >&2; exit 2; }
action=$1 obj=$2 firmware=$3 prefix=${4%/}
destdir=${DESTDIR:-}
datadir=share/qemu
manifest=share/qemu-viommu/installed-files

die() { echo "install: $*" >&2; exit 1; }

case "$prefix" in
/*) ;;
*) die "PREFIX must be an absolute path, got '$prefix'" ;;
esac

# owner PATH: the Debian package that owns PATH (or its resolved form), if any
owner() {
    local p
    # the directory resolved (usrmerge), never the file: ours may be a link
    for p in "$1" "$(realpath -m "$(dirname "$1")")/${1##*/}"; do
        dpkg-query -S "$p" 2>/dev/null | head -1 | cut -d: -f1 && return 0
    done
    return 0
}

# stage DIR: everything to install, as DIR/<relative path under PREFIX>
stage() {
    local dir=$1 tmp=$1.meson bp f target
    # the build's own prefix: meson installs below it, we move it to PREFIX
    bp=$("$(dirname "$0")/meson-option.py" "$obj" prefix)
    meson install -C "$obj" --no-rebuild --quiet --destdir "$tmp" >/dev/null
    mkdir -p "$dir"
    # the binaries and QEMU's data (keymaps, trace-events-all); not the
    # desktop entry and icons of a graphical QEMU (this build has no UI)
    cp -a "$tmp$bp"/. "$dir"/
    rm -rf "$tmp" "$dir/share/applications" "$dir/share/icons"
    mkdir -p "$dir/$datadir"
    for f in "$firmware"/*; do
        [ -f "$f" ] || continue
        target=$(readlink -f "$f")
        case "$target" in
        /usr/share/*|/usr/lib/*) ln -s "$target" "$dir/$datadir/${f##*/}" ;;
        *) install -m 0644 "$target" "$dir/$datadir/${f##*/}" ;;
        esac
    done
    [ -x "$dir/bin/qemu-system-x86_64" ] && [ -x "$dir/bin/qemu-system-aarch64" ] ||
        die "meson did not stage both binaries (run make first)"
}

stagedir=
trap '[ -z "$stagedir" ] || rm -rf "$stagedir"' EXIT

do_install() {
    local conflicts="" rel pkg
    stagedir=$(mktemp -d)
    stage "$stagedir/root"
    cd "$stagedir/root"
    # refuse before touching anything
    while IFS= read -r rel; do
        pkg=$(owner "$prefix/$rel")
        [ -z "$pkg" ] || conflicts+="  $prefix/$rel (package $pkg)"$'\n'
    done < <(find . ! -type d | sed 's,^\./,,' | sort)
    if [ -n "$conflicts" ]; then
        printf 'install: these files belong to Debian packages and are not overwritten:\n%s' \
            "$conflicts" >&2
        die "nothing installed; choose another PREFIX (default /usr/local)"
    fi
    mkdir -p "$stagedir/root/$(dirname "$manifest")"
    { find . ! -type d | sed 's,^\./,,' | sort; echo "$manifest"; } > "$stagedir/list"
    cp "$stagedir/list" "$stagedir/root/$manifest"
    # directories that exist keep their owner and mode; files replace files
    while IFS= read -r rel; do
        [ -d "$destdir$prefix/$rel" ] || install -d -m 0755 "$destdir$prefix/$rel"
    done < <(find . -type d | sed 's,^\./\?,,' | sort)
    while IFS= read -r rel; do
        cp -P --preserve=mode,timestamps --remove-destination "$rel" "$destdir$prefix/$rel"
    done < "$stagedir/list"
    echo "install: $(grep -c . "$stagedir/list") files under $destdir$prefix" \
         "(binaries in $prefix/bin, data in $prefix/$datadir)"
}

do_uninstall() {
    local list=$destdir$prefix/$manifest rel n=0 d
    [ -f "$list" ] || die "nothing of ours is installed under $destdir$prefix ($list not found)"
    while IFS= read -r rel; do
        case "$rel" in ''|/*|*..*) continue ;; esac
        if [ -e "$destdir$prefix/$rel" ] || [ -L "$destdir$prefix/$rel" ]; then
            [ -z "$(owner "$prefix/$rel")" ] || continue
            rm -f "$destdir$prefix/$rel"
            n=$((n + 1))
        fi
    done < "$list"
    # directories left empty by us (never PREFIX itself)
    for d in "$datadir/keymaps" "$datadir" share/qemu-viommu; do
        rmdir "$destdir$prefix/$d" 2>/dev/null || true
    done
    echo "uninstall: removed $n files from $destdir$prefix"
}

case "$action" in
install) do_install ;;
uninstall) do_uninstall ;;
*) die "unknown action '$action' (allowed: install, uninstall)" ;;
esac

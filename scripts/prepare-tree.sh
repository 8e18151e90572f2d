#!/bin/bash
# Lays out two QEMU source trees under build/:
#   build/qemu-VERSION/       pristine upstream, as unpacked (compared against,
#                             benchmarked; scripts/qemu-pin.sh), and build/pristine
#                             a link to it
#   build/ours/src/qemu/      a copy in which our hw/ and include/ files stand, as
#                             symlinks, in place of upstream's counterparts
# and applies the few documented hook points (see README.rst, "Hook points").
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tarball=$("$top/scripts/fetch-qemu.sh")
build=$top/build
# shellcheck source=scripts/qemu-pin.sh
. "$top/scripts/qemu-pin.sh"
pristine=$build/$QEMU_PRISTINE
ours=$build/ours/src/qemu
stamp="$(sha256sum "$tarball" | cut -c1-16)"

# Debian's +ds tarball ships no firmware. Hand QEMU's build Debian's own
# (seabios, ovmf, qemu-efi-aarch64, ipxe-qemu packages) under the names it expects.
provide_firmware() {
    local pcbios=$1/pc-bios f
    # iPXE's ROMs: /usr/lib/ipxe/qemu on Debian 12, /usr/share/qemu on 13
    for f in /usr/share/seabios/*.bin \
             $(dpkg -L ipxe-qemu 2>/dev/null | grep '\.rom$'); do
        [ -e "$f" ] && ln -sf "$f" "$pcbios/$(basename "$f")"
    done
    # bios-tables-test and pc-bios/meson.build want edk2 images as .bz2
    mk_bz2 /usr/share/OVMF/OVMF_CODE_4M.fd "$pcbios/edk2-x86_64-code.fd.bz2"
    mk_bz2 /usr/share/OVMF/OVMF_CODE_4M.secboot.fd "$pcbios/edk2-x86_64-secure-code.fd.bz2"
    mk_bz2 /usr/share/OVMF/OVMF_CODE_4M.fd "$pcbios/edk2-i386-code.fd.bz2"
    mk_bz2 /usr/share/OVMF/OVMF_CODE_4M.secboot.fd "$pcbios/edk2-i386-secure-code.fd.bz2"
    mk_bz2 /usr/share/OVMF/OVMF_VARS_4M.fd "$pcbios/edk2-i386-vars.fd.bz2"
    mk_bz2 /usr/share/AAVMF/AAVMF_CODE.fd "$pcbios/edk2-aarch64-code.fd.bz2"
    mk_bz2 /usr/share/AAVMF/AAVMF_VARS.fd "$pcbios/edk2-arm-vars.fd.bz2"
    for f in edk2-arm-code edk2-riscv-code edk2-riscv-vars edk2-loongarch64-code \
             edk2-loongarch64-vars; do
        [ -e "$pcbios/$f.fd.bz2" ] || : | bzip2 > "$pcbios/$f.fd.bz2"
    done
}

mk_bz2() {
    [ -e "$2" ] && return 0
    if [ -e "$1" ]; then
        bzip2 -c "$1" > "$2.tmp" && mv "$2.tmp" "$2"
    else
        : | bzip2 > "$2"
    fi
}

# Our files: everything under hw/ and include/ of this repository, our QAPI
# schema module (qapi/viommu.json), and our functional tests with their
# shared module (tests/functional/).
our_files() {
    (cd "$top" && find hw include -type f \( -name '*.c' -o -name '*.h' \
        -o -name 'meson.build' -o -name 'trace-events' -o -name 'Kconfig' \) &&
     find qapi -type f -name '*.json' &&
     find tests/functional -type f \( -name '*.py' -o -name 'meson.build' \)) | sort
}

refresh_ours() {
    if [ "$(cat "$ours/.viommu-stamp" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$build/ours/src"
        mkdir -p "$build/ours/src"
        cp -a "$pristine" "$ours"
    fi
    provide_firmware "$ours"
    local f
    for f in $(our_files); do
        if [ ! -L "$ours/$f" ] || [ "$(readlink "$ours/$f")" != "$top/$f" ]; then
            mkdir -p "$(dirname "$ours/$f")"
            rm -f "$ours/$f"
            ln -s "$top/$f" "$ours/$f"
        fi
    done
    apply_hooks
    echo "$stamp" > "$ours/.viommu-stamp"
}

# Hook points in upstream files: each is one line, documented in README.rst.
# They are applied to fresh copies of the pristine files, and a file of the
# tree is replaced only when its hooked text differs (so that changed hook
# text never piles up, and an unchanged tree is not rebuilt).
HOOKED_FILES="hw/meson.build tests/functional/meson.build hw/i386/acpi-build.c
    include/exec/memory.h system/physmem.c qapi/qapi-schema.json
    qapi/meson.build hmp-commands-info.hx meson.build"

apply_hooks() {
    local work="$build/hooks.tmp" f
    rm -rf "$work"
    for f in $HOOKED_FILES; do
        mkdir -p "$work/$(dirname "$f")"
        cp "$pristine/$f" "$work/$f"
    done
    # 1. hw/meson.build: build our QEMU-independent core (hw/viommu/).
    echo "subdir('viommu')  # qemu-viommu hook 1" >> "$work/hw/meson.build"
    # 2. tests/functional/meson.build: add our functional tests to QEMU's
    #    lists (tests/functional/viommu/meson.build), before its test loop.
    hook_line "$work/tests/functional/meson.build" before "precache_all = []" \
        "subdir('viommu')  # qemu-viommu hook 2"
    # 3. hw/i386/acpi-build.c: the DMAR of intel-iommu is ours; upstream's
    #    builder stays compiled (unreached) so that nothing else changes.
    hook_line "$work/hw/i386/acpi-build.c" before \
        "        build_dmar_q35(tables_blob, tables->linker, x86ms->oem_id," \
        "        intel_iommu_build_dmar(tables_blob, tables->linker, x86ms->oem_id, x86ms->oem_table_id); } else if (0) { /* qemu-viommu hook 3 */"
    # 4. hw/i386/acpi-build.c: the IVRS of amd-iommu is ours, likewise.
    hook_line "$work/hw/i386/acpi-build.c" before \
        "        build_amd_iommu(tables_blob, tables->linker, x86ms->oem_id," \
        "        amd_iommu_build_ivrs(tables_blob, tables->linker, x86ms->oem_id, x86ms->oem_table_id); } else if (0) { /* qemu-viommu hook 4 */"
    # 5. include/exec/memory.h and system/physmem.c: a MemoryRegionCache
    #    over an IOMMU that opted in gets a host pointer while an UNMAP
    #    notifier guards it (hw/viommu/iommu-direct.c).
    hook_line "$work/include/exec/memory.h" after "struct MemoryRegionCache {" \
        "    struct IOMMUDirectCache *direct; unsigned direct_slow; /* qemu-viommu hook 5 */"
    hook_line "$work/system/physmem.c" before '#include "exec/ram_addr.h"' \
        '#include "hw/viommu/iommu-direct.h" /* qemu-viommu hook 5 */'
    hook_line "$work/system/physmem.c" before "    cache->len = l;" \
        "    iommu_direct_cache_init(cache); /* qemu-viommu hook 5 */"
    hook_line "$work/system/physmem.c" before "    return section.mr;" \
        "    iommu_direct_cache_learn(cache, addr, section.mr); /* qemu-viommu hook 5 */"
    hook_line "$work/system/physmem.c" before "    memory_region_unref(cache->mrs.mr);" \
        "    iommu_direct_cache_destroy(cache); /* qemu-viommu hook 5 */"
    # 6. qapi/qapi-schema.json, qapi/meson.build, hmp-commands-info.hx:
    #    the QMP command query-viommu (qapi/viommu.json) and HMP's
    #    "info viommu", whose handler hw/viommu/viommu-info.c registers.
    echo "{ 'include': 'viommu.json' }  # qemu-viommu hook 6" \
        >> "$work/qapi/qapi-schema.json"
    hook_line "$work/qapi/meson.build" before "  'yank'," \
        "  'viommu',  # qemu-viommu hook 6"
    local hmp='    { .name = "viommu", .args_type = "device:s?",'
    hmp+=' .params = "[device]",'
    hmp+=' .help = "show the virtual IOMMUs, their endpoints and counters",'
    hmp+=' }, /* qemu-viommu hook 6 */'
    echo "$hmp" >> "$work/hmp-commands-info.hx"
    # 7. system/physmem.c: a TCG vCPU resolves its TLB's section indices
    #    through the FlatView they come from, held per CPU address space
    #    from one TLB flush to the next (hw/viommu/cpu-dispatch.c).
    hook_line "$work/system/physmem.c" before '#include "exec/ram_addr.h"' \
        '#include "hw/viommu/cpu-dispatch.h" /* qemu-viommu hook 7 */'
    hook_line "$work/system/physmem.c" after "    MemoryListener tcg_as_listener;" \
        "    CPUDispatchHold held; /* qemu-viommu hook 7 */"
    hook_line "$work/system/physmem.c" after \
        "    AddressSpaceDispatch *d = address_space_to_dispatch(cpu->cpu_ases[asidx].as);" \
        "    d = cpu_dispatch_of(&cpu->cpu_ases[asidx].held, d); /* qemu-viommu hook 7 */"
    hook_line "$work/system/physmem.c" after \
        "    AddressSpaceDispatch *d = address_space_to_dispatch(cpuas->as);" \
        "    d = cpu_dispatch_of(&cpuas->held, d); /* qemu-viommu hook 7 */"
    hook_line "$work/system/physmem.c" before "    tlb_flush(cpu);" \
        "    { CPUAddressSpace *cpuas = data.host_ptr; cpu_dispatch_hold(&cpuas->held, cpuas->as); } /* qemu-viommu hook 7 */"
    hook_line "$work/system/physmem.c" after \
        "            memory_listener_unregister(&cpuas->tcg_as_listener);" \
        "            cpu_dispatch_release(&cpuas->held); /* qemu-viommu hook 7 */"
    # 8. system/physmem.c: a slow-path access of a MemoryRegionCache behind
    #    an IOMMU that crosses an IOVA page goes one page at a time, each
    #    through its own translation (hw/viommu/iommu-direct.c).
    hook_line "$work/system/physmem.c" before \
        "    mr = address_space_translate_cached(cache, addr, &mr_addr, &l, false," \
        "    { MemTxResult r; if (iommu_direct_cache_split(cache, addr, buf, len, false, &r)) { return r; } } /* qemu-viommu hook 8 */"
    hook_line "$work/system/physmem.c" before \
        "    mr = address_space_translate_cached(cache, addr, &mr_addr, &l, true," \
        "    { MemTxResult r; if (iommu_direct_cache_split(cache, addr, (void *)buf, len, true, &r)) { return r; } } /* qemu-viommu hook 8 */"
    # 9. meson.build: our trace events (hw/viommu/trace-events) join QEMU's
    #    list, before the trace directory is built from it.
    hook_line "$work/meson.build" before "subdir('trace')" \
        "trace_events_subdirs += [ 'hw/viommu' ]  # qemu-viommu hook 9"
    for f in $HOOKED_FILES; do
        # a new file, never a write through to one shared with pristine
        cmp -s "$work/$f" "$ours/$f" || cp --remove-destination "$work/$f" "$ours/$f"
    done
    rm -rf "$work"
}

# hook_line FILE before|after ANCHOR LINE: LINE next to the one ANCHOR line
hook_line() {
    local file=$1 where=$2 anchor=$3 line=$4
    [ "$(grep -cxF "$anchor" "$file")" = 1 ] ||
        { echo "prepare-tree: not one '$anchor' in $file" >&2; exit 1; }
    awk -v a="$anchor" -v l="$line" -v after="$([ "$where" = after ] && echo 1)" \
        '$0 == a && !after { print l } { print } $0 == a && after { print l }' \
        "$file" > "$file.tmp"
    mv "$file.tmp" "$file"
}

unpack_pristine() {
    if [ "$(cat "$pristine/.viommu-stamp" 2>/dev/null)" != "$stamp" ]; then
        # another pin's trees: its pristine source and the upstream build of
        # it (make bench configures the new one afresh)
        mkdir -p "$build"
        find "$build" -maxdepth 1 -name 'qemu-*' -type d ! -path "$pristine" \
            -exec rm -rf {} +
        rm -rf "$pristine" "$build/unpack" "$build/upstream"
        mkdir -p "$build/unpack"
        tar -C "$build/unpack" -xf "$tarball"
        mv "$build/unpack"/qemu-* "$pristine"
        rmdir "$build/unpack"
        provide_firmware "$pristine"
        echo "$stamp" > "$pristine/.viommu-stamp"
    fi
    ln -sfn "$QEMU_PRISTINE" "$build/pristine"
}

unpack_pristine
refresh_ours

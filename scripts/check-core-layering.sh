#!/bin/bash
# The QEMU-independent core (hw/viommu/, include/hw/viommu/) holds to its
# layer: its files include only the C library and each other's core
# headers, never QEMU's or the glue's, and each C file compiles on its own
# as ISO C11 (-std=c11 -pedantic), as a unit test or fuzz target builds it;
# and QEMU's build (hw/viommu/meson.build) builds each of them.
# Run by make unit with the core's C files; exits 1 naming what breaks it.
#
# Usage: scripts/check-core-layering.sh CORE_C_FILE...
set -euo pipefail
cd "$(dirname "$0")/.."
# QEMU glue that lives beside the core (built into QEMU only)
glue_headers="cpu-dispatch.h iommu-direct.h viommu-info.h viommu-model.h xlate-fast.h"
bad=0
core_headers=()
for h in include/hw/viommu/*.h; do
    case " $glue_headers " in *" ${h##*/} "*) continue ;; esac
    core_headers+=("$h")
done
for f in "$@" "${core_headers[@]}"; do
    while read -r inc; do
        case "$inc" in
        '<'*) ;;                                    # the C library
        '"hw/viommu/'*)
            h=${inc#\"hw/viommu/}; h=${h%\"}
            case " $glue_headers " in
            *" $h "*) echo "layering: $f includes QEMU glue $inc" >&2; bad=1 ;;
            esac ;;
        *) echo "layering: $f includes $inc (not libc, not the core)" >&2
           bad=1 ;;
        esac
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$f")
done
# the one list of core files is the directory; QEMU's build must name each
for f in "$@"; do
    grep -qF "'${f##*/}'" hw/viommu/meson.build ||
        { echo "layering: ${f##*/} is not built by hw/viommu/meson.build" >&2; bad=1; }
done
for f in "$@"; do
    ${CC:-cc} -std=c11 -pedantic -Wall -Wextra -Wno-unused-parameter -Werror \
        -fsyntax-only -Iinclude "$f" || { echo "layering: $f is not ISO C11" >&2; bad=1; }
done
[ "$bad" = 0 ] && echo "layering: $# core files, ${#core_headers[@]} core headers: libc and the core only, ISO C11"
exit "$bad"

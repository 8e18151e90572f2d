#!/bin/bash
# qemu-viommu stress: boots the guest kit (the guest suites' kernel and
# /init) behind each IOMMU in each DMA mode, 2 vCPUs under MTTCG, over and
# over, and stops at the first boot that crashes, hangs or reports anything
# but a clean run (data read back intact, no fault on either side).
#
# Usage: scripts/stress.sh QEMU [COUNT] [MINUTES]
#   Runs COUNT rounds (default 3), or rounds until MINUTES have passed when
#   MINUTES is set; a round boots every IOMMU in every mode, once each.
#   STRESS_IOMMUS  which IOMMUs   (default "virtio intel amd")
#   STRESS_MODES   which modes    (default "strict lazy pt")
#   STRESS_DIR     where runs go  (default build/stress)
#   STRESS_CHURN   memory transactions the guest makes meanwhile: switches
#                  of a driverless function's decoding (default 200, 0: none)
# A failed boot's directory (console, QEMU's log and stderr, disk image,
# core dump) is kept as STRESS_DIR/fail-DATE-N; gdb prints the crashing
# thread's backtrace from the core (every thread's, for a hang, which is
# killed with SIGABRT). A QEMU built with AddressSanitizer (make stress
# ASAN=1) stops at the bad access and prints ASan's report.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
qemu=$(realpath -- "${1:?usage: scripts/stress.sh QEMU [COUNT] [MINUTES]}")
count=${2:-3}
minutes=${3:-}
iommus=${STRESS_IOMMUS:-virtio intel amd}
modes=${STRESS_MODES:-strict lazy pt}
dir=$(realpath -m -- "${STRESS_DIR:-$top/build/stress}")  # the boots run elsewhere
churn=${STRESS_CHURN:-200}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-300}
export GUEST_QEMU=$qemu GUEST_TIMEOUT GUEST_TIMEOUT_SIGNAL=ABRT
# shellcheck source=scripts/guest-boot.sh
. "$top/scripts/guest-boot.sh"

for i in $iommus; do
    case "$i" in virtio|intel|amd) ;;
    *) echo "stress: unknown IOMMU '$i' (allowed: virtio intel amd)" >&2; exit 2 ;;
    esac
done
for m in $modes; do
    case "$m" in strict|lazy|pt) ;;
    *) echo "stress: unknown mode '$m' (allowed: strict lazy pt)" >&2; exit 2 ;;
    esac
done
case "$count$minutes$churn" in
*[!0-9]*) echo "stress: COUNT, MINUTES and STRESS_CHURN are whole numbers" >&2; exit 2 ;;
esac

# QEMU arguments and kernel command line of IOMMU $1 in mode $2
iommu_args() {
    case "$1" in
    virtio) echo "-M q35 -device virtio-iommu-pci" ;;
    intel)  echo "-M q35,kernel-irqchip=split -device intel-iommu,intremap=on" ;;
    amd)    echo "-M q35,kernel-irqchip=split -device amd-iommu,intremap=on" ;;
    esac
}
iommu_append() {
    local on
    case "$1" in
    virtio) on= ;;
    intel)  on="intel_iommu=on" ;;
    amd)    on="amd_iommu=on" ;;
    esac
    [ "$churn" = 0 ] || on="$on viommu.memchurn=$churn"
    case "$2" in
    strict) echo "$on iommu.strict=1" ;;
    lazy)   echo "$on iommu.strict=0" ;;
    pt)     [ "$1" = virtio ] && echo "$on iommu.passthrough=1" || echo "$on iommu=pt" ;;
    esac
}

# Where the kernel writes a core dump of a process started in $PWD.
core_file() {
    local pattern
    pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null)
    case "$pattern" in
    core|core.%p) ls core core.* 2>/dev/null | head -1 ;;
    esac
}

report_crash() {
    local run=$1 rc=$2 core bt='bt 40'
    core=$(cd "$run" && core_file)
    [ "$rc" = 124 ] && bt='thread apply all bt 25'
    if ls "$run"/asan.log* >/dev/null 2>&1; then
        echo "stress: AddressSanitizer's report ($run/asan.log*):"
        grep -v '^  0x\|^Shadow\|^  [A-Z][a-z]' "$run"/asan.log* | head -60
        return
    fi
    if [ -n "$core" ] && command -v gdb >/dev/null; then
        echo "stress: $bt ($run/$core):"
        gdb -batch -q -ex "$bt" "$qemu" "$run/$core" 2>&1 |
            grep -v '^\[New LWP\|^warning:' | tail -150
    elif [ -z "$core" ]; then
        echo "stress: no core dump (core_pattern '$(cat /proc/sys/kernel/core_pattern)';" \
             "a core is written to the run directory when it is 'core')"
    fi
}

# checks NAME: what is wrong with the boot NAME, or nothing
checks() {
    local name=$1 rc=$2 w r
    if [ "$rc" = 124 ]; then
        echo "QEMU hung: still running after $GUEST_TIMEOUT s (killed with SIGABRT)"
        return
    fi
    if [ "$rc" -ge 128 ]; then
        echo "QEMU died of signal $((rc - 128))"
        return
    fi
    [ "$rc" = 0 ] || { echo "QEMU exited with status $rc"; return; }
    [ "$(guest_result "$name" done)" = 1 ] || { echo "the guest did not finish"; return; }
    w=$(guest_result "$name" disk.md5.written)
    r=$(guest_result "$name" disk.md5.read)
    [ -n "$w" ] && [ "$w" = "$r" ] || { echo "data read back differs ($w, $r)"; return; }
    [ "$(guest_result "$name" guest.faults)" = 0 ] ||
        { echo "the guest reported faults"; return; }
    grep -q 'DMA fault' "$GUEST_WORK/$name.qemu.log" &&
        { echo "the device reported DMA faults"; return; }
    [ "$churn" = 0 ] || [ "$(guest_result "$name" memchurn.done)" = "$churn" ] ||
        echo "the guest did not make its $churn memory transactions (no SATA controller?)"
}

mkdir -p "$dir"
stamp=$(date +%Y%m%d-%H%M%S)
ulimit -c unlimited 2>/dev/null || echo "stress: core dumps are limited (ulimit -c)" >&2
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:disable_coredump=1:log_path=$dir/run/asan.log"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$dir/run/asan.log"
GUEST_WORK=$dir/run
started=$(date +%s)
boots=0 round=0

# true once MINUTES (if given) have passed
time_up() {
    [ -n "$minutes" ] && [ $(( $(date +%s) - started )) -ge $((minutes * 60)) ]
}

echo "stress: $qemu, IOMMUs: $iommus; modes: $modes; churn $churn;" \
     "$([ -n "$minutes" ] && echo "$minutes minutes" || echo "$count rounds")"
while [ -n "$minutes" ] || [ "$round" -lt "$count" ]; do
    round=$((round + 1))
    for iommu in $iommus; do
        for mode in $modes; do
            time_up && break 3
            rm -rf "$GUEST_WORK" && mkdir -p "$GUEST_WORK"
            boots=$((boots + 1))
            t0=$(date +%s)
            # shellcheck disable=SC2046
            (cd "$GUEST_WORK" && guest_boot boot amd64 $(iommu_args "$iommu") -- \
                $(iommu_append "$iommu" "$mode"))
            rc=$?
            why=$(checks boot "$rc")
            echo "stress: boot $boots (round $round) $iommu $mode:" \
                 "${why:-ok} ($(( $(date +%s) - t0 )) s)"
            if [ -n "$why" ]; then
                mv "$GUEST_WORK" "$dir/fail-$stamp-$boots"
                echo "stress: kept $dir/fail-$stamp-$boots (console: boot.console," \
                     "QEMU: boot.stdout, boot.qemu.log)"
                report_crash "$dir/fail-$stamp-$boots" "$rc"
                exit 1
            fi
        done
    done
done
rm -rf "$GUEST_WORK"
echo "stress: $boots boots in $(( ($(date +%s) - started) / 60 )) min, no failure"

# qemu-viommu: virtual IOMMUs for QEMU (the pin: scripts/qemu-pin.sh), built out of tree.
#   make          build qemu-system-x86_64 and qemu-system-aarch64 (build/ours/obj)
#   make demo     boot a small Linux guest behind our virtio-iommu
#   make check    unit tests, fuzz replay, upstream qtests, guest tests,
#                 the nested VFIO relay test, libvirt running our binary
#   make bench    ours against pristine upstream of the pin (not part of check)
#   make stress   boot the guest behind each IOMMU in each mode, in a loop,
#                 until the first crash (not part of check): COUNT=rounds or
#                 MINUTES=time, IOMMUS="virtio intel amd",
#                 MODES="strict lazy pt", CHURN=200, ASAN=1 for an
#                 AddressSanitizer build
#   make install  both binaries and their firmware under PREFIX (/usr/local),
#                 laid out as Debian's QEMU packages are; make uninstall
# Each installs what is missing (apt) and builds what is needed.

TOP := $(CURDIR)
OBJ := $(TOP)/build/ours/obj
FIRMWARE := $(TOP)/build/ours/firmware
UNIT := $(TOP)/build/unit
QEMU_TARGETS := qemu-system-x86_64 qemu-system-aarch64
NPROC := $(shell nproc)
PREFIX ?= /usr/local

export CCACHE_BASEDIR := $(TOP)
export CCACHE_NOHASHDIR := 1
export CCACHE_MAXSIZE ?= 5G

.PHONY: all configure qemu check unit qtest guest-kit guest vfio-relay functional \
	libvirt demo bench stress asan-qemu install uninstall clean distclean

all: qemu

$(TOP)/build/.configured: configure scripts/prepare-tree.sh scripts/deps.sh \
		scripts/fetch-qemu.sh scripts/qemu-pin.sh $(wildcard scripts/qemu-config/*.mak)
	./configure

configure:
	./configure

# prepare-tree links any new file of ours into the tree (cheap when nothing changed)
qemu: $(TOP)/build/.configured
	@scripts/prepare-tree.sh >/dev/null
	ninja -C $(OBJ) -j$(NPROC) $(QEMU_TARGETS) trace/trace-events-all
	@scripts/firmware.sh $(TOP)/build/ours/src/qemu $(OBJ) $(FIRMWARE)

# ---- tests ----

# The QEMU-independent core: every C file of hw/viommu/ but the QEMU glue
# that lives there (the layering check of make unit holds the rest to libc)
CORE_GLUE := hw/viommu/cpu-dispatch.c hw/viommu/iommu-direct.c \
	hw/viommu/viommu-info.c hw/viommu/viommu-model.c
CORE_SRCS := $(filter-out $(CORE_GLUE),$(wildcard hw/viommu/*.c))
CORE_HDRS := $(wildcard include/hw/viommu/*.h)
SAN_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Wno-unused-parameter -Werror \
	-fsanitize=address,undefined -fno-sanitize-recover=all -Iinclude -Itests/unit

$(UNIT)/%: tests/unit/%.c $(CORE_SRCS) $(CORE_HDRS) tests/unit/unit.h tests/unit/vring-fake-mem.h
	@mkdir -p $(UNIT)
	$(CC) $(SAN_CFLAGS) $< $(CORE_SRCS) -lpthread -o $@

$(UNIT)/fuzz-%: tests/fuzz/fuzz-%.c $(CORE_SRCS) $(CORE_HDRS) tests/unit/vring-fake-mem.h
	@mkdir -p $(UNIT)
	$(CC) $(SAN_CFLAGS) $< $(CORE_SRCS) -o $@

# a unit test is a tests/unit/test-*.c, a fuzz target a tests/fuzz/fuzz-*.c
# (replaying the number of inputs its FUZZ_RUNS says): found by name
UNIT_TESTS := $(patsubst tests/unit/%.c,$(UNIT)/%,$(wildcard tests/unit/test-*.c))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(UNIT)/%,$(wildcard tests/fuzz/fuzz-*.c))

# test-acpi-dmar compares with upstream's expected DMAR in the pristine tree
unit: $(TOP)/build/.configured $(UNIT_TESTS) $(FUZZ_TARGETS)
	scripts/check-core-layering.sh $(CORE_SRCS)
	@set -e; for t in $(UNIT_TESTS) $(FUZZ_TARGETS); do $$t; done

qtest: qemu
	tests/qtest/run-qtests.sh

# Guest tests are QEMU functional tests (tests/functional, qemu_test), run by
# meson from QEMU's build tree with TAP output; the guest kit is made first.
SRC := $(TOP)/build/ours/src/qemu
FUNC_GUEST := func-x86_64-x86_64_viommu_guest func-x86_64-x86_64_viommu_intel \
	func-x86_64-x86_64_viommu_amd func-aarch64-aarch64_viommu_guest func-x86_64-x86_64_viommu_migration \
	func-x86_64-x86_64_viommu_firmware func-x86_64-x86_64_viommu_kdump \
	func-x86_64-x86_64_viommu_trace
FUNC_RELAY := func-x86_64-x86_64_viommu_vfio_relay
MESON_TEST := meson test -C $(OBJ) --setup thorough --no-rebuild \
	--num-processes 1 --verbose --print-errorlogs

guest-kit: qemu
	scripts/deps.sh guest guest-arm64
	scripts/guest-kit.sh $(OBJ)

guest: guest-kit
	$(MESON_TEST) $(FUNC_GUEST)

# a device passed through twice: L0 (ours) -> L1 VFIO -> L2 (ours, qtest)
vfio-relay: guest-kit
	$(MESON_TEST) $(FUNC_RELAY)

# one functional test, a class or a case: make functional T=test_x86_64_viommu_guest.ViommuX86Guest.test_q35_strict
functional: guest-kit
	@[ -n "$(T)" ] || { echo "usage: make functional T=MODULE[.CLASS[.TEST]]"; exit 2; }
	@case "$(T)" in test_aarch64_*) arch=aarch64 ;; *) arch=x86_64 ;; esac; \
	cd $(SRC)/tests/functional && \
	QEMU_TEST_QEMU_BINARY=$(OBJ)/qemu-system-$$arch QEMU_BUILD_ROOT=$(OBJ) \
	PYTHONPATH=$(SRC)/python:$(SRC)/tests/functional $(OBJ)/pyvenv/bin/python3 -m unittest -v $(T)

# libvirt's own daemons (Debian's) run our binary, built and installed
libvirt: guest-kit
	scripts/deps.sh libvirt
	python3 tests/libvirt/test_libvirt.py

check: unit qtest guest vfio-relay libvirt
	@echo "make check: all suites passed"

demo: qemu  # IOMMU=virtio (default) or intel
	scripts/deps.sh guest
	scripts/guest-kit.sh $(OBJ)
	scripts/demo.sh

bench: guest-kit
	./configure --upstream
	scripts/bench.sh

# AddressSanitizer build of ours (build/asan/obj), for make stress ASAN=1
ASAN_OBJ := $(TOP)/build/asan/obj
asan-qemu: qemu
	./configure --asan
	@scripts/prepare-tree.sh >/dev/null
	ninja -C $(ASAN_OBJ) -j$(NPROC) qemu-system-x86_64

COUNT ?= 3
stress: guest-kit $(if $(ASAN),asan-qemu)
	scripts/deps.sh stress
	STRESS_IOMMUS="$(or $(IOMMUS),virtio intel amd)" \
	STRESS_MODES="$(or $(MODES),strict lazy pt)" STRESS_CHURN="$(CHURN)" \
	scripts/stress.sh $(if $(ASAN),$(ASAN_OBJ),$(OBJ))/qemu-system-x86_64 \
		$(COUNT) $(MINUTES)

install: qemu
	scripts/install.sh install $(OBJ) $(FIRMWARE) "$(PREFIX)"

uninstall:
	scripts/install.sh uninstall $(OBJ) $(FIRMWARE) "$(PREFIX)"

clean:
	rm -rf $(UNIT)
	[ ! -f $(OBJ)/build.ninja ] || ninja -C $(OBJ) -t clean >/dev/null

distclean:
	rm -rf build

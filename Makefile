# qemu-viommu: virtual IOMMUs for QEMU 10.0.2, built out of tree.
#   make          build qemu-system-x86_64 and qemu-system-aarch64 (build/ours/obj)
#   make demo     boot a small Linux guest behind our virtio-iommu
#   make check    unit tests, fuzz replay, upstream qtests, guest tests,
#                 the nested VFIO relay test, libvirt running our binary
#   make bench    ours against pristine upstream 10.0.2 (not part of check)
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

.PHONY: all configure qemu check unit qtest guest vfio-relay libvirt demo bench \
	install uninstall clean distclean

all: qemu

$(TOP)/build/.configured: configure scripts/prepare-tree.sh scripts/deps.sh \
		scripts/fetch-qemu.sh $(wildcard scripts/qemu-config/*.mak)
	./configure

configure:
	./configure

# prepare-tree links any new file of ours into the tree (cheap when nothing changed)
qemu: $(TOP)/build/.configured
	@scripts/prepare-tree.sh >/dev/null
	ninja -C $(OBJ) -j$(NPROC) $(QEMU_TARGETS) trace/trace-events-all
	@scripts/firmware.sh $(TOP)/build/ours/src/qemu $(OBJ) $(FIRMWARE)

# ---- tests ----

CORE_SRCS := hw/viommu/iova-map.c hw/viommu/virtio-iommu-core.c hw/viommu/vring-split.c
CORE_HDRS := $(wildcard include/hw/viommu/*.h)
SAN_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Wno-unused-parameter -Werror \
	-fsanitize=address,undefined -fno-sanitize-recover=all -Iinclude -Itests/unit

$(UNIT)/%: tests/unit/%.c $(CORE_SRCS) $(CORE_HDRS) tests/unit/unit.h tests/unit/vring-fake-mem.h
	@mkdir -p $(UNIT)
	$(CC) $(SAN_CFLAGS) $< $(CORE_SRCS) -o $@

$(UNIT)/fuzz-%: tests/fuzz/fuzz-%.c $(CORE_SRCS) $(CORE_HDRS) tests/unit/vring-fake-mem.h
	@mkdir -p $(UNIT)
	$(CC) $(SAN_CFLAGS) $< $(CORE_SRCS) -o $@

UNIT_TESTS := $(UNIT)/test-iova-map $(UNIT)/test-virtio-iommu-core \
	$(UNIT)/test-vring-split

unit: $(UNIT_TESTS) $(UNIT)/fuzz-virtio-iommu-core $(UNIT)/fuzz-vring-split
	@set -e; for t in $(UNIT_TESTS); do $$t; done
	$(UNIT)/fuzz-virtio-iommu-core 200000
	$(UNIT)/fuzz-vring-split 100000

qtest: qemu
	tests/qtest/run-qtests.sh

guest: qemu
	scripts/deps.sh guest guest-arm64
	tests/guest/run-guest-tests.sh

# a device passed through twice: L0 (ours) -> L1 VFIO -> L2 (ours, qtest)
vfio-relay: qemu
	scripts/deps.sh guest
	tests/guest/run-vfio-relay.sh virtio
	tests/guest/run-vfio-relay.sh intel

# libvirt's own daemons (Debian's) run our binary, built and installed
libvirt: qemu
	scripts/deps.sh guest libvirt
	python3 tests/libvirt/test_libvirt.py

check: unit qtest guest vfio-relay libvirt
	@echo "make check: all suites passed"

demo: qemu
	scripts/deps.sh guest
	scripts/demo.sh

bench:
	./configure --upstream
	scripts/bench.sh

install: qemu
	scripts/install.sh install $(OBJ) $(FIRMWARE) $(PREFIX)

uninstall:
	scripts/install.sh uninstall $(OBJ) $(FIRMWARE) $(PREFIX)

clean:
	rm -rf $(UNIT)
	[ ! -f $(OBJ)/build.ninja ] || ninja -C $(OBJ) -t clean >/dev/null

distclean:
	rm -rf build

# qemu-viommu: shared steps of our functional tests (tests/functional/test_*_viommu_*.py)
#
# The guest kit (Debian's kernels, a busybox initramfs whose /init is
# tests/guest/init) is prepared by `make` in QEMU's build tree
# (scripts/guest-kit.sh) and found here through QemuBaseTest.build_file; the
# tests download nothing. Each suite runs on Debian's 6.12 kernel and on the
# newest Debian ships (7.3): a suite's class boots the first, and its
# subclass made by on_newest_kernel() the second. The guest prints
# "RESULT key=value" lines on its console and powers off; the helpers below
# boot it behind a vIOMMU, collect
# those lines, and check what a user would check.
#
# SPDX-License-Identifier: GPL-2.0-or-later

import hashlib
import logging
import os
import re
import socket
import threading
import time

from qemu_test import QemuSystemTest

KIT = 'viommu-guest-kit'
BLK = '0x1af4:0x1042'       # virtio-blk, modern PCI function
NET = '0x1af4:0x1041'       # virtio-net, modern PCI function
DISK_BYTES = 4 * 1024 * 1024
RESULT = re.compile(r'RESULT ([^=\s]+)=(.*?)\r?$')


class GuestRun:
    """One guest: its VM, its disk image, its QEMU log and what it reported."""

    def __init__(self, vm, disk, qemu_log):
        self.vm = vm
        self.disk = disk
        self.qemu_log = qemu_log
        self.results = {}
        self.lines = []
        self.pending = b''          # console bytes of an unfinished line
        self.last_output = time.time()

    def result(self, key):
        """What the guest reported for KEY ('' if nothing)."""
        return self.results.get(key, '')

    def device_faults(self):
        """'DMA fault' lines our device logged (-d guest_errors); a log
        that QEMU did not write raises OSError: no count, no pass."""
        with open(self.qemu_log, errors='replace') as f:
            return sum('DMA fault' in line for line in f)


class ViommuGuestTest(QemuSystemTest):
    """Boots the guest kit behind a vIOMMU under TCG."""

    timeout = 300           # seconds a guest may take to report 'done'
    kernel = ''             # '': Debian's 6.12; 'newest': trixie-backports'

    def kit_file(self, arch, name):
        """The kit's file NAME for ARCH (amd64, arm64) and this class's
        kernel."""
        path = self.build_file(KIT, arch + ('-' + self.kernel if self.kernel
                                            else ''), name)
        if not os.path.exists(path):
            self.fail('%s is missing: the guest kit is prepared by make '
                      '(scripts/guest-kit.sh)' % path)
        return path

    def tcg_vm(self, name, machine, memory='512', cpus='2'):
        """A VM of MACHINE under TCG with MEMORY (MiB), CPUS vCPUs, no default
        devices, no reboot, guest errors logged to NAME.qemu.log; returns it
        (not launched) and that log's path."""
        vm = self.get_vm(name=name)
        vm.set_machine(machine)
        qemu_log = self.log_file(name + '.qemu.log')
        vm.add_args('-accel', 'tcg', '-m', memory, '-smp', cpus, '-nodefaults',
                    '-no-reboot', '-d', 'guest_errors', '-D', qemu_log)
        return vm, qemu_log

    def new_guest(self, name, arch, machine, args, append, disk=True,
                  net=True, disk_size=16 << 20, blk_opts='', initrd=None,
                  image=None, pre_args=()):
        """A VM that boots the kit's kernel: -accel tcg, 512 MiB, 2 vCPUs,
        no default devices, guest errors logged to NAME.qemu.log; with a
        fresh raw disk of DISK_SIZE bytes (or IMAGE, an existing one) on
        virtio-blk and with virtio-net, both behind the IOMMU, unless told
        otherwise. PRE_ARGS come before those (buses they plug into), ARGS
        after; APPEND is added to the kernel command line. Returns a
        GuestRun (not launched)."""
        vm, qemu_log = self.tcg_vm(name, machine)
        console = 'ttyS0' if arch == 'amd64' else 'ttyAMA0'
        append = 'console=%s panic=-1 quiet loglevel=4 %s' % (console, append)
        vm.add_args('-kernel', self.kit_file(arch, 'vmlinuz'),
                    '-initrd', initrd or self.kit_file(arch, 'initramfs.cpio.gz'))
        vm.add_args(*pre_args)
        if disk and image is None:
            image = self.scratch_file(name + '.img')
            with open(image, 'wb') as f:
                f.truncate(disk_size)
        if disk:
            vm.add_args('-drive', 'if=none,id=disk0,file=%s,format=raw' % image,
                        '-device', 'virtio-blk-pci,drive=disk0,iommu_platform=on,'
                        'disable-legacy=on' + blk_opts)
            append += ' viommu.disk=1'
        if net:
            vm.add_args('-netdev', 'user,id=net0',
                        '-device', 'virtio-net-pci,netdev=net0,iommu_platform=on,'
                        'disable-legacy=on,romfile=')
            append += ' viommu.net=1'
        vm.add_args(*args)
        vm.add_args('-append', append)
        vm.set_console()
        return GuestRun(vm, image, qemu_log)

    def read_console(self, guest, until, timeout=None, quiet_for=None):
        """Reads GUEST's console, logging each line (console.log) and
        recording RESULT lines, until a line contains UNTIL (returns True),
        the console closes or TIMEOUT seconds pass (returns False). With
        QUIET_FOR, also returns once nothing arrived for that long. Bytes
        of an unfinished line are kept for the next call."""
        sock = guest.vm.console_socket
        deadline = time.time() + (timeout or self.timeout)
        found = False
        while not found and time.time() < deadline:
            sock.settimeout(1)
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                if quiet_for and time.time() - guest.last_output > quiet_for:
                    return False
                continue
            except OSError:
                chunk = b''
            if not chunk:
                return False
            guest.last_output = time.time()
            *lines, guest.pending = (guest.pending + chunk).split(b'\n')
            for raw in lines:
                line = raw.decode(errors='replace').rstrip('\r')
                self.log_console(guest, line)
                found = found or bool(until and until in line)
        return found

    def drain_console(self, guest):
        """Reads GUEST's console in a thread until it closes (so that a
        chatty guest never stalls on a full console); returns the thread."""
        thread = threading.Thread(target=self.read_console,
                                  args=(guest, None, 24 * 3600), daemon=True)
        thread.start()
        return thread

    def log_console(self, guest, line):
        guest.lines.append(line)
        # the framework's console log (console.log), as its own helpers write it
        logging.getLogger('console').debug('%s: %s', guest.vm._name, line)
        m = RESULT.search(line)
        if m:
            guest.results.setdefault(m.group(1), m.group(2))

    def run_guest(self, guest):
        """Launches GUEST and waits until it reported 'done' and powered off."""
        guest.vm.launch()
        done = self.read_console(guest, 'RESULT done=')
        if not done:
            self.log.info('last console lines:\n%s', '\n'.join(guest.lines[-30:]))
        self.assertTrue(done, 'the guest did not finish within %d s (console '
                        'in %s)' % (self.timeout, self.log_filename))
        self.assert_kernel(guest)
        guest.vm.wait(timeout=120)

    def assert_kernel(self, guest):
        """The guest booted this class's kernel: 6.12, or a newer one."""
        booted = guest.result('kernel')
        if self.kernel == 'newest':
            self.assertRegex(booted,
                             r'^([7-9]|[1-9][0-9])\.|^6\.(1[3-9]|[2-9])',
                             'the newest kernel booted')
        else:
            self.assertRegex(booted, r'^6\.12\.', 'Debian 12\'s 6.12 booted')

    def assert_guest(self, guest, group_type, table='viot', ring='split'):
        """What the guest tests assert of a guest with disk and net: its
        IOMMU's ACPI table parsed, one IOMMU, the virtio-iommu ring layout
        (virtio-iommu only), both devices in groups of GROUP_TYPE, 4 MiB
        written and read back intact (also on the host's image), a DHCP
        lease, and no DMA fault on either side."""
        r = guest.result
        self.assertEqual(r('done'), '1', 'guest finished')
        self.assertEqual(r(table), 'present', '%s table' % table.upper())
        self.assertEqual(r('iommus'), '1', 'IOMMU devices')
        if ring:
            self.assertEqual(r('iommu.ring'), ring, 'request ring')
        self.assertEqual(r('group.' + BLK).split(':')[-1], group_type,
                         'virtio-blk group type')
        self.assertEqual(r('group.' + NET).split(':')[-1], group_type,
                         'virtio-net group type')
        self.assert_data(guest)
        self.assertEqual(r('net.lease'), '10.0.2.15', 'DHCP lease')
        self.assert_no_faults(guest)

    def assert_data(self, guest):
        r = guest.result
        self.assertEqual(r('disk.write'), 'ok', 'disk write')
        self.assertRegex(r('disk.md5.written'), '^[0-9a-f]{32}$')
        self.assertEqual(r('disk.md5.read'), r('disk.md5.written'),
                         'data read back (guest)')
        with open(guest.disk, 'rb') as f:
            host = hashlib.md5(f.read(DISK_BYTES)).hexdigest()
        self.assertEqual(host, r('disk.md5.written'), 'data on the host disk')

    def assert_no_faults(self, guest):
        self.assertEqual(guest.result('guest.faults'), '0', 'guest-reported faults')
        self.assertEqual(guest.device_faults(), 0, 'device-reported DMA faults')


def on_newest_kernel(cls):
    """CLS's tests again, booting the newest kernel Debian ships: a subclass
    named CLS + 'Newest', for the test module's namespace."""
    return type(cls.__name__ + 'Newest', (cls,), {
        'kernel': 'newest',
        '__module__': cls.__module__,
        '__doc__': '%s, on the newest kernel Debian ships' % cls.__name__,
    })

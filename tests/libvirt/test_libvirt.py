#!/usr/bin/env python3
"""libvirt runs our QEMU: Debian's libvirt daemons (bookworm's 9.0, trixie's
backports 12), a transient domain of type 'qemu' (TCG) with a vIOMMU, the guest kernel and initramfs of the guest
tests (tests/guest/init), a virtio disk and a virtio NIC with
<driver iommu='on'/>. Each case asserts what the guest reports (its IOMMU's
ACPI table parsed, the devices in IOMMU groups of type DMA, 4 MiB written and
read back intact, also on the host's disk image, a DHCP lease, no fault on
either side) and that the command line libvirt generated carries the IOMMU
options.

  virtio  <iommu model='virtio'/>, with <emulator> the binary of the build
          tree, run as libvirt runs it (no -L: it finds its own firmware)
  intel   <iommu model='intel'> with intremap, caching_mode and iotlb, and
          <ioapic driver='qemu'/>, with <emulator> the binary that
          `make install` put under a scratch PREFIX
and, with libvirt 12 (cases skipped with an older libvirt, named after the
release that brought what they use):
  amd                  <iommu model='amd'> with intremap, xtsup and
                       passthrough (11.5: AMDVI-PCI, then amd-iommu with
                       pci-id naming it)
  virtio_granule       <iommu model='virtio'> with <granule size='4'
                       unit='KiB'/> (12.1: the granule property)
  intel_dma_translation <iommu model='intel'> with dma_translation='off'
                       and eim (10.7): interrupt remapping only

The daemons (libvirtd, virtlogd) are started here when none answers, and
stopped afterwards; no domain is left behind either way.
Usage: tests/libvirt/test_libvirt.py [-v] [LibvirtTest.test_virtio ...]
"""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OBJ = os.path.join(TOP, 'build', 'ours', 'obj')
FIRMWARE = os.path.join(TOP, 'build', 'ours', 'firmware')
WORK = os.path.join(TOP, 'build', 'libvirt')
URI = 'qemu:///system'
GUEST_TIMEOUT = int(os.environ.get('GUEST_TIMEOUT', '400'))
DISK_BYTES = 4 * 1024 * 1024
BLK = '0x1af4:0x1042'     # virtio-blk, modern PCI function
NET = '0x1af4:0x1041'     # virtio-net, modern PCI function


def virsh(*args, check=True, timeout=120):
    """Runs virsh against the system URI; returns its stdout."""
    proc = subprocess.run(['virsh', '-c', URI, *args], capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError('virsh %s: %s' % (' '.join(args),
                                             proc.stderr.strip()))
    return proc.stdout


def libvirt_version():
    """(major, minor) of Debian's libvirt daemon (virsh version asks the
    hypervisor too, and there is no QEMU in the host's PATH)."""
    out = subprocess.run(['libvirtd', '--version'], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r'(\d+)\.(\d+)\.\d+', out)
    if not m:
        raise RuntimeError('libvirtd --version: %r' % out)
    return int(m.group(1)), int(m.group(2))


def libvirt_answers():
    try:
        virsh('list', '--all', '--name', timeout=15)
        return True
    except (RuntimeError, subprocess.TimeoutExpired):
        return False


class Daemons:
    """libvirtd and virtlogd from Debian's packages, started only if no
    libvirt answers already; stop() ends only what start() began."""

    PIDFILES = {'virtlogd': '/run/virtlogd.pid', 'libvirtd': '/run/libvirtd.pid'}

    def __init__(self):
        self.started = []

    def start(self):
        if libvirt_answers():
            print('libvirt: using the daemon already running')
            return
        env = dict(os.environ, LIBVIRT_LOG_OUTPUTS='3:file:%s/libvirtd.log' % WORK)
        for daemon in ('virtlogd', 'libvirtd'):
            if self.running(daemon):
                continue        # left by an earlier run: use it, leave it
            subprocess.run([daemon, '--daemon'], check=True, env=env)
            self.started.append(daemon)
        deadline = time.time() + 60
        while not libvirt_answers():
            if time.time() > deadline:
                raise RuntimeError('libvirtd did not answer within 60 s '
                                   '(log: %s/libvirtd.log)' % WORK)
            time.sleep(1)
        print('libvirt: started %s' % ', '.join(self.started))

    def running(self, daemon):
        try:
            with open(self.PIDFILES[daemon]) as f:
                os.kill(int(f.read().split()[0]), 0)
            return True
        except (OSError, ValueError, IndexError):
            return False

    def stop(self):
        for daemon in reversed(self.started):
            try:
                with open(self.PIDFILES[daemon]) as f:
                    pid = int(f.read().split()[0])
                os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError, IndexError):
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.1)
        self.started = []


def qemu_user():
    """The user libvirt runs QEMU as (qemu.conf 'user', Debian's default)."""
    try:
        with open('/etc/libvirt/qemu.conf') as f:
            m = re.search(r'^\s*user\s*=\s*"([^"]+)"', f.read(), re.M)
            if m:
                return m.group(1).lstrip('+')
    except OSError:
        pass
    return 'libvirt-qemu'


def can_run(user, path):
    """Whether USER can reach and execute PATH."""
    return subprocess.run(['runuser', '-u', user, '--', 'test', '-x', path]
                          ).returncode == 0


def guest_initramfs():
    """The guest tests' initramfs for amd64 (make's guest kit)."""
    path = os.path.join(OBJ, 'viommu-guest-kit', 'amd64', 'initramfs.cpio.gz')
    if not os.path.exists(path):
        raise RuntimeError('no guest kit at %s (scripts/guest-kit.sh)' % path)
    return path


# TCG's default CPU (qemu64) has no x2APIC; interrupt remapping in x2APIC
# mode (EIM, XTSup) needs it
X2APIC_CPU = """<cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model>
    <feature policy='require' name='x2apic'/></cpu>"""


def domain_xml(name, emulator, stage, iommu, features, cmdline, cpu=''):
    return """<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{name}</name>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{stage}/vmlinuz</kernel>
    <initrd>{stage}/initrd.img</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet loglevel=4 viommu.disk=1 viommu.net=1 {cmdline}</cmdline>
  </os>
  <features><acpi/><apic/>{features}</features>
  {cpu}
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{emulator}</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' iommu='on' ats='on'/>
      <source file='{stage}/{name}.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'>
      <model type='virtio'/>
      <driver iommu='on'/>
    </interface>
    <serial type='file'>
      <source path='{stage}/{name}.console'/>
      <target port='0'/>
    </serial>
    {iommu}
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-d'/>
    <qemu:arg value='guest_errors'/>
  </qemu:commandline>
</domain>
""".format(name=name, emulator=emulator, stage=stage, iommu=iommu,
           features=features, cmdline=cmdline, cpu=cpu)


class LibvirtTest(unittest.TestCase):
    """A transient libvirt domain per case; see the module's description."""

    daemons = None
    stage = None

    @classmethod
    def setUpClass(cls):
        os.makedirs(WORK, exist_ok=True)
        cls.addClassCleanup(cls.cleanup)
        kernel = os.path.join(OBJ, 'viommu-guest-kit', 'amd64', 'vmlinuz')
        if not os.path.exists(kernel):
            raise RuntimeError('no guest kernel at %s (scripts/guest-kit.sh)' % kernel)
        # Where libvirt's QEMU user can read (a clone under /root is not).
        cls.stage = tempfile.mkdtemp(prefix='qemu-viommu-libvirt.', dir='/var/tmp')
        os.chmod(cls.stage, 0o755)
        shutil.copy(kernel, os.path.join(cls.stage, 'vmlinuz'))
        shutil.copy(guest_initramfs(), os.path.join(cls.stage, 'initrd.img'))
        # `make install` into a scratch PREFIX: what the intel case runs
        cls.prefix = os.path.join(cls.stage, 'prefix')
        subprocess.run([os.path.join(TOP, 'scripts', 'install.sh'), 'install',
                        OBJ, FIRMWARE, cls.prefix], check=True)
        cls.daemons = Daemons()
        cls.daemons.start()
        cls.version = libvirt_version()
        print('libvirt %d.%d' % cls.version)

    @classmethod
    def cleanup(cls):
        if cls.daemons:
            cls.daemons.stop()
        if cls.stage:
            shutil.rmtree(cls.stage, ignore_errors=True)

    def need_libvirt(self, major, minor, what):
        if self.version < (major, minor):
            self.skipTest('%s needs libvirt %d.%d (this is %d.%d)'
                          % ((what, major, minor) + self.version))

    def build_tree_emulator(self):
        emulator = os.path.join(OBJ, 'qemu-system-x86_64')
        if can_run(qemu_user(), emulator):
            return emulator
        print('note: %s cannot run %s (a parent directory is closed to it); '
              'the installed copy stands in' % (qemu_user(), emulator))
        return os.path.join(self.prefix, 'bin', 'qemu-system-x86_64')

    def run_domain(self, name, emulator, iommu, features='', cmdline='',
                   cpu=''):
        """Runs the domain until the guest powers off; returns its results
        (the guest's RESULT lines), the host's disk image digest and the
        libvirt log of the domain (command line and QEMU's stderr)."""
        img = os.path.join(self.stage, name + '.img')
        console = os.path.join(self.stage, name + '.console')
        with open(img, 'wb') as f:
            f.truncate(16 * 1024 * 1024)
        open(console, 'w').close()
        xml = domain_xml(name, emulator, self.stage, iommu, features, cmdline,
                         cpu)
        xml_path = os.path.join(WORK, name + '.xml')
        with open(xml_path, 'w') as f:
            f.write(xml)
        if name in virsh('list', '--all', '--name'):
            virsh('destroy', name, check=False)
        for stale in (name + '.log', name + '.console'):
            if os.path.exists(os.path.join(WORK, stale)):
                os.unlink(os.path.join(WORK, stale))
        t0 = time.time()
        try:
            virsh('create', xml_path)
            while name in virsh('list', '--name').split():
                if time.time() - t0 > GUEST_TIMEOUT:
                    self.fail('%s: guest still running after %d s' % (name, GUEST_TIMEOUT))
                time.sleep(2)
        finally:
            virsh('destroy', name, check=False)
            self.keep_logs(name)
        print('  %s: guest ran %.0f s' % (name, time.time() - t0))
        with open(console, errors='replace') as f:
            text = f.read()
        results = {}
        for m in re.finditer(r'RESULT ([^=\s]+)=(.*?)\r?$', text, re.M):
            results.setdefault(m.group(1), m.group(2))
        with open(img, 'rb') as f:
            host_md5 = hashlib.md5(f.read(DISK_BYTES)).hexdigest()
        with open(os.path.join(WORK, name + '.log'), errors='replace') as f:
            log = f.read()
        # libvirt appends to a domain's log: only this run's part
        return results, host_md5, log[max(log.rfind('starting up'), 0):]

    def run_case(self, name, iommu, emulator=None, features='', cmdline='',
                 cpu=''):
        """Runs domain @name (on @emulator, by default the build tree's
        binary) and prints the command line libvirt gave QEMU; returns it,
        with run_domain()'s results, digest and log."""
        emulator = emulator or self.build_tree_emulator()
        results, host_md5, log = self.run_domain(name, emulator, iommu,
                                                 features, cmdline, cpu)
        cmd = self.command_line(log)
        print('  libvirt ran: %s' % cmd)
        self.assertIn(emulator, cmd)
        return cmd, results, host_md5, log

    def keep_logs(self, name):
        for src in ('/var/log/libvirt/qemu/%s.log' % name,
                    os.path.join(self.stage, name + '.console')):
            if os.path.exists(src):
                dst = os.path.join(WORK, name + ('.log' if src.endswith('.log')
                                                 else '.console'))
                shutil.copy(src, dst)

    def command_line(self, log):
        """The QEMU command line of the last start in a libvirt domain log."""
        text = log.replace('\\\n', ' ')
        line = next((l for l in text.splitlines() if 'qemu-system-x86_64' in l), '')
        self.assertTrue(line, 'no QEMU command line in the libvirt log')
        # from the emulator on (libvirt's environment comes first)
        return line[line.find(' /') + 1:].strip()

    def assert_guest(self, name, results, host_md5, log, table,
                     translated=True):
        """What the guest reported: @table parsed, one IOMMU, virtio-blk and
        virtio-net in DMA groups (with @translated false: no IOMMU device,
        neither in a DMA group), 4 MiB
        written and read back intact, also on the host's image, a DHCP
        lease, no fault on either side."""
        def r(key):
            return results.get(key, '')
        self.assertEqual(r('done'), '1', '%s: the guest did not finish' % name)
        self.assertEqual(r(table), 'present', '%s: ACPI table' % name)
        # an IOMMU that translates nothing registers no IOMMU device: Linux
        # logs "Not attempting DMA translation" and remaps interrupts only
        self.assertEqual(r('iommus'), '1' if translated else '0',
                         '%s: IOMMU devices' % name)
        for dev, what in ((BLK, 'virtio-blk'), (NET, 'virtio-net')):
            group = r('group.' + dev).split(':')[-1]
            if translated:
                self.assertEqual(group, 'DMA', '%s: %s group type'
                                 % (name, what))
            else:
                self.assertNotIn(group, ('DMA', 'DMA-FQ'), '%s: %s translated'
                                 % (name, what))
        self.assertEqual(r('disk.write'), 'ok', '%s: disk write' % name)
        self.assertRegex(r('disk.md5.written'), '^[0-9a-f]{32}$')
        self.assertEqual(r('disk.md5.read'), r('disk.md5.written'),
                         '%s: data read back in the guest' % name)
        self.assertEqual(host_md5, r('disk.md5.written'),
                         '%s: data on the host disk image' % name)
        self.assertEqual(r('net.lease'), '10.0.2.15', '%s: DHCP lease' % name)
        self.assertEqual(r('guest.faults'), '0', '%s: guest-reported faults' % name)
        self.assertNotIn('DMA fault', log, '%s: device-reported faults' % name)

    def test_install_keeps_package_files(self):
        """make install refuses, and writes nothing, when a file it would
        install belongs to a Debian package (dpkg-query stands in here for
        a Debian qemu-system-x86 that owns PREFIX/bin/qemu-system-x86_64)."""
        prefix = os.path.join(self.stage, 'packaged')
        owned = os.path.join(prefix, 'bin', 'qemu-system-x86_64')
        fake = os.path.join(self.stage, 'fake-dpkg')
        os.makedirs(fake)
        with open(os.path.join(fake, 'dpkg-query'), 'w') as f:
            f.write('#!/bin/sh\n[ "$2" = "%s" ] && echo "qemu-system-x86: $2" '
                    '&& exit 0\nexit 1\n' % owned)
        os.chmod(os.path.join(fake, 'dpkg-query'), 0o755)
        env = dict(os.environ, PATH=fake + ':' + os.environ['PATH'])
        proc = subprocess.run([os.path.join(TOP, 'scripts', 'install.sh'), 'install',
                               OBJ, FIRMWARE, prefix], env=env,
                              capture_output=True, text=True)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn('%s (package qemu-system-x86)' % owned, proc.stderr)
        self.assertIn('nothing installed', proc.stderr)
        self.assertFalse(os.path.exists(prefix), 'install wrote under PREFIX')

    def test_virtio(self):
        name = 'viommu-libvirt-virtio'
        cmd, results, host_md5, log = self.run_case(
            name, "<iommu model='virtio'/>", cmdline='iommu.strict=1')
        self.assertNotRegex(cmd, r'\s-L\s', 'libvirt passes no -L')
        self.assertIn('"driver":"virtio-iommu', cmd)
        self.assertRegex(cmd, r'"driver":"virtio-blk-pci","iommu_platform":true,"ats":true')
        self.assertRegex(cmd, r'"driver":"virtio-net-pci","iommu_platform":true')
        self.assert_guest(name, results, host_md5, log, 'viot')

    def test_intel(self):
        name = 'viommu-libvirt-intel'
        cmd, results, host_md5, log = self.run_case(
            name, "<iommu model='intel'><driver intremap='on' caching_mode='on' "
            "iotlb='on'/></iommu>",
            emulator=os.path.join(self.prefix, 'bin', 'qemu-system-x86_64'),
            features="<ioapic driver='qemu'/>",
            cmdline='intel_iommu=on iommu.strict=1')
        self.assertIn('kernel_irqchip=split', cmd)
        self.assertRegex(cmd, r'"driver":"intel-iommu"[^}]*"intremap":"on"')
        self.assertRegex(cmd, r'"driver":"intel-iommu"[^}]*"caching-mode":true')
        self.assertRegex(cmd, r'"driver":"intel-iommu"[^}]*"device-iotlb":true')
        self.assertRegex(cmd, r'"driver":"virtio-blk-pci","iommu_platform":true,"ats":true')
        self.assertRegex(cmd, r'"driver":"virtio-net-pci","iommu_platform":true')
        self.assert_guest(name, results, host_md5, log, 'dmar')
        self.assertIn(results.get('intremap'), ('xapic', 'x2apic'),
                      '%s: the guest enabled interrupt remapping' % name)

    def test_amd(self):
        self.need_libvirt(11, 5, "<iommu model='amd'>")
        name = 'viommu-libvirt-amd'
        cmd, results, host_md5, log = self.run_case(
            name, "<iommu model='amd'><driver intremap='on' xtsup='on' "
            "passthrough='on'/></iommu>",
            features="<ioapic driver='qemu'/>", cpu=X2APIC_CPU,
            cmdline='amd_iommu=on iommu.strict=1')
        # libvirt adds the IOMMU's PCI function, then the IOMMU naming it
        m = re.search(r'"driver":"AMDVI-PCI","id":"([^"]+)"', cmd)
        self.assertTrue(m, 'libvirt added no AMDVI-PCI function')
        self.assertRegex(cmd, r'"driver":"amd-iommu"[^}]*"pci-id":"%s"'
                         % re.escape(m.group(1)))
        self.assertRegex(cmd, r'"driver":"amd-iommu"[^}]*"intremap":"on"')
        self.assertRegex(cmd, r'"driver":"amd-iommu"[^}]*"xtsup":true')
        self.assertRegex(cmd, r'"driver":"amd-iommu"[^}]*"pt":true')
        self.assert_guest(name, results, host_md5, log, 'ivrs')
        self.assertEqual(results.get('intremap'), 'x2apic',
                         '%s: the guest remaps interrupts in x2APIC mode '
                         '(XTSup)' % name)

    def test_virtio_granule(self):
        self.need_libvirt(12, 1, '<granule>')
        name = 'viommu-libvirt-virtio-granule'
        cmd, results, host_md5, log = self.run_case(
            name, "<iommu model='virtio'><driver><granule size='4' unit='KiB'/>"
            "</driver></iommu>", cmdline='iommu.strict=1')
        self.assertRegex(cmd, r'"driver":"virtio-iommu[^}]*"granule":"4k"')
        self.assert_guest(name, results, host_md5, log, 'viot')

    def test_intel_dma_translation(self):
        self.need_libvirt(10, 7, 'dma_translation')
        name = 'viommu-libvirt-intel-ir-only'
        cmd, results, host_md5, log = self.run_case(
            name, "<iommu model='intel'><driver intremap='on' eim='on' "
            "dma_translation='off'/></iommu>",
            features="<ioapic driver='qemu'/>", cpu=X2APIC_CPU,
            cmdline='intel_iommu=on')
        self.assertRegex(cmd, r'"driver":"intel-iommu"[^}]*"dma-translation":false')
        self.assert_guest(name, results, host_md5, log, 'dmar',
                          translated=False)
        self.assertEqual(results.get('intremap'), 'x2apic',
                         '%s: the guest remaps interrupts (EIM)' % name)


if __name__ == '__main__':
    unittest.main(verbosity=2)

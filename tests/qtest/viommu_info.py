#!/usr/bin/env python3
"""query-viommu and "info viommu" (qapi/viommu.json) against known state,
over qtest with a QMP socket, field by field:

- intel-iommu: edu in bypass before translation is on; then legacy tables
  (domain 1, 3 levels, 2 pages): translated, domain 1, 2 mappings; DMA
  through them (translations, IOTLB misses), a page-selective
  invalidation, a DMA fault (reason 6); the decoded root and context
  entries of edu; HMP's "info viommu" saying the same; a device behind a
  PCI bridge found by its bridge's requester ID; self-referencing tables
  counted within bounds (no count, quickly);
- virtio-iommu: edu attached to domain 1 with 2 pages mapped, then one
  unmapped: translated, domain 1, 1 mapping, the mapping listed, one page
  invalidation; another function bypassing;
- amd-iommu: edu in bypass with the IOMMU off; then a device table entry
  (domain 1, mode 3): translated, domain 1, the pages mapped, the global
  invalidation; the decoded device table entry;
- a device that is no PCI device: an error naming it.

Usage: viommu_info.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
import qtest_vtd_blk as blk  # noqa: E402
import hostile_vtd as hv  # noqa: E402
from checks import check, summary  # noqa: E402


def query(m, **args):
    """query-viommu's answer."""
    return m.cmd('query-viommu', **args)['return']


def qmp_args():
    path = os.path.join(tempfile.mkdtemp(), 'qmp.sock')
    return path, ('-qmp', 'unix:%s,server=on,wait=off' % path)


def endpoint(info, bdf):
    return next((e for e in info['endpoints'] if e['bdf'] == bdf), None)


def bdf_of(fn):
    return '00:%02x.%x' % (fn >> 3, fn & 7)


def test_intel(binary, fw):
    path, more = qmp_args()
    v = hv.Vtd(binary, fw, ',aw-bits=39', more +
               ('-device', 'pcie-pci-bridge,id=br0,addr=0x5',
                '-device', 'edu,id=edu1,bus=br0,addr=1'))
    m = qv.Qmp(path)
    edu = bdf_of(v.edu_fn)
    info = query(m)
    check('intel: one IOMMU, its model', len(info) == 1 and
          info[0]['model'] == 'intel-iommu', str(info)[:200])
    ep = endpoint(info[0], edu)
    check('intel: edu in bypass before TE', ep and ep['mode'] == 'bypass' and
          'domain' not in ep, str(ep))
    hv.legacy_tables(v)
    v.q.mem(hv.DATA, bytes(range(256)) * 16)
    v.dma(hv.IOVA, 0x40000, 0x1000, to_ram=False)
    v.dma(hv.IOVA + 0x1000, 0x40000, 0x1000, to_ram=False)
    v.dma(hv.IOVA + 0x3000, 0x40000, 0x1000, to_ram=False)    # not mapped
    v.submit((2 | 3 << 4 | 1 << 16, hv.IOVA))    # page-selective, QI
    info = query(m)[0]
    ep = endpoint(info, edu)
    check('intel: edu translated, domain 1, 2 mappings',
          ep and (ep['mode'], ep.get('domain'), ep.get('mappings')) ==
          ('translated', 1, 2), str(ep))
    check('intel: the device is named by its QOM path',
          ep and ep.get('device', '').startswith('/machine/'), str(ep))
    c = info['counters']
    check('intel: translations and IOTLB misses counted',
          c['translations'] >= 3 and c['iotlb-misses'] >= 2, str(c))
    check('intel: invalidations: 2 global (QI), 1 page',
          (c['inv-global'], c['inv-page']) == (2, 1), str(c))
    check('intel: one fault of reason 6',
          c['faults'] == [{'reason': 6, 'count': 1}], str(c['faults']))
    d = query(m, device=ep['device'])[0].get('detail', {})
    lines = d.get('entries', [])
    check('intel: detail: the root entry of bus 0',
          'root entry 00: 0x0000000000000000 0x%016x' % (hv.CTX | 1) in lines,
          str(lines))
    check('intel: detail: the context entry and its decoding',
          'context entry: 0x%016x 0x%016x' % (1 << 8 | 1, hv.SLPT | 1)
          in lines and 'decoded: translated, domain 1, second stage, 3 '
          'levels, table 0x%x, FPD 0' % hv.SLPT in lines, str(lines))
    hmp = m.cmd('human-monitor-command', **{'command-line': 'info viommu'})
    hmp = hmp.get('return', str(hmp))
    check('intel: info viommu says the same',
          '%s translated domain 1 mappings 2' % edu in hmp and
          'faults of reason 0x6: 1' in hmp, hmp)
    r = m.cmd('query-viommu', device='nosuch')
    check('a device that is none: an error naming it',
          'error' in r and 'nosuch' in r['error']['desc'], str(r))
    d = query(m, device='edu1')[0].get('detail', {})
    # a PCIe-to-PCI bridge takes its devices' DMA as (secondary bus, 0);
    # no firmware numbered the bus here, so 00:00.0
    check('intel: a device behind a PCIe-to-PCI bridge: the bridge\'s '
          'requester ID', d.get('bdf') == '00:00.0', str(d))
    # tables whose every entry points back at their own page: the count
    # stops at its bound, quickly, and says nothing rather than a wrong
    # number
    loop = hv.SLPT + 0x4000
    v.q.mem(loop, struct.pack('<Q', loop | 3) * 512)
    v.q.mem(hv.CTX + 16 * v.edu_fn, struct.pack('<QQ', loop | 1, 1 << 8 | 1))
    v.submit(hv.GOOD['context-cache'], hv.GOOD['iotlb'])
    t0 = time.time()
    ep = endpoint(query(m)[0], edu)
    dt = time.time() - t0
    check('intel: self-referencing tables: no count, in bounded time',
          ep and ep['mode'] == 'translated' and 'mappings' not in ep and
          dt < 20, '%s in %.1f s' % (ep, dt))
    v.close()


def test_virtio(binary, fw):
    path, more = qmp_args()
    q = qv.Qtest(binary, fw, list(more), machine='q35',
                 devices=['-device', 'virtio-iommu-pci', '-device', 'edu',
                          '-device', 'edu'])
    m = qv.Qmp(path)
    iommu_fn = qv.find(q, 0x1af4, 0x1057)
    edus = [fn for fn in range(256)
            if qv.cfg_read(q, fn, 0, 4) == 0x11e81234]
    bars, _ = qv.map_bars(q, iommu_fn, qv.BAR_BASE)
    vi = qv.VirtioIommu(q, iommu_fn, bars)
    vi.init()
    reqs = [(20, qv.attach(1, edus[0])),
            (36, qv.map_req(1, 0x100000, 0x100fff, 0x800000)),
            (36, qv.map_req(1, 0x101000, 0x101fff, 0x900000)),
            (28, qv.unmap_req(1, 0x100000, 0x100fff))]
    vi.setup_slots(reqs)
    vi.kick(len(reqs))
    st = [vi.status(i) for i in range(len(reqs))]
    info = query(m)
    check('virtio: requests done, one IOMMU shown as its PCI function',
          st == [0] * 4 and len(info) == 1 and
          info[0]['model'] == 'virtio-iommu-pci', '%s %s' % (st, info))
    ep = endpoint(info[0], bdf_of(edus[0]))
    check('virtio: edu translated, domain 1, 1 mapping',
          ep and (ep['mode'], ep.get('domain'), ep.get('mappings')) ==
          ('translated', 1, 1), str(ep))
    other = endpoint(info[0], bdf_of(edus[1]))
    check('virtio: the other edu bypasses (no domain, bypass on)',
          other and other['mode'] == 'bypass', str(other))
    check('virtio: one page invalidation (the UNMAP)',
          info[0]['counters']['inv-page'] == 1, str(info[0]['counters']))
    d = query(m, device=ep['device'])[0].get('detail', {})
    check('virtio: detail: the mapping left',
          d.get('mappings') == [{'iova': 0x101000, 'size': 0x1000,
                                 'addr': 0x900000, 'read': True,
                                 'write': True}], str(d))
    q.close()


def test_amd(binary, fw):
    path, more = qmp_args()
    q = qv.Qtest(binary, fw, list(more), machine='q35',
                 devices=['-device', 'amd-iommu', '-device', 'edu'])
    m = qv.Qmp(path)
    fn = qv.find(q, 0x1234, 0x11e8)
    ep = endpoint(query(m)[0], bdf_of(fn))
    check('amd: edu in bypass with the IOMMU off',
          ep and ep['mode'] == 'bypass', str(ep))
    pages = [0x100000, 0x101000, 0x102000]
    blk.amd_tables(q, fn, pages)
    info = query(m)[0]
    ep = endpoint(info, bdf_of(fn))
    check('amd: edu translated, domain 1, 3 mappings',
          info['model'] == 'amd-iommu' and ep and
          (ep['mode'], ep.get('domain'), ep.get('mappings')) ==
          ('translated', 1, 3), str(ep))
    check('amd: the global invalidation (INVALIDATE_IOMMU_ALL)',
          info['counters']['inv-global'] == 1, str(info['counters']))
    d = query(m, device=ep['device'])[0].get('detail', {})
    lines = d.get('entries', [])
    check('amd: detail: the decoded device table entry',
          any(l.startswith('decoded: V 1, domain 1, mode 3, table 0x%x' %
                           blk.AMD_PT) for l in lines), str(lines))
    q.close()


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    test_intel(binary, fw)
    test_virtio(binary, fw)
    test_amd(binary, fw)
    return summary('viommu_info')


if __name__ == '__main__':
    sys.exit(main())

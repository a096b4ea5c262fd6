// The of_* queries on real trees: lookups, typed reads, status, reg/ranges, interrupts and maps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DtQueryError,
  encodeU32,
  ofAddressToResource,
  ofDeviceIsAvailable,
  ofDeviceIsCompatible,
  ofFindCompatibleNodes,
  ofFindNodeByLabel,
  ofFindNodeByPath,
  ofFindNodeByPhandle,
  ofIrqCount,
  ofIrqFindParent,
  ofIrqParseAll,
  ofIrqParseOne,
  ofMatchNode,
  ofMatchString,
  ofNAddrCells,
  ofNSizeCells,
  ofReadBool,
  ofReadString,
  ofReadStrings,
  ofReadU32,
  ofReadU32Array,
  ofReadU64,
  ofRegs,
  ofTranslateAddress,
  parseFdt,
} from '../../dt';
import { fixture } from './helpers';

const features = () => parseFdt(fixture('dtc/features.dtb'));
const qemu = () => parseFdt(fixture('qemu/virt-gicv3-smp4.dtb'));

test('lookups: path, alias with options, label via __symbols__, phandle, compatible', () => {
  const t = features();
  assert.equal(ofFindNodeByPath(t, '/soc/serial@0')!.node.path, '/soc/serial@0');
  const viaAlias = ofFindNodeByPath(t, 'serial0:115200n8')!;
  assert.equal(viaAlias.node.path, '/soc/serial@0');
  assert.equal(viaAlias.options, '115200n8');
  assert.equal(ofFindNodeByPath(t, 'gic/msi-controller@8080000')!.node.path, '/intc@8000000/msi-controller@8080000');
  assert.equal(ofFindNodeByPath(t, 'nosuch'), undefined);
  // a parsed blob has no labels of its own: __symbols__ (dtc -@) supplies them
  assert.equal(ofFindNodeByLabel(t, 'its')!.path, '/intc@8000000/msi-controller@8080000');
  assert.equal(ofFindNodeByLabel(t, 'nope'), undefined);
  const gic = ofFindNodeByLabel(t, 'gic')!;
  assert.equal(ofFindNodeByPhandle(t, gic.phandle!), gic);
  assert.equal(ofFindNodeByPhandle(t.root, 0), undefined);
  assert.deepEqual(ofFindCompatibleNodes(t, 'ARM,PL011').map((n) => n.path), ['/soc/serial@0', '/soc/serial@1000']);
  const uart = t.findNode('/soc/serial@0')!;
  assert.ok(ofDeviceIsCompatible(uart, 'arm,pl011') > ofDeviceIsCompatible(uart, 'arm,primecell'));
  const table = [{ compatible: 'arm,primecell', id: 1 }, { compatible: 'arm,pl011', id: 2 }];
  assert.equal(ofMatchNode(uart, table)!.id, 2);
  assert.equal(ofMatchNode(gic, table), undefined);
});

test('typed reads and their errors', () => {
  const t = features();
  const s = t.findNode('/shapes')!;
  assert.equal(ofReadU32(s, 'negative', 1), 0xfffffffe);
  assert.equal(ofReadU32(s, 'absent'), undefined);
  assert.throws(() => ofReadU32(s, 'negative', 2), (e: unknown) => e instanceof DtQueryError && e.code === 'EOVERFLOW');
  assert.throws(() => ofReadU32(s, 'empty'), (e: unknown) => e instanceof DtQueryError && e.code === 'ENODATA');
  assert.equal(ofReadU64(s, 'u64', 0), 0x123456789abcdef0n);
  assert.throws(() => ofReadU32Array(s, 'three-bytes'), (e: unknown) => e instanceof DtQueryError && e.code === 'EINVAL');
  assert.deepEqual(ofReadStrings(t.findNode('/soc/serial@0')!, 'clock-names'), ['uartclk', 'apb_pclk']);
  assert.equal(ofReadString(t.findNode('/soc/serial@0')!, 'clock-names', 1), 'apb_pclk');
  assert.equal(ofMatchString(t.findNode('/soc/serial@0')!, 'clock-names', 'apb_pclk'), 1);
  assert.throws(() => ofReadStrings(s, 'u16'), (e: unknown) => e instanceof DtQueryError && e.code === 'EINVAL');
  assert.equal(ofReadBool(s, 'empty'), true);
  assert.equal(ofReadBool(s, 'absent'), false);
});

test('status', () => {
  const t = features();
  assert.equal(ofDeviceIsAvailable(t.findNode('/soc/serial@0')!), true);
  assert.equal(ofDeviceIsAvailable(t.findNode('/soc/serial@1000')!), false);
  assert.equal(ofDeviceIsAvailable(t.findNode('/cpus')!), true);
  const n = t.findNode('/cpus')!;
  n.setString('status', 'ok');
  assert.equal(ofDeviceIsAvailable(n), true);
  n.setString('status', 'fail');
  assert.equal(ofDeviceIsAvailable(n), false);
});

test('reg decoding and ranges translation', () => {
  const t = features();
  assert.deepEqual(ofRegs(t.findNode('/memory@40000000')!), [
    { address: 0x40000000n, size: 0x40000000n },
    { address: 0x880000000n, size: 0x10000000n },
  ]);
  const uart = t.findNode('/soc/serial@1000')!;
  assert.equal(ofNAddrCells(uart), 1);
  assert.equal(ofNSizeCells(uart), 1);
  assert.deepEqual(ofRegs(uart), [{ address: 0x1000n, size: 0x1000n }]);
  assert.deepEqual(ofAddressToResource(uart), { start: 0x9001000n, size: 0x1000n });
  // outside the bus window: not translatable
  assert.equal(ofTranslateAddress(uart, 0x2000000n), undefined);
  // `ranges;` (empty) is an identity mapping
  assert.deepEqual(ofAddressToResource(t.findNode('/intc@8000000/msi-controller@8080000')!), { start: 0x8080000n, size: 0x20000n });
  // no `ranges` on the bus: not translatable (cpus have reg but no ranges above)
  assert.equal(ofAddressToResource(t.findNode('/cpus/cpu@1')!), undefined);
  const bad = t.findNode('/soc')!.addChild('bad@0');
  bad.setProperty('reg', new Uint8Array(6));
  assert.throws(() => ofRegs(bad), (e: unknown) => e instanceof DtQueryError && e.code === 'EINVAL');
});

test('PCI: ranges by address space, interrupt-map to the GIC (QEMU virt)', () => {
  const t = qemu();
  const host = t.findNode('/pcie@10000000')!;
  const dev = host.addChild('ethernet@1,0');
  // config-space unit address of device 1, function 0; INTA
  dev.setU32('reg', [0x800, 0, 0, 0, 0]);
  dev.setU32('interrupts', [1]);
  assert.equal(ofIrqFindParent(dev), host);
  const irq = ofIrqParseOne(dev)!;
  assert.equal(irq.controller.path, '/intc@8000000');
  assert.deepEqual(irq.args, [0, 4, 4]); // device 1, INTA -> SPI 4, level high (QEMU swizzle)
  dev.setU32('interrupts', [3]);
  assert.deepEqual(ofIrqParseOne(dev)!.args, [0, 6, 4]);
  // a 32-bit memory BAR and an I/O BAR translate through the host bridge's ranges
  assert.equal(ofTranslateAddress(dev, (0x02000000n << 64n) | 0x10001000n), 0x10001000n);
  assert.equal(ofTranslateAddress(dev, (0x01000000n << 64n) | 0x100n), 0x3eff0100n);
  assert.equal(ofTranslateAddress(dev, (0x03000000n << 64n) | 0x80_0000_1000n), 0x80_0000_1000n);
});

test('interrupts: interrupt-parent walking, interrupts-extended, counts', () => {
  const t = features();
  const gic = t.findNode('/intc@8000000')!;
  const uart = t.findNode('/soc/serial@0')!;
  assert.equal(ofIrqFindParent(uart), gic); // inherited from / (interrupt-parent = <&gic>)
  assert.equal(ofIrqCount(uart), 1);
  assert.deepEqual(ofIrqParseOne(uart), { controller: gic, args: [0, 1, 4] });
  const ext = t.findNode('/soc/serial@1000')!;
  assert.deepEqual(ofIrqParseAll(ext), [{ controller: gic, args: [0, 2, 4] }]);
  assert.equal(ofIrqParseOne(ext, 1), undefined);
  // QEMU: every virtio-mmio transport's SPI
  const q = qemu();
  const spis = ofFindCompatibleNodes(q, 'virtio,mmio').map((n) => ofIrqParseOne(n)!.args[1]);
  assert.deepEqual(spis.slice(0, 4), [16, 17, 18, 19]);
  // a dangling interrupts-extended phandle
  ext.setProperty('interrupts-extended', encodeU32([0x7777, 1, 2, 3]));
  assert.throws(() => ofIrqParseOne(ext), (e: unknown) => e instanceof DtQueryError && e.code === 'ENOENT');
  // a cycle of interrupt-parent without any #interrupt-cells ends in an error, not a hang
  const a = t.root.addChild('loop-a');
  const b = t.root.addChild('loop-b');
  a.setU32('phandle', 0x5001);
  b.setU32('phandle', 0x5002);
  a.setU32('interrupt-parent', 0x5002);
  b.setU32('interrupt-parent', 0x5001);
  a.setU32('interrupts', [1]);
  assert.equal(ofIrqFindParent(a), undefined);
  assert.throws(() => ofIrqParseOne(a), DtQueryError);
});

test('ofReadCells joins cells as #address-cells does', async () => {
  const { ofReadCells } = await import('../../dt');
  const t = features();
  const mem = t.findNode('/memory@40000000')!;
  assert.equal(ofReadCells(mem, 'reg', 4, 2), 0x880000000n);
  assert.throws(() => ofReadCells(mem, 'reg', 7, 2), (e: unknown) => e instanceof DtQueryError && e.code === 'EOVERFLOW');
});

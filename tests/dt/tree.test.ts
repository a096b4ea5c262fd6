// The tree model: ordering, lookups as libfdt matches paths, typed values, and misuse errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceTree, DtTreeError, encodeU32, decodeStringList, readCells } from '../../dt';

test('nodes and properties keep insertion order and paths', () => {
  const t = new DeviceTree();
  const cpus = t.root.addChild('cpus');
  cpus.setU32('#address-cells', 1);
  cpus.setU32('#size-cells', 0);
  const c1 = cpus.addChild('cpu@1');
  const c0 = cpus.addChild('cpu@0');
  c0.setString('device_type', 'cpu');
  assert.deepEqual(cpus.children.map((c) => c.name), ['cpu@1', 'cpu@0']);
  assert.deepEqual(cpus.properties.map((p) => p.name), ['#address-cells', '#size-cells']);
  assert.equal(c0.path, '/cpus/cpu@0');
  assert.equal(c1.unitAddress, '1');
  assert.equal(c1.nodeName, 'cpu');
  assert.equal(t.findNode('/cpus/cpu@0'), c0);
  // libfdt matches a component without unit address against the first `name@...` child
  assert.equal(t.findNode('/cpus/cpu'), c1);
  assert.equal(t.findNode('/cpus/cpu@2'), undefined);
  assert.deepEqual([...t.walk()].map((n) => n.path), ['/', '/cpus', '/cpus/cpu@1', '/cpus/cpu@0']);
});

test('setting a property keeps its position; typed getters check the shape', () => {
  const t = new DeviceTree();
  const n = t.root.addChild('n');
  n.setU32('a', 1);
  n.setStringList('compatible', ['x,y', 'z']);
  n.setU32('a', [2, 3]);
  assert.deepEqual(n.properties.map((p) => p.name), ['a', 'compatible']);
  assert.deepEqual(n.u32s('a'), [2, 3]);
  assert.equal(n.u32('a'), undefined);
  assert.deepEqual(n.strings('compatible'), ['x,y', 'z']);
  assert.equal(n.string('compatible'), 'x,y');
  n.setU64('reg', 0x1_0000_0000n);
  assert.equal(n.u64('reg'), 0x1_0000_0000n);
  assert.equal(readCells(n.value('reg')!, 0, 2), 0x1_0000_0000n);
  assert.deepEqual([...encodeU32(-1)], [0xff, 0xff, 0xff, 0xff]);
  assert.equal(decodeStringList(new Uint8Array([0x61, 0, 0])), undefined);
});

test('misuse is a DtTreeError', () => {
  const t = new DeviceTree();
  t.root.addChild('a');
  assert.throws(() => t.root.addChild('a'), DtTreeError);
  assert.throws(() => t.root.addChild('x/y'), DtTreeError);
  assert.throws(() => t.root.setU32('p', 2 ** 32), DtTreeError);
  assert.throws(() => t.root.setString('s', 'a\0b'), DtTreeError);
  assert.throws(() => t.root.rename('r'), DtTreeError);
});

test('phandles, labels and clones', () => {
  const t = new DeviceTree();
  const gic = t.root.addChild('intc@8000000', ['gic']);
  gic.setU32('phandle', 1);
  t.root.addChild('x').setU32('linux,phandle', 7);
  assert.equal(t.nodeByPhandle(1), gic);
  assert.equal(t.maxPhandle(), 7);
  assert.equal(t.nodeByLabel('gic'), gic);
  const copy = t.clone();
  copy.findNode('/intc@8000000')!.setU32('phandle', 2);
  assert.equal(gic.phandle, 1);
  assert.equal(copy.nodeByPhandle(2)?.path, '/intc@8000000');
});

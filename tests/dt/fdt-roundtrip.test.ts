// parseFdt/toFdt on real blobs: dtc-made blobs come back byte for byte, QEMU's libfdt blobs come back as
// dtc (strings 'dtc') or libfdt's fdt_pack (strings 'keep') would write them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesEqual, parseFdt, toFdt, walkFdt, FdtReader, type FdtVisitor } from '../../dt';
import { dtcFixtures, firstDiff, fixture, needTool, qemuFixtures, runTool } from './helpers';

test('dtc-compiled blobs round-trip byte for byte', () => {
  for (const f of dtcFixtures()) {
    const b = fixture(f);
    const out = toFdt(parseFdt(b));
    assert.ok(bytesEqual(out, b), `${f}: ${firstDiff(out, b)}`);
    const rebuilt = toFdt(parseFdt(b), { strings: 'dtc' });
    assert.ok(bytesEqual(rebuilt, b), `${f} (strings rebuilt): ${firstDiff(rebuilt, b)}`);
  }
});

test('QEMU virt blobs serialize as dtc -I dtb -O dtb and as fdt_pack', () => {
  const names = qemuFixtures();
  assert.ok(names.length >= 5, 'QEMU fixtures present');
  for (const f of names) {
    const t = parseFdt(fixture(f));
    const asDtc = toFdt(t, { strings: 'dtc' });
    const dtcRef = fixture(f.replace(/\.dtb$/, '.dtc.dtb'));
    assert.ok(bytesEqual(asDtc, dtcRef), `${f} vs dtc: ${firstDiff(asDtc, dtcRef)}`);
    const packed = toFdt(t);
    const packRef = fixture(f.replace(/\.dtb$/, '.packed.dtb'));
    assert.ok(bytesEqual(packed, packRef), `${f} vs fdt_pack: ${firstDiff(packed, packRef)}`);
    // and a dtc-made blob round-trips exactly
    assert.ok(bytesEqual(toFdt(parseFdt(asDtc)), asDtc));
  }
});

test('differential: toFdt equals live dtc -I dtb -O dtb', { skip: needTool('dtc') }, () => {
  for (const f of [...qemuFixtures(), ...dtcFixtures()]) {
    const b = fixture(f);
    const { outputs } = runTool('dtc', (d) => ['-q', '-I', 'dtb', '-O', 'dtb', '-o', `${d}/out.dtb`, `${d}/in.dtb`], { 'in.dtb': b }, ['out.dtb']);
    const ours = toFdt(parseFdt(b), { strings: 'dtc' });
    assert.ok(bytesEqual(ours, outputs[0]!), `${f}: ${firstDiff(ours, outputs[0]!)}`);
  }
});

test('parsed tree content: QEMU virt', () => {
  const t = parseFdt(fixture('qemu/virt-gicv3-smp4.dtb'));
  assert.equal(t.root.string('compatible'), 'linux,dummy-virt');
  const cpus = t.findNode('/cpus')!;
  assert.equal(cpus.children.filter((c) => c.nodeName === 'cpu').length, 4);
  const mem = t.findNode('/memory@40000000')!;
  assert.deepEqual(mem.u32s('reg'), [0, 0x40000000, 0, 0x80000000]);
  assert.equal(t.memReserve.length, 0);
  assert.equal(t.bootCpuidPhys, 0);
  const gic = t.nodeByPhandle(t.root.u32('interrupt-parent')!)!;
  assert.match(gic.path, /^\/intc@/);
  assert.deepEqual(gic.strings('compatible'), ['arm,gic-v3']);
});

test('parsed tree content: memreserve, boot cpu, order', () => {
  const t = parseFdt(fixture('dtc/features.dtb'));
  assert.deepEqual(t.memReserve, [
    { address: 0x10000000n, size: 0x4000n },
    { address: 0x880000000n, size: 0x200000n },
  ]);
  assert.deepEqual(t.root.children.map((c) => c.name).slice(0, 4), ['aliases', 'chosen', 'cpus', 'memory@40000000']);
  assert.deepEqual(t.findNode('/shapes')!.value('u16'), new Uint8Array([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]));
  t.bootCpuidPhys = 3;
  assert.equal(parseFdt(toFdt(t)).bootCpuidPhys, 3);
});

test('walk visits every node and property in order without building a tree', () => {
  const b = fixture('qemu/virt-el2.dtb');
  const r = new FdtReader(b);
  const events: string[] = [];
  const v: FdtVisitor = {
    beginNode: (s, e, depth) => events.push(`${'  '.repeat(depth)}${r.name(s, e) || '/'}`),
    property: (n, _vs, len) => events.push(`  ${r.propName(n)}=${len}`),
    endNode: () => events.push('end'),
  };
  const end = r.walk(v);
  assert.equal(end, r.layout.structEnd);
  let count = 0;
  walkFdt(b, { beginNode: () => count++, property() {}, endNode() {} });
  const t = parseFdt(b);
  let nodes = 0;
  let props = 0;
  for (const n of t.walk()) {
    nodes++;
    props += n.properties.length;
  }
  assert.equal(events.filter((e) => e === 'end').length, nodes);
  assert.equal(count, nodes);
  assert.equal(events.filter((e) => /^  \S+=\d+$/.test(e)).length, props);
});

test('a tree built from scratch serializes and parses back', () => {
  const t = parseFdt(fixture('dtc/features.dtb'));
  const fresh = t.clone();
  fresh.stringsBlock = undefined;
  fresh.root.addChild('added@1').setU32('reg', 1);
  fresh.root.removeChild('shapes');
  const back = parseFdt(toFdt(fresh));
  assert.equal(back.findNode('/added@1')!.u32('reg'), 1);
  assert.equal(back.findNode('/shapes'), undefined);
  assert.deepEqual(toFdt(back), toFdt(fresh));
});

test('strings table shares suffixes exactly as dtc does', () => {
  const t = parseFdt(fixture('dtc/features.dtb'));
  const b = toFdt(t, { strings: 'dtc' });
  const dv = new DataView(b.buffer);
  const strings = new TextDecoder().decode(b.subarray(dv.getUint32(12), dv.getUint32(12) + dv.getUint32(32)));
  // "size-cells", "address-cells" and "cells" are tails of "#size-cells"/"#address-cells": not stored again
  assert.equal(strings.split('\0').filter((s) => s.endsWith('cells')).sort().join(','), '#address-cells,#clock-cells,#interrupt-cells,#msi-cells,#size-cells');
});

test('toFdt refuses trees it cannot write faithfully', async () => {
  const { DeviceTree, DtNode, DtTreeError } = await import('../../dt');
  const t = new DeviceTree();
  t.memReserve.push({ address: 0x1000n, size: 0n });
  assert.throws(() => toFdt(t), DtTreeError);
  const u = new DeviceTree();
  const bad = new DtNode('a/b');
  bad.parent = u.root;
  u.root.children.push(bad);
  assert.throws(() => toFdt(u), DtTreeError);
});

test("'keep' reproduces padding bytes of parsed values only, never bytes from an unrelated shared buffer", () => {
  const f = 'qemu/virt-default.dtb';
  const t = parseFdt(fixture(f));
  for (const n of t.walk()) for (const p of n.properties) void p.value; // materialize every view
  assert.ok(bytesEqual(toFdt(t), fixture(f.replace(/\.dtb$/, '.packed.dtb'))), 'read values keep their padding');
  // a blob in Node's shared Buffer pool, and a new value from the same pool
  const pooled = Buffer.from(fixture('dtc/features.dtb'));
  const tree = parseFdt(pooled);
  // a value that shares the blob's buffer but lies outside its structure block (in its strings)
  const stringsAt = new DataView(pooled.buffer, pooled.byteOffset).getUint32(12);
  const v = new Uint8Array(pooled.buffer, pooled.byteOffset + stringsAt, 3);
  tree.findNode('/shapes')!.setProperty('three-bytes', v);
  const out = toFdt(tree);
  const back = parseFdt(out);
  assert.deepEqual([...back.findNode('/shapes')!.value('three-bytes')!], [...v]);
  const r = new FdtReader(out);
  let padding = -1;
  r.walk({
    beginNode() {},
    endNode() {},
    property(name, valueStart, len) {
      if (r.propName(name) === 'three-bytes') padding = out[valueStart + len]!;
    },
  });
  assert.equal(padding, 0, 'padding after a value from outside the blob is zero');
});

// compileDts's tree: labels, phandles, reservations, plugin flag, warnings and options, read without dtc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { compileDts, toFdt, parseFdt } from '../../../dt/index';
import { compileText, dtsFixtureDir, includeDir } from './helpers';

const V1 = '/dts-v1/;\n';
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

test('labels land on nodes and properties in dtc order (latest added first)', () => {
  const { tree } = compileText(`${V1}/ {\n\ta: b: n { x: y: p = <1>; };\n};\nc: &a { };\n&b { d: n2 { }; };\n`);
  const n = tree.findNode('/n')!;
  assert.deepEqual(n.labels, ['c', 'a', 'b']);
  assert.deepEqual(n.property('p')!.labels, ['x', 'y']);
  assert.deepEqual(tree.findNode('/n/n2')!.labels, ['d']);
});

test('deleted labels are gone; a node brought back keeps only new labels', () => {
  const { tree } = compileText(`${V1}/ { old: n { p; }; };\n/delete-node/ &old;\n/ { fresh: n { q; }; };\n`);
  const n = tree.findNode('/n')!;
  assert.deepEqual(n.labels, ['fresh']);
  assert.deepEqual(n.properties.map((p) => p.name), ['q']);
});

test('phandles: allocated in reference order, appended as the last property', () => {
  const { tree } = compileText(`${V1}/ {\n\tuser { r = <&b &a &b>; };\n\ta: a { x; };\n\tb: b { y; };\n};\n`);
  assert.equal(hex(tree.findNode('/user')!.value('r')), '000000010000000200000001');
  assert.deepEqual(tree.findNode('/a')!.properties.map((p) => p.name), ['x', 'phandle']);
  assert.equal(tree.findNode('/b')!.phandle, 1);
  assert.equal(tree.findNode('/a')!.phandle, 2);
});

test('phandleFormat: legacy and both (dtc -H)', () => {
  const src = `${V1}/ { u { r = <&a>; }; a: a { }; };\n`;
  const names = (format: 'legacy' | 'both' | 'epapr') =>
    compileText(src, {}, { phandleFormat: format }).tree.findNode('/a')!.properties.map((p) => p.name);
  assert.deepEqual(names('legacy'), ['linux,phandle']);
  assert.deepEqual(names('both'), ['linux,phandle', 'phandle']);
  assert.deepEqual(names('epapr'), ['phandle']);
});

test('-@: __symbols__ lists every label with its path and labelled nodes get phandles', () => {
  const { tree } = compileText(`${V1}/ { a: b: n { c: m { }; }; plain { }; };\n`, {}, { symbols: true });
  const sym = tree.findNode('/__symbols__')!;
  assert.deepEqual(
    sym.properties.map((p) => [p.name, Buffer.from(p.value).toString()]),
    [
      ['a', '/n\0'],
      ['b', '/n\0'],
      ['c', '/n/m\0'],
    ],
  );
  assert.equal(tree.findNode('/n')!.phandle, 1);
  assert.equal(tree.findNode('/n/m')!.phandle, 2);
  assert.equal(tree.findNode('/plain')!.phandle, undefined);
});

test('/plugin/: fragments, __fixups__ and __local_fixups__', () => {
  const r = compileText(`${V1}/plugin/;\n&ext { l: n { r = <&ext &l>; }; };\n&{/path} { p; };\n`);
  assert.equal(r.plugin, true);
  const t = r.tree;
  assert.equal(hex(t.findNode('/fragment@0')!.value('target')), 'ffffffff');
  assert.equal(Buffer.from(t.findNode('/fragment@1')!.value('target-path')!).toString(), '/path\0');
  assert.equal(hex(t.findNode('/fragment@0/__overlay__/n')!.value('r')), 'ffffffff00000001');
  assert.equal(
    Buffer.from(t.findNode('/__fixups__')!.value('ext')!).toString(),
    '/fragment@0:target:0\0/fragment@0/__overlay__/n:r:0\0',
  );
  assert.equal(hex(t.findNode('/__local_fixups__/fragment@0/__overlay__/n')!.value('r')), '00000004');
  assert.equal(compileText(`${V1}/ { };\n`).plugin, false);
});

test('/memreserve/ entries keep source order and labels; the boot CPU comes from /cpus', () => {
  const { tree } = compileText(`${V1}/memreserve/ 0x2000 0x10;\nx: /memreserve/ (1 << 32) 0x1000;\n/ { cpus { cpu@5 { reg = <5>; }; cpu@1 { reg = <1>; }; }; };\n`);
  assert.deepEqual(tree.memReserve, [
    { address: 0x2000n, size: 0x10n },
    { address: 1n << 32n, size: 0x1000n, labels: ['x'] },
  ]);
  assert.equal(tree.bootCpuidPhys, 5);
});

test('values: strings, escapes, UTF-8, cells, bits, bytes, expressions', () => {
  const { tree } = compileText(
    `${V1}/ { s = "a\\tb\\x41\\101\\0z", "grüße"; c = <1 (-1) ('a' + 1)>; b8 = /bits/ 8 <1 (-1)>; b64 = /bits/ 64 <(1 << 40)>; by = [0aFF]; u = <(0 - 1 > 0)>; };\n`,
  );
  const v = (n: string) => hex(tree.root.value(n));
  assert.equal(v('s'), `${Buffer.from('a\tbAA\0z\0').toString('hex')}${Buffer.from('grüße\0').toString('hex')}`);
  assert.equal(v('c'), '00000001ffffffff00000062');
  assert.equal(v('b8'), '01ff');
  assert.equal(v('b64'), '0000010000000000');
  assert.equal(v('by'), '0aff');
  assert.equal(v('u'), '00000001');
});

test('path references become the target\'s path, phandle offsets move with them', () => {
  const { tree } = compileText(`${V1}/plugin/;\n/ { l: n { p = &l, <&x>; }; };\n`);
  assert.equal(Buffer.from(tree.findNode('/n')!.value('p')!).toString('latin1'), '/n\0\xff\xff\xff\xff');
  assert.equal(Buffer.from(tree.findNode('/__fixups__')!.value('x')!).toString(), '/n:p:3\0');
});

test('a source as bytes compiles like the same text', () => {
  const text = `${V1}/ { s = "ünïcode"; };\n`;
  assert.deepEqual(toFdt(compileDts(new TextEncoder().encode(text)).tree), toFdt(compileDts(text).tree));
});

test('warnings are collected with positions and check names, not thrown', () => {
  const r = compileText(`${V1}/ {\n\tmodel = <1>;\n\tnode@1 { };\n};\n`);
  const w = r.warnings.map((d) => `${d.line}:${d.column} ${d.check} ${d.severity}`);
  assert.ok(w.includes('3:2 model_is_string warning'), w.join('\n'));
  assert.ok(w.includes('4:2 unit_address_vs_reg warning'), w.join('\n'));
  const same = compileText(`${V1}/ { p; /delete-property/ p; };\n`);
  assert.match(same.warnings[0]!.message, /\/delete-property\/ p has no effect/);
  assert.ok(same.tree.root.has('p'));
});

test('without readFile, includes are read from the file system (under Node.js)', () => {
  const path = join(dtsFixtureDir, 'includes.dts');
  const r = compileDts(readFileSync(path), { fileName: path, includeDirs: [includeDir] });
  assert.equal(r.tree.findNode('/header-node')!.string('nested'), 'found next to header.dtsi');
  assert.equal(hex(r.tree.root.value('blob-part')), Buffer.from('456789ab').toString('hex'));
});

test('the compiled tree is a plain DeviceTree: it serializes and parses back', () => {
  const { tree } = compileText(`${V1}/ { a: n { r = <&a>; s = "x"; }; };\n`);
  const back = parseFdt(toFdt(tree));
  assert.equal(back.findNode('/n')!.phandle, 1);
  assert.equal(back.findNode('/n')!.string('s'), 'x');
});

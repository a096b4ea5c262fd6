// toDts against dtc's decompiler: golden files from dtc 1.6.1, live dtc on random trees, and dtc
// compiling the printed text back to the same blob.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeviceTree, bytesEqual, guessValueType, parseFdt, propertyValueText, toDts, toFdt } from '../../dt';
import { deviceTree } from './arbitrary';
import { dtcFixtures, dtcSeries, firstDiff, fixture, fixtureText, needTool, qemuFixtures, runTool } from './helpers';

test('golden: toDts equals dtc 1.6.1 -I dtb -O dts (and -s) on every fixture', () => {
  for (const f of [...qemuFixtures(), ...dtcFixtures()]) {
    const t = parseFdt(fixture(f));
    assert.equal(toDts(t), fixtureText(f.replace(/\.dtb$/, '.dts.out')), f);
    assert.equal(toDts(t, { sort: true }), fixtureText(f.replace(/\.dtb$/, '.sorted.dts.out')), `${f} sorted`);
  }
});

test('value guessing: strings, cells, bytes as treesource.c decides', () => {
  const v = (...b: number[]) => new Uint8Array(b);
  assert.equal(guessValueType(v(0x61, 0)), 'string');
  assert.equal(guessValueType(v(0)), 'bytes'); // one NUL: more NULs than characters
  assert.equal(guessValueType(v(0, 0, 0, 0)), 'cells');
  assert.equal(guessValueType(v(0x61, 0, 0x62, 0)), 'string'); // two NULs, two characters
  assert.equal(guessValueType(v(0x61, 0, 0, 0)), 'cells');
  assert.equal(guessValueType(v(0x80, 0)), 'bytes'); // not printable in the C locale
  assert.equal(guessValueType(v(9, 10, 0)), 'string');
  assert.equal(propertyValueText(v()), ';');
  assert.equal(propertyValueText(v(0x61, 0, 0x62, 0)), ' = "a\\0b";');
  assert.equal(propertyValueText(v(0x61, 0, 0x62, 0), '1.7'), ' = "a", "b";');
  assert.equal(propertyValueText(v(0x22, 0x5c, 7, 8, 9, 10, 11, 12, 13, 0)), ' = "\\"\\\\\\a\\b\\t\\n\\v\\f\\r";');
  assert.equal(propertyValueText(v(0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef)), ' = <0x01 0xdeadbeef>;');
  assert.equal(propertyValueText(v(1, 2, 0xff)), ' = [01 02 ff];');
});

test('a name property that repeats the node name is dropped, as dtc drops it', () => {
  const t = new DeviceTree();
  const a = t.root.addChild('uart@1000');
  a.setString('name', 'uart');
  a.setU32('reg', 0x1000);
  t.root.addChild('b').setString('name', 'other');
  const text = toDts(t);
  assert.doesNotMatch(text, /name = "uart"/);
  assert.match(text, /name = "other"/);
  // one `name` that is not a single string anywhere: dtc skips the whole check, nothing is dropped
  t.root.addChild('c').setStringList('name', ['x', 'y']);
  assert.match(toDts(t), /name = "uart"/);
});

test('labels are printed where the tree has them', () => {
  const t = new DeviceTree();
  t.memReserve.push({ address: 0x1000n, size: 0x10n, labels: ['r'] });
  const n = t.root.addChild('n', ['l1', 'l2']);
  n.setU32('p', 1).labels.push('pl');
  assert.equal(
    toDts(t),
    '/dts-v1/;\n\nr: /memreserve/\t0x0000000000001000 0x0000000000000010;\n/ {\n\nl1: l2: n {\n\t\tpl: p = <0x01>;\n\t};\n};\n'.replace(
      'l1: l2: n {\n\t\tpl',
      '\tl1: l2: n {\n\t\tpl',
    ),
  );
});

const dtcDialect = () => (dtcSeries() === '1.7' ? '1.7' : '1.6');
const dtcPrints = (): string | false => {
  const missing = needTool('dtc');
  if (missing) return missing;
  const s = dtcSeries();
  return s === '1.6' || s === '1.7' ? false : `dtc ${s} prints DTS differently from the 1.6/1.7 dialects toDts reproduces`;
};

test('differential: random trees print as dtc prints them, sorted and not', { skip: dtcPrints() }, () => {
  fc.assert(
    fc.property(deviceTree, fc.boolean(), (t, sort) => {
      const blob = toFdt(t);
      const args = (d: string) => ['-q', '-f', ...(sort ? ['-s'] : []), '-I', 'dtb', '-O', 'dts', `${d}/i.dtb`];
      const { stdout } = runTool('dtc', args, { 'i.dtb': blob });
      assert.equal(toDts(t, { sort, dialect: dtcDialect() }), stdout.toString('latin1'));
    }),
    { seed: 4242, numRuns: 150 },
  );
});

/**
 * dtc prints an embedded NUL as `\0` even before a digit, and its lexer then reads `\01` as one octal
 * escape: such text does not compile back to the same bytes, in dtc itself. Those trees are skipped.
 */
function printsAmbiguousEscape(t: DeviceTree): boolean {
  for (const n of t.walk()) {
    for (const p of n.properties) {
      const v = p.value;
      if (guessValueType(v) !== 'string') continue;
      for (let i = 0; i + 1 < v.length - 1; i++) if (v[i] === 0 && v[i + 1]! >= 0x30 && v[i + 1]! <= 0x37) return true;
    }
  }
  return false;
}

test('differential: dtc compiles the printed text back to the same blob', { skip: needTool('dtc') }, () => {
  fc.assert(
    fc.property(deviceTree, (t) => {
      fc.pre(!printsAmbiguousEscape(t));
      const blob = toFdt(t);
      // the DTS has no place for the boot CPU: dtc takes it from -b
      const args = (d: string) => ['-q', '-f', '-b', String(t.bootCpuidPhys), '-I', 'dts', '-O', 'dtb', `${d}/i.dts`];
      const { stdout } = runTool('dtc', args, { 'i.dts': toDts(t) });
      const back = new Uint8Array(stdout);
      assert.ok(bytesEqual(back, blob), firstDiff(back, blob));
    }),
    { seed: 99, numRuns: 150 },
  );
});

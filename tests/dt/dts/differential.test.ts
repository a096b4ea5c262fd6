// The DTS compiler against dtc: every fixture compiles to the very bytes dtc writes (plain and with -@),
// checked against committed golden blobs always and against the installed dtc when there is one.
import { test } from 'node:test';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileDts, toFdt } from '../../../dt/index';
import { fixture, fixtureDir, needTool, runTool } from '../helpers';
import { assertSameBytes, compileFixture, dtsFixtureDir, dtsFixtures, includeDir } from './helpers';

const noDtc = needTool('dtc');

for (const name of dtsFixtures()) {
  for (const symbols of [false, true]) {
    const flag = symbols ? ' -@' : '';
    const golden = join(dtsFixtureDir, 'golden', name.replace(/\.dts$/, symbols ? '.sym.dtb' : '.dtb'));

    test(`${name}${flag}: the same bytes as dtc's golden blob`, () => {
      assertSameBytes(compileFixture(name, symbols), new Uint8Array(readFileSync(golden)), name);
    });

    test(`${name}${flag}: the same bytes as the installed dtc`, { skip: noDtc }, () => {
      const src = join(dtsFixtureDir, name);
      const { stdout } = runTool('dtc', () => ['-q', '-i', includeDir, '-I', 'dts', '-O', 'dtb', ...(symbols ? ['-@'] : []), src]);
      assertSameBytes(compileFixture(name, symbols), new Uint8Array(stdout), name);
    });
  }
}

// The dt library's fixtures: dtc's printout of each QEMU virt dump compiles to what dtc makes of the dump,
// and its feature source compiles (with -@) to the blob dtc made of it.
const qemuPrinted = readdirSync(join(fixtureDir, 'qemu')).filter((f) => /^virt-[^.]+\.dts\.out$/.test(f)).sort();
for (const printed of qemuPrinted) {
  test(`qemu/${printed}: compiles to dtc's rebuild of the QEMU blob`, () => {
    const path = join(fixtureDir, 'qemu', printed);
    const ours = toFdt(compileDts(readFileSync(path), { fileName: path }).tree);
    assertSameBytes(ours, fixture(`qemu/${printed.replace(/\.dts\.out$/, '.dtc.dtb')}`), printed);
  });
}

test('dtc/features.dts -@: compiles to the blob dtc made of it', () => {
  const path = join(fixtureDir, 'dtc', 'features.dts');
  const ours = toFdt(compileDts(readFileSync(path), { fileName: path, symbols: true }).tree);
  assertSameBytes(ours, fixture('dtc/features.dtb'), 'features.dts');
});

// dtc -H: which phandle properties are written.
for (const name of ['labels-refs.dts', 'phandles.dts', 'plugin.dts']) {
  for (const format of ['legacy', 'both'] as const) {
    test(`${name} -H ${format}: the same bytes as the installed dtc`, { skip: noDtc }, () => {
      const src = join(dtsFixtureDir, name);
      const { stdout } = runTool('dtc', () => ['-q', '-H', format, '-@', '-I', 'dts', '-O', 'dtb', src]);
      const ours = toFdt(compileDts(readFileSync(src), { fileName: src, symbols: true, phandleFormat: format }).tree);
      assertSameBytes(ours, new Uint8Array(stdout), name);
    });
  }
}

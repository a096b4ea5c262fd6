// applyOverlayFdt/applyOverlay against fdtoverlay: golden outputs from dtc 1.6.1's fdtoverlay, live
// fdtoverlay on random (base, overlay) pairs, error cases, and the base left untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { DeviceTree, DtbError, applyOverlay, applyOverlayFdt, bytesEqual, parseFdt, toFdt } from '../../dt';
import { firstDiff, fixture, fixtureDir, fixtureText, needTool, runTool, toolVersion } from './helpers';
import { overlayCase } from './overlay-arbitrary';

const cases: Array<[string, string, string[]]> = [
  ['basic', 'dtc/features.dtb', ['basic']],
  ['fragments', 'dtc/features.dtb', ['fragments']],
  ['both', 'dtc/features.dtb', ['basic', 'fragments']],
  ['twice', 'dtc/features.dtb', ['fragments', 'fragments']],
  ['qemu', 'qemu/virt-gicv3-smp4.dtb', ['qemu-chosen']],
  ['qemu-fragments', 'qemu/virt-default.dtb', ['qemu-chosen', 'fragments']],
  ['bad-label', 'dtc/features.dtb', ['bad-label']],
  ['bad-path', 'dtc/features.dtb', ['bad-path']],
];

test('golden: applyOverlayFdt equals fdtoverlay 1.6.1 byte for byte, or fails where it fails', () => {
  for (const [name, base, ovs] of cases) {
    const baseBlob = fixture(base);
    const before = baseBlob.slice();
    const overlays = ovs.map((o) => fixture(`overlay/${o}.dtbo`));
    if (existsSync(join(fixtureDir, `overlay/${name}.out.dtb`))) {
      const out = applyOverlayFdt(baseBlob, overlays);
      const ref = fixture(`overlay/${name}.out.dtb`);
      assert.ok(bytesEqual(out, ref), `${name}: ${firstDiff(out, ref)}`);
    } else {
      const code = /FDT_ERR_\w+/.exec(fixtureText(`overlay/${name}.err`))![0];
      assert.throws(
        () => applyOverlayFdt(baseBlob, overlays),
        (e: unknown) => e instanceof DtbError && e.message.includes(code),
        name,
      );
    }
    assert.ok(bytesEqual(baseBlob, before), `${name}: the base blob is unchanged`);
  }
});

test('merged content: labels resolved, phandles renumbered, symbols added', () => {
  const base = parseFdt(fixture('dtc/features.dtb'));
  const out = applyOverlay(base, parseFdt(fixture('overlay/basic.dtbo')));
  const uart = out.findNode('/soc/serial@0')!;
  assert.equal(uart.string('status'), 'disabled');
  // a new property goes first, as libfdt inserts it; an existing one keeps its place
  assert.deepEqual(uart.properties.map((p) => p.name), ['new-prop', 'compatible', 'reg', 'interrupts', 'clocks', 'clock-names', 'status', 'phandle']);
  const clk = out.findNode('/apb-pclk')!;
  assert.deepEqual(uart.u32s('clocks'), [clk.phandle!]);
  const dev = out.findNode('/soc/newdev@3000')!;
  const mux = out.findNode('/soc/mux@4000')!;
  assert.ok(mux.phandle! > base.maxPhandle(), 'overlay phandles moved above the base maximum');
  assert.deepEqual(dev.u32s('interrupts-extended'), [out.findNode('/intc@8000000')!.phandle!, 0, 5, 4, mux.phandle!, 1]);
  assert.equal(dev.findChild('child')!.u32('peer'), dev.phandle);
  assert.equal(out.findNode('/__symbols__')!.string('mydev'), '/soc/newdev@3000');
  // the tree given as base is untouched
  assert.equal(base.findNode('/soc/serial@0')!.string('status'), 'okay');
  assert.equal(base.findNode('/soc/newdev@3000'), undefined);
  // and the tree-level result serializes to fdtoverlay's bytes
  assert.ok(bytesEqual(toFdt(out), fixture('overlay/basic.out.dtb')));
});

test('errors: unresolvable label and target, malformed fixups', () => {
  const base = fixture('dtc/features.dtb');
  assert.throws(() => applyOverlayFdt(base, [fixture('overlay/bad-label.dtbo')]), /label "no_such_label" is not in the base's \/__symbols__/);
  assert.throws(() => applyOverlayFdt(base, [fixture('overlay/bad-path.dtbo')]), /base has no node "\/does\/not\/exist"/);
  // a fixup entry without its offset
  const ov = parseFdt(fixture('overlay/basic.dtbo'));
  const fx = ov.findNode('/__fixups__')!;
  fx.setStringList(fx.properties[0]!.name, ['/fragment@0:target']);
  assert.throws(() => applyOverlayFdt(base, [toFdt(ov)]), /FDT_ERR_BADOVERLAY.*malformed entry/);
  // a fragment with neither target nor target-path
  const ov2 = parseFdt(fixture('overlay/fragments.dtbo'));
  ov2.findNode('/fragment@0')!.removeProperty('target-path');
  assert.throws(() => applyOverlayFdt(base, [toFdt(ov2)]), /FDT_ERR_BADOVERLAY.*neither target nor target-path/);
  // a malformed overlay blob
  assert.throws(() => applyOverlayFdt(base, [new Uint8Array(8)], { names: ['x.dtbo'] }), /^DtbError|x\.dtbo: bad magic/);
});

/** A base node /a (phandle 5) and an overlay that merges a node with its own phandle into it. */
function phandleClash(): { base: DeviceTree; overlay: DeviceTree } {
  const base = new DeviceTree();
  base.root.addChild('a').setU32('phandle', 5);
  base.root.addChild('user').setU32('ref', 5);
  const ov = new DeviceTree();
  const frag = ov.root.addChild('fragment@0');
  frag.setString('target-path', '/');
  const body = frag.addChild('__overlay__');
  body.addChild('a').setU32('phandle', 1);
  body.addChild('b').setU32('ref', [1, 0x77]);
  ov.root.addChild('__local_fixups__').addChild('fragment@0').addChild('__overlay__').addChild('b').setU32('ref', [0]);
  return { base, overlay: ov };
}

test('libfdt 1.6 lets an overlay phandle replace the base one; 1.7 keeps the base phandle', () => {
  const { base, overlay } = phandleClash();
  const v16 = applyOverlay(base, overlay);
  assert.equal(v16.findNode('/a')!.phandle, 6); // 1 + the base's largest phandle
  assert.deepEqual(v16.findNode('/b')!.u32s('ref'), [6, 0x77]);
  const v17 = applyOverlay(base, overlay, { libfdt: '1.7' });
  assert.equal(v17.findNode('/a')!.phandle, 5);
  assert.deepEqual(v17.findNode('/b')!.u32s('ref'), [5, 0x77]);
  assert.equal(v17.findNode('/user')!.u32('ref'), 5);
  // without __symbols__ in the base, a label fixup fails as each version fails
  const ov = parseFdt(fixture('overlay/bad-label.dtbo'));
  assert.throws(() => applyOverlay(base, ov), /FDT_ERR_NOTFOUND/);
  assert.throws(() => applyOverlay(base, ov, { libfdt: '1.7' }), /FDT_ERR_BADOFFSET/);
});

/** The libfdt behaviour of the installed fdtoverlay: 1.6.x, or 1.7 and later. */
const fdtoverlayLibfdt = (): '1.6' | '1.7' => (/DTC 1\.6\./.test(toolVersion('fdtoverlay') ?? '') ? '1.6' : '1.7');

test('differential: the phandle clash as the installed fdtoverlay resolves it', { skip: needTool('fdtoverlay') }, () => {
  const { base, overlay } = phandleClash();
  const b = toFdt(base);
  const o = toFdt(overlay);
  const theirs = runTool('fdtoverlay', (d) => ['-i', `${d}/b.dtb`, '-o', `${d}/o.dtb`, `${d}/v.dtbo`], { 'b.dtb': b, 'v.dtbo': o }, ['o.dtb']).outputs[0]!;
  const ours = applyOverlayFdt(b, [o], { libfdt: fdtoverlayLibfdt() });
  assert.ok(bytesEqual(ours, theirs), firstDiff(ours, theirs));
});

test('differential: random overlays apply as fdtoverlay applies them', { skip: needTool('fdtoverlay') }, () => {
  const libfdt = fdtoverlayLibfdt();
  fc.assert(
    fc.property(overlayCase, ({ base, overlays }) => {
      const b = toFdt(base);
      const os = overlays.map((o) => toFdt(o));
      let ours: Uint8Array | Error;
      try {
        ours = applyOverlayFdt(b, os, { libfdt });
      } catch (e) {
        ours = e as Error;
      }
      let theirs: Uint8Array | Error;
      try {
        const files: Record<string, Uint8Array> = { 'b.dtb': b };
        os.forEach((o, i) => (files[`v${i}.dtbo`] = o));
        const args = (d: string) => ['-i', `${d}/b.dtb`, '-o', `${d}/o.dtb`, ...os.map((_, i) => `${d}/v${i}.dtbo`)];
        theirs = runTool('fdtoverlay', args, files, ['o.dtb']).outputs[0]!;
      } catch (e) {
        theirs = new Error(String((e as { stderr?: Buffer }).stderr ?? e));
      }
      if (theirs instanceof Error) {
        assert.ok(ours instanceof DtbError, `fdtoverlay failed (${theirs.message.trim()}) but applyOverlayFdt did not`);
        const code = /FDT_ERR_\w+/.exec(theirs.message)?.[0];
        if (code) assert.match(ours.message, new RegExp(code));
      } else {
        assert.ok(!(ours instanceof Error), `applyOverlayFdt failed: ${(ours as Error).message}`);
        assert.ok(bytesEqual(ours, theirs), firstDiff(ours, theirs));
      }
    }),
    { seed: 31337, numRuns: 200 },
  );
});

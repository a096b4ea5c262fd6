// The "GYTS" guest image format and the machine's decoder: golden header bytes, every malformed field
// rejected with its code, programs run from VM memory with one module instance per VM shared by its
// vCPUs (PSCI CPU_ON to a named entry), and corrupted or unmapped images fault the vCPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  crc32,
  encodeImage,
  entryOffset,
  Hvc,
  IMAGE_CODE0,
  IMAGE_MAGIC,
  ImageError,
  imageDecoderStats,
  parseImage,
  type Hypervisor,
} from '../../../firmware/hypervisor/index';
import { buildVm, ok, RAM_BASE, runRoot } from './harness';

const enc = new TextEncoder();

test('crc32 matches the IEEE check value', () => {
  assert.equal(crc32(enc.encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  // Continuation equals one pass.
  const a = enc.encode('hello, ');
  const b = enc.encode('world');
  assert.equal(crc32(b, crc32(a)), crc32(enc.encode('hello, world')));
});

test('encodeImage lays the header out as documented (golden bytes)', () => {
  const text = 'module.exports={main(){},secondary(){}}';
  const img = encodeImage({ text, entries: ['main', 'secondary'] });
  const dv = new DataView(img.buffer);
  assert.equal(dv.getUint32(0, true), IMAGE_CODE0, 'code0 @0');
  assert.equal(dv.getUint32(4, true), 0, 'code1 @4');
  assert.equal(dv.getBigUint64(8, true), 128n, 'text_offset @8 = 64 + 2*32');
  assert.equal(dv.getBigUint64(16, true), BigInt(128 + text.length), 'image_size @16');
  assert.equal(dv.getBigUint64(24, true), 0n, 'flags @24');
  assert.equal(dv.getUint32(32, true), text.length, 'text_size @32');
  assert.equal(dv.getUint32(36, true), crc32(enc.encode(text)), 'text_crc32 @36');
  assert.equal(dv.getUint32(40, true), 2, 'entry_count @40');
  assert.deepEqual([...img.subarray(56, 60)], [...enc.encode('GYTS')], 'magic @56');
  assert.equal(dv.getUint32(56, true), IMAGE_MAGIC);
  assert.equal(dv.getUint32(60, true), 1, 'version @60');
  assert.equal(dv.getUint32(64, true), 0, 'entry 0 (main) is at the base');
  assert.equal(new TextDecoder().decode(img.subarray(68, 72)), 'main');
  assert.equal(img[72], 0, 'name NUL-padded');
  assert.equal(dv.getUint32(96, true), 96, 'entry 1 is at its own descriptor');
  assert.equal(entryOffset(1), 96);
  assert.equal(new TextDecoder().decode(img.subarray(128)), text);
  const p = parseImage(img);
  assert.deepEqual(p.entries, [
    { name: 'main', offset: 0 },
    { name: 'secondary', offset: 96 },
  ]);
  assert.equal(p.text, text);
});

test('encodeImage refuses bad entry tables', () => {
  assert.throws(() => encodeImage({ text: '', entries: ['start'] }), ImageError);
  assert.throws(() => encodeImage({ text: '', entries: ['main', 'main'] }), ImageError);
  assert.throws(() => encodeImage({ text: '', entries: ['main', 'a-b'] }), ImageError);
  assert.throws(() => encodeImage({ text: '', entries: ['main', 'x'.repeat(28)] }), ImageError);
  assert.throws(() => encodeImage({ text: '', entries: ['main'], kind: 'native-app' }), /first entry of a native-app image must be "app"/);
  assert.throws(() => encodeImage({ text: '', entries: ['app'] }), /first entry of a guest image must be "main"/);
});

test('a native-app image: flag bit 0 in the header, entry 0 "app"', () => {
  const img = encodeImage({ text: 'module.exports.app = () => {}', entries: ['app'], kind: 'native-app' });
  assert.equal(new DataView(img.buffer).getBigUint64(24, true), 1n);
  const p = parseImage(img);
  assert.equal(p.header.kind, 'native-app');
  assert.deepEqual(p.entries, [{ name: 'app', offset: 0 }]);
  assert.equal(parseImage(encodeImage({ text: '', entries: ['main'] })).header.kind, 'guest');
});

test('parseImage names the bad field of every corrupted header', () => {
  const good = encodeImage({ text: 'module.exports={main(){}}', entries: ['main'] });
  const cases: [string, (b: Uint8Array, dv: DataView) => void, string][] = [
    ['magic', (_b, dv) => dv.setUint32(56, 0x4d5a0000, true), 'magic'],
    ['version', (_b, dv) => dv.setUint32(60, 2, true), 'version'],
    ['code0', (_b, dv) => dv.setUint32(0, 0xd503201f, true), 'header'],
    ['code1', (_b, dv) => dv.setUint32(4, 1, true), 'header'],
    ['flags', (_b, dv) => dv.setBigUint64(24, 2n, true), 'header'],
    ['native-app flag on a guest table', (_b, dv) => dv.setBigUint64(24, 1n, true), 'entry'],
    ['reserved', (_b, dv) => dv.setUint32(44, 7, true), 'header'],
    ['entry_count 0', (_b, dv) => dv.setUint32(40, 0, true), 'header'],
    ['entry_count huge', (_b, dv) => dv.setUint32(40, 0xffff, true), 'header'],
    ['text_offset', (_b, dv) => dv.setBigUint64(8, 200n, true), 'header'],
    ['image_size', (_b, dv) => dv.setBigUint64(16, 1n << 60n, true), 'header'],
    ['text_size', (_b, dv) => dv.setUint32(32, 0x7fff_ffff, true), 'header'],
    ['crc', (_b, dv) => dv.setUint32(36, 0x1234, true), 'crc'],
    ['text byte', (b) => (b[100] = b[100]! ^ 0x20), 'crc'],
    ['entry offset', (_b, dv) => dv.setUint32(64, 4, true), 'entry'],
    ['entry name', (b) => b.set(enc.encode('mane'), 68), 'entry'],
    ['entry name padding', (b) => (b[80] = 0x41), 'entry'],
  ];
  for (const [what, mutate, code] of cases) {
    const b = good.slice();
    mutate(b, new DataView(b.buffer));
    assert.throws(
      () => parseImage(b),
      (e: unknown) => e instanceof ImageError && e.code === code,
      what,
    );
  }
  assert.throws(
    () => parseImage(good.subarray(0, 40)),
    (e: unknown) => e instanceof ImageError && e.code === 'truncated',
  );
  assert.throws(
    () => parseImage(good.subarray(0, good.length - 1)),
    (e: unknown) => e instanceof ImageError && e.code === 'truncated',
  );
});

test('parseImage never throws anything but ImageError on random mutations', () => {
  const good = encodeImage({ text: 'module.exports={main(){},b(){}}', entries: ['main', 'b'] });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (muts) => {
      const b = good.slice();
      for (const [i, v] of muts) b[i] = v;
      try {
        parseImage(b);
      } catch (e) {
        assert.ok(e instanceof ImageError, String(e));
      }
    }),
    { seed: 7, numRuns: 400 },
  );
});

// A guest program in plain CommonJS: counts entries in module state it shares between its vCPUs and
// records the count in guest memory; main powers vCPU 1 on at the image's "secondary" entry.
const PROGRAM = `
let entered = 0;
async function cpuOn(cpu, mpidr, entry) {
  cpu.x[0] = 0xC4000003n; cpu.x[1] = mpidr; cpu.x[2] = entry; cpu.x[3] = 0n;
  await cpu.hvc(0);
  return cpu.x[0];
}
module.exports = {
  async main(cpu, image) {
    entered++;
    cpu.write32(image.base + 0x10000n, entered);
    cpu.write64(image.base + 0x10008n, cpu.x[0]);
    await cpuOn(cpu, 1n, image.entry('secondary'));
  },
  async secondary(cpu, image) {
    entered++;
    cpu.write32(image.base + 0x10004n, entered);
  },
};
`;

const IPA = 0x8000_0000;

/** Find a VM's vCPU objects by VMID (tests reach into the hypervisor). */
function vcpusOf(hv: Hypervisor, vmid: number): { vstate: number; faultReason: unknown; index: number }[] {
  const out = [];
  for (const o of hv.objects) {
    const v = o as unknown as { type: number; vmid?: number; vstate: number; faultReason: unknown; index: number };
    if (v.type === 5 /* THREAD */ && v.vmid === vmid) out.push(v);
  }
  return out;
}

test('programs run from VM memory, one instance per VM shared by its vCPUs, compiled once', async () => {
  const image = encodeImage({ text: PROGRAM, entries: ['main', 'secondary'] });
  const pas = [RAM_BASE + 0x1000_0000, RAM_BASE + 0x1100_0000];
  const before = { ...imageDecoderStats };
  const r = await runRoot(async (cpu, env, rg) => {
    for (const [i, pa] of pas.entries()) {
      rg.machine.mem.write(pa, image);
      const vm = await buildVm(cpu, env, rg.machine, { vmid: 40 + i, pa, size: 0x10_0000, ipaBase: IPA, entry: IPA + 0x8_0000, vcpus: 2, psci: true, noPowerOn: true, code: () => {} });
      await ok(cpu, Hvc.VCPU_POWERON, vm.vcpus[0]!, IPA, 0x1234, 0);
    }
    await cpu.spin(5_000_000);
  });
  for (const pa of pas) {
    const out = new Uint8Array(16);
    r.machine.mem.read(pa + 0x10000, out);
    const dv = new DataView(out.buffer);
    assert.equal(dv.getUint32(0, true), 1, 'main entered first');
    assert.equal(dv.getUint32(4, true), 2, 'secondary shares the module state of its VM');
    assert.equal(dv.getBigUint64(8, true), 0x1234n, 'x0 at entry is the power-on context');
  }
  assert.equal(imageDecoderStats.instantiations - before.instantiations, 2, 'one instance per VM');
  assert.ok(imageDecoderStats.compiles - before.compiles <= 1, 'the text is compiled at most once');
  assert.deepEqual(r.hv.checkInvariants(), []);
});

test('a corrupted image, a bad entry and an unmapped PC fault the vCPU with the reason', async () => {
  const good = encodeImage({ text: PROGRAM, entries: ['main', 'secondary'] });
  const corrupt = good.slice();
  corrupt[good.length - 3] = corrupt[good.length - 3]! ^ 1;
  const noMain = encodeImage({ text: 'module.exports = { secondary() {} };', entries: ['main', 'secondary'] });
  const throwsAtInit = encodeImage({ text: 'throw new Error("boom");', entries: ['main'] });
  const app = encodeImage({ text: 'module.exports = { app() {}, main() {} };', entries: ['app'], kind: 'native-app' });
  const cases: { img: Uint8Array; pc: number; expect: RegExp }[] = [
    { img: corrupt, pc: IPA, expect: /CRC-32/ },
    { img: noMain, pc: IPA, expect: /"main" is not a function/ },
    { img: throwsAtInit, pc: IPA, expect: /initialisation threw: boom/ },
    { img: app, pc: IPA, expect: /is a native-app image: the hypervisor loads it, a vCPU cannot run it/ },
    { img: good, pc: IPA + 0x40, expect: /no code at PC/ },
    { img: good, pc: IPA + 0x20_0000, expect: /not mapped executable/ },
  ];
  const r = await runRoot(async (cpu, env, rg) => {
    for (const [i, c] of cases.entries()) {
      const pa = RAM_BASE + 0x1000_0000 + i * 0x10_0000;
      rg.machine.mem.write(pa, c.img);
      const vm = await buildVm(cpu, env, rg.machine, { vmid: 50 + i, pa, size: 0x10_0000, ipaBase: IPA, entry: IPA + 0x8_0000, noPowerOn: true, code: () => {} });
      await ok(cpu, Hvc.VCPU_POWERON, vm.vcpus[0]!, c.pc, 0, 0);
    }
    await cpu.spin(1_000_000);
  });
  for (const [i, c] of cases.entries()) {
    const [v] = vcpusOf(r.hv, 50 + i);
    assert.ok(v, `vm ${50 + i}`);
    assert.equal(v.vstate, 4 /* VState.FAULT */, `case ${i}: halted`);
    assert.match(String(v.faultReason), c.expect, `case ${i}`);
  }
  assert.deepEqual(r.hv.checkInvariants(), []);
});

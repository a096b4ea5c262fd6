// Platform boot (spec §23): the board description, the primary VM's DT compared node for node with
// QEMU's mach-virt DT (fixture dumped by `qemu-system-aarch64 -machine virt,gic-version=3,
// dumpdtb=... -cpu cortex-a57 -smp 2 -m 2048`, QEMU 7.2), dtc's verdict, and the booted primary
// VM's DT with the RM's /hypervisor node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeviceTree, parseFdt, readCells, toFdt, type DtNode } from '../../../dt';
import { formatViolation, loadBindings } from '../../../bindings';
import { BoardError, bootPlatform, buildPrimaryDtb, parseBoard } from '../../../firmware/platform';
import { HLOS_HYPERVISOR_COMPATIBLE, HLOS_RM_COMPATIBLE } from '../../../firmware/rm';
import { boardTree } from '../rm/harness';

const here = dirname(fileURLToPath(import.meta.url));
const qemuDtb = () => new Uint8Array(readFileSync(join(here, 'fixtures', 'qemu-virt-gicv3-a57-smp2-2g.dtb')));

function have(tool: string, args = ['--version']): boolean {
  return spawnSync(tool, args, { stdio: 'ignore' }).status === 0;
}

function dtcWarnings(dtb: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'platform-dtc-'));
  writeFileSync(join(dir, 'x.dtb'), dtb);
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-o', '/dev/null', join(dir, 'x.dtb')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

function ours(): DeviceTree {
  return buildPrimaryDtb({
    cpus: [{ compatible: 'arm,cortex-a57' }, { compatible: 'arm,cortex-a57' }],
    memory: { base: 0x4000_0000n, size: 0x8000_0000n },
    gic: { gicdBase: 0x0800_0000n, gicrBase: 0x080a_0000n, gicrStride: 0x2_0000n },
    seed: new Uint8Array(40),
  });
}

/** Properties that legitimately differ: random seeds, and the GICR range (QEMU reserves 123 frames). */
const DIFFERENT = new Set(['/chosen:rng-seed', '/chosen:kaslr-seed', '/intc@8000000:reg']);

test('the primary VM DT matches QEMU virt node for node', () => {
  const q = parseFdt(qemuDtb());
  const o = ours();
  const compare = (n: DtNode) => {
    const qn = q.findNode(n.path);
    assert.ok(qn, `QEMU has ${n.path}`);
    assert.deepEqual(n.properties.map((p) => p.name), qn.properties.filter((p) => n.has(p.name) || !['stdout-path'].includes(p.name)).map((p) => p.name).filter((x) => n.has(x)), `${n.path}: property order`);
    for (const p of n.properties) {
      if (DIFFERENT.has(`${n.path}:${p.name}`)) continue;
      assert.deepEqual(p.value, qn.value(p.name), `${n.path}: ${p.name}`);
    }
    for (const c of n.children) compare(c);
  };
  compare(o.root);
  // What we leave out is what this machine does not have.
  const missing = q.root.children.map((c) => c.name).filter((n) => !o.root.child(n));
  assert.ok(missing.every((n) => /^(platform-bus|fw-cfg|virtio_mmio|gpio-keys|pl061|pcie|pl031|pl011|pmu|flash|apb-pclk)/.test(n)), missing.join(','));
  assert.deepEqual(o.findNode('/intc@8000000')!.u32s('reg'), [0, 0x0800_0000, 0, 0x1_0000, 0, 0x080a_0000, 0, 0x4_0000]);
});

test('dtc decompiles the primary VM DT without warnings', { skip: !have('dtc') && 'dtc (device-tree-compiler) is not installed' }, () => {
  assert.equal(dtcWarnings(toFdt(ours())), '');
});

test('QEMU produces the fixture', { skip: !have('qemu-system-aarch64') && 'qemu-system-aarch64 is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'platform-qemu-'));
  const out = join(dir, 'virt.dtb');
  execFileSync('qemu-system-aarch64', ['-machine', `virt,gic-version=3,dumpdtb=${out}`, '-cpu', 'cortex-a57', '-smp', '2', '-m', '2048', '-nographic'], { stdio: 'ignore' });
  const fresh = parseFdt(new Uint8Array(readFileSync(out)));
  const fixture = parseFdt(qemuDtb());
  // Same nodes (the seeds in /chosen differ from run to run).
  const names = (t: DeviceTree) => [...t.walk()].map((n) => n.path);
  assert.deepEqual(names(fresh), names(fixture));
});

test('a booted board: the RM patched /hypervisor into the primary VM DT and powered it on with x0 = its IPA', async () => {
  let x0 = -1n;
  const p = bootPlatform(boardTree({ cpus: 2 }), { hypervisor: { capIds: 'debug' }, primaryEntry: (cpu) => void (x0 = cpu.x[0]!) });
  await p.machine.runUntil(() => x0 >= 0n);
  assert.equal(x0, p.primary.dtBase);
  const dt = parseFdt(p.readPrimaryDtb());
  const hyp = dt.findNode('/hypervisor')!;
  assert.deepEqual(hyp.strings('compatible'), [...HLOS_HYPERVISOR_COMPATIBLE]);
  assert.equal(dt.findNode('/hypervisor/qcom,gunyah-vm')!.u32('qcom,vmid'), 3);
  const rpc = hyp.children.find((c) => c.name.startsWith('qcom,resource-manager-rpc@'))!;
  const tx = readCells(rpc.value('reg')!, 0, 2)!;
  assert.equal(rpc.name, `qcom,resource-manager-rpc@${tx.toString(16)}`);
  assert.deepEqual(rpc.strings('compatible'), [...HLOS_RM_COMPATIBLE]);
  assert.deepEqual(['qcom,free-irq-start', 'qcom,tx-message-size', 'qcom,rx-queue-depth'].map((n) => rpc.u32(n)), [960, 240, 8]);
  assert.deepEqual(rpc.u32s('interrupts'), [0, 928, 1, 0, 929, 1]);
  // Everything else is the platform's DT as written.
  const before = parseFdt(p.baseDtb);
  for (const n of before.walk()) assert.ok(dt.findNode(n.path), n.path);
  assert.deepEqual(loadBindings().validateTree(dt).map(formatViolation), []);
  if (have('dtc')) assert.equal(dtcWarnings(p.readPrimaryDtb()), '');
  assert.deepEqual(p.hv.checkInvariants(), []);
});

test('boards the platform refuses', () => {
  const t = boardTree();
  t.root.child('cpus')!.removeChild('cpu@0');
  assert.throws(() => parseBoard(t), (e: unknown) => e instanceof BoardError && /numbered 0..n-1/.test(e.message));
  const t2 = boardTree();
  t2.root.removeChild('memory@40000000');
  assert.throws(() => parseBoard(t2), /no memory node/);
  const t3 = boardTree();
  t3.root.child('hypervisor')!.setU64('rm-memory-size', 0x123n);
  assert.throws(() => parseBoard(t3), /rm-memory-size/);
  assert.throws(() => parseBoard(new DeviceTree()), /\/cpus is missing/);
  const b = parseBoard(boardTree({ cpus: 3, seed: 7 }));
  assert.deepEqual([b.cpus.length, b.seed, b.rmMemorySize, b.ram], [3, 7, 0x100_0000n, [{ base: 0x4000_0000n, size: 0x8000_0000n }]]);
});

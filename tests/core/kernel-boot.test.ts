// Kernel boot on the fake machine: GIC and arch timer probe (with deferral: the timer comes first in
// probe order only if the GIC is ready), dmesg, device list, timers firing on virtual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startKernel, KernelBootError } from '../../core/index';
import { FakeMachine } from './helpers/fake-machine';
import { buildBoard } from './helpers/board';

function psciHandler(m: FakeMachine) {
  m.hvcHandler = (cpu) => {
    if (cpu.x[0] === 0x84000000n) cpu.x[0] = 0x10001n; // PSCI 1.1
    else cpu.x[0] = BigInt.asUintN(64, -1n);
  };
}

test('boots: GICv3 and the arch timer bind, dmesg tells the story', async () => {
  const m = new FakeMachine();
  psciHandler(m);
  const tree = buildBoard();
  const k = await startKernel(m.cpus[0]!, tree);
  const devs = k.devices();
  assert.deepEqual(
    devs.map((d) => [d.name, d.driver, d.state]),
    [
      ['psci', undefined, 'unbound'],
      ['3fff0000.intc', 'gic-v3', 'bound'],
      ['timer', 'arch_timer', 'bound'],
    ],
  );
  const dmesg = k.dmesg();
  assert.match(dmesg, /Booting gunyah-ts kernel on physical CPU 0x0000000000 \[kernel\d+\]/);
  assert.match(dmesg, /psci: PSCIv1\.1 detected in firmware\./);
  assert.match(dmesg, /GICv3: 64 SPIs implemented/);
  assert.match(dmesg, /arch_timer: cp15 timer\(s\) running at 62\.50MHz \(virt\)\./);
  // The GIC driver enabled affinity routing and group 1 in the distributor.
  assert.equal(m.gic.ctlr, 0x13n);
  // The virtual timer PPI is enabled in CPU0's redistributor and configured level.
  assert.ok(m.gic.ppiEnabled[0]!.has(27));
  assert.equal(m.gic.isEdge(27), false);
  await k.shutdown();
});

test('timers fire on virtual time through the timer interrupt', async () => {
  const m = new FakeMachine();
  psciHandler(m);
  const k = await startKernel(m.cpus[0]!, buildBoard());
  const fired: number[] = [];
  k.clock.after(5_000_000, () => fired.push(k.clock.now()));
  k.clock.after(1_000_000, () => fired.push(k.clock.now()));
  await m.advance(2_000_000);
  assert.equal(fired.length, 1);
  assert.ok(fired[0]! >= 1_000_000 && fired[0]! < 1_100_000);
  await m.advance(4_000_000);
  assert.equal(fired.length, 2);
  assert.ok(fired[1]! >= 5_000_000);
  // Sleeping resolves on virtual time too.
  let woke = false;
  void k.clock.sleep(3_000_000).then(() => (woke = true));
  await m.advance(2_000_000);
  assert.equal(woke, false);
  await m.advance(2_000_000);
  assert.equal(woke, true);
  await k.shutdown();
});

test('a DT without memory refuses to boot with a clear message', async () => {
  const m = new FakeMachine();
  const tree = buildBoard();
  tree.root.removeChild(tree.root.children.find((n) => n.nodeName === 'memory')!);
  await assert.rejects(startKernel(m.cpus[0]!, tree), (e: unknown) => {
    assert.ok(e instanceof KernelBootError);
    assert.match(e.message, /Kernel panic - not syncing: memory layout: .*no RAM/);
    assert.match(e.dmesg, /Booting gunyah-ts kernel/);
    return true;
  });
});

import { toFdt } from '../../dt/index';
import { bootKernel, secondaryEntry, mpidrAffinity, type Kernel } from '../../core/index';
import type { FakeCpu } from './helpers/fake-machine';

const DTB_AT = 0x80f0_0000n;

function placeDtb(m: FakeMachine, blob: Uint8Array, at = DTB_AT): void {
  m.write(at, blob);
}

test('bootKernel reads the DTB from guest memory and keeps it out of the page allocator', async () => {
  const m = new FakeMachine();
  psciHandler(m);
  const blob = toFdt(buildBoard());
  placeDtb(m, blob);
  const k = await bootKernel(m.cpus[0]!, DTB_AT);
  assert.deepEqual(
    k.devices().map((d) => d.state),
    ['unbound', 'bound', 'bound'],
  );
  const dtb = k.mm.layout.reserved.find((r) => r.name === 'DTB')!;
  assert.deepEqual([dtb.base, dtb.size], [DTB_AT, BigInt(blob.length)]);
  assert.equal(k.mm.pages.isAllocated(DTB_AT, 1), false);
  assert.ok(k.mm.layout.usable.every((r) => r.base + r.size <= DTB_AT || r.base >= DTB_AT + BigInt(blob.length)));
  await k.shutdown();
});

test('bad DTBs refuse the boot with a typed error naming the problem', async () => {
  const cases: [string, (m: FakeMachine) => bigint, RegExp][] = [
    ['unmapped address', () => 0x1000n, /DTB at 0x1000: header not readable/],
    ['misaligned', () => DTB_AT + 4n, /not 8-byte aligned/],
    ['bad magic', (m) => (placeDtb(m, new Uint8Array(64).fill(0xee)), DTB_AT), /bad magic 0xeeeeeeee/],
    [
      'totalsize beyond MAX_FDT_SIZE',
      (m) => {
        const b = toFdt(buildBoard());
        new DataView(b.buffer, b.byteOffset).setUint32(4, 3 << 20);
        placeDtb(m, b);
        return DTB_AT;
      },
      /totalsize 3145728 exceeds MAX_FDT_SIZE/,
    ],
    [
      'blob runs past RAM',
      (m) => {
        const b = toFdt(buildBoard());
        const at = 0x80ff_ff00n;
        m.write(at, b.subarray(0, 0x100));
        return at;
      },
      /blob of \d+ bytes not readable/,
    ],
    [
      'corrupt structure block',
      (m) => {
        const b = toFdt(buildBoard());
        const dv = new DataView(b.buffer, b.byteOffset);
        dv.setUint32(dv.getUint32(8) + 0, 0x77);
        placeDtb(m, b);
        return DTB_AT;
      },
      /DTB at 0x80f00000: .*offset/,
    ],
  ];
  for (const [name, setup, want] of cases) {
    const m = new FakeMachine();
    const at = setup(m);
    await assert.rejects(bootKernel(m.cpus[0]!, at), (e: unknown) => {
      assert.ok(e instanceof KernelBootError, name);
      assert.match(e.message, want, name);
      assert.match(e.dmesg, /Kernel panic - not syncing/, name);
      return true;
    });
  }
});

/** PSCI on the fake: CPU_ON runs the secondary entry on the target vCPU (as the hypervisor would). */
function smpPsci(m: FakeMachine, refuse = new Set<number>()) {
  const entries = new Map<bigint, (cpu: FakeCpu) => Promise<void>>();
  m.hvcHandler = (cpu) => {
    const fid = cpu.x[0]!;
    if (fid === 0x84000000n) cpu.x[0] = 0x10001n;
    else if (fid === 0xc4000003n) {
      const target = m.cpus.find((c) => mpidrAffinity(c.mpidr) === mpidrAffinity(cpu.x[1]!));
      if (!target) cpu.x[0] = BigInt.asUintN(64, -2n);
      else if (refuse.has(target.index)) cpu.x[0] = BigInt.asUintN(64, -6n);
      else {
        const entry = entries.get(cpu.x[2]!)!;
        target.x[0] = cpu.x[3]!;
        setImmediate(() => void entry(target));
        cpu.x[0] = 0n;
      }
    } else cpu.x[0] = BigInt.asUintN(64, -1n);
  };
  entries.set(0x4000_1000n, (c) => secondaryEntry(c));
}

test('SMP: secondaries start with PSCI CPU_ON, initialise their redistributor and timer, take interrupts', async () => {
  const m = new FakeMachine({ ncpus: 3 });
  smpPsci(m);
  const tree = buildBoard({ ncpus: 3 });
  const k: Kernel = await startKernel(m.cpus[0]!, tree, { secondaryEntry: 0x4000_1000n });
  assert.match(k.dmesg(), /smp: Brought up 1 node, 3 CPUs/);
  assert.deepEqual(k.cpus.online().map((p) => p.index), [0, 1, 2]);
  assert.ok(m.gic.awake[1] && m.gic.awake[2]);
  assert.ok(m.gic.ppiEnabled[2]!.has(27));
  // An SGI to CPU2 reaches its vector.
  let ipiOn: number | undefined;
  k.irq.setIpiHandler(1, (cpu) => (ipiOn = cpu.index));
  m.cpus[0]!.gicSendSgi(1, [2]);
  await m.settle();
  assert.equal(ipiOn, 2);
  await k.shutdown();
});

test('SMP: a CPU that PSCI refuses or that never comes online is reported, boot continues', async () => {
  const m = new FakeMachine({ ncpus: 3 });
  smpPsci(m, new Set([1]));
  const tree = buildBoard({ ncpus: 3 });
  tree.findNode('/cpus/cpu@2')!.setString('enable-method', 'spin-table');
  const k = await startKernel(m.cpus[0]!, tree, { secondaryEntry: 0x4000_1000n });
  const d = k.dmesg();
  assert.match(d, /CPU 0x1: failed to boot: PSCI CPU_ON: INTERNAL_FAILURE \(-6\)/);
  assert.match(d, /CPU 0x2: enable-method "spin-table" is not supported/);
  assert.match(d, /smp: Brought up 1 node, 1 CPU$/m);
  await k.shutdown();
});

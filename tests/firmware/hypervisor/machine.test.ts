// The machine: deterministic event order, sparse memory, run modes, idle detection, and the
// scheduler's priorities and timeslices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GuestAbort, Hvc, hypercall, Machine, type GuestCpu } from '../../../firmware/hypervisor/index';
import { EventQueue } from '../../../firmware/hypervisor/machine/event-queue';
import { PhysMem } from '../../../firmware/hypervisor/machine/phys-mem';
import { Prng } from '../../../firmware/hypervisor/machine/prng';
import { buildVm, RAM_BASE, rig, runRoot, signal } from './harness';

test('the event queue pops by time, then by insertion order', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
      const q = new EventQueue();
      const out: number[] = [];
      times.forEach((t, i) => q.push(t, () => out.push(i)));
      while (q.size > 0) q.pop()!();
      const expected = times.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
      assert.deepEqual(out, expected);
    }),
    { seed: 42, numRuns: 200 },
  );
});

test('physical memory is backed lazily, per page, and zeroing releases pages', () => {
  const m = new PhysMem([{ base: 0x4000_0000, size: 0x1000_0000 }]);
  assert.equal(m.load(0x4000_0000, 4), 0);
  assert.equal(m.backedPages, 0, 'reading allocates nothing');
  m.store(0x4000_0ffe, 4, 0xaabb_ccdd);
  assert.equal(m.backedPages, 2, 'a store across a page boundary backs both pages');
  assert.equal(m.load(0x4000_0ffe, 4), 0xaabb_ccdd);
  m.store64(0x4800_0000, 0x0123_4567_89ab_cdefn);
  assert.equal(m.load64(0x4800_0000), 0x0123_4567_89ab_cdefn);
  m.zero(0x4000_0000, 0x2000);
  assert.equal(m.backedPages, 1);
  assert.equal(m.isRam(0x4fff_f000, 0x1000), true);
  assert.equal(m.isRam(0x4fff_f000, 0x1001), false);
  assert.throws(() => new PhysMem([{ base: 0x1001, size: 0x1000 }]), RangeError);
  assert.throws(() => new PhysMem([{ base: 0, size: 0x2000 }, { base: 0x1000, size: 0x1000 }]), RangeError);
  assert.throws(() => new Machine({ cpus: 0, ram: [] }), RangeError);
  assert.throws(() => new Machine({ cpus: 65, ram: [] }), RangeError);
});

test('the PRNG is a function of its seed', () => {
  const a = new Prng(7);
  const b = new Prng(7);
  const c = new Prng(8);
  const sa = Array.from({ length: 8 }, () => a.u32());
  assert.deepEqual(sa, Array.from({ length: 8 }, () => b.u32()));
  assert.notDeepEqual(sa, Array.from({ length: 8 }, () => c.u32()));
});

test('run modes: until a time, until a predicate, forever with posts and stop', async () => {
  const ticks: number[] = [];
  const { machine } = rig(async (cpu) => {
    for (let i = 0; i < 10; i++) {
      await cpu.spin(1_000_000);
      ticks.push(i);
    }
  });
  await machine.runUntil(3_500_000);
  assert.equal(machine.now, 3_500_000);
  assert.ok(ticks.length >= 2 && ticks.length <= 4, `${ticks.length} ticks by 3.5 ms`);
  await machine.runUntil(() => ticks.length >= 6);
  assert.equal(ticks.length, 6);
  const first = machine.runUntilQuiescent();
  await assert.rejects(machine.runUntilQuiescent(), /already running/);
  await first;
  assert.equal(ticks.length, 10);
  // Forever: the loop waits for host posts.
  let posted = 0;
  const forever = machine.runForever();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(machine.running, true);
  machine.post(() => {
    posted++;
    machine.stop();
  });
  await forever;
  assert.equal(posted, 1);
  assert.equal(machine.running, false);
});

test('idle code gives up its CPU; a host-resumed call waits for dispatch; a crash fails the run', async () => {
  const host = signal<number>();
  const out: string[] = [];
  const { machine } = rig(async (cpu) => {
    const v = await host.promise; // idle: awaiting something outside the machine
    const r = await hypercall(cpu, Hvc.HYPERVISOR_IDENTIFY);
    out.push(`got ${v} identify ${r.x[0]!.toString(16)}`);
    throw new Error('root program bug');
  });
  await machine.runUntilQuiescent();
  assert.deepEqual(out, []);
  const before = machine.now;
  host.fire(7);
  await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual(out, [], 'the call is queued until the vCPU is dispatched');
  await assert.rejects(machine.runUntilQuiescent(), /critical vCPU 0 of VM 255 crashed: root program bug/);
  assert.deepEqual(out, ['got 7 identify 5100000000008001']);
  assert.ok(machine.now >= before);
});

test('FPRR: equal priorities share a CPU by timeslice, a higher priority preempts', async () => {
  const trace: string[] = [];
  await runRoot(async (cpu, env, rg) => {
    const spinner = (name: string, n: number) => async (g: GuestCpu) => {
      for (let i = 0; i < n; i++) {
        await g.spin(1_000_000);
        trace.push(name);
      }
    };
    // Both on CPU 1 at the default priority 32 (timeslice 5 ms).
    const mk = (vmid: number, off: number, name: string, priority?: number) =>
      buildVm(cpu, env, rg.machine, { vmid, pa: RAM_BASE + 0x1000_0000 + off, size: 0x10_0000, ipaBase: 0x8000_0000, entry: 0x8000_0000, code: spinner(name, 12), ...(priority ? { priority } : {}) });
    await mk(60, 0, 'a');
    await mk(61, 0x10_0000, 'b');
    void (await mk(62, 0x20_0000, 'H', 40));
  }, { cpus: 2 });
  // buildVm puts vCPU 0 of each VM on CPU 0: the root's CPU. The root is idle once done.
  const firstH = trace.indexOf('H');
  assert.ok(firstH >= 0);
  assert.equal(trace.slice(firstH, firstH + 12).join(''), 'H'.repeat(12), 'priority 40 runs to completion');
  const rest = trace.filter((x) => x !== 'H').join('');
  assert.match(rest, /^(a{4,6}b{4,6})+/, `round robin in ~5 ms slices: ${rest}`);
});

test('a dead context never settles its calls and aborts its accesses', async () => {
  let stale: GuestCpu | undefined;
  const pending: string[] = [];
  await runRoot(async (cpu, env, rg) => {
    await buildVm(cpu, env, rg.machine, {
      vmid: 63,
      pa: RAM_BASE + 0x1000_0000,
      size: 0x10_0000,
      ipaBase: 0x8000_0000,
      entry: 0x8000_0000,
      code: async (g) => {
        stale = g;
        await g.spin(1000);
      },
    });
    await cpu.spin(100_000);
  });
  assert.ok(stale);
  // The vCPU is alive but the test kills its context by powering it off through the scheduler.
  const v = (stale as unknown as { vcpu: import('../../../firmware/hypervisor/vm/vcpu').Vcpu }).vcpu;
  v.hv.sched.powerOff(v);
  void stale.hvc(0x6000).then(() => pending.push('settled'));
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(pending, []);
  assert.throws(() => stale!.read32(0x8000_0000n), GuestAbort);
});

// Hostile hypercalls: two VMs issue 100k random hypercalls (random numbers, random arguments drawn
// from their own caps, other cspaces' caps, addresses and noise) against a third VM they share a
// queue and a doorbell with. Nothing may throw, hang, or change the third VM's state other than
// through the objects their caps name; the invariants hold afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GhError, gicEnable, gicInit, Hvc, hypercall, HVC_MAX, Psci, Rights, Smccc, type GicFrames, type GuestCpu } from '../../../firmware/hypervisor/index';
import { buildVm, create, ok, RAM_BASE, runRoot, signal } from './harness';
import { coreCalls } from '../../../firmware/hypervisor/hypercall/hc-core';
import { ipcCalls } from '../../../firmware/hypervisor/hypercall/hc-ipc';
import { irqCalls } from '../../../firmware/hypervisor/hypercall/hc-irq';
import { memCalls } from '../../../firmware/hypervisor/hypercall/hc-mem';
import { vcpuCalls } from '../../../firmware/hypervisor/hypercall/hc-vcpu';

/** Reserved argument positions per hypercall, so half the calls get past the res0/res1 checks. */
const reserved = new Map([...coreCalls, ...ipcCalls, ...irqCalls, ...memCalls, ...vcpuCalls].map((e) => [e.n, { res0: e.res0 ?? [], res1: e.res1 ?? [] }]));

const CALLS_PER_VM = 50_000;
const VICTIM_PATTERN = 0x5a5a_0000;

/** One hostile call: a hypercall number (or an SMCCC function) and how to pick each argument. */
interface Call {
  readonly smccc: boolean;
  /** Reserved arguments well-formed and x0 one of the VM's own caps. */
  readonly shaped: boolean;
  readonly n: number;
  readonly args: readonly { kind: number; pick: number; raw: bigint }[];
}

const argArb = fc.record({ kind: fc.integer({ min: 0, max: 11 }), pick: fc.nat(), raw: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) });
const callArb: fc.Arbitrary<Call> = fc.record({
  smccc: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
  shaped: fc.boolean(),
  n: fc.integer({ min: 0, max: HVC_MAX + 2 }),
  args: fc.array(argArb, { minLength: 8, maxLength: 8 }),
});
const smcccFns = [Psci.VERSION, Psci.CPU_ON_64, Psci.AFFINITY_INFO_64, Psci.FEATURES, Smccc.VERSION, Smccc.ARCH_FEATURES, Smccc.VENDOR_HYP_CALL_UID, Smccc.GUNYAH_HVC_BASE | 0x2b, 0xc600_8000 | 0x1b];

function hostile(calls: readonly Call[], pools: { own: bigint[]; foreign: bigint[]; buf: bigint }, counter: { n: number; errors: Map<number, number> }, done: () => void) {
  return async (g: GuestCpu): Promise<void> => {
    const pickArg = (a: Call['args'][number]): bigint => {
      switch (a.kind) {
        case 0:
        case 1:
        case 2:
          return pools.own[a.pick % pools.own.length]!;
        case 3:
          return pools.foreign[a.pick % pools.foreign.length]!;
        case 4:
          return BigInt(a.pick % 64);
        case 5:
          return pools.buf + BigInt((a.pick % 0x4000) & ~7);
        case 6:
          return 0xffff_ffff_ffff_ffffn;
        case 7:
          return BigInt(a.pick % 2) << BigInt(a.pick % 64);
        case 8:
          return a.raw;
        default:
          // Zero is common: it passes res0 checks and is a valid flags word.
          return 0n;
      }
    };
    for (const c of calls) {
      for (let i = 0; i < 8; i++) g.x[i] = pickArg(c.args[i]!);
      const res = reserved.get(c.n);
      if (c.shaped && res) {
        g.x[0] = pools.own[c.args[0]!.pick % pools.own.length]!;
        for (const i of res.res0) g.x[i] = 0n;
        for (const i of res.res1) g.x[i] = 0xffff_ffff_ffff_ffffn;
      }
      if (c.smccc) g.x[0] = BigInt(smcccFns[c.args[0]!.pick % smcccFns.length]!);
      await g.hvc(c.smccc ? 0 : 0x6000 + c.n);
      const e = Number(BigInt.asIntN(64, g.x[0]!));
      counter.errors.set(e, (counter.errors.get(e) ?? 0) + 1);
      counter.n++;
    }
    done();
  };
}

test('100k hostile hypercalls from two VMs leave a third VM and the invariants intact', { timeout: 300_000 }, async () => {
  const [calls1, calls2] = fc.sample(fc.array(callArb, { minLength: CALLS_PER_VM, maxLength: CALLS_PER_VM }), { seed: 20240401, numRuns: 2 });
  const counters = [
    { n: 0, errors: new Map<number, number>() },
    { n: 0, errors: new Map<number, number>() },
  ];
  const finished = [signal(), signal()];
  const victimReport = signal<string>();
  const r = await runRoot(
    async (cpu, env, rg) => {
      const frames: GicFrames = { gicdBase: env.gicd_base, gicrBase: env.gicr_base, gicrStride: env.gicr_stride };
      // The victim: fills a page with a pattern, then on its doorbell checks the pattern, drains
      // what the hostile VM queued, and reports on its queue to the root.
      const toRoot = await create(cpu, env, Hvc.PARTITION_CREATE_MSGQUEUE);
      await ok(cpu, Hvc.MSGQUEUE_CONFIGURE, toRoot, (64 << 16) | 4, 0);
      await ok(cpu, Hvc.OBJECT_ACTIVATE, toRoot, 0);
      const fromH1 = await create(cpu, env, Hvc.PARTITION_CREATE_MSGQUEUE);
      await ok(cpu, Hvc.MSGQUEUE_CONFIGURE, fromH1, (240 << 16) | 8, 0);
      await ok(cpu, Hvc.OBJECT_ACTIVATE, fromH1, 0);
      const bell = await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL);
      await ok(cpu, Hvc.OBJECT_ACTIVATE, bell, 0);
      const rootBell = await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL);
      await ok(cpu, Hvc.OBJECT_ACTIVATE, rootBell, 0);
      const victim = await buildVm(cpu, env, rg.machine, {
        vmid: 90,
        pa: RAM_BASE + 0x1000_0000,
        size: 0x10_0000,
        ipaBase: 0x8000_0000,
        entry: 0x8000_0000,
        noPowerOn: true,
        code: async (g) => {
          const [tx, rx, myBell] = [g.x[1]!, g.x[2]!, g.x[3]!];
          for (let i = 0; i < 1024; i++) g.write32(0x8001_0000n + BigInt(i * 4), VICTIM_PATTERN + i);
          let drained = 0;
          g.setIrqVector(() => {
            const id = g.gicAcknowledge();
            g.gicEndOfInterrupt(id);
            if (id !== 44) return;
            let good = true;
            for (let i = 0; i < 1024; i++) if (g.read32(0x8001_0000n + BigInt(i * 4)) !== VICTIM_PATTERN + i) good = false;
            for (;;) {
              g.x.set([rx, 0x8002_0000n, 240n, 0n]);
              void g.hvc(0x6000 + Hvc.MSGQUEUE_RECEIVE);
              if (g.x[0] !== 0n) break;
              drained++;
            }
            g.x.set([myBell, ~0n & 0xffff_ffff_ffff_ffffn, 0n]);
            void g.hvc(0x6000 + Hvc.DOORBELL_RECEIVE);
            const msg = new TextEncoder().encode(`${good ? 'intact' : 'CORRUPT'} drained=${drained}`);
            g.write(0x8003_0000n, msg);
            g.x.set([tx, BigInt(msg.length), 0x8003_0000n, 1n, 0n]);
            void g.hvc(0x6000 + Hvc.MSGQUEUE_SEND);
          });
          await gicInit(g, frames);
          await gicEnable(g, frames, 44, false);
          g.setIrqMasked(false);
        },
      });
      const copy = async (cap: bigint, cs: bigint, rights: number) => (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, env.cspace_capid, cap, cs, rights, 0))[1]!;
      await ok(cpu, Hvc.VCPU_REGISTER_WRITE, victim.vcpus[0]!, 0, 1, await copy(toRoot, victim.cspace, Rights.msgqueue.SEND), 0);
      await ok(cpu, Hvc.VCPU_REGISTER_WRITE, victim.vcpus[0]!, 0, 2, await copy(fromH1, victim.cspace, Rights.msgqueue.RECEIVE), 0);
      await ok(cpu, Hvc.VCPU_REGISTER_WRITE, victim.vcpus[0]!, 0, 3, await copy(bell, victim.cspace, Rights.doorbell.RECEIVE), 0);
      await ok(cpu, Hvc.DOORBELL_BIND_VIRQ, bell, victim.vic, 44, 0);
      await ok(cpu, Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, toRoot, env.vic_capid, 45, 0);
      await ok(cpu, Hvc.VCPU_POWERON, victim.vcpus[0]!, 0x8000_0000, 0, 0);

      // The hostile VMs: their own cspace, address space, memory, VIC and vCPU caps (no power or
      // lifecycle rights on themselves), a partition to allocate from, a send cap to the
      // victim's queue (H1) or doorbell (H2), and a few caps valid only in other cspaces.
      const foreign = [env.cspace_capid, env.vcpu_capid, env.ddr_me_capid, victim.me, victim.vcpus[0]!, fromH1, bell, toRoot];
      // They allocate from a partition of their own (not privileged: no critical vCPUs).
      const part = await create(cpu, env, Hvc.PARTITION_CREATE_PARTITION);
      await ok(cpu, Hvc.OBJECT_ACTIVATE, part, 0);
      for (let h = 0; h < 2; h++) {
        const vm = await buildVm(cpu, env, rg.machine, {
          vmid: 91 + h,
          pa: RAM_BASE + 0x1100_0000 + h * 0x10_0000,
          size: 0x10_0000,
          ipaBase: 0x8000_0000,
          entry: 0x8000_0000,
          noPowerOn: true,
          code: async () => {},
        });
        const own: bigint[] = [];
        own.push(await copy(vm.cspace, vm.cspace, 0xffff_ffff));
        own.push(await copy(part, vm.cspace, Rights.partition.OBJECT_CREATE));
        own.push(await copy(vm.addrspace, vm.cspace, 0xffff_ffff));
        own.push(await copy(vm.me, vm.cspace, 0xffff_ffff));
        own.push(await copy(vm.vic, vm.cspace, 0xffff_ffff));
        own.push(await copy(vm.vcpus[0]!, vm.cspace, Rights.thread.BIND_VIRQ | Rights.thread.STATE | Rights.thread.YIELD_TO));
        own.push(h === 0 ? await copy(fromH1, vm.cspace, Rights.msgqueue.SEND | Rights.msgqueue.BIND_SEND) : await copy(bell, vm.cspace, Rights.doorbell.SEND));
        own.push(await copy(rootBell, vm.cspace, 0xffff_ffff));
        rg.machine.registerEntry(RAM_BASE + 0x1100_0000 + h * 0x10_0000, hostile(h === 0 ? calls1! : calls2!, { own, foreign, buf: 0x8000_0000n }, counters[h]!, finished[h]!.fire));
        await ok(cpu, Hvc.VCPU_POWERON, vm.vcpus[0]!, 0x8000_0000, 0, 0);
      }
      await finished[0]!.promise;
      await finished[1]!.promise;
      // The victim still works: ring it and wait for its report.
      await gicInit(cpu, frames);
      await gicEnable(cpu, frames, 45, false);
      await ok(cpu, Hvc.DOORBELL_SEND, bell, 1, 0);
      await cpu.wfi();
      assert.equal(cpu.gicAcknowledge(), 45);
      const rcv = await hypercall(cpu, Hvc.MSGQUEUE_RECEIVE, toRoot, BigInt(RAM_BASE + 0x3f10_0000), 64, 0);
      assert.equal(rcv.error, GhError.OK);
      const b = new Uint8Array(Number(rcv.x[1]));
      cpu.read(BigInt(RAM_BASE + 0x3f10_0000), b);
      victimReport.fire(new TextDecoder().decode(b));
    },
    { capIds: 'debug', cpus: 3 },
  );
  const report = await victimReport.promise;
  assert.match(report, /^intact drained=\d+$/);
  assert.equal(counters[0]!.n + counters[1]!.n, 2 * CALLS_PER_VM);
  assert.deepEqual(r.hv.checkInvariants(), []);
  // The calls reached deep into the handlers, not just the cap checks.
  const all = new Map<number, number>();
  for (const c of counters) for (const [e, n] of c.errors) all.set(e, (all.get(e) ?? 0) + n);
  for (const e of [GhError.OK, GhError.ARGUMENT_INVALID, GhError.CSPACE_CAP_NULL, GhError.CSPACE_WRONG_OBJECT_TYPE, GhError.UNIMPLEMENTED]) assert.ok((all.get(e) ?? 0) > 0, `saw error ${e}`);
  if (process.env.HYP_DEBUG) console.log([...all].sort((a, b) => b[1] - a[1]), report, r.machine.now);
});

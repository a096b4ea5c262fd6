// `npm run bench -- hyp`: the hypervisor emulator's hot paths. ns per identify (the synchronous
// dispatch core and the async GuestCpu.hvc path), per 240-byte msgqueue send+receive pair, per
// doorbell send+ack, per vcpu_run MMIO exit round trip, and scheduler events/s; the per-operation
// costs with 1, 64 and 1024 VMs built show they do not grow with the number of VMs.
import {
  Access,
  coldBoot,
  decodeBootEnv,
  Hvc,
  hypercall,
  Hypervisor,
  ipa,
  Machine,
  MemextentType,
  physAddr,
  S2Memtype,
  type BootEnv,
  type GuestCpu,
  type GuestEntry,
} from '../firmware/hypervisor/index';
import { nsPerOp, printTable, type Row } from './table';

const RAM = 0x4000_0000;
const RAM_SIZE = 0x8000_0000;
const RM = RAM + RAM_SIZE - 0x100_0000;
const VM_RAM = 0x1_0000;
const RWX_SPARSE = Access.RWX | (MemextentType.SPARSE << 16);
const MAP_RWX = Access.RWX | (Access.RWX << 4) | (S2Memtype.NORMAL_WB << 16);

async function must(cpu: GuestCpu, n: number, ...a: (bigint | number)[]): Promise<bigint> {
  const r = await hypercall(cpu, n, ...a);
  if (r.error !== 0) throw new Error(`hypercall 0x${n.toString(16)}: ${r.error}`);
  return r.x[1]!;
}

interface Sys {
  machine: Machine;
  hv: Hypervisor;
  env: BootEnv;
  /** Extra state the root program set up. */
  caps: Record<string, bigint>;
}

/**
 * A machine whose root program builds `vms` VMs of `vcpus` vCPUs through hypercalls (all running
 * `code`, or idle), then runs `extra` and finishes.
 */
async function system(opts: {
  cpus: number;
  vms: number;
  vcpus: number;
  code?: GuestEntry;
  proxy?: boolean;
  extra?: (cpu: GuestCpu, s: Sys) => Promise<void>;
}): Promise<Sys> {
  const machine = new Machine({ cpus: opts.cpus, ram: [{ base: RAM, size: RAM_SIZE }], seed: 1 });
  const hv = new Hypervisor(machine, { capIds: 'random', vmidBits: 16, rootHeapBytes: 1 << 30 });
  const sys: Sys = { machine, hv, env: undefined as never, caps: {} };
  const code = opts.code ?? (async () => {});
  if (opts.proxy && opts.vms * opts.vcpus !== 1) throw new Error('one proxy vCPU only');
  let done = false;
  machine.registerEntry(RM, async (cpu) => {
    const b = new Uint8Array(Number(cpu.x[1]!));
    cpu.read(cpu.x[0]!, b);
    const env = decodeBootEnv(b);
    sys.env = env;
    const P = env.partition_capid;
    const CS = env.cspace_capid;
    const create = (n: number) => must(cpu, n, P, CS, 0);
    for (let i = 0; i < opts.vms; i++) {
      const pa = RAM + 0x1000_0000 + i * VM_RAM;
      machine.registerEntry(pa, code);
      const cs = await create(Hvc.PARTITION_CREATE_CSPACE);
      await must(cpu, Hvc.CSPACE_CONFIGURE, cs, 64, 0);
      await must(cpu, Hvc.OBJECT_ACTIVATE, cs, 0);
      const as = await create(Hvc.PARTITION_CREATE_ADDRSPACE);
      await must(cpu, Hvc.ADDRSPACE_CONFIGURE, as, 10 + i >= 255 ? 11 + i : 10 + i, 0); // skip the RM's 0xFF
      if (opts.proxy) await must(cpu, Hvc.ADDRSPACE_CONFIGURE_VMMIO, as, 0, 0x4000_0000, 0, 0);
      await must(cpu, Hvc.OBJECT_ACTIVATE, as, 0);
      const vic = await create(Hvc.PARTITION_CREATE_VIC);
      await must(cpu, Hvc.VIC_CONFIGURE, vic, opts.vcpus, 32, 0, 0);
      await must(cpu, Hvc.OBJECT_ACTIVATE, vic, 0);
      const me = await create(Hvc.PARTITION_CREATE_MEMEXTENT);
      await must(cpu, Hvc.MEMEXTENT_CONFIGURE_DERIVE, me, env.ddr_me_capid, BigInt(pa) - env.ddr_me_base, VM_RAM, RWX_SPARSE, 0);
      await must(cpu, Hvc.OBJECT_ACTIVATE, me, 0);
      await must(cpu, Hvc.MEMEXTENT_DONATE, 0, env.ddr_me_capid, me, 0, VM_RAM, 0);
      await must(cpu, Hvc.ADDRSPACE_MAP, as, me, 0x8000_0000, MAP_RWX, 0, 0, 0);
      for (let c = 0; c < opts.vcpus; c++) {
        const t = await create(Hvc.PARTITION_CREATE_THREAD);
        await must(cpu, Hvc.VCPU_SET_AFFINITY, t, opts.proxy ? 0xffff : (i * opts.vcpus + c) % opts.cpus, -1n);
        await must(cpu, Hvc.CSPACE_ATTACH_THREAD, cs, t, 0);
        await must(cpu, Hvc.ADDRSPACE_ATTACH_THREAD, as, t, 0);
        await must(cpu, Hvc.VIC_ATTACH_VCPU, vic, t, c, 0);
        await must(cpu, Hvc.VCPU_CONFIGURE, t, opts.proxy ? 1n << 9n : 0n, 0);
        await must(cpu, Hvc.OBJECT_ACTIVATE, t, 0);
        if (i === 0 && c === 0) sys.caps.vcpu0 = t;
        else {
          // Powered on, the vCPU is kept alive by the scheduler: drop our cap so the root
          // cspace's 2048 slots suffice for 1024 VMs.
          await must(cpu, Hvc.VCPU_POWERON, t, 0x8000_0000, 0, 0);
          await must(cpu, Hvc.CSPACE_DELETE_CAP_FROM, CS, t, 0);
        }
      }
      // Attached objects are referenced by their vCPUs; only the memory extent keeps a cap.
      for (const cap of [cs, as, vic]) await must(cpu, Hvc.CSPACE_DELETE_CAP_FROM, CS, cap, 0);
    }
    if (sys.caps.vcpu0 !== undefined) await must(cpu, Hvc.VCPU_POWERON, sys.caps.vcpu0, 0x8000_0000, 0, 0);
    await opts.extra?.(cpu, sys);
    done = true;
  });
  coldBoot(hv, {
    rootVm: { base: physAddr(RM), size: 0x100_0000n, entry: ipa(RM) },
    hlos: { base: physAddr(RAM), size: 0x1000_0000n, dtBase: ipa(RAM), entry: ipa(RAM) },
  });
  await machine.runUntil(() => done);
  return sys;
}

/**
 * CPU ns per call (user + system time of this process): steadier than wall time when other
 * processes share the machine. Same shape as table.ts's nsPerOp.
 */
function cpuNsPerOp(fn: () => void, minMs = 300, batch = 1000): number {
  for (let i = 0; i < batch; i++) fn();
  const c0 = process.cpuUsage();
  let ops = 0;
  let us = 0;
  while (us < minMs * 1000) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    const c = process.cpuUsage(c0);
    us = c.user + c.system;
  }
  return (us * 1000) / ops;
}

function regs(...vals: bigint[]): Uint32Array {
  const r = new Uint32Array(16);
  vals.forEach((v, i) => {
    r[2 * i] = Number(v & 0xffff_ffffn);
    r[2 * i + 1] = Number(v >> 32n);
  });
  return r;
}

/** The synchronous dispatch core, with `vms` VMs existing. */
async function syncCosts(vms: number): Promise<Row> {
  const s = await system({
    cpus: 4,
    vms,
    vcpus: 1,
    extra: async (cpu, sys) => {
      const { env } = sys;
      const q = await must(cpu, Hvc.PARTITION_CREATE_MSGQUEUE, env.partition_capid, env.cspace_capid, 0);
      await must(cpu, Hvc.MSGQUEUE_CONFIGURE, q, (240 << 16) | 8, 0);
      await must(cpu, Hvc.OBJECT_ACTIVATE, q, 0);
      const db = await must(cpu, Hvc.PARTITION_CREATE_DOORBELL, env.partition_capid, env.cspace_capid, 0);
      await must(cpu, Hvc.OBJECT_ACTIVATE, db, 0);
      sys.caps.q = q;
      sys.caps.db = db;
    },
  });
  const v = [...s.hv.objects].find((o) => o.type === 5 && (o as unknown as { vmid: number }).vmid === 255) as never;
  const d = s.hv.dispatcher;
  const r = new Uint32Array(16);
  const idFn = () => d.callNative(v, r, Hvc.HYPERVISOR_IDENTIFY);
  const identify = nsPerOp(idFn);
  const identifyCpu = cpuNsPerOp(idFn);
  const buf = BigInt(RM + 0x10_0000);
  const sendRegs = regs(s.caps.q!, 240n, buf, 0n, 0n);
  const recvRegs = regs(s.caps.q!, buf + 0x1000n, 240n, 0n);
  const pairFn = () => {
    r.set(sendRegs);
    d.callNative(v, r, Hvc.MSGQUEUE_SEND);
    r.set(recvRegs);
    d.callNative(v, r, Hvc.MSGQUEUE_RECEIVE);
    if (r[0] !== 0) throw new Error('receive failed');
  };
  const pair = nsPerOp(pairFn);
  const pairCpu = cpuNsPerOp(pairFn);
  const dbSend = regs(s.caps.db!, 1n, 0n);
  const dbAck = regs(s.caps.db!, 1n, 0n);
  const bellFn = () => {
    r.set(dbSend);
    d.callNative(v, r, Hvc.DOORBELL_SEND);
    r.set(dbAck);
    d.callNative(v, r, Hvc.DOORBELL_RECEIVE);
  };
  const bell = nsPerOp(bellFn);
  const bellCpu = cpuNsPerOp(bellFn);
  return {
    vms,
    'identify ns': identify,
    'identify cpu ns': identifyCpu,
    'msgq 240B pair ns': pair,
    'msgq pair cpu ns': pairCpu,
    'doorbell send+ack ns': bell,
    'doorbell cpu ns': bellCpu,
  };
}

/** Wall ns per async hypercall from guest code (await cpu.hvc(...) in a loop). */
let asyncCpuNs = 0;
async function asyncIdentify(): Promise<number> {
  const N = 1_000_000;
  let t0 = 0n;
  let t1 = 0n;
  let c0 = process.cpuUsage();
  const s = await system({
    cpus: 1,
    vms: 0,
    vcpus: 1,
    extra: async (cpu) => {
      t0 = process.hrtime.bigint();
      c0 = process.cpuUsage();
      for (let i = 0; i < N; i++) await cpu.hvc(0x6000);
      t1 = process.hrtime.bigint();
      const c = process.cpuUsage(c0);
      asyncCpuNs = ((c.user + c.system) * 1000) / N;
    },
  });
  void s;
  return Number(t1 - t0) / N;
}

/** Wall ns per vcpu_run round trip of a VMMIO read exit (VMM loop and guest loop both async). */
let cpuNs = 0;
async function mmioRoundTrip(): Promise<number> {
  const N = 100_000;
  let ns = 0;
  await system({
    cpus: 1,
    vms: 1,
    vcpus: 1,
    proxy: true,
    code: async (g) => {
      for (;;) await g.mmioRead(0x0900_0000n, 4);
    },
    extra: async (cpu, sys) => {
      const t = sys.caps.vcpu0!;
      const x = cpu.x;
      // First run: up to the first exit.
      await hypercall(cpu, Hvc.VCPU_RUN, t, 0, 0, 0, 0);
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      for (let i = 0; i < N; i++) {
        x[0] = t;
        x[1] = BigInt(i);
        x[2] = 0n;
        x[3] = 0n;
        x[4] = 0n;
        await cpu.hvc(0x6000 + Hvc.VCPU_RUN);
        if (x[1] !== 4n) throw new Error(`unexpected vcpu_run state ${x[1]}`);
      }
      ns = Number(process.hrtime.bigint() - t0) / N;
      const c = process.cpuUsage(c0);
      cpuNs = ((c.user + c.system) * 1000) / N;
    },
  });
  return ns;
}

/** Scheduler throughput: every vCPU loops identify + spin(20 µs) for `virtualMs`. */
async function schedulerRate(vms: number, vcpus: number, cpus: number, virtualMs: number): Promise<Row> {
  const s = await system({
    cpus,
    vms,
    vcpus,
    code: async (g) => {
      for (;;) {
        await g.hvc(0x6000);
        await g.spin(20_000);
      }
    },
  });
  const m = s.machine;
  // Warm the JIT up before measuring.
  await m.runUntil(m.now + virtualMs * 2e5);
  const e0 = m.eventsProcessed;
  const sw0 = s.hv.sched.pcpus.reduce((a, p) => a + p.switches, 0);
  const h0 = s.hv.dispatcher.count;
  const start = m.now;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await m.runUntil(start + virtualMs * 1e6);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  const cpuS = (cu.user + cu.system) / 1e6;
  const events = m.eventsProcessed - e0;
  const switches = s.hv.sched.pcpus.reduce((a, p) => a + p.switches, 0) - sw0;
  return {
    config: `${vms} VMs x ${vcpus} vCPUs on ${cpus} CPUs`,
    'events/s': Math.round(events / wallS),
    'events/cpu-s': Math.round(events / cpuS),
    'ns/event': (wallS * 1e9) / events,
    'vCPU switches/s': Math.round(switches / wallS),
    'hypercalls/s': Math.round((s.hv.dispatcher.count - h0) / wallS),
    'virtual ms': virtualMs,
  };
}

/** For profiling one measurement: `npx tsx bench/hyp.bench.ts mmio|async|sched`. */
export const parts = { mmioRoundTrip, asyncIdentify, schedulerRate, syncCosts, cpuNs: () => cpuNs };

export default async function (): Promise<Row[]> {
  const rows: Row[] = [];
  // One unmeasured round first: the numbers below are for JIT-compiled code.
  await syncCosts(1);
  await schedulerRate(16, 4, 8, 50);
  await asyncIdentify();
  await mmioRoundTrip();
  const scaling: Row[] = [];
  for (const vms of [1, 64, 1024]) scaling.push(await syncCosts(vms));
  printTable(scaling);
  const asyncNs = await asyncIdentify();
  const mmioNs = await mmioRoundTrip();
  const paths: Row[] = [
    { operation: 'identify via await cpu.hvc()', 'ns/op': asyncNs, 'cpu ns/op': asyncCpuNs },
    { operation: 'vcpu_run VMMIO read exit round trip', 'ns/op': mmioNs, 'cpu ns/op': cpuNs },
  ];
  process.stdout.write('\n');
  printTable(paths);
  const sched: Row[] = [];
  sched.push(await schedulerRate(1, 4, 8, 200));
  sched.push(await schedulerRate(64, 4, 8, 200));
  sched.push(await schedulerRate(1024, 4, 8, 100));
  process.stdout.write('\n');
  printTable(sched);
  rows.push(...scaling, ...paths, ...sched);
  return rows;
}

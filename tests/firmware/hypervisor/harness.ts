// Test harness: a machine with a root VM program, and an RM-like VM builder that uses hypercalls
// only (what the Resource Manager does), so tests can assemble VMs the way the real stack does.
import {
  Access,
  coldBoot,
  decodeBootEnv,
  GhError,
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
  type HypervisorOptions,
} from '../../../firmware/hypervisor/index';

export const RAM_BASE = 0x4000_0000;
export const RAM_SIZE = 0x4000_0000; // 1 GiB
/** The root VM (RM) lives in the top 16 MiB of RAM. */
export const RM_BASE = RAM_BASE + RAM_SIZE - 0x100_0000;
export const RM_SIZE = 0x100_0000;

export interface Rig {
  machine: Machine;
  hv: Hypervisor;
}

export interface RigOptions extends HypervisorOptions {
  cpus?: number;
  seed?: number;
  quantumNs?: number;
}

/** Boot a machine whose root VM runs `root(cpu, env)`. */
export function rig(root: (cpu: GuestCpu, env: BootEnv) => void | Promise<void>, opts: RigOptions = {}): Rig {
  const machine = new Machine({ cpus: opts.cpus ?? 2, ram: [{ base: RAM_BASE, size: RAM_SIZE }], seed: opts.seed ?? 1, ...(opts.quantumNs ? { quantumNs: opts.quantumNs } : {}) });
  const hv = new Hypervisor(machine, { capIds: opts.capIds ?? 'random', ...(opts.rootHeapBytes ? { rootHeapBytes: opts.rootHeapBytes } : {}) });
  machine.registerEntry(RM_BASE, async (cpu) => {
    const buf = new Uint8Array(Number(cpu.x[1]!));
    cpu.read(cpu.x[0]!, buf);
    await root(cpu, decodeBootEnv(buf));
  });
  coldBoot(hv, {
    rootVm: { base: physAddr(RM_BASE), size: BigInt(RM_SIZE), entry: ipa(RM_BASE) },
    devices: { base: physAddr(0x0900_0000), size: 0x100_0000n },
    hlos: { base: physAddr(RAM_BASE), size: 0x800_0000n, dtBase: ipa(RAM_BASE), entry: ipa(RAM_BASE + 0x20_0000) },
  });
  return { machine, hv };
}

/** Call and demand success; returns x1.. */
export async function ok(cpu: GuestCpu, n: number, ...args: (bigint | number)[]): Promise<readonly bigint[]> {
  const r = await hypercall(cpu, n, ...args);
  if (r.error !== GhError.OK) throw new Error(`hypercall 0x${n.toString(16)} failed with ${r.error}`);
  return r.x;
}

export async function create(cpu: GuestCpu, env: BootEnv, n: number): Promise<bigint> {
  return (await ok(cpu, n, env.partition_capid, env.cspace_capid, 0))[1]!;
}

export const RWX_SPARSE = Access.RWX | (MemextentType.SPARSE << 16);
/** Mapping attributes: user and kernel RWX, Normal write-back. */
export const MAP_RWX = Access.RWX | (Access.RWX << 4) | (S2Memtype.NORMAL_WB << 16);

export interface VmSpec {
  vmid: number;
  /** Physical RAM (inside the DDR extent) and where the VM sees it. */
  pa: number;
  size: number;
  ipaBase: number;
  /** Entry IPA for vCPU 0 and the code there. */
  entry: number;
  code: GuestEntry;
  vcpus?: number;
  /** Proxy-scheduled (option bit 9) vCPUs with a VMMIO range [0, 1 GiB). */
  proxy?: boolean;
  /** Put the vCPUs in a VPM group (PSCI). */
  psci?: boolean;
  priority?: number;
  /** Registers x1.. set before power-on. */
  bootRegs?: bigint[];
  /** Do not power on vCPU 0. */
  noPowerOn?: boolean;
}

export interface BuiltVm {
  cspace: bigint;
  addrspace: bigint;
  vic: bigint;
  me: bigint;
  vcpus: bigint[];
  vpm?: bigint;
}

/** Build a VM through hypercalls only, as the RM does (spec §18 order). */
export async function buildVm(cpu: GuestCpu, env: BootEnv, machine: Machine, s: VmSpec): Promise<BuiltVm> {
  const n = s.vcpus ?? 1;
  machine.registerEntry(s.pa + (s.entry - s.ipaBase), s.code);
  const cs = await create(cpu, env, Hvc.PARTITION_CREATE_CSPACE);
  await ok(cpu, Hvc.CSPACE_CONFIGURE, cs, 1024, 0);
  await ok(cpu, Hvc.OBJECT_ACTIVATE, cs, 0);
  const as = await create(cpu, env, Hvc.PARTITION_CREATE_ADDRSPACE);
  await ok(cpu, Hvc.ADDRSPACE_CONFIGURE, as, s.vmid, 0);
  if (s.proxy) await ok(cpu, Hvc.ADDRSPACE_CONFIGURE_VMMIO, as, 0, 0x4000_0000, 0, 0);
  await ok(cpu, Hvc.OBJECT_ACTIVATE, as, 0);
  const vic = await create(cpu, env, Hvc.PARTITION_CREATE_VIC);
  await ok(cpu, Hvc.VIC_CONFIGURE, vic, n, 64, 0, 0);
  await ok(cpu, Hvc.OBJECT_ACTIVATE, vic, 0);
  const me = await create(cpu, env, Hvc.PARTITION_CREATE_MEMEXTENT);
  const off = BigInt(s.pa) - env.ddr_me_base;
  await ok(cpu, Hvc.MEMEXTENT_CONFIGURE_DERIVE, me, env.ddr_me_capid, off, s.size, RWX_SPARSE, 0);
  await ok(cpu, Hvc.OBJECT_ACTIVATE, me, 0);
  await ok(cpu, Hvc.MEMEXTENT_DONATE, 0, env.ddr_me_capid, me, 0, s.size, 0);
  await ok(cpu, Hvc.ADDRSPACE_MAP, as, me, s.ipaBase, MAP_RWX, 0, 0, 0);
  let vpm: bigint | undefined;
  if (s.psci) {
    vpm = await create(cpu, env, Hvc.PARTITION_CREATE_VPM_GROUP);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, vpm, 0);
  }
  const vcpus: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const t = await create(cpu, env, Hvc.PARTITION_CREATE_THREAD);
    await ok(cpu, Hvc.VCPU_SET_AFFINITY, t, s.proxy ? 0xffff : i % machine.cpus, -1n);
    if (s.priority !== undefined) await ok(cpu, Hvc.VCPU_SET_PRIORITY, t, s.priority);
    await ok(cpu, Hvc.CSPACE_ATTACH_THREAD, cs, t, 0);
    await ok(cpu, Hvc.ADDRSPACE_ATTACH_THREAD, as, t, 0);
    if (vpm !== undefined) await ok(cpu, Hvc.VPM_GROUP_ATTACH_VCPU, vpm, t, i, 0);
    await ok(cpu, Hvc.VIC_ATTACH_VCPU, vic, t, i, 0);
    await ok(cpu, Hvc.VCPU_CONFIGURE, t, s.proxy ? 1n << 9n : 0n, 0);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, t, 0);
    vcpus.push(t);
  }
  for (const [i, v] of (s.bootRegs ?? []).entries()) await ok(cpu, Hvc.VCPU_REGISTER_WRITE, vcpus[0]!, 0, i + 1, v, 0);
  if (!s.noPowerOn) await ok(cpu, Hvc.VCPU_POWERON, vcpus[0]!, s.entry, 0, 0);
  return { cspace: cs, addrspace: as, vic, me, vcpus, ...(vpm !== undefined ? { vpm } : {}) };
}

/** A promise the test resolves from an interrupt handler. */
export function signal<T = void>(): { promise: Promise<T>; fire: (v: T) => void } {
  let fire!: (v: T) => void;
  const promise = new Promise<T>((r) => (fire = r));
  return { promise, fire };
}

/** Run `body` as the root VM program to completion; an assertion failing inside fails the run. */
export async function runRoot(body: (cpu: GuestCpu, env: BootEnv, r: Rig) => Promise<void>, opts: RigOptions = {}): Promise<Rig> {
  let finished = false;
  const holder: { r?: Rig } = {};
  const r = rig(async (cpu, env) => {
    await body(cpu, env, holder.r!);
    finished = true;
  }, opts);
  holder.r = r;
  await r.machine.runUntilQuiescent();
  if (!finished) throw new Error('the root program did not finish');
  return r;
}

/** x0 of a call as a signed error code. */
export async function err(cpu: GuestCpu, n: number, ...args: (bigint | number)[]): Promise<number> {
  return (await hypercall(cpu, n, ...args)).error;
}

/** Whether INTID `intid` is pending in the caller's vGIC distributor (GICD_ISPENDR). */
export async function isPending(cpu: GuestCpu, env: BootEnv, intid: number): Promise<boolean> {
  const v = await cpu.mmioRead(env.gicd_base + 0x200n + BigInt(Math.floor(intid / 32) * 4), 4);
  return ((v >> BigInt(intid % 32)) & 1n) === 1n;
}

/** Configure an SPI of the caller's distributor as edge (true) or level (false). */
export async function setEdge(cpu: GuestCpu, env: BootEnv, intid: number, edge: boolean): Promise<void> {
  const off = env.gicd_base + 0xc00n + BigInt(Math.floor(intid / 16) * 4);
  const bit = 2n << BigInt(2 * (intid % 16));
  const cur = await cpu.mmioRead(off, 4);
  await cpu.mmioWrite(off, 4, edge ? cur | bit : cur & ~bit);
}

/** Clear a pending SPI (GICD_ICPENDR). */
export async function clearPending(cpu: GuestCpu, env: BootEnv, intid: number): Promise<void> {
  await cpu.mmioWrite(env.gicd_base + 0x280n + BigInt(Math.floor(intid / 32) * 4), 4, 1n << BigInt(intid % 32));
}

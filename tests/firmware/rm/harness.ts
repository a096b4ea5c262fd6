// Boots a board with a test program as the primary VM's kernel, and helps that program build
// secondary VMs the way a VMM does (spec §24): VM_ALLOCATE, DT and image in its own memory, MEM_LEND,
// VM_CONFIG_IMAGE, VM_INIT, VM_START.
import { DeviceTree, toFdt, type DtNode } from '../../../dt';
import { defaultBoard } from '../../../tools/vmm';
import type { GuestCpu, HypervisorOptions } from '../../../firmware/hypervisor';
import { bootPlatform, type Platform } from '../../../firmware/platform';
import { RmErr, RmMsg, rmErrorName } from '../../../firmware/rm';
import { GuestRmClient } from './rm-client';
import { configImageReq, createReq, u32At, vmidReq } from './requests';

export interface BoardOptions {
  cpus?: number;
  ramSize?: bigint;
  hypervisor?: HypervisorOptions;
  seed?: number;
}

/** tools/vmm's default board, with 2 CPUs unless told. */
export function boardTree(o: BoardOptions = {}): DeviceTree {
  return defaultBoard({ cpus: o.cpus ?? 2, ...(o.ramSize !== undefined ? { ramSize: o.ramSize } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}) });
}

/** Scratch page of the primary VM's RAM for the client's packet buffers. */
export const HLOS_SCRATCH = 0x4001_0000n;

export interface Booted {
  platform: Platform;
}

/**
 * Boot and run `program` as the primary VM's kernel until it returns. A failure inside the program
 * (an assertion) crashes the critical primary vCPU, which fails the machine run: it surfaces here.
 */
export async function runPrimary(program: (c: GuestRmClient, cpu: GuestCpu) => Promise<void>, o: BoardOptions & { registerEntries?: (p: Platform) => void; traceRm?: boolean } = {}): Promise<Platform> {
  let done = false;
  const platform = bootPlatform(boardTree(o), {
    hypervisor: o.hypervisor ?? { capIds: 'debug' },
    traceRm: o.traceRm ?? false,
    primaryEntry: async (cpu) => {
      const c = await GuestRmClient.open(cpu, cpu.x[0]!, HLOS_SCRATCH);
      await program(c, cpu);
      done = true;
    },
  });
  o.registerEntries?.(platform);
  await platform.machine.runUntil(() => done);
  if (!done) {
    const trace = platform.rm()?.traceLog.slice(-30).join('\n') ?? '';
    throw new Error(`the primary program did not finish (the machine went quiescent)${trace ? `; RM trace:\n${trace}` : ''}`);
  }
  return platform;
}

export function expectOk(r: { err: number }, what: string): void {
  if (r.err !== RmErr.OK) throw new Error(`${what}: ${rmErrorName(r.err)}`);
}

// ---- secondary VMs ----

export interface SvmSpec {
  name: string;
  /** HLOS IPA (= PA) of the VM's memory, which is lent to it. */
  hostBase: bigint;
  size: bigint;
  /** Guest IPA of that memory. */
  ipaBase?: bigint;
  vcpus?: number;
  /** Physical CPU of each vCPU (static affinity), or 'proxy'. */
  affinity?: number[] | 'proxy';
  rmRpc?: boolean;
  consoleDev?: boolean;
  attrs?: string[];
  /** Extra vdevice nodes under vm-config/vdevices. */
  vdevices?: (vdevs: DtNode) => void;
  /** Omit the GIC node (the RM creates one) or give it no reg (the RM fills it). */
  gic?: 'full' | 'no-reg' | 'none';
  /** Offsets inside the memory: DT and image. */
  dtOffset?: bigint;
  dtSize?: bigint;
  imageOffset?: bigint;
  /** Mutate the DT before it is written (bad-input tests). */
  tweak?: (t: DeviceTree) => void;
}

export const SVM_IPA_BASE = 0x8000_0000n;

export function svmDt(s: SvmSpec): DeviceTree {
  const t = new DeviceTree();
  const r = t.root;
  r.setU32('#address-cells', 2);
  r.setU32('#size-cells', 2);
  r.setString('compatible', 'linux,dummy-virt');
  r.setString('model', 'linux,dummy-virt');
  const n = s.vcpus ?? 1;
  const cpus = r.addChild('cpus');
  cpus.setU32('#address-cells', 1);
  cpus.setU32('#size-cells', 0);
  for (let i = 0; i < n; i++) {
    const c = cpus.addChild(`cpu@${i}`);
    c.setString('device_type', 'cpu');
    c.setString('compatible', 'arm,armv8');
    c.setU32('reg', i);
    if (i > 0) c.setString('enable-method', 'psci');
  }
  const gicMode = s.gic ?? 'full';
  if (gicMode !== 'none') {
    const g = r.addChild(gicMode === 'full' ? 'intc@3fff0000' : 'intc');
    g.setString('compatible', 'arm,gic-v3');
    g.setU32('#interrupt-cells', 3);
    g.setEmpty('interrupt-controller');
    if (gicMode === 'full') g.setU64('reg', [0x3fff_0000n, 0x1_0000n, 0x3ffd_0000n, 0x2_0000n * BigInt(n)]);
    g.setU32('phandle', 1);
    r.setU32('interrupt-parent', 1);
  }
  r.addChild('chosen');
  const cfg = r.addChild('gunyah-vm-config');
  cfg.setString('vm-type', 'aarch64-guest');
  cfg.setString('image-name', s.name);
  cfg.setString('os-type', 'linux');
  if (s.attrs) cfg.setStringList('vm-attrs', s.attrs);
  const mem = cfg.addChild('memory');
  mem.setU64('base-address', s.ipaBase ?? SVM_IPA_BASE);
  const vc = cfg.addChild('vcpus');
  if (s.affinity === 'proxy') vc.setString('affinity', 'proxy');
  else {
    vc.setU32('affinity-map', s.affinity ?? Array.from({ length: n }, (_, i) => i + 1));
    vc.setU32('sched-priority', -1 >>> 0);
    vc.setU32('sched-timeslice', 2000);
  }
  const vd = cfg.addChild('vdevices');
  if (s.rmRpc ?? true) {
    const rpc = vd.addChild('rm-rpc');
    rpc.setString('vdevice-type', 'rm-rpc');
    rpc.setString('generate', '/hypervisor/qcom,resource-mgr');
    if (s.consoleDev ?? true) rpc.setEmpty('console-dev');
  }
  s.vdevices?.(vd);
  s.tweak?.(t);
  return t;
}

/** VMM steps up to READY (ALLOCATE, LEND, CONFIG_IMAGE, INIT); returns the VMID and parcel handle. */
export async function prepareSvm(c: GuestRmClient, s: SvmSpec, dtb = toFdt(svmDt(s))): Promise<{ vmid: number; handle: number; dtb: Uint8Array }> {
  const alloc = await c.call(RmMsg.VM_ALLOCATE, vmidReq(0));
  expectOk(alloc, 'VM_ALLOCATE');
  const vmid = u32At(alloc.data);
  const dtOffset = s.dtOffset ?? 0n;
  c.cpu.write(s.hostBase + dtOffset, dtb);
  const lend = await c.call(RmMsg.MEM_LEND, createReq({ label: 0, acl: [{ vmid, rights: 7 }], sgl: [{ ipa: s.hostBase, size: s.size }] }));
  expectOk(lend, 'MEM_LEND');
  const handle = u32At(lend.data);
  const cfg = await c.call(RmMsg.VM_CONFIG_IMAGE, configImageReq(vmid, 0, handle, s.imageOffset ?? 0x10_0000n, 0x1000n, dtOffset, s.dtSize ?? 0x1_0000n));
  expectOk(cfg, 'VM_CONFIG_IMAGE');
  const init = await c.call(RmMsg.VM_INIT, vmidReq(vmid));
  expectOk(init, 'VM_INIT');
  return { vmid, handle, dtb };
}

/** Where an SVM's image entry is, physically: register the SVM program there before starting it. */
export function svmEntryPa(s: SvmSpec): bigint {
  return s.hostBase + (s.imageOffset ?? 0x10_0000n);
}

// Cold boot: what the hypervisor builds before any VM runs (hyp/vm/rootvm/src/rootvm_init.c and
// the QEMU platform's rootvm hook): the root cspace, vCPU, address space, memory extents, VIC and
// HW IRQ caps of the root VM (the RM), its boot environment in its memory, and its power-on.
import { HypervisorError, GhError } from '../abi/errors';
import { Access, MemextentMemtype, MemextentType, PAGE_SIZE, ROOT_VM_VMID, S2Memtype } from '../abi/memory';
import { ObjectState } from '../abi/objects';
import { type CapId, capId, type Ipa, ipa, type PhysAddr } from '../abi/types';
import { SCHED, VcpuOption } from '../abi/vcpu';
import type { Hypervisor } from '../hypervisor';
import { GIC_SPI_NUM } from '../irq/irq-state';
import { Vic } from '../irq/vic';
import { Addrspace } from '../mem/addrspace';
import { Memextent } from '../mem/memextent';
import { CSpace } from '../objects/cspace';
import { Hwirq } from '../objects/hwirq';
import type { KObject } from '../objects/kobject';
import { Vcpu } from '../vm/vcpu';
import { encodeBootEnv, type BootEnv } from './boot-env';
import type { CborValue } from './cbor';

/** Caps of the root cspace (rootvm_init's MAX_CAPS). */
export const ROOT_CSPACE_CAPS = 2048;
/** The root vCPU's priority (ROOTVM_PRIORITY = the default). */
export const ROOT_VCPU_PRIORITY = SCHED.DEFAULT_PRIORITY;

export interface ColdBootConfig {
  /** The root VM (RM): its RAM (identity-mapped RWX), entry IPA, and where its boot env goes. */
  rootVm: {
    base: PhysAddr;
    size: bigint;
    entry: Ipa;
    /** IPA of the boot environment (default: the last 16 KiB of root VM RAM). */
    envAt?: Ipa;
  };
  /** Physical CPU the root vCPU runs on (default 0). */
  bootCore?: number;
  /** Bitmap of physical CPUs VMs may use (default all). */
  usableCores?: bigint;
  /** Device memory handed to the root VM as a sparse device extent. */
  devices?: { base: PhysAddr; size: bigint };
  /** Platform interrupt numbers the root VM gets hwirq caps for. */
  hwirqs?: readonly number[];
  /** Where the primary VM (HLOS) goes: passed to the RM in the env. */
  hlos: { base: PhysAddr; size: bigint; dtBase: Ipa; entry: Ipa; ramfsBase?: Ipa };
  /** Extra env entries of the platform. */
  extraEnv?: Record<string, CborValue>;
}

export interface ColdBootResult {
  readonly env: BootEnv;
  readonly envIpa: Ipa;
  readonly envSize: number;
  readonly rootVcpu: Vcpu;
  readonly rootCspace: CSpace;
  readonly rootAddrspace: Addrspace;
}

const ENV_SPACE = 16 * 1024;

function fail(what: string, err: number): never {
  throw new HypervisorError(err, `cold boot: ${what}`);
}

function activate(o: KObject, what: string): void {
  const err = o.activate();
  if (err !== GhError.OK) fail(`activating ${what}`, err);
}

function master(cs: CSpace, o: KObject): CapId {
  const v = cs.createMaster(o);
  if (v < 0) fail('creating a root cap', -v);
  return capId(cs.capId(v));
}

/** Build the root VM and power it on at `config.rootVm.entry` with x0 = env IPA, x1 = env size. */
export function coldBoot(hv: Hypervisor, config: ColdBootConfig): ColdBootResult {
  const part = hv.rootPartition;
  if (hv.vmids.has(ROOT_VM_VMID)) throw new HypervisorError(GhError.BUSY, 'cold boot already ran');
  const rmBase = Number(config.rootVm.base);
  const rmSize = Number(config.rootVm.size);
  if (rmBase % PAGE_SIZE !== 0 || rmSize % PAGE_SIZE !== 0 || rmSize < 2 * ENV_SPACE) {
    throw new HypervisorError(GhError.ARGUMENT_ALIGNMENT, 'cold boot: root VM memory must be page aligned and at least 32 KiB');
  }
  if (!hv.machine.mem.isRam(rmBase, rmSize)) throw new HypervisorError(GhError.ADDR_INVALID, 'cold boot: root VM memory is not RAM');
  const bootCore = config.bootCore ?? 0;
  if (bootCore >= hv.machine.cpus) throw new HypervisorError(GhError.ARGUMENT_INVALID, `cold boot: boot core ${bootCore} does not exist`);

  // Root cspace, with a cap to itself.
  const cs = new CSpace(hv, part, hv.capIdScheme);
  cs.maxCaps = ROOT_CSPACE_CAPS;
  activate(cs, 'the root cspace');
  const cspaceCap = master(cs, cs);

  // The root thread: pinned to the boot core, priority 32, critical (its crash is the device's).
  const vcpu = new Vcpu(hv, part);
  vcpu.affinity = bootCore;
  vcpu.priority = ROOT_VCPU_PRIORITY;
  vcpu.configure(VcpuOption.CRITICAL);
  vcpu.attachCspace(cs);
  const partitionCap = master(cs, part);
  const vcpuCap = master(cs, vcpu);

  // Its address space (VMID 0xFF).
  const as = new Addrspace(hv, part);
  as.configure(ROOT_VM_VMID);
  const asCap = master(cs, as);
  activate(as, 'the root address space');
  vcpu.attachAddrspace(as);

  // Its own RAM: a basic extent, identity-mapped RWX write-back.
  const me = new Memextent(hv, part);
  me.configure(rmBase, rmSize, Access.RWX | (MemextentMemtype.ANY << 8) | (MemextentType.BASIC << 16));
  const meCap = master(cs, me);
  activate(me, 'the root VM memory extent');
  const merr = me.map(as, rmBase, { u: Access.RWX, k: Access.RWX, mt: S2Memtype.NORMAL_WB });
  if (merr !== GhError.OK) fail('mapping root VM memory', merr);

  // The rest of RAM: a root sparse extent spanning all of it, owning every page the partition has.
  const regions = hv.machine.mem.regions;
  const ramLo = regions[0]!.base;
  const ramHi = regions[regions.length - 1]!.base + regions[regions.length - 1]!.size;
  const ddr = new Memextent(hv, part);
  ddr.configure(ramLo, ramHi - ramLo, Access.RWX | (MemextentType.SPARSE << 16));
  const ddrCap = master(cs, ddr);
  activate(ddr, 'the DDR extent');
  for (const r of hv.memdb.owned(part, ramLo, ramHi)) {
    const err = ddr.donateChild(r.start - ramLo, r.end - r.start, false);
    if (err !== GhError.OK) fail('donating RAM to the DDR extent', err);
  }

  // Device memory.
  let devCap = capId(0xffff_ffff_ffff_ffffn);
  const devBase = config.devices ? Number(config.devices.base) : 0;
  const devSize = config.devices ? Number(config.devices.size) : 0;
  if (config.devices) {
    const dev = new Memextent(hv, part, true);
    dev.configure(devBase, devSize, Access.RW | (MemextentMemtype.DEVICE << 8) | (MemextentType.SPARSE << 16));
    devCap = master(cs, dev);
    activate(dev, 'the device memory extent');
  }

  // The root VM's interrupt controller, answering at the platform's GIC addresses.
  const vic = new Vic(hv, part);
  if (vic.configure(1, GIC_SPI_NUM, 0, true) !== GhError.OK) fail('configuring the root VIC', GhError.ARGUMENT_INVALID);
  const vicCap = master(cs, vic);
  activate(vic, 'the root VIC');
  vic.attachVcpu(vcpu, 0);

  const hwirqs: [bigint, bigint][] = [];
  for (const irq of config.hwirqs ?? []) {
    const h = new Hwirq(hv, part, irq);
    h.state = ObjectState.ACTIVE;
    hwirqs.push([BigInt(irq), master(cs, h)]);
  }

  activate(vcpu, 'the root vCPU');

  const env: BootEnv = {
    cspace_capid: cspaceCap,
    partition_capid: partitionCap,
    vcpu_capid: vcpuCap,
    addrspace_capid: asCap,
    vic_capid: vicCap,
    me_capid: meCap,
    me_ipa_base: BigInt(rmBase),
    me_size: BigInt(rmSize),
    ipa_offset: 0n,
    ddr_me_capid: ddrCap,
    ddr_me_base: BigInt(ramLo),
    ddr_me_size: BigInt(ramHi - ramLo),
    device_me_capid: devCap,
    device_me_base: BigInt(devBase),
    device_me_size: BigInt(devSize),
    gicd_base: BigInt(hv.gicdBase),
    gicr_base: BigInt(hv.gicrBase),
    gicr_stride: BigInt(hv.gicrStride),
    boot_core: BigInt(bootCore),
    usable_cores: config.usableCores ?? (1n << BigInt(hv.machine.cpus)) - 1n,
    hlos_vm_base: config.hlos.base,
    hlos_vm_size: config.hlos.size,
    hlos_dt_base: config.hlos.dtBase,
    hlos_ramfs_base: config.hlos.ramfsBase ?? 0n,
    entry_hlos: config.hlos.entry,
    watchdog_supported: false,
    sve_supported: false,
    hwirqs,
    extra: new Map(Object.entries(config.extraEnv ?? {})),
  };
  const bytes = encodeBootEnv(env);
  const envAt = Number(config.rootVm.envAt ?? BigInt(rmBase + rmSize - ENV_SPACE));
  if (envAt < rmBase || envAt + bytes.length > rmBase + rmSize) {
    throw new HypervisorError(GhError.ADDR_INVALID, 'cold boot: the boot environment does not fit in root VM memory');
  }
  hv.machine.mem.write(envAt, bytes);

  // Power on: x0 = env IPA, x1 = env size.
  vcpu.pc = config.rootVm.entry;
  vcpu.regs[0] = BigInt(envAt);
  vcpu.regs[1] = BigInt(bytes.length);
  hv.sched.powerOn(vcpu);
  return { env, envIpa: ipa(envAt), envSize: bytes.length, rootVcpu: vcpu, rootCspace: cs, rootAddrspace: as };
}

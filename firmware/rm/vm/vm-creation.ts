// Building a secondary VM on its owner's request (spec §18; RM's vm_creation.c, second_vm.c):
// VM_CONFIG_IMAGE, VM_AUTH_IMAGE, VM_INIT, the work of VM_START, VM_GET_HYP_RESOURCES, and the
// accept the RM performs on a VM's behalf.
import { DtbError } from '../../../dt';
import { SCHED, VcpuOption } from '../../hypervisor';
import { RmMsg } from '../abi/message-ids';
import { ResourceType, writeResourceEntry, type ResourceEntry } from '../abi/hyp-resource';
import { RmErr, RmError } from '../abi/rm-error';
import { AuthType, VmState, Vmid, stateChangeValid } from '../abi/vm-state';
import { parseVmConfig, VmConfigError } from '../config/vm-config-parser';
import type { VmConfig } from '../config/vm-config';
import { HypCallError } from '../hyp/hypercalls';
import { AcceptFlag, MemType, TransType, type Memparcel } from '../mem/memparcel';
import type { ResourceManager } from '../resource-manager';
import type { RmRequest } from '../server/rpc-server';
import { PayloadWriter } from '../wire/payload-writer';
import { applyBootContext } from './boot-context';
import { patchVmDtb, readVmDtb } from './dt-patch';
import { DEFAULT_GICD_BASE, DEFAULT_GICR_BASE, GICR_SIZE, type VcpuSpec } from './vm-builder';
import type { Vm } from './vm';

/** Guest RAM IPA when the vm-config names none (ARCHITECTURE.md's VM description default). */
export const DEFAULT_MEMORY_BASE = 0x8000_0000n;
const TIMESLICE_MIN_NS = SCHED.MIN_TIMESLICE_NS;
const TIMESLICE_MAX_NS = SCHED.MAX_TIMESLICE_NS;
const TIMESLICE_DEFAULT_NS = BigInt(SCHED.DEFAULT_TIMESLICE_NS);
const VCPU_MAX_PRIORITY = SCHED.VCPU_MAX_PRIORITY;

function exact(req: RmRequest, n: number): void {
  if (req.body.remaining !== n) throw new RmError(RmErr.MSG_INVALID, `payload of ${req.body.remaining} bytes, expected ${n}`);
}

/** Any non-RmError failure of a creation step becomes `code` (hypervisor errors included). */
function asRm(e: unknown, code: number): RmError {
  if (e instanceof RmError) return e;
  if (e instanceof HypCallError) return new RmError(code, e.message);
  return new RmError(code, e instanceof Error ? e.message : String(e));
}

export class VmCreation {
  constructor(private readonly rm: ResourceManager) {}

  register(): void {
    const rm = this.rm;
    rm.rpc.handle(RmMsg.VM_CONFIG_IMAGE, (req) => this.handleConfigImage(req));
    rm.rpc.handle(RmMsg.VM_AUTH_IMAGE, (req) => this.handleAuthImage(req));
    rm.rpc.handle(RmMsg.VM_INIT, (req) => this.handleInit(req));
    rm.rpc.handle(RmMsg.VM_GET_HYP_RESOURCES, (req) => {
      exact(req, 4);
      return this.hypResources(req.client, req.body.u16('vmid'));
    });
  }

  private ownedVm(req: RmRequest, vmid: number): Vm {
    const vm = this.rm.vms.require(vmid);
    if (req.client !== vm.owner) throw new RmError(RmErr.DENIED, 'not the owner');
    return vm;
  }

  // ---- VM_CONFIG_IMAGE ----

  private async handleConfigImage(req: RmRequest): Promise<void> {
    if (req.client !== Vmid.HLOS) throw new RmError(RmErr.DENIED, 'only the primary VM configures VMs');
    exact(req, 40);
    const b = req.body;
    const vm = this.ownedVm(req, b.u16('vmid'));
    const auth = b.u16('auth_type');
    const handle = b.u32('mem_handle');
    const imageOffset = b.u64('image_offset');
    const imageSize = b.u64('image_size');
    const dtOffset = b.u64('dt_offset');
    const dtSize = b.u64('dt_size');
    if (!stateChangeValid(vm.state, VmState.AUTH, vm.guards)) throw new RmError(RmErr.VM_STATE, 'VM is not in LOAD or RESET');
    try {
      const mp = this.rm.memparcels.get(handle);
      if (!mp || !mp.acl.some((a) => a.vmid === vm.vmid)) throw new RmError(RmErr.MEM_INVALID, `memparcel ${handle} does not target VM ${vm.vmid}`);
      const memSize = mp.totalSize;
      const U64 = 1n << 64n;
      if (imageOffset + imageSize >= U64 || imageOffset + imageSize > memSize || dtOffset + dtSize >= U64 || dtOffset + dtSize > memSize) {
        throw new RmError(RmErr.ARGUMENT_INVALID, 'image or DT range outside the memparcel');
      }
      if (auth !== AuthType.NONE && auth !== AuthType.PLATFORM && auth !== AuthType.ANDROID) throw new RmError(RmErr.ARGUMENT_INVALID, `auth type ${auth}`);
      if (!vm.objects) await this.rm.builder.createBase(vm);
      vm.image = { auth, handle, imageOffset, imageSize, dtOffset, dtSize, memSize, ipaBase: DEFAULT_MEMORY_BASE };
      vm.sensitive = auth === AuthType.ANDROID;
      // A VM reused after RESET lost its peers with the reset: its owner is its peer again.
      const owner = this.rm.vms.get(vm.owner);
      if (owner) this.rm.vms.registerPeers(vm, owner);
    } catch (e) {
      await this.rm.lifecycle.forceState(vm, VmState.INIT_FAILED);
      throw asRm(e, RmErr.NORESOURCE);
    }
    await this.rm.lifecycle.forceState(vm, auth === AuthType.PLATFORM ? VmState.AUTH : VmState.INIT);
  }

  // ---- VM_AUTH_IMAGE ----

  private async handleAuthImage(req: RmRequest): Promise<void> {
    if (req.client !== Vmid.HLOS) throw new RmError(RmErr.DENIED, 'only the primary VM authenticates images');
    if (req.body.remaining < 4) throw new RmError(RmErr.MSG_INVALID, 'payload shorter than 4 bytes');
    const vmid = req.body.u16('vmid');
    const n = req.body.u16('num_auth_params');
    if (req.body.remaining !== n * 8) throw new RmError(RmErr.MSG_INVALID, `${n} auth params need ${n * 8} bytes`);
    const vm = this.ownedVm(req, vmid);
    if (vm.state !== VmState.AUTH) throw new RmError(RmErr.VM_STATE, 'VM is not in AUTH');
    // The QEMU platform has no secure loader: a PAS_ID (type 0) names the image and is accepted.
    let ok = true;
    for (let i = 0; i < n; i++) {
      const type = req.body.u32('param type');
      req.body.u32('param value');
      if (type !== 0) ok = false;
    }
    await this.rm.lifecycle.forceState(vm, ok ? VmState.INIT : VmState.INIT_FAILED);
    if (!ok) throw new RmError(RmErr.ARGUMENT_INVALID, 'unknown auth parameter');
  }

  // ---- VM_INIT ----

  private async handleInit(req: RmRequest): Promise<void> {
    if (req.client !== Vmid.HLOS) throw new RmError(RmErr.DENIED, 'only the primary VM initialises VMs');
    exact(req, 4);
    const vmid = req.body.u16('vmid');
    if (req.body.u16('reserved') !== 0) throw new RmError(RmErr.MSG_INVALID, 'reserved field set');
    const vm = this.ownedVm(req, vmid);
    if (vm.state !== VmState.INIT) throw new RmError(RmErr.VM_STATE, 'VM is not in INIT');
    try {
      await this.init(vm);
    } catch (e) {
      await this.rm.lifecycle.forceState(vm, VmState.INIT_FAILED);
      throw asRm(e, RmErr.NORESOURCE);
    }
    await this.rm.lifecycle.forceState(vm, VmState.READY);
  }

  /** Parse the vm-config out of the VM's DTB and create what it describes. */
  async init(vm: Vm): Promise<void> {
    let cfg: VmConfig;
    try {
      const { tree } = await readVmDtb(this.rm, vm);
      cfg = parseVmConfig(tree);
    } catch (e) {
      if (e instanceof VmConfigError) throw new RmError(e.fault === 'denied' ? RmErr.DENIED : RmErr.MEM_INVALID, e.message);
      if (e instanceof DtbError) throw new RmError(RmErr.MEM_INVALID, e.message);
      throw e;
    }
    vm.config = cfg;
    vm.name = cfg.imageName ?? '';
    vm.uri = cfg.uri ?? '';
    vm.guid = cfg.guid;
    vm.crashFatal = cfg.attrs.has('crash-fatal');
    vm.noShutdown = cfg.attrs.has('no-shutdown');
    vm.noReset = cfg.attrs.has('no-reset');
    vm.sensitive ||= cfg.sensitive;
    vm.image!.ipaBase = cfg.memory.base ?? DEFAULT_MEMORY_BASE;
    const specs = this.vcpuSpecs(vm, cfg);
    try {
      await this.createObjects(vm, cfg, specs);
    } catch (e) {
      throw asRm(e, RmErr.NORESOURCE);
    }
  }

  /** Priorities, timeslices, affinities and options of the VM's vCPUs (handle_vcpu's checks). */
  private vcpuSpecs(vm: Vm, cfg: VmConfig): VcpuSpec[] {
    const v = cfg.vcpus;
    const owner = this.rm.vms.get(vm.owner);
    const ownerPriority = owner?.priority ?? 32;
    const proxy = v.affinity === 'proxy';
    if (proxy && !this.rm.env.vcpuRun) throw new RmError(RmErr.ARGUMENT_INVALID, 'proxy scheduling needs vcpu_run');
    let priority = proxy ? 0 : ownerPriority + v.priorityOffset;
    if (priority < 0 || priority > VCPU_MAX_PRIORITY) throw new RmError(RmErr.ARGUMENT_INVALID, `priority ${priority}`);
    // An untrusted config must run below its owner.
    if (!proxy && priority >= ownerPriority) throw new RmError(RmErr.DENIED, `priority ${priority} is not below the owner's ${ownerPriority}`);
    vm.priority = priority;
    let timeslice = TIMESLICE_DEFAULT_NS;
    if (proxy) timeslice = BigInt(TIMESLICE_MIN_NS);
    else if (v.timesliceUs !== undefined) {
      const ns = v.timesliceUs * 1000;
      if (ns < TIMESLICE_MIN_NS || ns > TIMESLICE_MAX_NS) throw new RmError(RmErr.ARGUMENT_INVALID, `timeslice ${v.timesliceUs} us`);
      timeslice = BigInt(ns);
    }
    let options = 0n;
    if (v.affinity === 'pinned') options |= VcpuOption.PINNED;
    if (vm.crashFatal) options |= VcpuOption.CRITICAL;
    if (cfg.attrs.has('ras-error-handler')) options |= VcpuOption.RAS_ERROR_HANDLER;
    if (cfg.attrs.has('amu-counting-disabled') || cfg.sensitive) options |= VcpuOption.AMU_COUNTING_DISABLED;
    if (proxy) options |= VcpuOption.VCPU_RUN_SCHEDULED;
    return cfg.vcpus.cpus.map((c, i) => {
      let affinity = -1;
      if (!proxy) {
        affinity = v.affinityMap[i]!;
        if (affinity >= 64 || ((this.rm.env.usableCores >> BigInt(affinity)) & 1n) === 0n) {
          throw new RmError(RmErr.ARGUMENT_INVALID, `affinity-map names CPU ${affinity}, which is not usable`);
        }
      }
      priority = vm.priority;
      return { affinity, priority, timesliceNs: timeslice, options, proxy, cpuPath: c.path, boot: c.boot, hvcEnabled: c.enableMethod === 'qcom,gunyah-hvc' };
    });
  }

  private async createObjects(vm: Vm, cfg: VmConfig, specs: VcpuSpec[]): Promise<void> {
    const b = this.rm.builder;
    await b.createAddrspace(vm, vm.image!.auth !== AuthType.PLATFORM);
    const gic = {
      gicdBase: cfg.gic?.gicdBase ?? DEFAULT_GICD_BASE,
      gicrBase: cfg.gic?.gicrBase ?? DEFAULT_GICR_BASE,
      gicrStride: cfg.gic?.gicrStride ?? GICR_SIZE,
    };
    if (gic.gicrStride < GICR_SIZE || gic.gicrStride % 0x1_0000n !== 0n || gic.gicdBase % 0x1_0000n !== 0n || gic.gicrBase % 0x1_0000n !== 0n) {
      throw new RmError(RmErr.ARGUMENT_INVALID, 'vGIC frames must be 64 KiB aligned with a stride of at least 128 KiB');
    }
    await b.createVic(vm, specs.length, gic, false);
    if (cfg.psci) await b.createVpm(vm);
    for (const [i, s] of specs.entries()) await b.createVcpu(vm, i, s);
    await b.attachGicrs(vm);
    const order = ['rm-rpc', 'doorbell', 'message-queue', 'message-queue-pair', 'shm'] as const;
    for (const type of order) for (const d of cfg.vdevices) if (d.type === type) await b.createVdevice(vm, d);
  }

  // ---- VM_START ----

  /** VM_START after its checks: accept the VM's memory, patch its DT, power on its boot vCPU. */
  async start(vm: Vm): Promise<void> {
    try {
      await this.processMemparcels(vm);
      await patchVmDtb(this.rm, vm);
      const img = vm.image!;
      const boot = vm.objects!.vcpus.find((v) => v.boot) ?? vm.objects!.vcpus[0];
      if (!boot) throw new RmError(RmErr.NORESOURCE, 'VM has no vCPU');
      const regs = await applyBootContext(this.rm, boot.cap, vm.bootContext, img.ipaBase + (vm.config!.kernelEntryOffset ?? img.imageOffset), img.ipaBase + img.dtOffset);
      await this.rm.hyp.vcpuPoweron(boot.cap, regs.entry, regs.x0, 0n);
    } catch (e) {
      // vm_mgnt_handle_start: any failure of the resource processing is NORESOURCE.
      this.rm.trace(`VM ${vm.vmid}: VM_START failed: ${e instanceof Error ? e.message : String(e)}`);
      await this.rm.lifecycle.forceState(vm, VmState.INIT_FAILED);
      throw new RmError(RmErr.NORESOURCE, e instanceof Error ? e.message : String(e));
    }
    await this.rm.lifecycle.setState(vm, VmState.RUNNING);
  }

  /** The image parcel at the VM's memory base, then parcels its shm vdevices ask for. */
  private async processMemparcels(vm: Vm): Promise<void> {
    const img = vm.image!;
    const mp = this.rm.memparcels.get(img.handle);
    if (!mp) throw new RmError(RmErr.MEM_INVALID, 'image memparcel is gone');
    const info = mp.acl.find((a) => a.vmid === vm.vmid);
    if (info && !info.mapped) await this.acceptAt(vm, mp, img.ipaBase);
    for (const other of this.rm.memparcels.forTarget(vm.vmid)) {
      if (other.handle === img.handle || other.owner === vm.vmid) continue;
      await this.acceptForVm(vm, other).catch(() => undefined);
    }
  }

  private async acceptAt(vm: Vm, mp: Memparcel, ipa: bigint | undefined): Promise<void> {
    const info = mp.acl.find((a) => a.vmid === vm.vmid)!;
    await this.rm.memparcels.accept(vm.vmid, {
      handle: mp.handle,
      memType: mp.memType,
      transType: mp.transType,
      flags: AcceptFlag.DONE | (mp.memType === MemType.NORMAL ? AcceptFlag.MAP_CONTIGUOUS : 0),
      label: mp.label,
      acl: [],
      mapVmid: 0,
      sgl: ipa === undefined ? [] : [{ ipa, size: mp.totalSize }],
      attrs: [],
    });
    void info;
  }

  /**
   * vm_creation_process_memparcel: a parcel lent or shared to a VM that is not running yet is
   * accepted for it when one of its shm vdevices names the parcel's label.
   */
  async acceptForVm(vm: Vm, mp: Memparcel): Promise<void> {
    const shm = vm.config?.vdevices.find((d) => d.type === 'shm' && d.label === mp.label);
    if (!shm || shm.type !== 'shm') throw new RmError(RmErr.ARGUMENT_INVALID, `VM ${vm.vmid} has no use for memparcel ${mp.handle}`);
    if (mp.transType === TransType.DONATE) throw new RmError(RmErr.ARGUMENT_INVALID, 'donations are accepted by the VM itself');
    await this.acceptAt(vm, mp, shm.memBase);
  }

  // ---- VM_GET_HYP_RESOURCES ----

  /** The resource table `client` gets for `vmid`: vCPUs for the owner, then vdevice ends in its cspace. */
  hypResources(client: number, vmid: number): Uint8Array {
    const vm = this.rm.vms.get(vmid);
    if (!vm) throw new RmError(RmErr.ARGUMENT_INVALID, `no VM ${vmid}`);
    const o = vm.objects;
    if (!o || (vm.config === undefined && vmid !== Vmid.HLOS && vmid !== Vmid.RM)) throw new RmError(RmErr.NORESOURCE, `VM ${vmid} is not configured`);
    const entries: ResourceEntry[] = [];
    const none = { virqHandle: 0, base: 0n, size: 0n };
    if (client === vm.owner || (vmid === Vmid.RM && client === Vmid.HLOS)) {
      for (const v of o.vcpus) {
        entries.push({ type: ResourceType.VIRTUAL_CPU, partnerVmid: vmid, handle: 0, label: v.index, cap: v.ownerCap ?? 0n, virq: v.wakeupVirq ?? 0, ...none });
      }
    }
    const ends = (owner: Vm, mine: 'self' | 'peer') => {
      for (const d of owner.objects?.vdevs ?? []) {
        if (d.kind === 'rm-rpc') continue;
        const end = d[mine];
        const other = mine === 'self' ? d.peer : d.self;
        if (end.vmid !== client || (vmid !== client && other.vmid !== vmid)) continue;
        const base = { partnerVmid: other.vmid, handle: d.handle, label: d.label, ...none };
        if (d.kind === 'message-queue-pair') {
          entries.push({ type: ResourceType.MSG_QUEUE_SEND, cap: end.txCap!, virq: end.txVirq!, ...base });
          entries.push({ type: ResourceType.MSG_QUEUE_RECV, cap: end.rxCap!, virq: end.rxVirq!, ...base });
        } else if (d.kind === 'message-queue') {
          const sends = mine === 'self' ? d.source : !d.source;
          entries.push({ type: sends ? ResourceType.MSG_QUEUE_SEND : ResourceType.MSG_QUEUE_RECV, cap: end.cap!, virq: end.virq!, ...base });
        } else {
          const isSource = mine === 'self' ? d.source : !d.source;
          entries.push({ type: isSource ? ResourceType.DOORBELL_SRC : ResourceType.DOORBELL, cap: end.cap!, virq: isSource ? 0 : end.virq!, ...base });
        }
      }
    };
    // The caller's own vdevices facing this VM, then this VM's vdevices facing the caller.
    const self = this.rm.vms.get(client);
    if (self && self !== vm) ends(self, 'self');
    ends(vm, vm.vmid === client ? 'self' : 'peer');
    const w = new PayloadWriter(4 + entries.length * 44).u32(entries.length);
    for (const e of entries) writeResourceEntry(w, e);
    return w.finish();
  }
}

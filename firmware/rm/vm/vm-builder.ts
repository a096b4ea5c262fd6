// Hypervisor objects of a VM, created and destroyed through hypercalls in the order the RM uses
// (spec §18; RM's vm_creation.c, vm_config.c, vgic.c): address space, VIC and its vGIC frames,
// VPM group, vCPUs, the RM-RPC link, doorbells and message queues; and the teardown in reverse.
import { Rights, VcpuVirqType } from '../../hypervisor';
import { RmErr, RmError } from '../abi/rm-error';
import { Vmid } from '../abi/vm-state';
import type { VdeviceConfig } from '../config/vm-config';
import { HypCallError } from '../hyp/hypercalls';
import type { ResourceManager } from '../resource-manager';
import { SPI_END, SPI_BASE, VirqAllocator } from './virq-allocator';
import type { VcpuRecord, VdevEnd, VdevRecord, Vm, VmObjects } from './vm';

/** Caps per VM cspace (MAX_CAPS in RM's vm_creation.h). */
export const VM_CSPACE_CAPS = 1024;
/** vGIC frame sizes: GICD 64 KiB, each GICR 128 KiB (RD + SGI frames), 64 KiB aligned. */
export const GICD_SIZE = 0x1_0000n;
export const GICR_SIZE = 0x2_0000n;
/** Default VMMIO window of a VM not authenticated by the platform: IPA 0..1 GiB (spec §18). */
export const DEFAULT_VMMIO_SIZE = 0x4000_0000n;
/** Shared VIRQs per VIC (988 SPIs). */
export const VIC_MAX_VIRQS = SPI_END - SPI_BASE;
/** vic_configure option bit 1: the vGIC answers only at the frames attached to the address space. */
const VIC_OPT_DISABLE_DEFAULT_ADDR = 1 << 1;
/** Where a VM's vGIC goes when its DT names no address (below 1 GiB, like the sample VM DT). */
export const DEFAULT_GICD_BASE = 0x3fff_0000n;
export const DEFAULT_GICR_BASE = 0x3ffd_0000n;

/** Cap rights the RM hands out (spec §6). */
export const Right = {
  THREAD_POWER: Rights.thread.POWER,
  THREAD_AFFINITY: Rights.thread.AFFINITY,
  THREAD_YIELD_TO: Rights.thread.YIELD_TO,
  MSGQ_SEND: Rights.msgqueue.SEND,
  MSGQ_RECEIVE: Rights.msgqueue.RECEIVE,
  DOORBELL_SEND: Rights.doorbell.SEND,
  DOORBELL_RECEIVE: Rights.doorbell.RECEIVE,
} as const;

export interface VcpuSpec {
  affinity: number;
  priority: number;
  timesliceNs: bigint;
  options: bigint;
  proxy: boolean;
  cpuPath: string | undefined;
  boot: boolean;
  hvcEnabled: boolean;
}

function hypToRm(e: unknown, code: number = RmErr.NORESOURCE): never {
  if (e instanceof HypCallError) throw new RmError(code, e.message);
  throw e;
}

export class VmBuilder {
  constructor(private readonly rm: ResourceManager) {}

  private get hyp() {
    return this.rm.hyp;
  }

  private async newObject(kind: Parameters<ResourceManager['hyp']['create']>[0]): Promise<bigint> {
    const { env } = this.rm;
    return this.hyp.create(kind, env.partition, env.cspace).catch((e) => hypToRm(e, RmErr.NOMEM));
  }

  private async drop(cap: bigint | undefined, cspace = this.rm.env.cspace): Promise<void> {
    if (cap === undefined) return;
    await this.hyp.deleteCap(cspace, cap).catch(() => undefined);
  }

  /** A VM's cspace (1024 caps) and its own sparse RAM extent: what VM_CONFIG_IMAGE creates. */
  async createBase(vm: Vm): Promise<void> {
    const { env } = this.rm;
    const cspace = await this.newObject('cspace');
    let ramMe: bigint | undefined;
    try {
      await this.hyp.cspaceConfigure(cspace, VM_CSPACE_CAPS);
      await this.hyp.activate(cspace);
      ramMe = await this.newObject('memextent');
      await this.hyp.memextentConfigureDerive(ramMe, env.rootMe, 0n, env.rootSize, 7 | (1 << 16));
      await this.hyp.activate(ramMe);
    } catch (e) {
      await this.drop(ramMe);
      await this.drop(cspace);
      hypToRm(e);
    }
    vm.objects = {
      cspace,
      addrspace: undefined,
      vic: undefined,
      vpm: undefined,
      ramMe: ramMe!,
      vcpus: [],
      vdevs: [],
      virqs: VirqAllocator.forGuest(),
      gic: undefined,
      nextVdevHandle: 1,
    };
  }

  private objs(vm: Vm): VmObjects {
    if (!vm.objects) throw new RmError(RmErr.VM_STATE, `VM ${vm.vmid} has no objects`);
    return vm.objects;
  }

  /** Address space with the VM's VMID, and the default VMMIO window when asked. */
  async createAddrspace(vm: Vm, vmmio: boolean): Promise<void> {
    const o = this.objs(vm);
    const as = await this.newObject('addrspace');
    o.addrspace = as;
    await this.hyp.addrspaceConfigure(as, vm.vmid);
    if (vmmio) await this.hyp.addrspaceConfigureVmmio(as, 0n, DEFAULT_VMMIO_SIZE);
    await this.hyp.activate(as);
  }

  /** VIC for `nVcpus`, its GICD frame attached to the address space (the GICRs follow the vCPUs). */
  async createVic(vm: Vm, nVcpus: number, gic: { gicdBase: bigint; gicrBase: bigint; gicrStride: bigint }, defaultAddresses: boolean): Promise<void> {
    const o = this.objs(vm);
    const vic = await this.newObject('vic');
    o.vic = vic;
    await this.hyp.vicConfigure(vic, nVcpus, VIC_MAX_VIRQS, defaultAddresses ? 0 : VIC_OPT_DISABLE_DEFAULT_ADDR, 0);
    await this.hyp.activate(vic);
    await this.hyp.addrspaceAttachVdevice(o.addrspace!, vic, 0, gic.gicdBase, GICD_SIZE, 0n);
    o.gic = gic;
    vm.ipa.insert(gic.gicdBase, GICD_SIZE, { kind: 'vdevice' });
    vm.ipa.insert(gic.gicrBase, gic.gicrStride * BigInt(nVcpus), { kind: 'vdevice' });
  }

  /** Each vCPU's redistributor frame (attachment index = vCPU index + 1), once the vCPUs exist. */
  async attachGicrs(vm: Vm): Promise<void> {
    const o = this.objs(vm);
    const g = o.gic!;
    const n = o.vcpus.length;
    for (let i = 0; i < n; i++) {
      // Flags: bit0 last_valid, bit1 last (the frame whose GICR_TYPER.Last is set).
      const flags = 1n | (i === n - 1 ? 2n : 0n);
      await this.hyp.addrspaceAttachVdevice(o.addrspace!, o.vic!, i + 1, g.gicrBase + BigInt(i) * g.gicrStride, GICR_SIZE, flags);
    }
  }

  async createVpm(vm: Vm): Promise<void> {
    const o = this.objs(vm);
    const vpm = await this.newObject('vpm_group');
    o.vpm = vpm;
    await this.hyp.vpmGroupConfigure(vpm, 0n);
    await this.hyp.activate(vpm);
  }

  /** One vCPU (handle_vcpu's order), its halt VIRQ bound to the RM and its caps handed out. */
  async createVcpu(vm: Vm, index: number, spec: VcpuSpec): Promise<VcpuRecord> {
    const o = this.objs(vm);
    const hyp = this.hyp;
    const cap = await this.newObject('thread');
    const rec: VcpuRecord = {
      index,
      cap,
      ownerCap: undefined,
      vmCap: undefined,
      affinity: spec.affinity,
      haltVirq: -1,
      wakeupVirq: undefined,
      cpuPath: spec.cpuPath,
      boot: spec.boot,
      hvcEnabled: spec.hvcEnabled,
    };
    o.vcpus.push(rec);
    await hyp.vcpuSetAffinity(cap, spec.affinity);
    await hyp.vcpuSetPriority(cap, spec.priority);
    await hyp.vcpuSetTimeslice(cap, spec.timesliceNs);
    await hyp.cspaceAttachThread(o.cspace, cap);
    await hyp.addrspaceAttachThread(o.addrspace!, cap);
    if (o.vpm !== undefined) await hyp.vpmGroupAttachVcpu(o.vpm, cap, index);
    await hyp.vicAttachVcpu(o.vic!, cap, index);
    await hyp.vcpuConfigure(cap, spec.options);
    await hyp.activate(cap);

    rec.haltVirq = await this.rm.claimVirq(() => this.rm.lifecycle.onVcpuHalt(vm, cap));
    await hyp.vcpuBindVirq(cap, this.rm.env.vic, rec.haltVirq, VcpuVirqType.HALT);

    const owner = this.rm.vms.get(vm.owner);
    if (owner?.objects && vm.owner !== Vmid.RM) {
      rec.ownerCap = await hyp.copyCap(this.rm.env.cspace, cap, owner.objects.cspace, Right.THREAD_AFFINITY | Right.THREAD_YIELD_TO);
      if (spec.proxy) {
        const w = owner.objects.virqs.alloc();
        if (w === undefined) throw new RmError(RmErr.NORESOURCE, `no free VIRQ in VM ${owner.vmid}`);
        rec.wakeupVirq = w;
        await hyp.vcpuBindVirq(cap, owner.objects.vic!, w, VcpuVirqType.RUN_WAKEUP);
      }
    }
    if (spec.hvcEnabled) rec.vmCap = await hyp.copyCap(this.rm.env.cspace, cap, o.cspace, Right.THREAD_POWER);
    return rec;
  }

  // ---- vdevices ----

  private newVdev(vm: Vm, kind: VdevRecord['kind'], cfg: Pick<VdevRecord, 'label' | 'generate' | 'pushCompatible'>, peer: number): VdevRecord {
    const o = this.objs(vm);
    const rec: VdevRecord = {
      kind,
      handle: o.nextVdevHandle++,
      label: cfg.label,
      generate: cfg.generate,
      pushCompatible: cfg.pushCompatible,
      self: { vmid: vm.vmid },
      peer: { vmid: peer },
      peerId: undefined,
      source: false,
      msgSize: 0,
      depth: 0,
      objects: [],
      foreignCaps: [],
      foreignVirqs: [],
    };
    o.vdevs.push(rec);
    return rec;
  }

  /** The cspace and VIC a side of a vdevice lives in (the RM's own for VMID_RM). */
  private side(vmid: number): { cspace: bigint; vic: bigint; alloc: () => number; rm: boolean } {
    if (vmid === Vmid.RM) {
      return {
        cspace: this.rm.env.cspace,
        vic: this.rm.env.vic,
        alloc: () => {
          const v = this.rm.rmVirqs.alloc();
          if (v === undefined) throw new RmError(RmErr.NORESOURCE, 'the RM has no free VIRQ');
          return v;
        },
        rm: true,
      };
    }
    const vm = this.rm.vm(vmid);
    const o = vm.objects;
    if (!o || o.vic === undefined) throw new RmError(RmErr.ARGUMENT_INVALID, `peer VM ${vmid} has no interrupt controller`);
    return {
      cspace: o.cspace,
      vic: o.vic,
      alloc: () => {
        const v = o.virqs.alloc();
        if (v === undefined) throw new RmError(RmErr.NORESOURCE, `no free VIRQ in VM ${vmid}`);
        return v;
      },
      rm: false,
    };
  }

  /** A message queue from `sender` to `receiver`: caps and VIRQs for both ends (the RM keeps the master). */
  private async queue(rec: VdevRecord, sender: number, receiver: number, depth: number, size: number, requestedVirqs: { send?: number | undefined; recv?: number | undefined } = {}) {
    const hyp = this.hyp;
    const mq = await this.newObject('msgqueue');
    rec.objects.push(mq);
    await hyp.msgqueueConfigure(mq, depth, size);
    await hyp.activate(mq);
    const s = this.side(sender);
    const r = this.side(receiver);
    const sendVirq = requestedVirqs.send ?? s.alloc();
    await hyp.msgqueueBindSendVirq(mq, s.vic, sendVirq);
    this.noteVirq(rec, sender, sendVirq);
    const recvVirq = requestedVirqs.recv ?? r.alloc();
    await hyp.msgqueueBindReceiveVirq(mq, r.vic, recvVirq);
    this.noteVirq(rec, receiver, recvVirq);
    const sendCap = s.rm ? mq : await hyp.copyCap(this.rm.env.cspace, mq, s.cspace, Right.MSGQ_SEND);
    if (!s.rm) this.noteCap(rec, s.cspace, sendCap, sender);
    const recvCap = r.rm ? mq : await hyp.copyCap(this.rm.env.cspace, mq, r.cspace, Right.MSGQ_RECEIVE);
    if (!r.rm) this.noteCap(rec, r.cspace, recvCap, receiver);
    return { mq, sendCap, recvCap, sendVirq, recvVirq };
  }

  private noteVirq(rec: VdevRecord, vmid: number, virq: number): void {
    rec.foreignVirqs.push({ vmid, virq });
  }
  private noteCap(rec: VdevRecord, cspace: bigint, cap: bigint, vmid: number): void {
    // Caps in the VM's own cspace die with it; caps in other VMs' cspaces are deleted explicitly.
    if (vmid !== rec.self.vmid) rec.foreignCaps.push({ cspace, cap });
  }

  /** The RM-RPC link of a VM: a msgqueue pair to the RM, registered with the RPC server. */
  async createRpcLink(vm: Vm, cfg: Pick<VdevRecord, 'label' | 'generate' | 'pushCompatible'>, msgSize: number, depth: number, console: boolean): Promise<VdevRecord> {
    const rec = this.newVdev(vm, 'rm-rpc', cfg, Vmid.RM);
    rec.msgSize = msgSize;
    rec.depth = depth;
    const toRm = await this.queue(rec, vm.vmid, Vmid.RM, depth, msgSize);
    const fromRm = await this.queue(rec, Vmid.RM, vm.vmid, depth, msgSize);
    rec.self = { vmid: vm.vmid, txCap: toRm.sendCap, rxCap: fromRm.recvCap, txVirq: toRm.sendVirq, rxVirq: fromRm.recvVirq };
    rec.peer = { vmid: Vmid.RM, txCap: fromRm.sendCap, rxCap: toRm.recvCap, txVirq: fromRm.sendVirq, rxVirq: toRm.recvVirq };
    await this.rm.addRpcLink(vm.vmid, fromRm.mq, toRm.mq, fromRm.sendVirq, toRm.recvVirq);
    await this.rm.plat.enableVirq(fromRm.sendVirq, true);
    await this.rm.plat.enableVirq(toRm.recvVirq, true);
    if (console) this.rm.consoles.create(vm.vmid, vm.owner);
    return rec;
  }

  private peerVmid(vm: Vm, cfg: VdeviceConfig & { peer: { kind: 'default' } | { kind: 'id'; id: string } }): number {
    if (cfg.peer.kind === 'default') return vm.owner;
    const p = this.rm.vms.lookupById(cfg.peer.id);
    if (!p) throw new RmError(RmErr.ARGUMENT_INVALID, `peer ${cfg.peer.id} not found`);
    return p.vmid;
  }

  /** A vdevice of the VM's config other than rm-rpc. */
  async createVdevice(vm: Vm, cfg: VdeviceConfig): Promise<void> {
    const hyp = this.hyp;
    switch (cfg.type) {
      case 'rm-rpc':
        await this.createRpcLink(vm, cfg, cfg.msgSize, cfg.depth, cfg.consoleDev);
        return;
      case 'message-queue-pair': {
        const peer = this.peerVmid(vm, cfg);
        const rec = this.newVdev(vm, 'message-queue-pair', cfg, peer);
        rec.msgSize = cfg.msgSize;
        rec.depth = cfg.depth;
        rec.peerId = cfg.peer.kind === 'id' ? cfg.peer.id : undefined;
        const out = await this.queue(rec, vm.vmid, peer, cfg.depth, cfg.msgSize, { send: cfg.irqs?.[0].virq });
        const inq = await this.queue(rec, peer, vm.vmid, cfg.depth, cfg.msgSize, { recv: cfg.irqs?.[1].virq });
        rec.self = { vmid: vm.vmid, txCap: out.sendCap, rxCap: inq.recvCap, txVirq: out.sendVirq, rxVirq: inq.recvVirq };
        rec.peer = { vmid: peer, txCap: inq.sendCap, rxCap: out.recvCap, txVirq: inq.sendVirq, rxVirq: out.recvVirq };
        return;
      }
      case 'message-queue': {
        const peer = vm.owner;
        const rec = this.newVdev(vm, 'message-queue', cfg, peer);
        rec.msgSize = cfg.msgSize;
        rec.depth = cfg.depth;
        rec.source = cfg.sender;
        const q = cfg.sender
          ? await this.queue(rec, vm.vmid, peer, cfg.depth, cfg.msgSize, { send: cfg.irq?.virq })
          : await this.queue(rec, peer, vm.vmid, cfg.depth, cfg.msgSize, { recv: cfg.irq?.virq });
        rec.self = cfg.sender ? { vmid: vm.vmid, cap: q.sendCap, virq: q.sendVirq } : { vmid: vm.vmid, cap: q.recvCap, virq: q.recvVirq };
        rec.peer = cfg.sender ? { vmid: peer, cap: q.recvCap, virq: q.recvVirq } : { vmid: peer, cap: q.sendCap, virq: q.sendVirq };
        return;
      }
      case 'doorbell': {
        const peer = this.peerVmid(vm, cfg);
        const rec = this.newVdev(vm, 'doorbell', cfg, peer);
        rec.source = cfg.source;
        const db = await this.newObject('doorbell');
        rec.objects.push(db);
        await hyp.activate(db);
        const [srcVm, rcvVm] = cfg.source ? [vm.vmid, peer] : [peer, vm.vmid];
        const src = this.side(srcVm);
        const rcv = this.side(rcvVm);
        const virq = cfg.irq?.virq ?? rcv.alloc();
        await hyp.doorbellBindVirq(db, rcv.vic, virq);
        this.noteVirq(rec, rcvVm, virq);
        const srcRights = Right.DOORBELL_SEND | (cfg.sourceCanClear ? Right.DOORBELL_RECEIVE : 0);
        const srcCap = await hyp.copyCap(this.rm.env.cspace, db, src.cspace, srcRights);
        this.noteCap(rec, src.cspace, srcCap, srcVm);
        const rcvCap = await hyp.copyCap(this.rm.env.cspace, db, rcv.cspace, Right.DOORBELL_RECEIVE);
        this.noteCap(rec, rcv.cspace, rcvCap, rcvVm);
        const srcEnd: VdevEnd = { vmid: srcVm, cap: srcCap };
        const rcvEnd: VdevEnd = { vmid: rcvVm, cap: rcvCap, virq };
        rec.self = cfg.source ? srcEnd : rcvEnd;
        rec.peer = cfg.source ? rcvEnd : srcEnd;
        return;
      }
      case 'shm':
        // Shared memory needs no objects: the parcel with this label is accepted at VM_START and
        // described under /reserved-memory.
        return;
    }
  }

  /** Reset stage: destroy one vdevice; true when none is left. */
  async destroyOneVdevice(vm: Vm): Promise<boolean> {
    const o = vm.objects;
    const rec = o?.vdevs.pop();
    if (!rec) return true;
    if (rec.kind === 'rm-rpc') {
      const link = this.rm.rpc.removeLink(vm.vmid);
      if (link) {
        await this.rm.releaseVirq(link.txVirq);
        await this.rm.releaseVirq(link.rxVirq);
      }
      this.rm.consoles.destroy(vm.vmid);
    }
    for (const c of rec.foreignCaps) await this.drop(c.cap, c.cspace);
    for (const v of rec.foreignVirqs) {
      if (v.vmid === Vmid.RM) continue; // the link's VIRQs were released with it
      this.rm.vms.get(v.vmid)?.objects?.virqs.free(v.virq);
    }
    for (const cap of rec.objects) await this.drop(cap);
    return o!.vdevs.length === 0;
  }

  /** Reset stage: delete the VM's vCPUs, VPM group, VIC, address space, cspace and RAM extent. */
  async destroyVm(vm: Vm): Promise<void> {
    const o = vm.objects;
    if (!o) return;
    while (o.vdevs.length > 0) await this.destroyOneVdevice(vm);
    const owner = this.rm.vms.get(vm.owner);
    for (const v of o.vcpus) {
      if (v.haltVirq >= 0) await this.rm.releaseVirq(v.haltVirq);
      if (v.ownerCap !== undefined && owner?.objects) await this.drop(v.ownerCap, owner.objects.cspace);
      if (v.wakeupVirq !== undefined) owner?.objects?.virqs.free(v.wakeupVirq);
      await this.drop(v.cap);
    }
    await this.drop(o.vpm);
    await this.drop(o.vic);
    await this.drop(o.addrspace);
    await this.drop(o.cspace);
    // Pages still owned by the VM's extent go back to the root extent when it is deleted.
    await this.drop(o.ramMe);
    vm.objects = undefined;
  }
}

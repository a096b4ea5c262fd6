// Virtual interrupt controllers (a virtual GICv3 per VM): configuration, vCPU attachment, binding
// of interrupt sources to SPIs and PPIs, and assertion (spec §9; hyp/vm/vgic).
import { GhError } from '../abi/errors';
import { ObjectState, ObjectType } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import { KObject } from '../objects/kobject';
import type { Partition } from '../objects/partition';
import type { Vcpu } from '../vm/vcpu';
import { GIC_PPI_BASE, GIC_SPI_BASE, GIC_SPI_NUM, GicdCtlr, IrqState, PLATFORM_MAX_CORES } from './irq-state';
import type { VirqSource } from './virq-source';
import type { Addrspace, VdeviceRange } from '../mem/addrspace';
import { gicdDevice, gicrDevice } from './gic-mmio';

export { GicdCtlr, PLATFORM_MAX_CORES };

export interface MpidrMapping {
  shifts: [number, number, number, number];
  masks: [number, number, number, number];
  mt: boolean;
}

export class Vic extends KObject {
  readonly type = ObjectType.VIC;
  gicrCount = 0;
  sourcesCount = 0;
  /** Whether the vGIC also answers at the platform's default GICD/GICR addresses. */
  allowFixedAddr = true;
  gicdCtlr = GicdCtlr.ARE | GicdCtlr.DS;
  readonly gicrVcpus: (Vcpu | undefined)[] = [];
  private readonly spis: (IrqState | undefined)[] = [];
  private readonly sources = new Set<VirqSource>();
  mapping: MpidrMapping = { shifts: [0, 8, 16, 32], masks: [0xff, 0, 0, 0], mt: false };
  /** The GICD frame attached with addrspace_attach_vdevice (index 0). */
  gicdAttachment: { as: Addrspace; dev: VdeviceRange } | null = null;
  /** GICR frames attached for vCPUs (index 1..N). */
  readonly gicrAttachments = new Map<Vcpu, { as: Addrspace; dev: VdeviceRange }>();
  /** The GICD device answering at the platform's default address (created on first use). */
  fixedGicd: VdeviceRange | undefined;

  constructor(hv: Hypervisor, partition: Partition) {
    super(hv, partition);
  }

  configure(maxVcpus: number, maxVirqs: number, maxMsis: number, allowFixed: boolean): number {
    this.allowFixedAddr = allowFixed;
    if (maxVcpus === 0 || maxVcpus > PLATFORM_MAX_CORES) return GhError.ARGUMENT_INVALID;
    this.gicrCount = maxVcpus;
    if (maxVirqs > GIC_SPI_NUM) return GhError.ARGUMENT_INVALID;
    this.sourcesCount = maxVirqs;
    // This vGIC has no LPI support (VGIC_HAS_LPI = 0): MSIs cannot be configured.
    if (maxMsis !== 0) return GhError.ARGUMENT_INVALID;
    return GhError.OK;
  }

  setMpidrMapping(mask: bigint, shifts: [number, number, number, number], mt: boolean): number {
    const masks: [number, number, number, number] = [
      Number(mask & 0xffn),
      Number((mask >> 8n) & 0xffn),
      Number((mask >> 16n) & 0xffn),
      Number((mask >> 32n) & 0xffn),
    ];
    let indexMask = 0;
    for (let i = 0; i < 4; i++) {
      if (shifts[i]! >= 32) return GhError.ARGUMENT_INVALID;
      const field = masks[i]! * 2 ** shifts[i]!;
      if (field >= 2 ** 32 || (indexMask & field) !== 0) return GhError.ARGUMENT_INVALID;
      indexMask = (indexMask | field) >>> 0;
    }
    // Output bits must be contiguous from bit 0 and fit in 15 bits.
    if (((indexMask + 1) & indexMask) !== 0 || indexMask >= 0x8000) return GhError.ARGUMENT_INVALID;
    this.mapping = { shifts, masks, mt };
    return GhError.OK;
  }

  /** MPIDR affinity fields (Aff3 at bits 39:32) of the vCPU with this index. */
  mpidrOf(index: number): bigint {
    const m = this.mapping;
    let v = 0n;
    const pos = [0n, 8n, 16n, 32n];
    for (let i = 0; i < 4; i++) v |= BigInt((index >>> m.shifts[i]!) & m.masks[i]!) << pos[i]!;
    if (m.mt) v |= 1n << 24n;
    return v;
  }

  /** vCPU index for an MPIDR, or -1 when it maps outside the VIC. */
  indexOf(mpidr: bigint): number {
    const m = this.mapping;
    const affs = [Number(mpidr & 0xffn), Number((mpidr >> 8n) & 0xffn), Number((mpidr >> 16n) & 0xffn), Number((mpidr >> 32n) & 0xffn)];
    let index = 0;
    for (let i = 0; i < 4; i++) {
      if ((affs[i]! & ~m.masks[i]!) !== 0) return -1;
      index |= affs[i]! << m.shifts[i]!;
    }
    return index < this.gicrCount ? index : -1;
  }

  protected override onActivate(): number {
    if (this.gicrCount === 0) return GhError.OBJECT_CONFIG;
    if (!this.chargeHeap(16 * this.sourcesCount + 8 * this.gicrCount)) return GhError.NOMEM;
    return GhError.OK;
  }

  protected override onDeactivate(): void {
    for (const s of [...this.sources]) this.unbind(s);
    if (this.gicdAttachment) {
      this.gicdAttachment.as.detachVdevice(this.gicdAttachment.dev);
      this.gicdAttachment.as.put();
      this.gicdAttachment = null;
    }
  }

  /** addrspace_attach_vdevice for the vGIC: index 0 = GICD, 1..N = the GICR of vCPU index-1. */
  attachVdevice(as: Addrspace, index: number, vbase: number, size: number, flags: bigint): number {
    if (index > this.gicrCount) return GhError.ARGUMENT_INVALID;
    if (index === 0) {
      if (flags !== 0n) return GhError.ARGUMENT_INVALID;
      if (this.gicdAttachment) return GhError.BUSY;
      const dev = gicdDevice(this, vbase);
      const err = as.attachVdevice(vbase, size, dev);
      if (err !== GhError.OK) return err;
      as.get();
      this.gicdAttachment = { as, dev };
      return GhError.OK;
    }
    if ((flags & ~3n) !== 0n) return GhError.ARGUMENT_INVALID;
    const vcpu = this.gicrVcpus[index - 1];
    if (!vcpu) return GhError.IDLE;
    if (this.gicrAttachments.has(vcpu)) return GhError.BUSY;
    // Last: as given when bit 0 (last_valid) is set, else the highest-numbered GICR.
    const last = (flags & 1n) !== 0n ? (flags & 2n) !== 0n : index === this.gicrCount;
    const dev = gicrDevice(this, vcpu, vbase, last);
    const err = as.attachVdevice(vbase, size, dev);
    if (err !== GhError.OK) return err;
    as.get();
    this.gicrAttachments.set(vcpu, { as, dev });
    return GhError.OK;
  }

  /** A vCPU leaves: its redistributor frame goes with it. */
  detachGicr(vcpu: Vcpu): void {
    const a = this.gicrAttachments.get(vcpu);
    if (!a) return;
    a.as.detachVdevice(a.dev);
    a.as.put();
    this.gicrAttachments.delete(vcpu);
  }

  // ---- vCPUs ----

  attachVcpu(vcpu: Vcpu, index: number): number {
    if (index >= this.gicrCount) return GhError.ARGUMENT_INVALID;
    vcpu.vic?.put();
    this.get();
    vcpu.vic = this;
    vcpu.vicIndex = index;
    return GhError.OK;
  }

  // ---- IRQ state ----

  /** The state of an SPI (lazily created), or undefined outside the configured range. */
  spi(intid: number): IrqState | undefined {
    const n = intid - GIC_SPI_BASE;
    if (n < 0 || n >= this.sourcesCount) return undefined;
    let s = this.spis[n];
    if (!s) {
      s = new IrqState(intid, false);
      this.spis[n] = s;
    }
    return s;
  }

  /** Private or shared state of an INTID as seen from `vcpu`'s redistributor. */
  stateOf(vcpu: Vcpu | undefined, intid: number): IrqState | undefined {
    if (intid < GIC_SPI_BASE) return vcpu?.gic.priv[intid];
    return this.spi(intid);
  }

  /** The vCPU an SPI is delivered to (its route), if attached and active. */
  spiTarget(s: IrqState): Vcpu | undefined {
    return this.gicrVcpus[s.route];
  }

  // ---- binding ----

  bindShared(source: VirqSource, virq: number): number {
    if (source.bound) return GhError.VIRQ_BOUND;
    if (virq < GIC_SPI_BASE || virq >= GIC_SPI_BASE + GIC_SPI_NUM) return GhError.ARGUMENT_INVALID;
    const s = this.spi(virq);
    if (!s) return GhError.ARGUMENT_INVALID;
    if (s.source) return GhError.BUSY;
    s.source = source;
    source.vic = this;
    source.virq = virq;
    source.vcpuIndex = -1;
    this.sources.add(source);
    return GhError.OK;
  }

  /** Bind a private (PPI) source to the vCPU at `index` of this VIC. */
  bindPrivate(source: VirqSource, index: number, virq: number): number {
    if (virq < GIC_PPI_BASE || virq >= GIC_SPI_BASE) return GhError.ARGUMENT_INVALID;
    if (source.bound) return GhError.VIRQ_BOUND;
    if (index >= this.gicrCount) return GhError.ARGUMENT_INVALID;
    const vcpu = this.gicrVcpus[index];
    if (!vcpu) return GhError.OBJECT_CONFIG;
    const s = vcpu.gic.priv[virq]!;
    if (s.source) return GhError.BUSY;
    s.source = source;
    source.vic = this;
    source.virq = virq;
    source.vcpuIndex = index;
    this.sources.add(source);
    return GhError.OK;
  }

  unbind(source: VirqSource): void {
    if (source.vic !== this) return;
    const vcpu = source.vcpuIndex >= 0 ? this.gicrVcpus[source.vcpuIndex] : undefined;
    const s = source.vcpuIndex >= 0 ? vcpu?.gic.priv[source.virq] : this.spi(source.virq);
    if (s && s.source === source) {
      s.source = null;
      // The line drops with its source; a latched edge stays pending as on hardware.
      if (s.level) {
        s.level = false;
        this.changed(s, vcpu);
      }
    }
    this.sources.delete(source);
    source.vic = null;
  }

  // ---- assertion (virq_assert / virq_clear) ----

  /**
   * Assert `source`: latch an edge, and unless `edgeOnly` also raise its level. An edge-only assert
   * of a level-configured VIRQ changes nothing (spec §8). Returns VIRQ_NOT_BOUND when unbound.
   */
  static assert(source: VirqSource, edgeOnly: boolean): number {
    const vic = source.vic;
    if (!vic || vic.state !== ObjectState.ACTIVE) return GhError.VIRQ_NOT_BOUND;
    const vcpu = source.vcpuIndex >= 0 ? vic.gicrVcpus[source.vcpuIndex] : undefined;
    const s = vic.stateOf(vcpu, source.virq);
    if (!s) return GhError.VIRQ_NOT_BOUND;
    s.edge = true;
    if (!edgeOnly) s.level = true;
    vic.changed(s, vcpu);
    return GhError.OK;
  }

  /** Drop `source`'s pending state (edge and level). */
  static clear(source: VirqSource): void {
    const vic = source.vic;
    if (!vic) return;
    const vcpu = source.vcpuIndex >= 0 ? vic.gicrVcpus[source.vcpuIndex] : undefined;
    const s = vic.stateOf(vcpu, source.virq);
    if (!s || s.source !== source) return;
    s.edge = false;
    s.level = false;
    vic.changed(s, vcpu);
  }

  /** Re-evaluate delivery after `s` changed (pending, enable, priority or route). */
  changed(s: IrqState, privateVcpu?: Vcpu): void {
    const target = s.intid < GIC_SPI_BASE ? privateVcpu : this.spiTarget(s);
    target?.gic.track(s);
  }

  /** Move an SPI to a new route, moving its pending tracking along. */
  reroute(s: IrqState, route: number): void {
    if (route === s.route) return;
    this.gicrVcpus[s.route]?.gic.untrack(s);
    s.route = route;
    this.changed(s);
  }

  /** Called when group enables change: every vCPU re-evaluates its interrupt line. */
  ctlrChanged(): void {
    for (const v of this.gicrVcpus) v?.gic.refresh();
  }

  *boundSources(): Generator<VirqSource> {
    yield* this.sources;
  }
}

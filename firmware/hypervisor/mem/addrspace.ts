// Address spaces: a VM's stage-2 table, VMID, VMMIO ranges, vdevice ranges and info area (spec §11).
import { GhError } from '../abi/errors';
import { ObjectType } from '../abi/objects';
import { Access, ADDRSPACE_MAX_VMMIO_RANGES, PAGE_SIZE, MemextentType, MemextentMemtype, S2Memtype } from '../abi/memory';
import type { Hypervisor } from '../hypervisor';
import { KObject } from '../objects/kobject';
import type { Partition } from '../objects/partition';
import { RangeMap } from '../util/range-map';
import type { Memextent } from './memextent';
import { newStage2, unmapMatching, type S2Entry } from './stage2';

/** An emulated device region in a VM's IPA space: the vGIC frames or a registered handler. */
export interface VdeviceRange {
  readonly kind: 'gicd' | 'gicr' | 'handler';
  /** IPA where the range starts. */
  readonly base: number;
  read(ctx: VdeviceAccess, offset: number, size: number): bigint;
  write(ctx: VdeviceAccess, offset: number, size: number, value: bigint): void;
}

/** What an emulated device sees of the trapping vCPU. */
export interface VdeviceAccess {
  /** The trapping vCPU's index in its VM. */
  readonly vcpuIndex: number;
  /** Internal handle of the trapping vCPU (the vGIC needs it for redistributor-relative state). */
  readonly vcpu: import('../vm/vcpu').Vcpu;
  /** Charge extra emulation time (ns) to the trapping vCPU. */
  charge(ns: number): void;
  /**
   * Answer later: the handler's return value is ignored and the trapping vCPU blocks until the
   * returned function is called with the value (a read's result; ignored for a write). Calls after
   * the first, or after the vCPU was reset, do nothing. Only for device handlers attached with
   * `Hypervisor.attachDeviceHandler`.
   */
  defer?(): (value: bigint) => void;
}

/** Largest info area (MAX_VM_INFO_AREA_SIZE = one hypervisor page). */
export const MAX_VM_INFO_AREA_SIZE = PAGE_SIZE;
/** vCPUs per address space (ADDRSPACE_MAX_THREADS = PLATFORM_MAX_CORES). */
export const ADDRSPACE_MAX_THREADS = 8;

export class Addrspace extends KObject {
  readonly type = ObjectType.ADDRSPACE;
  vmid = 0;
  readonly s2 = newStage2();
  readonly vmmio = new RangeMap<true>();
  readonly vdevices = new RangeMap<VdeviceRange>();
  private vmmioCount = 0;
  infoArea: { me: Memextent; ipa: number } | undefined;
  threads = 0;

  constructor(hv: Hypervisor, partition: Partition) {
    super(hv, partition);
  }

  /** Highest IPA + 1 this VM can use (PLATFORM_VM_ADDRESS_SPACE_BITS). */
  get ipaLimit(): number {
    return this.hv.ipaLimit;
  }

  configure(vmid: number): number {
    if (vmid === 0 || vmid >= this.hv.numVmids) return GhError.ARGUMENT_INVALID;
    this.vmid = vmid;
    return GhError.OK;
  }

  configureInfoArea(me: Memextent, ipa: number): number {
    if (me.size > MAX_VM_INFO_AREA_SIZE) return GhError.ARGUMENT_INVALID;
    if (ipa % PAGE_SIZE !== 0 || ipa + me.size > this.ipaLimit) return GhError.ADDR_INVALID;
    if (me.meType !== MemextentType.BASIC || (me.access & Access.RW) !== Access.RW || me.memtype !== MemextentMemtype.ANY) {
      return GhError.ARGUMENT_INVALID;
    }
    this.infoArea?.me.put();
    me.get();
    this.infoArea = { me, ipa };
    return GhError.OK;
  }

  protected override onActivate(): number {
    if (this.hv.vmids.has(this.vmid) || this.vmid === 0) return GhError.BUSY;
    if (this.infoArea) {
      const { me, ipa } = this.infoArea;
      const err = me.attach();
      if (err !== GhError.OK) {
        me.put();
        this.infoArea = undefined;
        return err;
      }
      this.hv.machine.mem.zero(me.physBase, me.size);
      // The VM sees the info area read-only.
      this.s2.set(ipa, ipa + me.size, { pa: me.physBase, k: Access.R, u: Access.R, mt: S2Memtype.NORMAL_WB, ext: me });
    }
    this.hv.vmids.set(this.vmid, this);
    return GhError.OK;
  }

  protected override onDeactivate(): void {
    this.hv.vmids.delete(this.vmid);
    if (this.infoArea) {
      this.infoArea.me.detach();
    }
    // Every extent mapping into this address space goes away with it.
    for (const me of this.hv.memextentsMappedIn(this)) me.forgetAddrspace(this);
    this.s2.clear();
  }

  protected override onCleanup(): void {
    this.infoArea?.me.put();
    this.infoArea = undefined;
  }

  // ---- stage 2 primitives (addrspace_map / addrspace_unmap) ----

  /** Map [ipa, ipa+size) to `pa`; an existing mapping there is replaced (no try_map). */
  map(ipa: number, size: number, pa: number, mt: number, k: number, u: number, ext: KObject | null): number {
    if (ipa + size > this.ipaLimit) return GhError.ADDR_INVALID;
    this.s2.set(ipa, ipa + size, { pa, k, u, mt, ext } satisfies S2Entry);
    return GhError.OK;
  }

  unmap(ipa: number, size: number, pa: number): void {
    unmapMatching(this.s2, ipa, size, pa);
  }

  /** addrspace_lookup: the contiguous mapping starting at `vbase`, up to `size` bytes. */
  lookup(vbase: number, size: number): { pa: number; size: number; e: S2Entry } | number {
    if (size === 0) return GhError.ARGUMENT_SIZE;
    if (vbase + size - 1 > Number.MAX_SAFE_INTEGER) return GhError.ADDR_OVERFLOW;
    if (vbase % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) return GhError.ARGUMENT_ALIGNMENT;
    const pieces = this.s2.overlapping(vbase, vbase + size);
    const first = pieces[0];
    if (!first || first.start !== vbase) return GhError.ADDR_INVALID;
    let len = first.end - first.start;
    for (let i = 1; i < pieces.length; i++) {
      const p = pieces[i]!;
      const prev = pieces[i - 1]!;
      const e = p.value;
      if (p.start !== prev.end || e.pa !== first.value.pa + len || e.k !== first.value.k || e.u !== first.value.u || e.mt !== first.value.mt) break;
      len += p.end - p.start;
    }
    return { pa: first.value.pa, size: len, e: first.value };
  }

  /**
   * Instruction fetch for image decoders: copy [ipa, ipa + into.length) through stage 2, every byte
   * mapped executable at EL1. False when any of it is not (`into` may be partly written).
   */
  fetch(ipa: bigint, into: Uint8Array): boolean {
    if (ipa < 0n || ipa + BigInt(into.length) > BigInt(this.ipaLimit)) return false;
    let a = Number(ipa);
    let off = 0;
    while (off < into.length) {
      const i = this.s2.indexOf(a);
      if (i < 0) return false;
      const e = this.s2.valueAt(i);
      if ((e.k & Access.X) === 0) return false;
      const n = Math.min(into.length - off, this.s2.endAt(i) - a);
      this.hv.machine.mem.read(e.pa + (a - this.s2.startAt(i)), into, off, n);
      off += n;
      a += n;
    }
    return true;
  }

  // ---- VMMIO ranges (addrspace_configure_vmmio) ----

  addVmmio(base: number, size: number): number {
    if (size === 0) return GhError.ARGUMENT_SIZE;
    if (base + size > 2 ** 64 || !Number.isSafeInteger(base + size)) return GhError.ADDR_OVERFLOW;
    if (this.vmmioCount >= ADDRSPACE_MAX_VMMIO_RANGES) return GhError.NORESOURCES;
    if (this.vmmio.intersects(base, base + size)) return GhError.BUSY;
    this.vmmio.set(base, base + size, true);
    this.vmmioCount++;
    return GhError.OK;
  }

  removeVmmio(base: number, size: number): number {
    if (size === 0) return GhError.ARGUMENT_SIZE;
    if (!Number.isSafeInteger(base + size)) return GhError.ADDR_OVERFLOW;
    const r = this.vmmio.get(base);
    // Only a whole range that was added can be removed.
    if (!r || r.start !== base || r.end !== base + size) return GhError.ARGUMENT_INVALID;
    this.vmmio.remove(base, base + size);
    this.vmmioCount--;
    return GhError.OK;
  }

  // ---- vdevices ----

  attachVdevice(base: number, size: number, dev: VdeviceRange): number {
    if (size === 0) return GhError.ARGUMENT_SIZE;
    if (!Number.isSafeInteger(base + size) || base + size > this.ipaLimit) return GhError.ADDR_INVALID;
    if (this.vdevices.intersects(base, base + size)) return GhError.BUSY;
    this.vdevices.set(base, base + size, dev);
    return GhError.OK;
  }

  detachVdevice(dev: VdeviceRange): void {
    for (const r of this.vdevices.entries()) if (r.value === dev) this.vdevices.remove(r.start, r.end);
  }
}

// Memory extents: basic and sparse, root and derived, with ownership in the memdb and up to four
// address-space mappings each (spec §11; hyp/mem/memextent, hyp/mem/memextent_sparse).
import { GhError } from '../abi/errors';
import { ObjectState, ObjectType } from '../abi/objects';
import {
  Access,
  GPT_VBASE_BITS,
  MEMEXTENT_ATTRS_APPEND,
  MEMEXTENT_ATTRS_RES0,
  MemextentMemtype,
  MemextentType,
  PAGE_SIZE,
  S2Memtype,
  isDeviceMemtype,
} from '../abi/memory';
import type { Hypervisor } from '../hypervisor';
import { KObject } from '../objects/kobject';
import type { Partition } from '../objects/partition';
import type { Addrspace } from './addrspace';
import { addRecord, emptySlots, newRecs, recordsIn, removeRecord, type MapRec, type Slots } from './map-slots';

const VBASE_LIMIT = 2 ** GPT_VBASE_BITS;
const VALID_ACCESS = new Set<number>([Access.X, Access.W, Access.R, Access.RX, Access.RW, Access.RWX]);

/** Whether `requested` asks for nothing beyond `allowed` (pgtable_access_check). */
export function accessWithin(allowed: number, requested: number): boolean {
  return (allowed & requested) === requested;
}

/** memextent_check_memtype: may an extent of `extentType` be mapped with stage-2 type `mt`? */
export function memtypeAllowed(extentType: number, mt: number): boolean {
  if (isDeviceMemtype(mt)) return extentType === MemextentMemtype.ANY || extentType === MemextentMemtype.DEVICE || extentType === MemextentMemtype.UNCACHED;
  if (mt === S2Memtype.NORMAL_NC) return extentType === MemextentMemtype.ANY || extentType === MemextentMemtype.UNCACHED;
  // The build is ARMv8.5 (S2FWB present), so CACHED extents may be mapped write-back.
  if (mt === S2Memtype.NORMAL_WB) return extentType === MemextentMemtype.ANY || extentType === MemextentMemtype.CACHED;
  if ([6, 7, 9, 10, 11, 13, 14].includes(mt)) return extentType === MemextentMemtype.ANY;
  return false;
}

/** Decoded memextent_mapping_attrs. */
export interface MapAttrs {
  readonly u: number;
  readonly k: number;
  readonly mt: number;
}

export class Memextent extends KObject {
  readonly type = ObjectType.MEMEXTENT;
  meType: number = MemextentType.BASIC;
  physBase = 0;
  size = 0;
  memtype: number = MemextentMemtype.ANY;
  access: number = Access.NONE;
  parent: Memextent | null = null;
  readonly children = new Set<Memextent>();
  attachedSize = 0;
  readonly slots: Slots = emptySlots();

  constructor(
    hv: Hypervisor,
    partition: Partition,
    /** Created by the platform to cover device memory: inserted into the memdb at activation. */
    readonly deviceMem = false,
  ) {
    super(hv, partition);
  }

  get end(): number {
    return this.physBase + this.size;
  }

  private static decodeAttrs(attrs: number): { access: number; memtype: number; type: number } | undefined {
    if ((attrs & MEMEXTENT_ATTRS_RES0) !== 0 || (attrs & MEMEXTENT_ATTRS_APPEND) !== 0) return undefined;
    const access = attrs & 7;
    const memtype = (attrs >>> 8) & 3;
    const type = (attrs >>> 16) & 3;
    if (type !== MemextentType.BASIC && type !== MemextentType.SPARSE) return undefined;
    if (!VALID_ACCESS.has(access)) return undefined;
    return { access, memtype, type };
  }

  /** memextent_configure. */
  configure(phys: number, size: number, attrs: number): number {
    if (size === 0 || phys + size - 1 >= 2 ** 64) return GhError.ARGUMENT_INVALID;
    if (phys % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) return GhError.ARGUMENT_ALIGNMENT;
    const a = Memextent.decodeAttrs(attrs);
    if (!a) return GhError.ARGUMENT_INVALID;
    this.meType = a.type;
    this.physBase = phys;
    this.size = size;
    this.memtype = a.memtype;
    this.access = a.access;
    this.parent?.put();
    this.parent = null;
    return GhError.OK;
  }

  /** memextent_configure_derive. */
  configureDerive(parent: Memextent, offset: number, size: number, attrs: number): number {
    if (size === 0 || offset + size - 1 >= 2 ** 64) return GhError.ARGUMENT_INVALID;
    if (offset >= parent.size || offset + size > parent.size) return GhError.ADDR_INVALID;
    if (offset % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) return GhError.ARGUMENT_ALIGNMENT;
    const a = Memextent.decodeAttrs(attrs);
    if (!a) return GhError.ARGUMENT_INVALID;
    if (!accessWithin(parent.access, a.access)) return GhError.ARGUMENT_INVALID;
    if (parent.memtype !== MemextentMemtype.ANY && parent.memtype !== a.memtype) return GhError.ARGUMENT_INVALID;
    this.meType = a.type;
    this.physBase = parent.physBase + offset;
    this.size = size;
    this.memtype = a.memtype;
    this.access = a.access;
    this.parent?.put();
    parent.get();
    this.parent = parent;
    return GhError.OK;
  }

  get supportsDonation(): boolean {
    return this.meType === MemextentType.SPARSE;
  }

  // ---- activation ----

  protected override onActivate(): number {
    const memdb = this.hv.memdb;
    const p = this.parent;
    if (p) {
      if (p.memtype !== MemextentMemtype.ANY && this.memtype !== p.memtype) return GhError.ARGUMENT_INVALID;
      if (p.attachedSize !== 0) return GhError.BUSY;
      const transfer = !p.supportsDonation;
      // Inherit the parent's mappings of this range (access reduced to ours).
      const inherited: { as: Addrspace; start: number; end: number; rec: MapRec }[] = [];
      for (const s of p.slots) {
        if (!s) continue;
        const pieces = s.recs.overlapping(this.physBase, this.end);
        if (pieces.length === 0) continue;
        if (this.meType === MemextentType.BASIC && (pieces.length !== 1 || pieces[0]!.start !== this.physBase || pieces[0]!.end !== this.end)) {
          // A basic extent cannot describe a parent mapping that covers only part of it.
          return GhError.DENIED;
        }
        for (const pc of pieces) {
          inherited.push({ as: s.as, start: pc.start, end: pc.end, rec: { vbase: pc.value.vbase, u: pc.value.u & this.access, k: pc.value.k & this.access, mt: pc.value.mt } });
        }
      }
      if (transfer || this.meType === MemextentType.BASIC) {
        const err = memdb.update(this.physBase, this.end, this, p);
        if (err !== GhError.OK) return err;
      }
      if (this.meType === MemextentType.BASIC) {
        // Basic children take the parent's slot layout one to one.
        for (const [i, s] of p.slots.entries()) {
          if (!s) continue;
          const mine = inherited.find((x) => x.as === s.as && s.recs.intersects(x.start, x.end));
          if (!mine) continue;
          const recs = newRecs();
          recs.set(this.physBase, this.end, mine.rec);
          this.slots[i] = { as: s.as, recs };
        }
      } else {
        for (const x of inherited) {
          if (addRecord(this.slots, x.as, x.start, x.end, x.rec) < 0) {
            if (transfer) memdb.update(this.physBase, this.end, p, this);
            this.slots.fill(null);
            return GhError.MEMEXTENT_MAPPINGS_FULL;
          }
        }
      }
      if (transfer || this.meType === MemextentType.BASIC) Memextent.transfer(p, this, this.physBase, this.end);
      p.children.add(this);
      return GhError.OK;
    }
    if (this.size === 0) return GhError.OBJECT_CONFIG;
    if (this.deviceMem) return memdb.insert(this.physBase, this.end, this);
    if (this.meType === MemextentType.BASIC) return memdb.update(this.physBase, this.end, this, this.partition!);
    // A root sparse extent starts empty: memory is donated into it.
    return GhError.OK;
  }

  protected override onDeactivate(): void {
    const memdb = this.hv.memdb;
    const owned = memdb.owned(this, this.physBase, this.end);
    const p = this.parent;
    for (const r of owned) {
      if (p) {
        // Give the pages back with the parent's mappings restored.
        Memextent.transfer(this, p, r.start, r.end);
        memdb.update(r.start, r.end, p, this);
      } else {
        this.apply(r.start, r.end, true);
        if (this.deviceMem) memdb.remove(r.start, r.end, this);
        else memdb.update(r.start, r.end, this.partition!, this);
      }
    }
    this.slots.fill(null);
    p?.children.delete(this);
  }

  protected override onCleanup(): void {
    this.parent?.put();
    this.parent = null;
  }

  // ---- stage-2 application ----

  /** Apply (or remove) this extent's records over the pages it owns in phys [start, end). */
  private apply(start: number, end: number, unmap: boolean): number {
    for (const r of this.hv.memdb.owned(this, start, end)) {
      for (const { as, piece } of recordsIn(this.slots, r.start, r.end)) {
        const len = piece.end - piece.start;
        if (unmap) as.unmap(piece.value.vbase, len, piece.start);
        else {
          const err = as.map(piece.value.vbase, len, piece.start, piece.value.mt, piece.value.k, piece.value.u, this);
          if (err !== GhError.OK) return err;
        }
      }
    }
    return GhError.OK;
  }

  /** Pages in phys [start, end) moved from `from` to `to`: swap `from`'s mappings for `to`'s. */
  static transfer(from: Memextent, to: Memextent, start: number, end: number): void {
    for (const { as, piece } of recordsIn(from.slots, start, end)) as.unmap(piece.value.vbase, piece.end - piece.start, piece.start);
    for (const { as, piece } of recordsIn(to.slots, start, end)) {
      as.map(piece.value.vbase, piece.end - piece.start, piece.start, piece.value.mt, piece.value.k, piece.value.u, to);
    }
  }

  private checkMapAttrs(a: MapAttrs): boolean {
    return accessWithin(this.access, a.u) && accessWithin(this.access, a.k) && memtypeAllowed(this.memtype, a.mt);
  }

  // ---- addrspace_map / unmap / update_access ----

  map(as: Addrspace, vbase: number, a: MapAttrs): number {
    if (vbase % PAGE_SIZE !== 0) return GhError.ARGUMENT_ALIGNMENT;
    if (!this.checkMapAttrs(a)) return GhError.ARGUMENT_INVALID;
    if (this.meType === MemextentType.SPARSE) return this.mapSparse(as, vbase, 0, this.size, a);
    if (vbase + this.size - 1 >= 2 ** 64) return GhError.ADDR_OVERFLOW;
    const i = this.slots.indexOf(null);
    if (i < 0) return GhError.MEMEXTENT_MAPPINGS_FULL;
    const recs = newRecs();
    recs.set(this.physBase, this.end, { vbase, u: a.u, k: a.k, mt: a.mt });
    this.slots[i] = { as, recs };
    const err = this.apply(this.physBase, this.end, false);
    if (err !== GhError.OK) {
      this.apply(this.physBase, this.end, true);
      this.slots[i] = null;
    }
    return err;
  }

  private partialChecks(vbase: number, offset: number, size: number): number {
    if (vbase % PAGE_SIZE !== 0 || offset % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) return GhError.ARGUMENT_ALIGNMENT;
    if (size === 0 || offset + size - 1 >= 2 ** 64 || vbase + size - 1 >= 2 ** 64) return GhError.ARGUMENT_SIZE;
    if (offset + size - 1 >= this.size) return GhError.ARGUMENT_SIZE;
    return GhError.OK;
  }

  mapPartial(as: Addrspace, vbase: number, offset: number, size: number, a: MapAttrs): number {
    const err = this.partialChecks(vbase, offset, size);
    if (err !== GhError.OK) return err;
    if (!this.checkMapAttrs(a)) return GhError.ARGUMENT_INVALID;
    if (this.meType !== MemextentType.SPARSE) return GhError.MEMEXTENT_TYPE;
    return this.mapSparse(as, vbase, offset, size, a);
  }

  private mapSparse(as: Addrspace, vbase: number, offset: number, size: number, a: MapAttrs): number {
    if (vbase + size - 1 >= VBASE_LIMIT) return GhError.ADDR_INVALID;
    const start = this.physBase + offset;
    const i = addRecord(this.slots, as, start, start + size, { vbase, u: a.u, k: a.k, mt: a.mt });
    if (i < 0) return -i;
    const err = this.apply(start, start + size, false);
    if (err !== GhError.OK) {
      this.apply(start, start + size, true);
      removeRecord(this.slots, as, start, start + size, vbase);
    }
    return err;
  }

  unmap(as: Addrspace, vbase: number): number {
    if (vbase % PAGE_SIZE !== 0) return GhError.ARGUMENT_ALIGNMENT;
    if (this.meType === MemextentType.SPARSE) return this.unmapSparse(as, vbase, 0, this.size);
    const i = this.slots.findIndex((s) => s !== null && s.as === as && s.recs.valueAt(0).vbase === vbase);
    if (i < 0) return GhError.ADDR_INVALID;
    this.applySlot(i, true);
    this.slots[i] = null;
    return GhError.OK;
  }

  unmapPartial(as: Addrspace, vbase: number, offset: number, size: number): number {
    const err = this.partialChecks(vbase, offset, size);
    if (err !== GhError.OK) return err;
    if (this.meType !== MemextentType.SPARSE) return GhError.MEMEXTENT_TYPE;
    return this.unmapSparse(as, vbase, offset, size);
  }

  private unmapSparse(as: Addrspace, vbase: number, offset: number, size: number): number {
    if (vbase + size - 1 >= VBASE_LIMIT) return GhError.ADDR_INVALID;
    const start = this.physBase + offset;
    const i = removeRecord(this.slots, as, start, start + size, vbase);
    if (i < 0) return -i;
    for (const r of this.hv.memdb.owned(this, start, start + size)) as.unmap(vbase + (r.start - start), r.end - r.start, r.start);
    return GhError.OK;
  }

  /** Map or unmap one slot's records over owned pages. */
  private applySlot(i: number, unmap: boolean): void {
    const s = this.slots[i]!;
    for (const r of this.hv.memdb.owned(this, this.physBase, this.end)) {
      for (const piece of s.recs.overlapping(r.start, r.end)) {
        const len = piece.end - piece.start;
        if (unmap) s.as.unmap(piece.value.vbase, len, piece.start);
        else s.as.map(piece.value.vbase, len, piece.start, piece.value.mt, piece.value.k, piece.value.u, this);
      }
    }
  }

  /** addrspace_update_access over [offset, offset+size) of the mapping at `vbase`. */
  updateAccess(as: Addrspace, vbase: number, offset: number, size: number, u: number, k: number, partial: boolean): number {
    if (partial) {
      const err = this.partialChecks(vbase, offset, size);
      if (err !== GhError.OK) return err;
      if (this.meType !== MemextentType.SPARSE) return GhError.MEMEXTENT_TYPE;
    } else if (vbase % PAGE_SIZE !== 0) return GhError.ARGUMENT_ALIGNMENT;
    if (!accessWithin(this.access, u) || !accessWithin(this.access, k)) return GhError.ARGUMENT_INVALID;
    const start = this.physBase + offset;
    const end = start + size;
    for (const s of this.slots) {
      if (!s || s.as !== as) continue;
      const pieces = s.recs.overlapping(start, end);
      if (!s.recs.covers(start, end, () => true) || !pieces.every((p) => p.value.vbase === vbase + (p.start - start))) continue;
      for (const p of pieces) s.recs.set(p.start, p.end, { vbase: p.value.vbase, u, k, mt: p.value.mt });
      for (const r of this.hv.memdb.owned(this, start, end)) {
        for (const p of s.recs.overlapping(r.start, r.end)) as.map(p.value.vbase, p.end - p.start, p.start, p.value.mt, p.value.k, p.value.u, this);
      }
      return GhError.OK;
    }
    return GhError.ADDR_INVALID;
  }

  /** memextent_modify UNMAP_ALL: remove every mapping of this extent. */
  unmapAll(): void {
    this.apply(this.physBase, this.end, true);
    this.slots.fill(null);
  }

  /** Range checks shared by the memextent_modify range operations. */
  rangeCheck(offset: number, size: number): number {
    if (offset % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) return GhError.ARGUMENT_ALIGNMENT;
    if (size === 0 || offset + size > this.size) return GhError.ARGUMENT_SIZE;
    return GhError.OK;
  }

  /** memextent_modify ZERO_RANGE: zero the pages of the range this extent owns. */
  zeroRange(offset: number, size: number): number {
    const err = this.rangeCheck(offset, size);
    if (err !== GhError.OK) return err;
    const start = this.physBase + offset;
    for (const r of this.hv.memdb.owned(this, start, start + size)) this.hv.machine.mem.zero(r.start, r.end - r.start);
    return GhError.OK;
  }

  // ---- donation (sparse extents) ----

  private donateChecks(offset: number, size: number): number {
    if (offset % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) return GhError.ARGUMENT_ALIGNMENT;
    const phys = this.physBase + offset;
    if (size === 0 || phys + size - 1 >= 2 ** 64) return GhError.ARGUMENT_SIZE;
    if (phys < this.physBase || phys + size > this.end) return GhError.ARGUMENT_INVALID;
    return GhError.OK;
  }

  /** memextent_donate to_child / to_parent, called on the child (`reverse`: child -> parent). */
  donateChild(offset: number, size: number, reverse: boolean): number {
    const err = this.donateChecks(offset, size);
    if (err !== GhError.OK) return err;
    if (this.meType !== MemextentType.SPARSE) return GhError.MEMEXTENT_TYPE;
    const start = this.physBase + offset;
    const end = start + size;
    const memdb = this.hv.memdb;
    const p = this.parent;
    if (p) {
      if (p.meType !== MemextentType.SPARSE) return GhError.ARGUMENT_INVALID;
      const [from, to] = reverse ? [this, p] : [p, this];
      const e = memdb.update(start, end, to, from);
      if (e !== GhError.OK) return e;
      Memextent.transfer(from, to, start, end);
      return GhError.OK;
    }
    if (reverse) {
      if (!memdb.ownsAll(this, start, end)) return GhError.MEMDB_NOT_OWNER;
      this.apply(start, end, true);
      return memdb.update(start, end, this.partition!, this);
    }
    const e = memdb.update(start, end, this, this.partition!);
    if (e !== GhError.OK) return e;
    if (this.apply(start, end, false) !== GhError.OK) {
      this.apply(start, end, true);
      memdb.update(start, end, this.partition!, this);
      return GhError.ADDR_INVALID;
    }
    return GhError.OK;
  }

  /** memextent_donate to_sibling: pages move between two children of the same parent. */
  donateSibling(to: Memextent, offset: number, size: number): number {
    if (offset % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) return GhError.ARGUMENT_ALIGNMENT;
    const start = this.physBase + offset;
    if (size === 0 || start + size - 1 >= 2 ** 64) return GhError.ARGUMENT_SIZE;
    const end = start + size;
    if (end > this.end || start < to.physBase || end > to.end) return GhError.ARGUMENT_INVALID;
    if (to === this || !this.parent || this.parent !== to.parent) return GhError.ARGUMENT_INVALID;
    if (this.meType !== MemextentType.SPARSE) return GhError.MEMEXTENT_TYPE;
    if (to.meType !== MemextentType.SPARSE) return GhError.ARGUMENT_INVALID;
    const e = this.hv.memdb.update(start, end, to, this);
    if (e !== GhError.OK) return e;
    Memextent.transfer(this, to, start, end);
    return GhError.OK;
  }

  // ---- attachment (info area) ----

  attach(): number {
    if (this.state !== ObjectState.ACTIVE) return GhError.OBJECT_STATE;
    if (this.attachedSize !== 0 || this.children.size > 0) return GhError.BUSY;
    if (!this.hv.memdb.ownsAll(this, this.physBase, this.end)) return GhError.MEMDB_NOT_OWNER;
    this.attachedSize = this.size;
    return GhError.OK;
  }

  detach(): void {
    this.attachedSize = 0;
  }

  /** The address space is going away: forget the slots naming it (its stage 2 is cleared by it). */
  forgetAddrspace(as: Addrspace): void {
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i]?.as === as) this.slots[i] = null;
  }

  mapsInto(as: Addrspace): boolean {
    return this.slots.some((s) => s?.as === as);
  }
}

// Capability spaces: two-level cap tables, cap ID encoding, lookup with the hypervisor's error
// order, master caps, copy, delete and revoke (spec §6; hyp/core/cspace_twolevel).
import { GhError } from '../abi/errors';
import { ALL_RIGHTS, ObjectState, ObjectType } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import { CapSlot, CapState } from './cap-slot';
import { KObject } from './kobject';
import type { Partition } from './partition';

/** Slots per 2 KiB cap table: (2048 - 40 B header - 8 B bitmap) / 32 B slots (CAP_TABLE_NUM_CAP_SLOTS). */
export const CAP_TABLE_SLOTS = 62;
/**
 * Tables per cspace (CSPACE_NUM_CAP_TABLES). The real value follows from the C struct sizes of a
 * 2 KiB cspace object; ~230 pointers fit after its header (our computation, spec §6 "~14 k caps").
 */
export const CSPACE_TABLES = 230;
export const CSPACE_MAX_CAPS = CAP_TABLE_SLOTS * CSPACE_TABLES;
const TABLE_HEAP = 2048;
const CSPACE_HEAP = 2048;

/** "Any type" for lookups that find the type from the cap. */
export const ANY_TYPE = 0 as ObjectType;

/** How visible cap IDs are derived from slot indices. */
export type CapIdScheme = 'debug' | 'random';

export class CSpace extends KObject {
  readonly type = ObjectType.CSPACE;
  maxCaps = 0;
  capCount = 0;
  private readonly tables: (CapSlot | undefined)[][] = [];
  private readonly tableCounts: number[] = [];
  /** Revoked caps still occupying slots here. */
  readonly revoked = new Set<CapSlot>();
  // Cap ID encoding: id = (v * mult) ^ base with a 16-bit mult and a 64-bit base whose top word is
  // below 0xFFFFFF00; stored as 32-bit halves so lookups never touch a bigint.
  private readonly mult: number;
  private readonly baseLo: number;
  private readonly baseHi: number;
  private readonly invQ: number;

  constructor(hv: Hypervisor, partition: Partition, scheme: CapIdScheme) {
    super(hv, partition);
    if (scheme === 'debug') {
      this.mult = 1;
      this.baseLo = 0;
      this.baseHi = 0;
    } else {
      let hi: number;
      do hi = hv.machine.prng.u32();
      while (hi >= 0xffffff00);
      this.baseHi = hi;
      this.baseLo = hv.machine.prng.u32();
      let m = hv.machine.prng.u32() & 0xffff;
      if (m === 0) m = 0x5555;
      this.mult = m;
    }
    // id_inv = 2^32 / mult + 1, kept as q = floor(2^32 / mult) so decoding stays exact in doubles.
    this.invQ = Math.floor(0x1_0000_0000 / this.mult);
  }

  /** Charge the cspace object itself; false when the partition's heap is exhausted. */
  chargeCreation(): boolean {
    return this.chargeHeap(CSPACE_HEAP);
  }

  // ---- encoding ----

  /** The internal value of a visible cap ID given as 32-bit halves, or -1 if it does not decode. */
  decode(lo: number, hi: number): number {
    if ((hi ^ this.baseHi) !== 0) return -1;
    const r = (lo ^ this.baseLo) >>> 0;
    if (this.mult === 1) return r <= 0xffff ? r : -1;
    // v = (r * (q + 1)) >> 32 computed exactly: split r into 16-bit halves.
    const q1 = this.invQ + 1;
    const a = Math.floor(r / 0x10000);
    const b = r & 0xffff;
    const v = Math.floor((a * q1 + Math.floor((b * q1) / 0x10000)) / 0x10000);
    return v <= 0xffff ? v : -1;
  }

  /** Low 32 bits of the visible ID for internal value `v`. */
  idLo(v: number): number {
    return ((v * this.mult) ^ this.baseLo) >>> 0;
  }
  /** High 32 bits of every visible ID of this cspace. */
  get idHi(): number {
    return this.baseHi;
  }
  /** The visible 64-bit cap ID of internal value `v`. */
  capId(v: number): bigint {
    return (BigInt(this.baseHi) << 32n) | BigInt(this.idLo(v));
  }

  // ---- slots ----

  /** The slot a cap ID names, or an error code (ARGUMENT_INVALID, CAP_NULL). */
  slotOf(lo: number, hi: number): CapSlot | number {
    const v = this.decode(lo, hi);
    if (v < 0) return GhError.ARGUMENT_INVALID;
    const upper = v >>> 8;
    const lower = v & 0xff;
    if (upper >= CSPACE_TABLES || lower >= CAP_TABLE_SLOTS) return GhError.ARGUMENT_INVALID;
    const slot = this.tables[upper]?.[lower];
    return slot ?? GhError.CSPACE_CAP_NULL;
  }

  /**
   * Look a cap up (spec §4 order): bad ID, empty slot, revoked, wrong type, missing rights, then
   * (operational calls) an object that is not ACTIVE. `type` ANY_TYPE accepts every type.
   */
  lookup(lo: number, hi: number, type: ObjectType, rights: number, activeOnly: boolean): KObject | number {
    const slot = this.slotOf(lo, hi);
    if (typeof slot === 'number') return slot;
    if (slot.state === CapState.REVOKED) return GhError.CSPACE_CAP_REVOKED;
    if (type !== ANY_TYPE && slot.type !== type) return GhError.CSPACE_WRONG_OBJECT_TYPE;
    if ((slot.rights & rights) >>> 0 !== rights >>> 0) return GhError.CSPACE_INSUFFICIENT_RIGHTS;
    const obj = slot.object!;
    if (activeOnly && obj.state !== ObjectState.ACTIVE) return GhError.OBJECT_STATE;
    if (!obj.alive) return GhError.CSPACE_CAP_NULL;
    return obj;
  }

  /** Allocate the lowest free slot (lowest table with room first); CSPACE_FULL or NOMEM on failure. */
  private allocSlot(): number {
    if (this.capCount >= this.maxCaps) return -GhError.CSPACE_FULL;
    let t = -1;
    for (let i = 0; i < this.tables.length; i++) {
      if (this.tables[i] && this.tableCounts[i]! < CAP_TABLE_SLOTS) {
        t = i;
        break;
      }
    }
    if (t < 0) {
      for (let i = 0; i < CSPACE_TABLES; i++) {
        if (!this.tables[i]) {
          t = i;
          break;
        }
      }
      if (t < 0) return -GhError.CSPACE_FULL;
      if (!this.chargeHeap(TABLE_HEAP)) return -GhError.NOMEM;
      this.tables[t] = new Array<CapSlot | undefined>(CAP_TABLE_SLOTS);
      this.tableCounts[t] = 0;
    }
    const table = this.tables[t]!;
    let s = 0;
    while (table[s]) s++;
    this.tableCounts[t]!++;
    this.capCount++;
    return (t << 8) | s;
  }

  private place(v: number, slot: CapSlot): void {
    this.tables[v >>> 8]![v & 0xff] = slot;
  }

  private freeSlot(v: number): void {
    const t = v >>> 8;
    this.tables[t]![v & 0xff] = undefined;
    this.capCount--;
    if (--this.tableCounts[t]! === 0) {
      delete this.tables[t];
      this.releaseHeap(TABLE_HEAP);
    }
  }

  /** Insert the master cap of a new object; returns the internal value or -error. */
  createMaster(obj: KObject): number {
    const v = this.allocSlot();
    if (v < 0) return v;
    const slot = new CapSlot(this, v, obj, obj.type, ALL_RIGHTS[obj.type], true);
    this.place(v, slot);
    obj.caps.unshift(slot);
    return v;
  }

  /** cspace_copy_cap: a non-master cap in this cspace with rights = source rights & mask. */
  copyFrom(src: CSpace, lo: number, hi: number, mask: number): number {
    const v = this.allocSlot();
    if (v < 0) return v;
    const parent = src.slotOf(lo, hi);
    let err: number = GhError.OK;
    if (typeof parent === 'number') err = parent;
    else if (parent.state === CapState.REVOKED) err = GhError.CSPACE_CAP_REVOKED;
    else if ((parent.rights & mask) >>> 0 === 0) err = GhError.CSPACE_INSUFFICIENT_RIGHTS;
    if (err !== GhError.OK || typeof parent === 'number') {
      this.freeSlot(v);
      return -err;
    }
    const obj = parent.object!;
    const slot = new CapSlot(this, v, obj, parent.type, (parent.rights & mask) >>> 0, false);
    this.place(v, slot);
    // Child caps go right after their parent in the object's cap list.
    obj.caps.splice(obj.caps.indexOf(parent) + 1, 0, slot);
    return v;
  }

  /** cspace_delete_cap: free a valid or revoked slot; the last valid cap drops the object. */
  deleteCap(lo: number, hi: number): number {
    const slot = this.slotOf(lo, hi);
    if (typeof slot === 'number') return slot;
    this.freeSlot(slot.value);
    if (slot.state === CapState.REVOKED) {
      this.revoked.delete(slot);
      return GhError.OK;
    }
    const obj = slot.object!;
    obj.caps.splice(obj.caps.indexOf(slot), 1);
    slot.object = null;
    obj.maybeDestroy();
    return GhError.OK;
  }

  /** cspace_revoke_caps: with a master cap, every other cap of its object (anywhere) becomes REVOKED. */
  revokeOthers(lo: number, hi: number): number {
    const slot = this.slotOf(lo, hi);
    if (typeof slot === 'number') return slot;
    if (slot.state === CapState.REVOKED) return GhError.CSPACE_CAP_REVOKED;
    if (!slot.master) return GhError.CSPACE_INSUFFICIENT_RIGHTS;
    const obj = slot.object!;
    for (const other of obj.caps.splice(1)) {
      other.state = CapState.REVOKED;
      other.object = null;
      other.cspace.revoked.add(other);
    }
    return GhError.OK;
  }

  /** Every occupied slot (tests and the invariant checker). */
  *slots(): Generator<CapSlot> {
    for (const t of this.tables) if (t) for (const s of t) if (s) yield s;
  }

  protected override onActivate(): number {
    return this.maxCaps !== 0 ? GhError.OK : GhError.OBJECT_CONFIG;
  }

  protected override onCleanup(): void {
    // Destroying a cspace deletes the caps it holds (cspace_destroy_cap_table).
    for (const slot of [...this.slots()]) {
      this.freeSlot(slot.value);
      if (slot.state === CapState.REVOKED) {
        this.revoked.delete(slot);
        continue;
      }
      const obj = slot.object!;
      obj.caps.splice(obj.caps.indexOf(slot), 1);
      slot.object = null;
      obj.maybeDestroy();
    }
  }
}

// The four mapping slots of a memory extent. A slot names one address space and records, by
// physical address, where that address space maps the extent (spec §11). What is actually in
// stage 2 is the records intersected with the pages the extent owns in the memdb.
import { GhError } from '../abi/errors';
import { MEMEXTENT_MAX_MAPS } from '../abi/memory';
import { RangeMap, type RangeEntry } from '../util/range-map';
import type { Addrspace } from './addrspace';

export interface MapRec {
  /** IPA of the record's first byte. */
  readonly vbase: number;
  readonly u: number;
  readonly k: number;
  readonly mt: number;
}

export interface MapSlot {
  readonly as: Addrspace;
  readonly recs: RangeMap<MapRec>;
}

export function newRecs(): RangeMap<MapRec> {
  return new RangeMap<MapRec>(
    (r, d) => ({ vbase: r.vbase + d, u: r.u, k: r.k, mt: r.mt }),
    (a, b, lenA) => b.vbase === a.vbase + lenA && a.u === b.u && a.k === b.k && a.mt === b.mt,
  );
}

export type Slots = (MapSlot | null)[];

export function emptySlots(): Slots {
  return new Array<MapSlot | null>(MEMEXTENT_MAX_MAPS).fill(null);
}

/**
 * Record a mapping of phys [start, end) at `rec` in `as` (add_sparse_mapping): first a slot of the
 * same address space with no overlapping record, else the first empty slot. Returns the slot index
 * or -MEMEXTENT_MAPPINGS_FULL.
 */
export function addRecord(slots: Slots, as: Addrspace, start: number, end: number, rec: MapRec): number {
  let empty = -1;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i];
    if (s && s.as === as) {
      if (!s.recs.intersects(start, end)) {
        s.recs.set(start, end, rec);
        return i;
      }
    } else if (!s && empty < 0) empty = i;
  }
  if (empty < 0) return -GhError.MEMEXTENT_MAPPINGS_FULL;
  const recs = newRecs();
  recs.set(start, end, rec);
  slots[empty] = { as, recs };
  return empty;
}

/**
 * Remove the record of phys [start, end) mapped at `vbase` in `as` (remove_sparse_mapping): the
 * whole range must be recorded at matching IPAs in one slot. Returns the slot index or -ADDR_INVALID.
 */
export function removeRecord(slots: Slots, as: Addrspace, start: number, end: number, vbase: number): number {
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i];
    if (!s || s.as !== as) continue;
    if (!s.recs.covers(start, end, () => true)) continue;
    const pieces = s.recs.overlapping(start, end);
    if (!pieces.every((p) => p.value.vbase === vbase + (p.start - start))) continue;
    s.recs.remove(start, end);
    if (s.recs.count === 0) slots[i] = null;
    return i;
  }
  return -GhError.ADDR_INVALID;
}

/** Every record piece of every slot overlapping phys [start, end). */
export function recordsIn(slots: Slots, start: number, end: number): { as: Addrspace; piece: RangeEntry<MapRec> }[] {
  const out: { as: Addrspace; piece: RangeEntry<MapRec> }[] = [];
  for (const s of slots) {
    if (!s) continue;
    for (const piece of s.recs.overlapping(start, end)) out.push({ as: s.as, piece });
  }
  return out;
}

// The ownership database: which partition or memory extent owns each physical page (spec §11).
// Ownership moves only by explicit transfers, and only from the owner the caller names.
import { GhError } from '../abi/errors';
import type { KObject } from '../objects/kobject';
import { RangeMap, type RangeEntry } from '../util/range-map';

export type MemOwner = KObject;

export class Memdb {
  private readonly map = new RangeMap<MemOwner>(
    (v) => v,
    (a, b) => a === b,
  );

  /** Record `owner` for an unowned range (boot RAM, device memory); DENIED (MEMDB_NOT_OWNER) if any part is owned. */
  insert(start: number, end: number, owner: MemOwner): number {
    if (this.map.intersects(start, end)) return GhError.MEMDB_NOT_OWNER;
    this.map.set(start, end, owner);
    return GhError.OK;
  }

  /** Move [start, end) from `from` to `to`; MEMDB_NOT_OWNER unless `from` owns all of it. */
  update(start: number, end: number, to: MemOwner, from: MemOwner): number {
    if (!this.map.covers(start, end, (o) => o === from)) return GhError.MEMDB_NOT_OWNER;
    this.map.set(start, end, to);
    return GhError.OK;
  }

  /** Forget [start, end) if `owner` owns all of it (device memory of a destroyed extent). */
  remove(start: number, end: number, owner: MemOwner): number {
    if (!this.map.covers(start, end, (o) => o === owner)) return GhError.MEMDB_NOT_OWNER;
    this.map.remove(start, end);
    return GhError.OK;
  }

  /** The sub-ranges of [start, end) that `owner` owns, in address order. */
  owned(owner: MemOwner, start: number, end: number): RangeEntry<MemOwner>[] {
    return this.map.overlapping(start, end).filter((r) => r.value === owner);
  }

  /** Whether `owner` owns all of [start, end). */
  ownsAll(owner: MemOwner, start: number, end: number): boolean {
    return this.map.covers(start, end, (o) => o === owner);
  }

  ownerOf(pa: number): MemOwner | undefined {
    return this.map.get(pa)?.value;
  }

  entries(): RangeEntry<MemOwner>[] {
    return this.map.entries();
  }
}

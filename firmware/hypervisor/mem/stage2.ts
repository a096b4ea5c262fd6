// A VM's stage-2 translation table: IPA ranges to physical ranges with access rights and memory type.
import { RangeMap } from '../util/range-map';
import type { KObject } from '../objects/kobject';

export interface S2Entry {
  /** Physical address at the start of the range. */
  readonly pa: number;
  /** Kernel (EL1) access: guest code runs at EL1, so this is what accesses are checked against. */
  readonly k: number;
  /** User (EL0) access, recorded for addrspace_lookup. */
  readonly u: number;
  /** Stage-2 memory type (pgtable_vm_memtype). */
  readonly mt: number;
  /** The memory extent the mapping came from (bookkeeping for the invariant checker). */
  readonly ext: KObject | null;
}

export function newStage2(): RangeMap<S2Entry> {
  return new RangeMap<S2Entry>(
    (v, d) => ({ pa: v.pa + d, k: v.k, u: v.u, mt: v.mt, ext: v.ext }),
    (a, b, lenA) => b.pa === a.pa + lenA && a.k === b.k && a.u === b.u && a.mt === b.mt && a.ext === b.ext,
  );
}

/** Unmap [ipa, ipa+size) only where it maps the physical range starting at `pa` (pgtable_vm_unmap_matching). */
export function unmapMatching(s2: RangeMap<S2Entry>, ipa: number, size: number, pa: number): void {
  for (const r of s2.overlapping(ipa, ipa + size)) {
    if (r.value.pa === pa + (r.start - ipa)) s2.remove(r.start, r.end);
  }
}

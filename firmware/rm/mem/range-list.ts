// A sorted list of disjoint [base, base + size) ranges with a value each: the RM's bookkeeping of
// a VM's IPA space and of physical ranges. Small by construction (a few hundred entries at most),
// so a sorted array with binary search is the right structure.

export interface Range<T> {
  base: bigint;
  size: bigint;
  value: T;
}

export class RangeList<T> {
  private readonly items: Range<T>[] = [];

  get length(): number {
    return this.items.length;
  }

  *[Symbol.iterator](): IterableIterator<Range<T>> {
    yield* this.items;
  }

  /** Index of the first range whose end is above `addr`. */
  private lowerBound(addr: bigint): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.items[mid]!;
      if (r.base + r.size <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether any range intersects [base, base + size). */
  overlaps(base: bigint, size: bigint): boolean {
    const i = this.lowerBound(base);
    const r = this.items[i];
    return r !== undefined && r.base < base + size;
  }

  /** The ranges intersecting [base, base + size), in order. */
  overlapping(base: bigint, size: bigint): Range<T>[] {
    const out: Range<T>[] = [];
    for (let i = this.lowerBound(base); i < this.items.length; i++) {
      const r = this.items[i]!;
      if (r.base >= base + size) break;
      out.push(r);
    }
    return out;
  }

  /** The range containing `addr`. */
  find(addr: bigint): Range<T> | undefined {
    const r = this.items[this.lowerBound(addr)];
    return r && r.base <= addr ? r : undefined;
  }

  /** Insert a range; false (and nothing changes) when it overlaps an existing one or is empty. */
  insert(base: bigint, size: bigint, value: T): boolean {
    if (size <= 0n || this.overlaps(base, size)) return false;
    this.items.splice(this.lowerBound(base), 0, { base, size, value });
    return true;
  }

  /** Remove exactly the range starting at `base` with `size`; false when there is no such range. */
  remove(base: bigint, size: bigint): boolean {
    const i = this.lowerBound(base);
    const r = this.items[i];
    if (!r || r.base !== base || r.size !== size) return false;
    this.items.splice(i, 1);
    return true;
  }

  /**
   * Carve [base, base + size) out of the single range that contains it, keeping the pieces on
   * either side (with `split` deriving their values). Returns the carved range's old value.
   */
  carve(base: bigint, size: bigint, split: (v: T, offset: bigint) => T): T | undefined {
    const i = this.lowerBound(base);
    const r = this.items[i];
    if (!r || r.base > base || r.base + r.size < base + size) return undefined;
    const pieces: Range<T>[] = [];
    if (r.base < base) pieces.push({ base: r.base, size: base - r.base, value: r.value });
    const end = base + size;
    const rEnd = r.base + r.size;
    if (end < rEnd) pieces.push({ base: end, size: rEnd - end, value: split(r.value, end - r.base) });
    this.items.splice(i, 1, ...pieces);
    return r.value;
  }

  /**
   * The lowest base >= `from`, aligned to `align`, where `size` bytes fit below `limit` without
   * touching an existing range; undefined when there is none.
   */
  findFree(size: bigint, align: bigint, from: bigint, limit: bigint): bigint | undefined {
    const up = (a: bigint) => ((a + align - 1n) / align) * align;
    let cand = up(from);
    for (let i = this.lowerBound(cand); i <= this.items.length; i++) {
      const r = this.items[i];
      if (!r || cand + size <= r.base) return cand + size <= limit ? cand : undefined;
      cand = up(r.base + r.size);
    }
    return undefined;
  }

  clear(): void {
    this.items.length = 0;
  }
}

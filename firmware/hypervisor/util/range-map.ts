// A sorted map of disjoint half-open ranges [start, end) to values: memdb ownership, stage-2 tables,
// sparse mapping records. Values describing an offset (a physical base) are re-based when split.

export interface RangeEntry<T> {
  readonly start: number;
  readonly end: number;
  readonly value: T;
}

/** How a value changes when its range is cut `delta` bytes from its start (identity by default). */
export type Shift<T> = (value: T, delta: number) => T;
/** Whether `b` (starting right where `a` ends, `a` being `lenA` long) continues `a` and may merge. */
export type Mergeable<T> = (a: T, b: T, lenA: number) => boolean;

export class RangeMap<T> {
  private s: number[] = [];
  private e: number[] = [];
  private v: T[] = [];
  /** Bumped on every change; caches (TLBs) compare it. */
  generation = 0;

  constructor(
    private readonly shift: Shift<T> = (x) => x,
    private readonly mergeable?: Mergeable<T>,
  ) {}

  get count(): number {
    return this.s.length;
  }

  /** Index of the range containing `addr`, or -1. */
  indexOf(addr: number): number {
    const s = this.s;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && addr < this.e[hi]! ? hi : -1;
  }

  startAt(i: number): number {
    return this.s[i]!;
  }
  endAt(i: number): number {
    return this.e[i]!;
  }
  valueAt(i: number): T {
    return this.v[i]!;
  }

  get(addr: number): RangeEntry<T> | undefined {
    const i = this.indexOf(addr);
    return i < 0 ? undefined : { start: this.s[i]!, end: this.e[i]!, value: this.v[i]! };
  }

  /** First index whose range ends after `addr`. */
  private firstEndingAfter(addr: number): number {
    const e = this.e;
    let lo = 0;
    let hi = e.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (e[mid]! <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Remove whatever lies in [start, end), splitting ranges that straddle the edges. */
  remove(start: number, end: number): void {
    if (end <= start) return;
    let i = this.firstEndingAfter(start);
    const ns: number[] = [];
    const ne: number[] = [];
    const nv: T[] = [];
    let j = i;
    while (j < this.s.length && this.s[j]! < end) {
      const s = this.s[j]!;
      const e = this.e[j]!;
      const v = this.v[j]!;
      if (s < start) {
        ns.push(s);
        ne.push(start);
        nv.push(v);
      }
      if (e > end) {
        ns.push(end);
        ne.push(e);
        nv.push(this.shift(v, end - s));
      }
      j++;
    }
    if (j === i && ns.length === 0) return;
    this.s.splice(i, j - i, ...ns);
    this.e.splice(i, j - i, ...ne);
    this.v.splice(i, j - i, ...nv);
    this.generation++;
  }

  /** Map [start, end) to `value` (what was there is replaced). */
  set(start: number, end: number, value: T): void {
    if (end <= start) return;
    this.remove(start, end);
    let i = this.firstEndingAfter(start);
    this.s.splice(i, 0, start);
    this.e.splice(i, 0, end);
    this.v.splice(i, 0, value);
    this.generation++;
    if (this.mergeable) {
      // Merge with the right neighbour, then the left one.
      if (i + 1 < this.s.length && this.e[i] === this.s[i + 1] && this.mergeable(this.v[i]!, this.v[i + 1]!, this.e[i]! - this.s[i]!)) {
        this.e[i] = this.e[i + 1]!;
        this.s.splice(i + 1, 1);
        this.e.splice(i + 1, 1);
        this.v.splice(i + 1, 1);
      }
      if (i > 0 && this.e[i - 1] === this.s[i] && this.mergeable(this.v[i - 1]!, this.v[i]!, this.e[i - 1]! - this.s[i - 1]!)) {
        this.e[i - 1] = this.e[i]!;
        this.s.splice(i, 1);
        this.e.splice(i, 1);
        this.v.splice(i, 1);
        i--;
      }
    }
  }

  /** The entries overlapping [start, end), clipped to it (values re-based to the clipped start). */
  overlapping(start: number, end: number): RangeEntry<T>[] {
    const out: RangeEntry<T>[] = [];
    for (let i = this.firstEndingAfter(start); i < this.s.length && this.s[i]! < end; i++) {
      const s = this.s[i]!;
      const cs = Math.max(s, start);
      out.push({ start: cs, end: Math.min(this.e[i]!, end), value: cs > s ? this.shift(this.v[i]!, cs - s) : this.v[i]! });
    }
    return out;
  }

  /** Whether [start, end) is covered without gaps by ranges whose values satisfy `pred`. */
  covers(start: number, end: number, pred: (v: T) => boolean): boolean {
    let at = start;
    for (let i = this.firstEndingAfter(start); i < this.s.length && this.s[i]! < end; i++) {
      if (this.s[i]! > at || !pred(this.v[i]!)) return false;
      at = this.e[i]!;
      if (at >= end) return true;
    }
    return at >= end;
  }

  /** Whether anything lies in [start, end). */
  intersects(start: number, end: number): boolean {
    const i = this.firstEndingAfter(start);
    return i < this.s.length && this.s[i]! < end;
  }

  entries(): RangeEntry<T>[] {
    return this.s.map((s, i) => ({ start: s, end: this.e[i]!, value: this.v[i]! }));
  }

  clear(): void {
    if (this.s.length === 0) return;
    this.s = [];
    this.e = [];
    this.v = [];
    this.generation++;
  }
}

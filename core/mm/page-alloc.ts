// The page allocator: a buddy allocator over the VM's usable RAM ranges, with a per-page allocation
// bitmap (so any page-aligned range can be freed, double frees are caught) and a "dirty" bitmap (pages
// never handed out are still zero as the hypervisor backs RAM lazily with zero pages, so only recycled
// pages need zeroing on a zeroing allocation).
import { Errno } from '../errno';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/**
 * Largest buddy order. Linux uses 10 (4 MiB); ours is 18 (1 GiB) so identity-mapped user regions (a
 * VMM's guest memory) up to 1 GiB can be physically contiguous.
 */
export const MAX_ORDER = 18;

export interface PhysRange {
  base: bigint;
  size: bigint;
}

interface Zone {
  startPfn: number;
  pages: number;
  allocated: Uint8Array;
  dirty: Uint8Array;
}

const bitGet = (b: Uint8Array, i: number): boolean => (b[i >>> 3]! & (1 << (i & 7))) !== 0;
const bitSet = (b: Uint8Array, i: number): void => {
  b[i >>> 3]! |= 1 << (i & 7);
};
const bitClear = (b: Uint8Array, i: number): void => {
  b[i >>> 3]! &= ~(1 << (i & 7));
};

export function orderForPages(n: number): number {
  let order = 0;
  while (1 << order < n) order++;
  return order;
}

export class PageAllocator {
  private readonly zones: Zone[] = [];
  private readonly free: Set<number>[] = [];
  private freeCount = 0;
  private pins: { start: number; end: number; refs: number }[] = [];
  private deferred: { start: number; end: number }[] = [];
  readonly totalPages: number;
  /** Called with (ipa, bytes) to zero recycled pages; the kernel writes zeros through the CPU. */
  zeroer: ((ipa: bigint, bytes: number) => void) | undefined;

  constructor(ranges: readonly PhysRange[]) {
    for (let o = 0; o <= MAX_ORDER; o++) this.free.push(new Set());
    const sorted = [...ranges].sort((a, b) => (a.base < b.base ? -1 : 1));
    let total = 0;
    for (const r of sorted) {
      if (r.base % BigInt(PAGE_SIZE) !== 0n || r.size % BigInt(PAGE_SIZE) !== 0n) {
        throw new RangeError(`page allocator range 0x${r.base.toString(16)}+0x${r.size.toString(16)} is not page aligned`);
      }
      const pages = Number(r.size >> BigInt(PAGE_SHIFT));
      if (pages === 0) continue;
      const z: Zone = { startPfn: Number(r.base >> BigInt(PAGE_SHIFT)), pages, allocated: new Uint8Array((pages + 7) >>> 3), dirty: new Uint8Array((pages + 7) >>> 3) };
      const prev = this.zones[this.zones.length - 1];
      if (prev && prev.startPfn + prev.pages > z.startPfn) throw new RangeError('page allocator ranges overlap');
      this.zones.push(z);
      total += pages;
      this.seed(z.startPfn, pages);
    }
    this.totalPages = total;
  }

  /** Insert [pfn, pfn+n) as maximal aligned free blocks. */
  private seed(pfn: number, n: number): void {
    let p = pfn;
    const end = pfn + n;
    while (p < end) {
      let order = MAX_ORDER;
      while (order > 0 && (p % 2 ** order !== 0 || p + 2 ** order > end)) order--;
      this.free[order]!.add(p);
      this.freeCount += 2 ** order;
      p += 2 ** order;
    }
  }

  get freePages(): number {
    return this.freeCount;
  }

  /** Free blocks per order (what /proc/buddyinfo shows). */
  buddyinfo(): number[] {
    return this.free.map((s) => s.size);
  }

  private zoneOf(pfn: number): Zone | undefined {
    let lo = 0;
    let hi = this.zones.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const z = this.zones[mid]!;
      if (pfn < z.startPfn) hi = mid - 1;
      else if (pfn >= z.startPfn + z.pages) lo = mid + 1;
      else return z;
    }
    return undefined;
  }

  /** alloc_pages: a block of 2^order pages, aligned to its size. ENOMEM when none is left. */
  allocPages(order: number, opts: { zero?: boolean } = {}): bigint {
    if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER) throw new Errno('EINVAL', `page order ${order} (0..${MAX_ORDER})`);
    let o = order;
    while (o <= MAX_ORDER && this.free[o]!.size === 0) o++;
    if (o > MAX_ORDER) throw new Errno('ENOMEM', `no free block of order ${order} (${this.freeCount} pages free)`);
    const pfn = this.free[o]!.values().next().value as number;
    this.free[o]!.delete(pfn);
    while (o > order) {
      o--;
      this.free[o]!.add(pfn + 2 ** o);
    }
    this.freeCount -= 2 ** order;
    this.markAllocated(pfn, 2 ** order, opts.zero ?? false);
    return BigInt(pfn) << BigInt(PAGE_SHIFT);
  }

  /** alloc_pages_exact: `bytes` rounded up to pages, contiguous; the unneeded tail goes straight back. */
  allocExact(bytes: number | bigint, opts: { zero?: boolean } = {}): bigint {
    const n = Number((BigInt(bytes) + BigInt(PAGE_SIZE - 1)) >> BigInt(PAGE_SHIFT));
    if (n <= 0) throw new Errno('EINVAL', 'zero-length allocation');
    const order = orderForPages(n);
    if (order > MAX_ORDER) throw new Errno('ENOMEM', `${n} contiguous pages exceed the largest block (2^${MAX_ORDER})`);
    const base = this.allocPages(order, opts);
    const tail = 2 ** order - n;
    if (tail > 0) this.freeRange(base + (BigInt(n) << BigInt(PAGE_SHIFT)), tail);
    return base;
  }

  private markAllocated(pfn: number, n: number, zero: boolean): void {
    const z = this.zoneOf(pfn)!;
    let runStart = -1;
    for (let i = 0; i <= n; i++) {
      let wasDirty = false;
      if (i < n) {
        const idx = pfn - z.startPfn + i;
        bitSet(z.allocated, idx);
        wasDirty = bitGet(z.dirty, idx);
        bitSet(z.dirty, idx);
      }
      if (zero && wasDirty && runStart < 0) runStart = i;
      if (runStart >= 0 && !wasDirty) {
        this.zeroer?.(BigInt(pfn + runStart) << BigInt(PAGE_SHIFT), (i - runStart) * PAGE_SIZE);
        runStart = -1;
      }
    }
  }

  /** __free_pages. */
  freePagesBlock(addr: bigint, order: number): void {
    this.freeRange(addr, 2 ** order);
  }

  /**
   * Free `count` pages from `addr` (free_pages_exact), each of which must be allocated. EINVAL for an
   * unaligned address, memory the allocator does not manage, or a page that is already free. Pinned
   * pages (see `pin`) are only freed when their last pin goes.
   */
  freeRange(addr: bigint, count: number): void {
    if (addr % BigInt(PAGE_SIZE) !== 0n) throw new Errno('EINVAL', `free of unaligned address 0x${addr.toString(16)}`);
    const pfn0 = Number(addr >> BigInt(PAGE_SHIFT));
    const z = this.zoneOf(pfn0);
    if (!z || pfn0 + count > z.startPfn + z.pages) throw new Errno('EINVAL', `free of 0x${addr.toString(16)} (+${count} pages): not managed memory`);
    for (let i = 0; i < count; i++) {
      if (!bitGet(z.allocated, pfn0 - z.startPfn + i) || this.deferredAt(pfn0 + i)) {
        throw new Errno('EINVAL', `double free of page 0x${((BigInt(pfn0 + i)) << BigInt(PAGE_SHIFT)).toString(16)}`);
      }
    }
    if (this.pins.length === 0) return this.release(z, pfn0, count);
    let run = pfn0;
    for (let p = pfn0; p <= pfn0 + count; p++) {
      const pinned = p < pfn0 + count && this.pinnedAt(p);
      if (p === pfn0 + count || pinned) {
        if (p > run) this.release(z, run, p - run);
        run = p + 1;
      }
      if (pinned) {
        const last = this.deferred[this.deferred.length - 1];
        if (last && last.end === p) last.end++;
        else this.deferred.push({ start: p, end: p + 1 });
      }
    }
  }

  /**
   * pin_user_pages (FOLL_LONGTERM): the allocated pages [addr, +count) are kept from reuse until
   * unpinned, even if their owner frees them meanwhile (memory lent or shared with another VM).
   */
  pin(addr: bigint, count: number): void {
    const pfn0 = Number(addr >> BigInt(PAGE_SHIFT));
    if (addr % BigInt(PAGE_SIZE) !== 0n || count <= 0 || !this.isAllocated(addr, count * PAGE_SIZE)) {
      throw new Errno('EFAULT', `pin of 0x${addr.toString(16)} (+${count} pages): not allocated memory`);
    }
    const r = this.pins.find((x) => x.start === pfn0 && x.end === pfn0 + count);
    if (r) r.refs++;
    else this.pins.push({ start: pfn0, end: pfn0 + count, refs: 1 });
  }

  /** Drop a pin taken with the same range; pages freed while pinned go back now. */
  unpin(addr: bigint, count: number): void {
    const pfn0 = Number(addr >> BigInt(PAGE_SHIFT));
    const i = this.pins.findIndex((x) => x.start === pfn0 && x.end === pfn0 + count);
    if (i < 0) throw new Errno('EINVAL', `unpin of 0x${addr.toString(16)} (+${count} pages): not pinned`);
    if (--this.pins[i]!.refs > 0) return;
    this.pins.splice(i, 1);
    const old = this.deferred;
    this.deferred = [];
    for (const d of old) {
      let run = d.start;
      let runPinned = this.pinnedAt(d.start);
      for (let p = d.start + 1; p <= d.end; p++) {
        const pinned = p < d.end && this.pinnedAt(p);
        if (p < d.end && pinned === runPinned) continue;
        if (runPinned) this.deferred.push({ start: run, end: p });
        else this.release(this.zoneOf(run)!, run, p - run);
        run = p;
        runPinned = pinned;
      }
    }
  }

  /** Pages freed by their owner but held by a pin. */
  get pinnedFreedPages(): number {
    return this.deferred.reduce((n, d) => n + d.end - d.start, 0);
  }

  private pinnedAt(pfn: number): boolean {
    return this.pins.some((r) => pfn >= r.start && pfn < r.end);
  }

  private deferredAt(pfn: number): boolean {
    return this.deferred.some((d) => pfn >= d.start && pfn < d.end);
  }

  private release(z: Zone, pfn0: number, count: number): void {
    for (let i = 0; i < count; i++) bitClear(z.allocated, pfn0 - z.startPfn + i);
    // Give the range back as aligned blocks, merging each with free buddies.
    let p = pfn0;
    const end = pfn0 + count;
    while (p < end) {
      let order = 0;
      while (order < MAX_ORDER && p % 2 ** (order + 1) === 0 && p + 2 ** (order + 1) <= end) order++;
      this.insertFree(p, order);
      p += 2 ** order;
    }
  }

  private insertFree(pfn: number, order: number): void {
    this.freeCount += 2 ** order;
    let p = pfn;
    let o = order;
    while (o < MAX_ORDER) {
      const buddy = p ^ 2 ** o;
      if (!this.free[o]!.has(buddy)) break;
      this.free[o]!.delete(buddy);
      p = Math.min(p, buddy);
      o++;
    }
    this.free[o]!.add(p);
  }

  /** Whether every page of [addr, addr+bytes) is allocated (user-memory checks use this). */
  isAllocated(addr: bigint, bytes: number): boolean {
    const first = Number(addr >> BigInt(PAGE_SHIFT));
    const last = Number((addr + BigInt(Math.max(bytes, 1)) - 1n) >> BigInt(PAGE_SHIFT));
    for (let p = first; p <= last; p++) {
      const z = this.zoneOf(p);
      if (!z || !bitGet(z.allocated, p - z.startPfn)) return false;
    }
    return true;
  }
}

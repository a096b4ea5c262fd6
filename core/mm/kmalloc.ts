// kmalloc: small allocations from per-size caches of page-sized slabs (the kmalloc-8 .. kmalloc-8192
// caches of SLUB), larger ones straight from the page allocator. Addresses are guest IPAs, so a buffer
// can be handed to a hypercall.
import { Errno } from '../errno';
import { PAGE_SHIFT, PAGE_SIZE, orderForPages, type PageAllocator } from './page-alloc';

/** Linux's kmalloc size classes (with the 96 and 192 caches). */
export const KMALLOC_SIZES = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192] as const;
/** KMALLOC_MAX_CACHE_SIZE: above this, kmalloc goes to the page allocator. */
export const KMALLOC_MAX_CACHE_SIZE = 8192;
/** KMALLOC_MAX_SIZE for MAX_ORDER 10 in Linux (4 MiB): the largest kmalloc. */
export const KMALLOC_MAX_SIZE = 4 << 20;

interface Slab {
  base: bigint;
  size: number;
  objects: number;
  free: number[];
  order: number;
}

export class Kmalloc {
  /** Slabs per cache with at least one free object. */
  private readonly partial = new Map<number, Set<Slab>>();
  /** First pfn of each slab or large allocation -> what it is. */
  private readonly byPfn = new Map<number, Slab | { large: number }>();
  private used = 0;

  constructor(private readonly pages: PageAllocator) {
    for (const s of KMALLOC_SIZES) this.partial.set(s, new Set());
  }

  /** Bytes handed out and not yet freed (rounded to their cache size). */
  get allocatedBytes(): number {
    return this.used;
  }

  private cacheFor(size: number): number | undefined {
    return KMALLOC_SIZES.find((s) => s >= size);
  }

  /** kmalloc (zeroed when `zero`, as kzalloc). ENOMEM when memory is exhausted or size too big. */
  alloc(size: number, opts: { zero?: boolean } = {}): bigint {
    if (!Number.isInteger(size) || size <= 0) throw new Errno('EINVAL', `kmalloc(${size})`);
    if (size > KMALLOC_MAX_SIZE) throw new Errno('ENOMEM', `kmalloc(${size}) exceeds KMALLOC_MAX_SIZE`);
    const cache = this.cacheFor(size);
    if (cache === undefined) {
      const order = orderForPages(Math.ceil(size / PAGE_SIZE));
      const addr = this.pages.allocPages(order, opts);
      this.byPfn.set(Number(addr >> BigInt(PAGE_SHIFT)), { large: order });
      this.used += PAGE_SIZE << order;
      return addr;
    }
    let slab = this.partial.get(cache)!.values().next().value as Slab | undefined;
    if (!slab) slab = this.newSlab(cache);
    const idx = slab.free.pop()!;
    if (slab.free.length === 0) this.partial.get(cache)!.delete(slab);
    this.used += cache;
    const addr = slab.base + BigInt(idx * cache);
    if (opts.zero) this.pages.zeroer?.(addr, cache);
    return addr;
  }

  private newSlab(cache: number): Slab {
    const order = cache > PAGE_SIZE ? orderForPages(cache / PAGE_SIZE) : 0;
    const base = this.pages.allocPages(order);
    const objects = Math.floor((PAGE_SIZE << order) / cache);
    const free: number[] = [];
    for (let i = objects - 1; i >= 0; i--) free.push(i);
    const slab: Slab = { base, size: cache, objects, free, order };
    this.byPfn.set(Number(base >> BigInt(PAGE_SHIFT)), slab);
    this.partial.get(cache)!.add(slab);
    return slab;
  }

  private find(addr: bigint): { slab: Slab; index: number } | { large: number; pfn: number } | undefined {
    // A slab is at most 2 pages (the 8192 cache), so its head is this page or the one before.
    const pfn = Number(addr >> BigInt(PAGE_SHIFT));
    for (const p of [pfn, pfn - 1]) {
      const e = this.byPfn.get(p);
      if (!e) continue;
      if ('large' in e) return p === pfn && addr % BigInt(PAGE_SIZE) === 0n ? { large: e.large, pfn } : undefined;
      const off = Number(addr - e.base);
      if (off < 0 || off >= e.objects * e.size) continue;
      if (off % e.size !== 0) return undefined;
      return { slab: e, index: off / e.size };
    }
    return undefined;
  }

  /** ksize: the usable size of an allocation. */
  ksize(addr: bigint): number {
    const f = this.find(addr);
    if (!f) throw new Errno('EINVAL', `ksize of 0x${addr.toString(16)}: not a kmalloc address`);
    return 'large' in f ? PAGE_SIZE << f.large : f.slab.size;
  }

  /** kfree. EINVAL for an address kmalloc did not return, or one already freed. */
  free(addr: bigint): void {
    const f = this.find(addr);
    if (!f) throw new Errno('EINVAL', `kfree of 0x${addr.toString(16)}: not a kmalloc address`);
    if ('large' in f) {
      this.byPfn.delete(f.pfn);
      this.pages.freePagesBlock(addr, f.large);
      this.used -= PAGE_SIZE << f.large;
      return;
    }
    const { slab, index } = f;
    if (slab.free.includes(index)) throw new Errno('EINVAL', `double kfree of 0x${addr.toString(16)}`);
    slab.free.push(index);
    this.used -= slab.size;
    if (slab.free.length === slab.objects) {
      // Empty slab: give its pages back.
      this.partial.get(slab.size)!.delete(slab);
      this.byPfn.delete(Number(slab.base >> BigInt(PAGE_SHIFT)));
      this.pages.freePagesBlock(slab.base, slab.order);
    } else {
      this.partial.get(slab.size)!.add(slab);
    }
  }
}

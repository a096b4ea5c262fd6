// Sparse, lazily backed physical memory: a page costs host memory only once something writes it;
// reading an untouched page yields zeros.
import { PAGE_SHIFT, PAGE_SIZE } from '../abi/memory';

export interface RamRegion {
  /** Physical base (page aligned). */
  readonly base: number;
  /** Size in bytes (page aligned). */
  readonly size: number;
}

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);
const PAGE_MASK = PAGE_SIZE - 1;

export class PhysMem {
  private readonly pages = new Map<number, Uint8Array>();
  readonly regions: readonly RamRegion[];

  constructor(regions: readonly RamRegion[]) {
    const sorted = [...regions].sort((a, b) => a.base - b.base);
    for (const [i, r] of sorted.entries()) {
      if (r.base % PAGE_SIZE !== 0 || r.size % PAGE_SIZE !== 0 || r.size <= 0) {
        throw new RangeError(`RAM region ${i} (0x${r.base.toString(16)}+0x${r.size.toString(16)}) is not page aligned`);
      }
      if (!Number.isSafeInteger(r.base + r.size)) throw new RangeError(`RAM region ${i} lies beyond 2^53`);
      const prev = sorted[i - 1];
      if (prev && prev.base + prev.size > r.base) throw new RangeError(`RAM regions overlap at 0x${r.base.toString(16)}`);
    }
    this.regions = sorted;
  }

  /** Whether [pa, pa+size) lies entirely in one RAM region. */
  isRam(pa: number, size: number): boolean {
    for (const r of this.regions) if (pa >= r.base && pa + size <= r.base + r.size) return true;
    return false;
  }

  /** Number of pages that hold host memory. */
  get backedPages(): number {
    return this.pages.size;
  }

  /** The page holding `pa` for reading (a shared zero page when untouched). */
  readPage(pfn: number): Uint8Array {
    return this.pages.get(pfn) ?? ZERO_PAGE;
  }

  /** The page holding `pa` for writing (allocated on first write). */
  writePage(pfn: number): Uint8Array {
    let p = this.pages.get(pfn);
    if (!p) {
      p = new Uint8Array(PAGE_SIZE);
      this.pages.set(pfn, p);
    }
    return p;
  }

  read(pa: number, into: Uint8Array, offset = 0, length = into.length - offset): void {
    let done = 0;
    while (done < length) {
      const a = pa + done;
      const po = a & PAGE_MASK;
      const n = Math.min(PAGE_SIZE - po, length - done);
      const page = this.pages.get(Math.floor(a / PAGE_SIZE));
      if (page) into.set(page.subarray(po, po + n), offset + done);
      else into.fill(0, offset + done, offset + done + n);
      done += n;
    }
  }

  write(pa: number, from: Uint8Array, offset = 0, length = from.length - offset): void {
    let done = 0;
    while (done < length) {
      const a = pa + done;
      const po = a & PAGE_MASK;
      const n = Math.min(PAGE_SIZE - po, length - done);
      this.writePage(Math.floor(a / PAGE_SIZE)).set(from.subarray(offset + done, offset + done + n), po);
      done += n;
    }
  }

  /** Little-endian load of 1..8 bytes (as a number below 2^32 or a bigint for 8). */
  load(pa: number, size: 1 | 2 | 4): number {
    const po = pa & PAGE_MASK;
    if (po + size <= PAGE_SIZE) {
      const p = this.pages.get(Math.floor(pa / PAGE_SIZE));
      if (!p) return 0;
      if (size === 1) return p[po]!;
      if (size === 2) return p[po]! | (p[po + 1]! << 8);
      return (p[po]! | (p[po + 1]! << 8) | (p[po + 2]! << 16) | (p[po + 3]! << 24)) >>> 0;
    }
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.load(pa + i, 1);
    return v;
  }

  store(pa: number, size: 1 | 2 | 4, value: number): void {
    const po = pa & PAGE_MASK;
    if (po + size <= PAGE_SIZE) {
      const p = this.writePage(Math.floor(pa / PAGE_SIZE));
      p[po] = value;
      if (size >= 2) p[po + 1] = value >>> 8;
      if (size === 4) {
        p[po + 2] = value >>> 16;
        p[po + 3] = value >>> 24;
      }
      return;
    }
    for (let i = 0; i < size; i++) this.store(pa + i, 1, (value >>> (8 * i)) & 0xff);
  }

  load64(pa: number): bigint {
    return BigInt(this.load(pa, 4)) | (BigInt(this.load(pa + 4, 4)) << 32n);
  }

  store64(pa: number, value: bigint): void {
    this.store(pa, 4, Number(value & 0xffff_ffffn));
    this.store(pa + 4, 4, Number((value >> 32n) & 0xffff_ffffn));
  }

  /** Zero [pa, pa+size): whole pages are released, partial ones cleared. */
  zero(pa: number, size: number): void {
    let a = pa;
    const end = pa + size;
    while (a < end) {
      const pfn = Math.floor(a / PAGE_SIZE);
      const po = a & PAGE_MASK;
      const n = Math.min(PAGE_SIZE - po, end - a);
      if (n === PAGE_SIZE) this.pages.delete(pfn);
      else this.pages.get(pfn)?.fill(0, po, po + n);
      a += n;
    }
  }
}

export { PAGE_SHIFT };

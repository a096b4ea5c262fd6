// The kernel's memory manager: the boot-time layout, the page allocator over it, kmalloc, and per-process
// address spaces.
import type { Cpu } from '../arch/cpu';
import type { MemoryLayout } from './memblock';
import { Kmalloc } from './kmalloc';
import { PageAllocator, PAGE_SIZE } from './page-alloc';
import { UserMm } from './user-mm';

export const Mm = Symbol('Mm');
export type Mm = MmImpl;

/** Zeroes are written in chunks of this size (one reusable buffer). */
const ZERO_CHUNK = 64 * 1024;

export class MmImpl {
  readonly pages: PageAllocator;
  readonly kmalloc: Kmalloc;
  private zeroBuf: Uint8Array | undefined;

  constructor(
    readonly layout: MemoryLayout,
    private readonly cpu: Cpu,
  ) {
    this.pages = new PageAllocator(layout.usable);
    this.pages.zeroer = (ipa, bytes) => this.zero(ipa, bytes);
    this.kmalloc = new Kmalloc(this.pages);
  }

  private zero(ipa: bigint, bytes: number): void {
    this.zeroBuf ??= new Uint8Array(ZERO_CHUNK);
    for (let off = 0; off < bytes; off += ZERO_CHUNK) {
      const n = Math.min(ZERO_CHUNK, bytes - off);
      this.cpu.write(ipa + BigInt(off), n === ZERO_CHUNK ? this.zeroBuf : this.zeroBuf.subarray(0, n));
    }
  }

  newUserMm(): UserMm {
    return new UserMm(this.pages);
  }

  /** Totals as /proc/meminfo reports them (kB). */
  meminfo(): { MemTotal: number; MemFree: number; Slab: number } {
    return {
      MemTotal: (this.pages.totalPages * PAGE_SIZE) / 1024,
      MemFree: (this.pages.freePages * PAGE_SIZE) / 1024,
      Slab: this.kmalloc.allocatedBytes / 1024,
    };
  }
}

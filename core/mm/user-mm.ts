// A process's address space. The primary VM's kernel and programs share one identity-mapped space
// (VA = IPA, DESIGN.md "Memory model"), so a mapping is a range of guest RAM the page allocator handed
// out (anonymous) or a device's pages (a driver's mmap); programs reach it through the CPU's RAM
// accessors, and copy_{from,to}_user check it against the VMAs.
import { Errno } from '../errno';
import { PAGE_SIZE, type PageAllocator } from './page-alloc';

export const PROT = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;
export const MAP = { SHARED: 0x01, PRIVATE: 0x02, FIXED: 0x10, ANONYMOUS: 0x20 } as const;

/** Largest single mapping accepted (an untrusted length is checked before anything is allocated). */
export const MAX_MAPPING = 1n << 30n;

export interface Vma {
  start: bigint;
  end: bigint;
  prot: number;
  kind: 'anon' | 'device';
  name: string;
  /** Called when the mapping goes away (a device mapping releases its file reference). */
  close?: () => void;
}

const PAGE = BigInt(PAGE_SIZE);

export class UserMm {
  private readonly vmas: Vma[] = [];

  constructor(private readonly pages: PageAllocator) {}

  get mappings(): readonly Vma[] {
    return this.vmas;
  }

  private insert(v: Vma): void {
    const i = this.vmas.findIndex((x) => x.start > v.start);
    if (i < 0) this.vmas.push(v);
    else this.vmas.splice(i, 0, v);
  }

  private checkLength(length: bigint): bigint {
    if (length <= 0n) throw new Errno('EINVAL', 'mmap of length 0');
    if (length > MAX_MAPPING) throw new Errno('ENOMEM', `mmap of 0x${length.toString(16)} bytes exceeds 0x${MAX_MAPPING.toString(16)}`);
    return ((length + PAGE - 1n) / PAGE) * PAGE;
  }

  /** Anonymous memory, zero filled, physically contiguous (identity mapped). */
  mmapAnon(length: bigint, prot: number): bigint {
    const len = this.checkLength(length);
    const start = this.pages.allocExact(len, { zero: true });
    this.insert({ start, end: start + len, prot, kind: 'anon', name: '[anon]' });
    return start;
  }

  /** Record a device mapping of `length` bytes at `start` (pages the driver owns). */
  mapDevice(start: bigint, length: bigint, prot: number, name: string, close?: () => void): bigint {
    const len = this.checkLength(length);
    if (start % PAGE !== 0n) throw new Errno('EINVAL', 'device mapping not page aligned');
    if (this.vmas.some((v) => start < v.end && v.start < start + len)) throw new Errno('EEXIST', `0x${start.toString(16)} is already mapped`);
    const vma: Vma = { start, end: start + len, prot, kind: 'device', name };
    if (close) vma.close = close;
    this.insert(vma);
    return start;
  }

  /** munmap: whole or partial mappings; anonymous pages go back to the page allocator. */
  munmap(addr: bigint, length: bigint): void {
    if (addr % PAGE !== 0n) throw new Errno('EINVAL', 'munmap of an unaligned address');
    const len = this.checkLength(length);
    const end = addr + len;
    for (const v of [...this.vmas]) {
      if (v.end <= addr || v.start >= end) continue;
      const cutStart = v.start > addr ? v.start : addr;
      const cutEnd = v.end < end ? v.end : end;
      const i = this.vmas.indexOf(v);
      this.vmas.splice(i, 1);
      if (v.kind === 'anon') this.pages.freeRange(cutStart, Number((cutEnd - cutStart) / PAGE));
      if (v.start < cutStart) this.insert({ ...v, end: cutStart });
      if (cutEnd < v.end) this.insert({ ...v, start: cutEnd });
      if (v.start >= cutStart && v.end <= cutEnd) v.close?.();
    }
  }

  /** access_ok plus the VMA check: EFAULT unless [addr, addr+len) lies in mappings allowing the access. */
  check(addr: bigint, len: number, write: boolean): void {
    if (len < 0) throw new Errno('EFAULT', `bad user range 0x${addr.toString(16)}+${len}`);
    this.checkRange(addr, BigInt(len), write);
  }

  /** `check` for a bigint length (a whole region, as pin_user_pages walks it). */
  checkRange(addr: bigint, len: bigint, write: boolean): void {
    if (len === 0n) return;
    if (addr < 0n || len < 0n) throw new Errno('EFAULT', `bad user range 0x${addr.toString(16)}+0x${len.toString(16)}`);
    let cur = addr;
    const end = addr + len;
    while (cur < end) {
      const v = this.vmas.find((x) => cur >= x.start && cur < x.end);
      if (!v) throw new Errno('EFAULT', `user address 0x${cur.toString(16)} is not mapped`);
      if (!(v.prot & (write ? PROT.WRITE : PROT.READ))) throw new Errno('EFAULT', `user address 0x${cur.toString(16)} is not ${write ? 'writable' : 'readable'}`);
      cur = v.end;
    }
  }

  /** Unmap everything (process exit). */
  destroy(): void {
    for (const v of [...this.vmas]) this.munmap(v.start, v.end - v.start);
  }
}

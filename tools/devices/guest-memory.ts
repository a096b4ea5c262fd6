// GuestMemory over a list of grants: the guest-physical ranges a device may touch, each mapped to an
// address in some backing store (host memory, a VMM's mapping of guest RAM, a stub VM's window onto
// it). Every access is checked against the grants (bounds, write permission) before the backing is
// touched, so a hostile guest address can never reach memory the device was not given.
import { GuestMemoryError, type GuestMemory, type GuestMemoryFault } from './device';

/** Where granted bytes live: copy at a backing address; false if the backing refused (unmapped). */
export interface MemoryBacking {
  read(addr: number, into: Uint8Array): boolean;
  write(addr: number, from: Uint8Array): boolean;
}

/** A guest-physical range granted to a device and where it is in the backing. */
export interface Grant {
  readonly gpa: bigint;
  readonly size: bigint;
  readonly writable: boolean;
  /** Backing address of `gpa` (identity when omitted). */
  readonly backing?: bigint;
}

/** Most grants a device may hold (a bound on the lookup, and on what a configuration can ask). */
export const MAX_GRANTS = 64;

interface Range {
  start: number;
  end: number;
  writable: boolean;
  delta: number;
}

/** A GuestMemory that allows exactly its grants. */
export class GrantedMemory implements GuestMemory {
  private readonly ranges: Range[];
  private last: Range | undefined;
  private readonly scratch = new Uint8Array(8);
  private readonly view = new DataView(this.scratch.buffer);
  /** Bytes moved (read + written) since creation. */
  bytes = 0;

  /**
   * `meter`, when given, is told the size of every access before it happens and may refuse it by
   * returning false (a placement's budget); the access then fails with fault 'budget'.
   */
  constructor(
    grants: readonly Grant[],
    private readonly backing: MemoryBacking,
    private readonly meter?: (bytes: number) => boolean,
  ) {
    if (grants.length > MAX_GRANTS) throw new RangeError(`${grants.length} grants (at most ${MAX_GRANTS})`);
    const ranges: Range[] = [];
    for (const g of grants) {
      const end = g.gpa + g.size;
      const back = g.backing ?? g.gpa;
      if (g.gpa < 0n || g.size <= 0n || end > BigInt(Number.MAX_SAFE_INTEGER) || back < 0n || back + g.size > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new RangeError(`grant 0x${g.gpa.toString(16)}+0x${g.size.toString(16)} is not a usable range`);
      }
      ranges.push({ start: Number(g.gpa), end: Number(end), writable: g.writable, delta: Number(back) - Number(g.gpa) });
    }
    ranges.sort((a, b) => a.start - b.start);
    for (let i = 1; i < ranges.length; i++) {
      if (ranges[i]!.start < ranges[i - 1]!.end) throw new RangeError('grants overlap');
    }
    this.ranges = ranges;
  }

  /** The grants as they are checked (sorted). */
  get grants(): readonly { gpa: number; size: number; writable: boolean }[] {
    return this.ranges.map((r) => ({ gpa: r.start, size: r.end - r.start, writable: r.writable }));
  }

  private find(a: number, len: number): Range | undefined {
    const l = this.last;
    if (l && a >= l.start && a + len <= l.end) return l;
    for (const r of this.ranges) {
      if (a >= r.start && a + len <= r.end) return (this.last = r);
    }
    return undefined;
  }

  private fail(gpa: bigint, len: number, write: boolean, fault: GuestMemoryFault): never {
    throw new GuestMemoryError(gpa, len, write, fault);
  }

  private locate(gpa: bigint, len: number, write: boolean): number {
    if (gpa < 0n || gpa + BigInt(len) > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(gpa, len, write, 'overflow');
    const a = Number(gpa);
    const r = this.find(a, len);
    if (!r) this.fail(gpa, len, write, 'unmapped');
    if (write && !r.writable) this.fail(gpa, len, write, 'permission');
    if (this.meter && !this.meter(len)) this.fail(gpa, len, write, 'budget');
    this.bytes += len;
    return a + r.delta;
  }

  read(gpa: bigint, into: Uint8Array): void {
    if (into.length === 0) return;
    const at = this.locate(gpa, into.length, false);
    if (!this.backing.read(at, into)) this.fail(gpa, into.length, false, 'unmapped');
  }

  write(gpa: bigint, from: Uint8Array): void {
    if (from.length === 0) return;
    const at = this.locate(gpa, from.length, true);
    if (!this.backing.write(at, from)) this.fail(gpa, from.length, true, 'unmapped');
  }

  private readN(gpa: bigint, n: number): DataView {
    this.read(gpa, n === 8 ? this.scratch : this.scratch.subarray(0, n));
    return this.view;
  }

  read16(gpa: bigint): number {
    return this.readN(gpa, 2).getUint16(0, true);
  }
  read32(gpa: bigint): number {
    return this.readN(gpa, 4).getUint32(0, true);
  }
  read64(gpa: bigint): bigint {
    return this.readN(gpa, 8).getBigUint64(0, true);
  }
  write16(gpa: bigint, value: number): void {
    this.view.setUint16(0, value, true);
    this.write(gpa, this.scratch.subarray(0, 2));
  }
  write32(gpa: bigint, value: number): void {
    this.view.setUint32(0, value >>> 0, true);
    this.write(gpa, this.scratch.subarray(0, 4));
  }
}

/** A backing over a host byte array whose address 0 is `base` (tests, host-side models). */
export function arrayBacking(bytes: Uint8Array, base = 0): MemoryBacking {
  return {
    read(addr, into) {
      const off = addr - base;
      if (off < 0 || off + into.length > bytes.length) return false;
      into.set(bytes.subarray(off, off + into.length));
      return true;
    },
    write(addr, from) {
      const off = addr - base;
      if (off < 0 || off + from.length > bytes.length) return false;
      bytes.set(from, off);
      return true;
    },
  };
}

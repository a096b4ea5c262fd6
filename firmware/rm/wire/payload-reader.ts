// Bounds-checked little-endian reader for RM message payloads. Every read checks the remaining
// length first; a short payload is RM_ERROR_MSG_INVALID, a list longer than its limit NORESOURCE,
// as RM's rm_rpc_read_list decides.
import { RmErr, RmError } from '../abi/rm-error';

/** RM caps every list in a payload at this many entries (spec §14, §28). */
export const RM_MAX_LIST_ENTRIES = 512;

export class PayloadReader {
  private readonly view: DataView;
  pos: number;
  readonly start: number;
  readonly end: number;

  constructor(
    readonly bytes: Uint8Array,
    offset = 0,
    length = bytes.length - offset,
  ) {
    if (offset < 0 || length < 0 || offset + length > bytes.length) throw new RangeError('payload window outside the buffer');
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = offset;
    this.start = offset;
    this.end = offset + length;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): number {
    if (this.end - this.pos < n) {
      throw new RmError(RmErr.MSG_INVALID, `payload ends at byte ${this.pos} before ${what} (${n} bytes)`);
    }
    const p = this.pos;
    this.pos += n;
    return p;
  }

  u8(what = 'u8'): number {
    return this.view.getUint8(this.need(1, what));
  }
  u16(what = 'u16'): number {
    return this.view.getUint16(this.need(2, what), true);
  }
  u32(what = 'u32'): number {
    return this.view.getUint32(this.need(4, what), true);
  }
  u64(what = 'u64'): bigint {
    return this.view.getBigUint64(this.need(8, what), true);
  }
  bytesOf(n: number, what = 'bytes'): Uint8Array {
    const p = this.need(n, what);
    return this.bytes.subarray(p, p + n);
  }
  skip(n: number, what = 'padding'): void {
    this.need(n, what);
  }
  /** Skip to the next 4-byte boundary (relative to the payload start), requiring the pad to exist. */
  align4(what = 'padding'): void {
    const pad = (4 - ((this.pos - this.start) % 4)) % 4;
    if (pad) this.need(pad, what);
  }

  /** The payload must be fully consumed (RM rejects trailing bytes where it compares exact sizes). */
  expectEnd(what = 'payload'): void {
    if (this.pos !== this.end) {
      throw new RmError(RmErr.MSG_INVALID, `${what} has ${this.end - this.pos} unexpected trailing bytes`);
    }
  }

  /**
   * An RM list: u16 count, u16 (returned as `extra`: reserved, or the SGL's map_vmid), `count`
   * entries of `entrySize` bytes, padded to 4 bytes. More than `max` entries is NORESOURCE;
   * entries beyond the payload are MSG_INVALID. A payload that ends where the list would start
   * holds an empty list (rm_rpc_read_list). Returns a reader positioned over the entries.
   */
  list(entrySize: number, what: string, max = RM_MAX_LIST_ENTRIES): { count: number; extra: number; entries: PayloadReader } {
    if (this.pos === this.end) return { count: 0, extra: 0, entries: new PayloadReader(this.bytes, this.pos, 0) };
    const count = this.u16(`${what} count`);
    const extra = this.u16(`${what} header`);
    if (count > max) throw new RmError(RmErr.NORESOURCE, `${what} has ${count} entries (max ${max})`);
    const size = count * entrySize;
    const p = this.need(size, `${count} ${what} entries`);
    const padded = (size + 3) & ~3;
    if (padded > size) this.need(Math.min(padded - size, this.remaining), `${what} padding`);
    return { count, extra, entries: new PayloadReader(this.bytes, p, size) };
  }
}

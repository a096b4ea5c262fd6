// Little-endian payload building and defensive parsing for RM messages: every read is bounds-checked,
// and a short or malformed reply is an Errno EBADMSG naming the message, never an out-of-range read.
import { Errno } from '../../../core/index';

export class PayloadWriter {
  private buf = new Uint8Array(64);
  private dv = new DataView(this.buf.buffer);
  private len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }

  u8(v: number): this {
    this.room(1);
    this.dv.setUint8(this.len, v & 0xff);
    this.len += 1;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.dv.setUint16(this.len, v & 0xffff, true);
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.dv.setUint32(this.len, v >>> 0, true);
    this.len += 4;
    return this;
  }

  u64(v: bigint): this {
    this.room(8);
    this.dv.setBigUint64(this.len, BigInt.asUintN(64, v), true);
    this.len += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Zero bytes up to a multiple of 4 (RM lists and strings are padded so). */
  pad4(): this {
    while (this.len % 4 !== 0) this.u8(0);
    return this;
  }

  /** A list: `u16 count, u16 reserved`, then the entries (each written by `entry`). */
  list<T>(items: readonly T[], entry: (w: this, item: T) => void, reserved = 0): this {
    this.u16(items.length).u16(reserved);
    for (const it of items) entry(this, it);
    return this.pad4();
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export class PayloadReader {
  private off = 0;
  private readonly dv: DataView;

  constructor(
    private readonly b: Uint8Array,
    /** The message being parsed, for error messages. */
    private readonly what: string,
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  get remaining(): number {
    return this.b.length - this.off;
  }

  private need(n: number): void {
    if (this.off + n > this.b.length) throw new Errno('EBADMSG', `${this.what}: reply truncated at byte ${this.off} (needs ${n} more of ${this.b.length})`);
  }

  u8(): number {
    this.need(1);
    return this.dv.getUint8(this.off++);
  }

  u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.off, true);
    this.off += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.off, true);
    this.off += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.dv.getBigUint64(this.off, true);
    this.off += 8;
    return v;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.b.slice(this.off, this.off + n);
    this.off += n;
    return v;
  }

  skip(n: number): void {
    this.need(n);
    this.off += n;
  }

  /** A count read from the reply, checked against what the payload can hold before anything is allocated. */
  count(n: number, entrySize: number, max: number): number {
    if (n > max) throw new Errno('EBADMSG', `${this.what}: ${n} entries (max ${max})`);
    this.need(n * entrySize);
    return n;
  }

  /** The reply must be fully consumed (Linux insists on an exact size for some replies). */
  end(): void {
    if (this.off !== this.b.length) throw new Errno('EBADMSG', `${this.what}: ${this.b.length - this.off} unexpected trailing bytes`);
  }
}

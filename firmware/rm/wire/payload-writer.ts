// Growable little-endian writer for RM payloads (replies, notifications, and test-side requests).

export class PayloadWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(capacity = 64) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private grow(n: number): number {
    const at = this.length;
    const need = at + n;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const b = new Uint8Array(cap);
      b.set(this.buf.subarray(0, at));
      this.buf = b;
      this.view = new DataView(b.buffer);
    }
    this.length = need;
    return at;
  }

  u8(v: number): this {
    const at = this.grow(1); // before reading `view`: grow may replace it
    this.view.setUint8(at, v);
    return this;
  }
  u16(v: number): this {
    const at = this.grow(2); // before reading `view`: grow may replace it
    this.view.setUint16(at, v, true);
    return this;
  }
  u32(v: number): this {
    const at = this.grow(4); // before reading `view`: grow may replace it
    this.view.setUint32(at, v >>> 0, true);
    return this;
  }
  u64(v: bigint): this {
    const at = this.grow(8); // before reading `view`: grow may replace it
    this.view.setBigUint64(at, BigInt.asUintN(64, v), true);
    return this;
  }
  bytes(b: Uint8Array): this {
    const at = this.grow(b.length); // grow first: it may replace the buffer
    this.buf.set(b, at);
    return this;
  }
  zeros(n: number): this {
    const at = this.grow(n);
    this.buf.fill(0, at, this.length);
    return this;
  }
  /** Zero-pad to a multiple of 4 bytes. */
  align4(): this {
    const pad = (4 - (this.length % 4)) % 4;
    return pad ? this.zeros(pad) : this;
  }
  /** An RM list header: u16 count, u16 `extra` (reserved or the SGL's map_vmid). */
  listHeader(count: number, extra = 0): this {
    return this.u16(count).u16(extra);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

// A minimal CBOR (RFC 8949) encoder and decoder: what the boot environment needs (unsigned and
// negative integers exact to 64 bits, byte and text strings, arrays, maps, booleans, null), with
// bounds checks before every read and limits on depth and sizes.

export type CborValue = bigint | number | boolean | null | string | Uint8Array | CborValue[] | Map<string, CborValue>;

export class CborError extends Error {
  constructor(
    message: string,
    /** Byte offset where decoding failed. */
    readonly offset: number,
    /** True when the input ended early (truncation), false when it is malformed. */
    readonly truncated = false,
  ) {
    super(`CBOR ${truncated ? 'truncated' : 'malformed'} at byte ${offset}: ${message}`);
    this.name = 'CborError';
  }
}

export interface CborLimits {
  /** Nesting depth (default 16). */
  maxDepth?: number;
  /** Items in one array or map (default 4096). */
  maxItems?: number;
  /** Bytes in one string (default 64 KiB). */
  maxString?: number;
}

// ---- encoding ----

class Writer {
  private buf = new Uint8Array(256);
  len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** A head: major type and argument, in the shortest form. */
  head(major: number, arg: bigint): void {
    const m = major << 5;
    if (arg < 24n) this.byte(m | Number(arg));
    else if (arg < 0x100n) {
      this.byte(m | 24);
      this.byte(Number(arg));
    } else if (arg < 0x1_0000n) {
      this.byte(m | 25);
      this.byte(Number(arg >> 8n));
      this.byte(Number(arg & 0xffn));
    } else if (arg < 0x1_0000_0000n) {
      this.byte(m | 26);
      for (let s = 24n; s >= 0n; s -= 8n) this.byte(Number((arg >> s) & 0xffn));
    } else {
      this.byte(m | 27);
      for (let s = 56n; s >= 0n; s -= 8n) this.byte(Number((arg >> s) & 0xffn));
    }
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function encodeInto(w: Writer, v: CborValue, depth: number): void {
  if (depth > 64) throw new RangeError('CBOR value nested too deeply');
  if (v === null) return w.byte(0xf6);
  if (v === false) return w.byte(0xf4);
  if (v === true) return w.byte(0xf5);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`CBOR encoder takes integers only (got ${v}); use a bigint for 64-bit values`);
    return encodeInto(w, BigInt(v), depth);
  }
  if (typeof v === 'bigint') {
    if (v >= 0n) {
      if (v > 0xffff_ffff_ffff_ffffn) throw new RangeError('integer does not fit 64 bits');
      return w.head(0, v);
    }
    if (-1n - v > 0xffff_ffff_ffff_ffffn) throw new RangeError('integer does not fit 64 bits');
    return w.head(1, -1n - v);
  }
  if (typeof v === 'string') {
    const b = new TextEncoder().encode(v);
    w.head(3, BigInt(b.length));
    return w.bytes(b);
  }
  if (v instanceof Uint8Array) {
    w.head(2, BigInt(v.length));
    return w.bytes(v);
  }
  if (Array.isArray(v)) {
    w.head(4, BigInt(v.length));
    for (const x of v) encodeInto(w, x, depth + 1);
    return;
  }
  w.head(5, BigInt(v.size));
  for (const [k, x] of v) {
    encodeInto(w, k, depth + 1);
    encodeInto(w, x, depth + 1);
  }
}

export function cborEncode(v: CborValue): Uint8Array {
  const w = new Writer();
  encodeInto(w, v, 0);
  return w.result();
}

// ---- decoding ----

class Reader {
  pos: number;
  constructor(
    readonly b: Uint8Array,
    start: number,
    readonly end: number,
    readonly lim: Required<CborLimits>,
  ) {
    this.pos = start;
  }
  need(n: number): void {
    if (this.pos + n > this.end) throw new CborError(`need ${n} more byte(s)`, this.pos, true);
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }
  /** The argument of a head whose additional info is `ai`. */
  arg(ai: number, at: number): bigint {
    if (ai < 24) return BigInt(ai);
    const n = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : ai === 27 ? 8 : 0;
    if (n === 0) throw new CborError(ai === 31 ? 'indefinite lengths are not supported' : `reserved additional info ${ai}`, at);
    this.need(n);
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.b[this.pos++]!);
    return v;
  }
}

function count(r: Reader, a: bigint, limit: number, what: string, at: number): number {
  if (a > BigInt(limit)) throw new CborError(`${what} of ${a} exceeds the limit of ${limit}`, at);
  return Number(a);
}

function decodeItem(r: Reader, depth: number): CborValue {
  if (depth > r.lim.maxDepth) throw new CborError(`nesting deeper than ${r.lim.maxDepth}`, r.pos);
  const at = r.pos;
  const ib = r.u8();
  const major = ib >> 5;
  const ai = ib & 31;
  switch (major) {
    case 0:
      return r.arg(ai, at);
    case 1:
      return -1n - r.arg(ai, at);
    case 2:
    case 3: {
      const n = count(r, r.arg(ai, at), r.lim.maxString, 'string length', at);
      r.need(n);
      const bytes = r.b.subarray(r.pos, r.pos + n);
      r.pos += n;
      if (major === 2) return bytes.slice();
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new CborError('text string is not valid UTF-8', at);
      }
    }
    case 4: {
      const n = count(r, r.arg(ai, at), r.lim.maxItems, 'array length', at);
      const out: CborValue[] = [];
      for (let i = 0; i < n; i++) out.push(decodeItem(r, depth + 1));
      return out;
    }
    case 5: {
      const n = count(r, r.arg(ai, at), r.lim.maxItems, 'map size', at);
      const m = new Map<string, CborValue>();
      for (let i = 0; i < n; i++) {
        const kAt = r.pos;
        const k = decodeItem(r, depth + 1);
        if (typeof k !== 'string') throw new CborError('map keys must be text strings', kAt);
        if (m.has(k)) throw new CborError(`duplicate map key "${k}"`, kAt);
        m.set(k, decodeItem(r, depth + 1));
      }
      return m;
    }
    case 6:
      throw new CborError('tags are not supported', at);
    default:
      if (ai === 20) return false;
      if (ai === 21) return true;
      if (ai === 22) return null;
      throw new CborError(`unsupported simple value or float (0x${ib.toString(16)})`, at);
  }
}

/** Decode one CBOR item from `bytes[offset, offset+length)`; trailing bytes are an error. */
export function cborDecode(bytes: Uint8Array, offset = 0, length = bytes.length - offset, limits: CborLimits = {}): CborValue {
  if (offset < 0 || length < 0 || offset + length > bytes.length) throw new RangeError('CBOR input range lies outside the buffer');
  const lim = { maxDepth: limits.maxDepth ?? 16, maxItems: limits.maxItems ?? 4096, maxString: limits.maxString ?? 65536 };
  const r = new Reader(bytes, offset, offset + length, lim);
  const v = decodeItem(r, 0);
  if (r.pos !== offset + length) throw new CborError(`${offset + length - r.pos} trailing byte(s)`, r.pos);
  return v;
}

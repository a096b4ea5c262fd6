// A property value while it is being compiled: growable bytes plus the markers dtc keeps (labels, phandle and path references).
import type { SourcePosition } from './dts-error';

/** `label`: a label inside a value; `phandle`: a 32-bit cell to patch with a node's phandle; `path`: a path to insert. */
export type MarkerType = 'label' | 'phandle' | 'path';

export interface Marker {
  readonly type: MarkerType;
  /** Byte offset in the value (moves when a path is inserted before it). */
  offset: number;
  /** The label name, or the reference: a label or an absolute path (`&{/a/b}` gives `/a/b`). */
  readonly ref: string;
  readonly pos: SourcePosition;
}

const NO_BYTES = new Uint8Array(0);

/**
 * Exactly sized value buffers carved from 64 KiB chunks: one ArrayBuffer per chunk rather than per property.
 * A value that grows later (a path inserted) moves to a buffer of its own, so views never overlap.
 */
export class ByteArena {
  private chunk = NO_BYTES;
  private used = 0;

  alloc(n: number): Uint8Array {
    if (n > 4096) return new Uint8Array(n);
    if (this.used + n > this.chunk.length) {
      this.chunk = new Uint8Array(64 * 1024);
      this.used = 0;
    }
    const v = this.chunk.subarray(this.used, this.used + n);
    this.used += n;
    return v;
  }
}

export class PropData {
  bytes: Uint8Array;
  length = 0;
  markers: Marker[] | undefined = undefined;

  constructor(capacity = 16) {
    // An empty buffer is never written to (growing replaces it), so one can be shared.
    this.bytes = capacity === 0 ? NO_BYTES : new Uint8Array(capacity);
  }

  /**
   * The value built so far as a PropData of its own, exactly sized, with the markers; this buffer is emptied
   * for the next value (the parser builds every value in one scratch buffer).
   */
  take(arena: ByteArena): PropData {
    const d = new PropData(0);
    if (this.length > 0) {
      d.bytes = arena.alloc(this.length);
      d.bytes.set(this.bytes.subarray(0, this.length));
    }
    d.length = this.length;
    d.markers = this.markers;
    this.length = 0;
    this.markers = undefined;
    return d;
  }

  static of(bytes: Uint8Array): PropData {
    const d = new PropData(bytes.length);
    d.bytes.set(bytes);
    d.length = bytes.length;
    return d;
  }

  private reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.bytes.length) return;
    let cap = this.bytes.length * 2 || 16;
    while (cap < need) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  addMarker(type: MarkerType, ref: string, pos: SourcePosition): void {
    (this.markers ??= []).push({ type, offset: this.length, ref, pos });
  }

  appendBytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }

  appendByte(v: number): void {
    this.reserve(1);
    this.bytes[this.length++] = v;
  }

  /** A 32-bit big-endian cell; `v` is taken modulo 2^32. */
  appendU32(v: number): void {
    this.reserve(4);
    const b = this.bytes;
    let i = this.length;
    b[i++] = (v >>> 24) & 0xff;
    b[i++] = (v >>> 16) & 0xff;
    b[i++] = (v >>> 8) & 0xff;
    b[i++] = v & 0xff;
    this.length = i;
  }

  /** The low `bits` bits of `v`, big-endian (dtc's data_append_integer). */
  appendInteger(v: bigint, bits: 8 | 16 | 32 | 64): void {
    if (bits === 64) {
      this.appendU32(Number((v >> 32n) & 0xffffffffn));
      this.appendU32(Number(v & 0xffffffffn));
    } else if (bits === 32) {
      this.appendU32(Number(v & 0xffffffffn));
    } else if (bits === 16) {
      const n = Number(v & 0xffffn);
      this.appendByte(n >> 8);
      this.appendByte(n & 0xff);
    } else {
      this.appendByte(Number(v & 0xffn));
    }
  }

  /** Inserts bytes at a marker's offset and moves every later marker (dtc's data_insert_at_marker). */
  insertAtMarker(at: Marker, b: Uint8Array): void {
    this.reserve(b.length);
    this.bytes.copyWithin(at.offset + b.length, at.offset, this.length);
    this.bytes.set(b, at.offset);
    this.length += b.length;
    const ms = this.markers!;
    for (let i = ms.indexOf(at) + 1; i < ms.length; i++) ms[i]!.offset += b.length;
  }

  writeU32At(offset: number, v: number): void {
    const b = this.bytes;
    b[offset] = (v >>> 24) & 0xff;
    b[offset + 1] = (v >>> 16) & 0xff;
    b[offset + 2] = (v >>> 8) & 0xff;
    b[offset + 3] = v & 0xff;
  }

  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  /** Exactly the value's bytes: the buffer itself when it is exactly sized (the tree is done with it), else a copy. */
  toBytes(): Uint8Array {
    return this.bytes.length === this.length ? this.bytes : this.bytes.slice(0, this.length);
  }
}

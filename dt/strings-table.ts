// The strings block as dtc and libfdt build it: a name is stored once, and a name that is the tail of
// one already stored (say "cells" after "#address-cells") reuses that tail. A lookup takes the first
// offset where the name and its NUL appear, exactly as dtc's stringtable_insert and libfdt's
// fdt_find_string_ scan for it, without their quadratic scan.
import { binaryKey } from './text';

/** Suffixes up to this many bytes are indexed; longer names fall back to a scan. */
const MAX_INDEXED = 64;

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

export class StringsTable {
  private buf: Uint8Array;
  private size = 0;
  /** Start of the segment still open (bytes after the last NUL, from an unterminated seed). */
  private segStart = 0;
  /** Binary key (UTF-8 bytes as latin1) -> first offset where key + NUL occurs; keys up to MAX_INDEXED. */
  private readonly first = new Map<string, number>();
  /** Name -> offset, for names already looked up. */
  private readonly byName = new Map<string, number>();

  /** `seed`: an existing strings block to keep and append to (libfdt's in-place editing). */
  constructor(seed?: Uint8Array) {
    this.buf = new Uint8Array(Math.max(256, seed ? seed.length * 2 : 0));
    if (seed && seed.length > 0) {
      this.buf.set(seed);
      this.size = seed.length;
      let start = 0;
      for (let i = 0; i < seed.length; i++) {
        if (seed[i] === 0) {
          this.indexSegment(start, i);
          start = i + 1;
        }
      }
      this.segStart = start;
    }
  }

  get length(): number {
    return this.size;
  }

  /** The offset of `name`, appending it when no stored string ends with it. */
  offsetOf(name: string): number {
    const known = this.byName.get(name);
    if (known !== undefined) return known;
    const key = binaryKey(name);
    let off = key.length <= MAX_INDEXED ? this.first.get(key) : this.scan(key);
    if (off === undefined) off = this.append(key);
    this.byName.set(name, off);
    return off;
  }

  /** The block's bytes (a view; valid until the next append). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.size);
  }

  private append(key: string): number {
    const at = this.size;
    const need = at + key.length + 1;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.max(need, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.size));
      this.buf = grown;
    }
    for (let i = 0; i < key.length; i++) this.buf[at + i] = key.charCodeAt(i);
    this.buf[at + key.length] = 0;
    this.size = need;
    this.indexSegment(this.segStart, at + key.length);
    this.segStart = need;
    return at;
  }

  /** Index every suffix (up to MAX_INDEXED bytes) of the NUL-terminated segment [start, nul). */
  private indexSegment(start: number, nul: number): void {
    const from = Math.max(start, nul - MAX_INDEXED);
    const seg = latin1(this.buf, from, nul);
    for (let p = from; p <= nul; p++) {
      const k = seg.slice(p - from);
      if (!this.first.has(k)) this.first.set(k, p);
    }
  }

  private scan(key: string): number | undefined {
    const n = key.length;
    const buf = this.buf;
    outer: for (let p = 0; p + n < this.size; p++) {
      if (buf[p + n] !== 0) continue;
      for (let i = 0; i < n; i++) if (buf[p + i] !== key.charCodeAt(i)) continue outer;
      return p;
    }
    return undefined;
  }
}

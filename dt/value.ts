// Property value codecs: big-endian cells, 64-bit values and NUL-terminated strings, as the DT spec lays them out.
import { DtTreeError } from './errors';

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: false });

export const EMPTY = new Uint8Array(0);

/** Cells of 32 bits each, big-endian. Values must fit in 32 bits (negative numbers wrap like C). */
export function encodeU32(values: number | readonly number[]): Uint8Array {
  const list = typeof values === 'number' ? [values] : values;
  const out = new Uint8Array(list.length * 4);
  const dv = new DataView(out.buffer);
  list.forEach((v, i) => {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) {
      throw new DtTreeError(`cell value ${v} does not fit in 32 bits`);
    }
    dv.setUint32(i * 4, v >>> 0);
  });
  return out;
}

/** 64-bit values, big-endian (two cells each). */
export function encodeU64(values: bigint | readonly bigint[]): Uint8Array {
  const list = typeof values === 'bigint' ? [values] : values;
  const out = new Uint8Array(list.length * 8);
  const dv = new DataView(out.buffer);
  list.forEach((v, i) => {
    if (v < -(1n << 63n) || v >= 1n << 64n) throw new DtTreeError(`value ${v} does not fit in 64 bits`);
    dv.setBigUint64(i * 8, BigInt.asUintN(64, v));
  });
  return out;
}

/** One NUL-terminated string. */
export function encodeString(s: string): Uint8Array {
  return encodeStringList([s]);
}

/** A string list: each string NUL-terminated, concatenated. */
export function encodeStringList(list: readonly string[]): Uint8Array {
  const parts = list.map((s) => {
    if (s.includes('\0')) throw new DtTreeError(`string ${JSON.stringify(s)} contains a NUL character`);
    return utf8.encode(s);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length + 1;
  }
  return out;
}

/** Cells from a value whose length is a multiple of 4, else undefined. */
export function decodeU32Array(value: Uint8Array): number[] | undefined {
  if (value.length % 4 !== 0) return undefined;
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out: number[] = new Array(value.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = dv.getUint32(i * 4);
  return out;
}

/** A single cell (value of exactly 4 bytes), else undefined. */
export function decodeU32(value: Uint8Array): number | undefined {
  if (value.length !== 4) return undefined;
  return new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
}

/** A 64-bit value (exactly 8 bytes), else undefined. */
export function decodeU64(value: Uint8Array): bigint | undefined {
  if (value.length !== 8) return undefined;
  return new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0);
}

/** Join `count` cells starting at cell index `at` into one number (as #address-cells does). */
export function readCells(value: Uint8Array, at: number, count: number): bigint | undefined {
  if (count < 0 || (at + count) * 4 > value.length) return undefined;
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  let v = 0n;
  for (let i = 0; i < count; i++) v = (v << 32n) | BigInt(dv.getUint32((at + i) * 4));
  return v;
}

/** A string list if the value is one (non-empty, NUL-terminated, every string non-empty), else undefined. */
export function decodeStringList(value: Uint8Array): string[] | undefined {
  if (value.length === 0 || value[value.length - 1] !== 0) return undefined;
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    if (value[i] === 0) {
      if (i === start) return undefined;
      out.push(utf8d.decode(value.subarray(start, i)));
      start = i + 1;
    }
  }
  return out;
}

/** The first string of a string property (the value up to its first NUL), else undefined. */
export function decodeString(value: Uint8Array): string | undefined {
  const nul = value.indexOf(0);
  if (nul < 0) return undefined;
  return utf8d.decode(value.subarray(0, nul));
}

/** Concatenate byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

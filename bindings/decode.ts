// Decodes a property's bytes into dt-schema's value model, guided by the type the bindings give it.
//
//   flag -> true            string(-array) -> ['a', 'b']       uintN -> 5
//   uintN-array -> [1, 2]   uintN-matrix, phandle(-array), address -> [[...], [...]]
//
// Rows of reg, ranges, interrupts and phandle arrays depend on other nodes and are split by instance.ts;
// this module splits a matrix only by the dimensions a binding fixes. A value that cannot be read as its
// type stays undecoded (`RAW` below) so the schema rejects it, and the reason is reported.
import type { Dim, DtType, PropType } from './prop-types';

/** Marks an undecodable value: a string, which no devicetree value type accepts (strings decode to lists). */
export const RAW_PREFIX = '\u0000bytes:';

export function rawValue(bytes: Uint8Array): string {
  let hex = '';
  for (const b of bytes.subarray(0, 64)) hex += b.toString(16).padStart(2, '0');
  return `${RAW_PREFIX}${hex}${bytes.length > 64 ? '...' : ''}`;
}

export function isRaw(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith(RAW_PREFIX);
}

export type Value = boolean | number | string | string[] | number[] | number[][];

export interface Decoded {
  value: Value;
  /** The type the bytes were read as, or undefined for a guess/undecodable value. */
  format: DtType | undefined;
  /** Why the value could not be read as its type. */
  problem?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function widthOf(t: DtType): number {
  if (t.startsWith('uint8') || t.startsWith('int8')) return 1;
  if (t.startsWith('uint16') || t.startsWith('int16')) return 2;
  if (t.startsWith('uint64') || t.startsWith('int64')) return 8;
  return 4;
}

const isArrayType = (t: DtType) => t.endsWith('-array') && !t.startsWith('phandle') && !t.includes('string');
const isMatrixType = (t: DtType) => t.endsWith('-matrix') || t === 'phandle' || t === 'phandle-array' || t === 'address';
const isStringType = (t: DtType) => t.includes('string');
const isIntType = (t: DtType) => !isStringType(t) && t !== 'flag' && t !== 'node';

/** The strings of a value that reads as printable NUL-terminated strings, else undefined. */
export function printableStrings(b: Uint8Array): string[] | undefined {
  if (b.length === 0 || b[b.length - 1] !== 0) return undefined;
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0) {
      if (i === start) return undefined;
      out.push(utf8.decode(b.subarray(start, i)));
      start = i + 1;
    } else if (c < 0x20 || c > 0x7e) {
      return undefined;
    }
  }
  return out;
}

export function readInts(b: Uint8Array, width: number, signed: boolean): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = b.length / width;
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * width;
    switch (width) {
      case 1: out[i] = signed ? dv.getInt8(o) : dv.getUint8(o); break;
      case 2: out[i] = signed ? dv.getInt16(o) : dv.getUint16(o); break;
      case 8: out[i] = Number(signed ? dv.getBigInt64(o) : dv.getBigUint64(o)); break;
      default: out[i] = signed ? dv.getInt32(o) : dv.getUint32(o);
    }
  }
  return out;
}

/** The row length to split `len` values into, given a binding's row/column bounds (as dt-schema picks it). */
export function strideFor(len: number, dim: Dim): number {
  // The fewest rows that divide the values into rows of an allowed length (linear in len).
  const outerMax = dim[0][1] === 0 ? len : Math.min(dim[0][1], len);
  const innerMax = dim[1][1] === 0 ? len : dim[1][1];
  for (let outer = Math.max(1, dim[0][0]); outer <= outerMax; outer++) {
    if (len % outer !== 0) continue;
    const inner = len / outer;
    if (inner >= dim[1][0] && inner <= innerMax) return inner;
  }
  if (dim[1][0] > 0 && dim[1][0] === dim[1][1]) return dim[1][0];
  if (dim[0][0] > 0 && dim[0][0] === dim[0][1]) return Math.max(1, Math.floor(len / dim[0][0]));
  return len;
}

export function rows(values: number[], stride: number): number[][] {
  if (stride <= 0 || stride >= values.length) return [values];
  const out: number[][] = [];
  for (let i = 0; i < values.length; i += stride) out.push(values.slice(i, i + stride));
  return out;
}

/** Narrow a set of candidate types to the one the value's size and content fit, as dt-schema does. */
function pickFormat(b: Uint8Array, candidates: Set<DtType>, dim: Dim | undefined): DtType | 'strings' | undefined {
  const len = b.length;
  const t = new Set(candidates);
  if (t.size > 1) {
    const drop = (...xs: DtType[]) => xs.forEach((x) => t.delete(x));
    if (len % 8) drop('int64', 'uint64', 'int64-array', 'uint64-array', 'int64-matrix', 'uint64-matrix');
    if (len % 4) drop('int32', 'uint32', 'int32-array', 'uint32-array', 'int32-matrix', 'uint32-matrix', 'phandle', 'phandle-array', 'address');
    if (len % 2) drop('int16', 'uint16', 'int16-array', 'uint16-array', 'int16-matrix', 'uint16-matrix');
    if (len > 4) drop('int32', 'uint32', 'phandle');
    else drop('int64', 'uint64', 'int64-array', 'uint64-array');
    if (len > 2) drop('int16', 'uint16');
    else drop('int32', 'uint32', 'int32-array', 'uint32-array', 'phandle', 'phandle-array');
    if (len > 1) drop('int8', 'uint8');
    else drop('int16', 'uint16', 'int16-array', 'uint16-array');
    if (len > 0) drop('flag');
    for (const w of ['64', '32', '16', '8']) {
      if (t.has(`int${w}` as DtType) && t.has(`uint${w}` as DtType)) t.delete(`uint${w}` as DtType);
    }
  }
  if (t.size === 0) return undefined;
  if (t.size === 1) return [...t][0];
  if ([...t].some(isStringType)) {
    if (printableStrings(b)) return 'strings';
    const other = [...t].filter((x) => !isStringType(x)).sort();
    return other[0];
  }
  const matrices = [...t].filter(isMatrixType);
  const scalars = [...t].filter((x) => !isMatrixType(x));
  if (matrices.length > 0 && scalars.length === 1) {
    const scalar = scalars[0]!;
    const minCount = dim ? Math.max(1, dim[1][0]) * dim[0][0] : 1;
    return len / widthOf(scalar) > minCount ? matrices[0]! : scalar;
  }
  // A scalar and its array: one element reads as the scalar.
  const sorted = [...t].sort();
  const scalar = sorted.find((x) => !isArrayType(x) && !isMatrixType(x) && isIntType(x));
  if (scalar && len === widthOf(scalar)) return scalar;
  return sorted.find(isArrayType) ?? sorted[0];
}

/** What the bytes look like when no binding types the property (dtc's guess). */
function guess(b: Uint8Array): Decoded {
  const s = printableStrings(b);
  if (s) return { value: s, format: undefined };
  if (b.length % 4 === 0) return { value: [readInts(b, 4, false)], format: undefined };
  return { value: readInts(b, 1, false), format: undefined };
}

/** The value types a property may have (node types dropped), computed once per table entry. */
const candidateCache = new WeakMap<PropType, Set<DtType>>();
function candidatesOf(type: PropType): Set<DtType> {
  let c = candidateCache.get(type);
  if (!c) {
    c = new Set([...type.types].filter((t) => t !== 'node'));
    candidateCache.set(type, c);
  }
  return c;
}

export function decodeValue(b: Uint8Array, type: PropType | undefined): Decoded {
  if (b.length === 0) return { value: true, format: 'flag' };
  const candidates = type ? candidatesOf(type) : undefined;
  if (!candidates || candidates.size === 0) return guess(b);

  const fmt = candidates.size === 1 ? candidates.values().next().value! : pickFormat(b, candidates, type?.dim);
  if (fmt === 'strings') return { value: printableStrings(b)!, format: 'string-array' };
  if (fmt === undefined) {
    return { value: rawValue(b), format: undefined, problem: `size (${b.length}) fits none of the types ${[...candidates].join(', ')}` };
  }
  if (fmt === 'flag') {
    return { value: rawValue(b), format: undefined, problem: `boolean property with a value (${b.length} bytes)` };
  }
  if (isStringType(fmt)) {
    if (b[b.length - 1] !== 0) return { value: rawValue(b), format: undefined, problem: 'string not NUL-terminated' };
    return { value: utf8.decode(b.subarray(0, b.length - 1)).split('\0'), format: fmt };
  }
  const width = widthOf(fmt);
  if (b.length % width !== 0) {
    return { value: rawValue(b), format: undefined, problem: `size (${b.length}) is not a multiple of ${width} bytes for type ${fmt}` };
  }
  const ints = readInts(b, width, fmt.startsWith('int'));
  if (isMatrixType(fmt)) return { value: type?.dim ? rows(ints, strideFor(ints.length, type.dim)) : [ints], format: fmt };
  if (isArrayType(fmt) || ints.length !== 1) return { value: ints, format: fmt };
  return { value: ints[0]!, format: fmt };
}

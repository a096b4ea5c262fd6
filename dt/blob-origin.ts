// Which byte buffers hold parsed blobs. A property value parsed from a blob is a view into it, and the
// (up to 3) padding bytes after the value are the blob's own: libfdt leaves stale bytes there when it
// splices, and a libfdt-style ('keep') serialization reproduces them, as fdt_pack would.
import type { DtProperty } from './tree';

/**
 * Structure blocks of parsed blobs, by buffer, as [start, end) byte offsets in that buffer. Only a
 * value inside one of them has meaningful padding: a buffer may be shared (Node's Buffer pool) by
 * values that have nothing to do with the blob.
 */
const parsed = new WeakMap<ArrayBufferLike, Array<[number, number]>>();

export function markParsedBuffer(bytes: Uint8Array, structStart: number, structEnd: number): void {
  const ranges = parsed.get(bytes.buffer) ?? [];
  ranges.push([bytes.byteOffset + structStart, bytes.byteOffset + structEnd]);
  parsed.set(bytes.buffer, ranges);
}

function insideParsedStruct(buffer: ArrayBufferLike, start: number, end: number): boolean {
  const ranges = parsed.get(buffer);
  if (!ranges) return false;
  for (const [s, e] of ranges) if (start >= s && end <= e) return true;
  return false;
}

/**
 * The padding bytes that followed a property's value in the blob it was parsed from, as a number
 * (first byte most significant; 0 if none or unknown).
 */
export function originalPadding(prop: DtProperty): number {
  const n = prop.length & 3;
  if (n === 0) return 0;
  const count = 4 - n;
  const lazy = prop.source;
  let src: Uint8Array;
  let start: number;
  if (lazy) {
    [src, start] = lazy;
    start += prop.length;
  } else {
    const value = prop.value;
    src = new Uint8Array(value.buffer);
    start = value.byteOffset + value.length;
    if (!insideParsedStruct(value.buffer, value.byteOffset, start + count)) return 0;
  }
  if (start + count > src.length) return 0;
  let v = 0;
  for (let i = 0; i < count; i++) v = (v << 8) | src[start + i]!;
  return v;
}

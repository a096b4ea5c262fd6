// Which byte buffers hold parsed blobs. A property value parsed from a blob is a view into it, and the
// (up to 3) padding bytes after the value are the blob's own: libfdt leaves stale bytes there when it
// splices, and a libfdt-style ('keep') serialization reproduces them, as fdt_pack would.
const parsed = new WeakSet<ArrayBufferLike>();

export function markParsedBuffer(bytes: Uint8Array): void {
  parsed.add(bytes.buffer);
}

/** The padding bytes that followed `value` in the blob it was parsed from, as a 24-bit number (0 if none or unknown). */
export function originalPadding(value: Uint8Array): number {
  const n = value.length & 3;
  if (n === 0 || !parsed.has(value.buffer)) return 0;
  const start = value.byteOffset + value.length;
  const count = 4 - n;
  if (start + count > value.buffer.byteLength) return 0;
  const src = new Uint8Array(value.buffer, start, count);
  let v = 0;
  for (let i = 0; i < count; i++) v = (v << 8) | src[i]!;
  return v;
}

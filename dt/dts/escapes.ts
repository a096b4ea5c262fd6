// dtc's escape sequences in strings and character literals: \a \b \t \n \v \f \r, up to 3 octal digits, \x with up to 2 hex digits; any other escaped character stands for itself.

const SIMPLE: Record<number, number> = {
  0x61: 0x07, // \a
  0x62: 0x08, // \b
  0x74: 0x09, // \t
  0x6e: 0x0a, // \n
  0x76: 0x0b, // \v
  0x66: 0x0c, // \f
  0x72: 0x0d, // \r
};

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * The bytes that `src[start..end)` (the text between the quotes) stands for. `onBadEscape(offset)` is called for
 * a `\x` without a hex digit (dtc stops there); the escape then yields nothing.
 */
export function decodeEscapes(
  src: Uint8Array,
  start: number,
  end: number,
  onBadEscape: (offset: number) => void,
): Uint8Array {
  // Fast path: no backslash, the bytes are the value.
  let i = start;
  while (i < end && src[i] !== 0x5c) i++;
  if (i === end) return src.slice(start, end);

  const out = new Uint8Array(end - start);
  let n = 0;
  for (i = start; i < end; ) {
    const c = src[i++]!;
    if (c !== 0x5c || i >= end) {
      out[n++] = c;
      continue;
    }
    const e = src[i]!;
    const simple = SIMPLE[e];
    if (simple !== undefined) {
      out[n++] = simple;
      i++;
    } else if (e >= 0x30 && e <= 0x37) {
      // Up to three octal digits; the value is truncated to a byte, as dtc's char is.
      let v = 0;
      let k = 0;
      while (k < 3 && i < end && src[i]! >= 0x30 && src[i]! <= 0x37) {
        v = v * 8 + (src[i]! - 0x30);
        i++;
        k++;
      }
      out[n++] = v & 0xff;
    } else if (e === 0x78) {
      i++;
      let v = 0;
      let k = 0;
      while (k < 2 && i < end && hexDigit(src[i]!) >= 0) {
        v = v * 16 + hexDigit(src[i]!);
        i++;
        k++;
      }
      if (k === 0) onBadEscape(i - 2);
      else out[n++] = v;
    } else {
      out[n++] = e;
      i++;
    }
  }
  return out.slice(0, n);
}

// Node and property names in blobs: NUL-terminated bytes, decoded as UTF-8 with an ASCII fast path.
import { DtbError } from './errors';

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });
const utf8Enc = new TextEncoder();

/** Decode bytes [start, end) of a name. Non-UTF-8 names are a DtbError at `start`. */
export function decodeName(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 0x80) return decodeUtf8Name(bytes, start, end);
    s += String.fromCharCode(c);
  }
  return s;
}

function decodeUtf8Name(bytes: Uint8Array, start: number, end: number): string {
  try {
    return utf8Fatal.decode(bytes.subarray(start, end));
  } catch {
    throw new DtbError('name is not valid UTF-8', start);
  }
}

/** True when every character is 7-bit ASCII (so one byte per character on the wire). */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** The UTF-8 bytes of a name. */
export function encodeName(s: string): Uint8Array {
  return utf8Enc.encode(s);
}

/**
 * A name as a "binary string": one character per UTF-8 byte (latin1). Equal to the name itself for
 * ASCII names; used where names are compared byte-wise, as C compares them.
 */
export function binaryKey(s: string): string {
  if (isAscii(s)) return s;
  const b = utf8Enc.encode(s);
  let out = '';
  for (const c of b) out += String.fromCharCode(c);
  return out;
}

/** strcmp on the UTF-8 encodings: the order dtc sorts names in. */
export function compareNames(a: string, b: string): number {
  if (isAscii(a) && isAscii(b)) return a < b ? -1 : a > b ? 1 : 0;
  const ka = binaryKey(a);
  const kb = binaryKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

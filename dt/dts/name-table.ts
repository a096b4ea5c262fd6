// Interned identifiers: a source repeats a few hundred names (reg, compatible, labels) thousands of times;
// reading each from its bytes once keeps the compiler from allocating (and collecting) a string per use.
import { latin1OrUtf8 } from './token';

const MAX_INTERNED = 64;

export class NameTable {
  private readonly table = new Map<number, string>();

  /** The string for `src[start..end)`, shared with every earlier identical name. */
  get(src: Uint8Array, start: number, end: number): string {
    const len = end - start;
    if (len > MAX_INTERNED) return latin1OrUtf8(src, start, end);
    let h = len;
    for (let i = start; i < end; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
    const hit = this.table.get(h);
    if (hit !== undefined && hit.length === len) {
      let same = true;
      for (let i = 0; i < len && same; i++) same = hit.charCodeAt(i) === src[start + i];
      if (same) return hit;
    }
    const s = latin1OrUtf8(src, start, end);
    // On a collision the newer name wins the slot; the older one is simply decoded again next time.
    this.table.set(h, s);
    return s;
  }
}

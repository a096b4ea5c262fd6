// A libfdt-style reader over a blob: walks the structure block token by token without building a tree,
// checking every token, length and offset as it goes. parseFdt and the JSON dump are built on it.
import { DtbError } from './errors';
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_NOP, FDT_PROP, type FdtHeader } from './fdt-format';
import { readLayout, type FdtLayout } from './fdt-layout';
import { resolveLimits, type FdtLimits } from './fdt-limits';
import { decodeName } from './text';
import type { MemReserve } from './tree';

// Module-local copies: an imported binding may compile to a getter call (tsx), too slow per token.
const BEGIN_NODE = FDT_BEGIN_NODE;
const END_NODE = FDT_END_NODE;
const PROP = FDT_PROP;
const NOP = FDT_NOP;
const END = FDT_END;

/**
 * Callbacks of a walk, in structure-block order. Offsets are absolute byte offsets in the blob, so a
 * visitor decodes only what it needs (`FdtReader.name`, `FdtReader.propName`, `bytes.subarray`).
 */
export interface FdtVisitor {
  /** A node begins; its name is bytes [nameStart, nameEnd). The root has depth 0. */
  beginNode(nameStart: number, nameEnd: number, depth: number, tokenOffset: number): void;
  /** A property of the innermost open node: name at `nameStart` (NUL-terminated), value [valueStart, valueStart + length). */
  property(nameStart: number, valueStart: number, length: number, tokenOffset: number): void;
  /** The innermost open node ends. */
  endNode(depth: number, tokenOffset: number): void;
}

export interface FdtReadOptions {
  limits?: Partial<FdtLimits>;
}

export class FdtReader {
  readonly bytes: Uint8Array;
  readonly layout: FdtLayout;
  readonly limits: FdtLimits;
  private readonly dv: DataView;
  /** Property names by absolute offset: an array for strings blocks up to 64 KiB, else a Map. */
  private readonly nameArray: Array<string | undefined> | undefined;
  private readonly nameMap = new Map<number, string>();

  /** Checks the header, block bounds and reservation map; the structure block is checked by `walk`. */
  constructor(bytes: Uint8Array, opts: FdtReadOptions = {}) {
    this.bytes = bytes;
    this.limits = resolveLimits(opts.limits);
    this.layout = readLayout(bytes, this.limits);
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const size = this.layout.stringsEnd - this.layout.stringsStart;
    this.nameArray = size <= 65536 ? new Array<string | undefined>(size) : undefined;
  }

  get header(): FdtHeader {
    return this.layout.header;
  }

  /** The memory reservation map's entries (without the terminator). */
  memReserve(): MemReserve[] {
    const out: MemReserve[] = [];
    for (let i = 0; i < this.layout.rsvCount; i++) {
      const off = this.layout.rsvStart + i * 16;
      out.push({ address: this.dv.getBigUint64(off), size: this.dv.getBigUint64(off + 8) });
    }
    return out;
  }

  /** A node name (bytes [start, end)) as a string. */
  name(start: number, end: number): string {
    return decodeName(this.bytes, start, end);
  }

  /** The property name that starts at absolute offset `nameStart` in the strings block (cached). */
  propName(nameStart: number): string {
    const arr = this.nameArray;
    if (arr !== undefined) {
      const rel = nameStart - this.layout.stringsStart;
      let s = arr[rel];
      if (s === undefined) {
        s = decodeName(this.bytes, nameStart, this.bytes.indexOf(0, nameStart));
        arr[rel] = s;
      }
      return s;
    }
    let s = this.nameMap.get(nameStart);
    if (s === undefined) {
      s = decodeName(this.bytes, nameStart, this.bytes.indexOf(0, nameStart));
      this.nameMap.set(nameStart, s);
    }
    return s;
  }

  /**
   * Visit every node and property in structure-block order. Throws DtbError (with the offending
   * byte offset) on a truncated, unterminated, unbalanced or unknown token, a name offset outside the
   * strings block, a property over the size limit or nesting over the depth limit. Returns the offset
   * just past the FDT_END token.
   */
  walk(visitor: FdtVisitor): number {
    const bytes = this.bytes;
    const dv = this.dv;
    const { structStart, structEnd, stringsStart, lastNameOffset } = this.layout;
    const { maxDepth, maxPropertySize } = this.limits;
    let off = structStart;
    let depth = -1;
    let rootDone = false;
    for (;;) {
      if (off + 4 > structEnd) {
        throw new DtbError(rootDone ? 'structure block ends without FDT_END' : 'structure block truncated inside a node', off);
      }
      const token = dv.getUint32(off);
      switch (token) {
        case BEGIN_NODE: {
          if (rootDone) throw new DtbError('a second root node follows the first', off);
          depth++;
          if (depth > maxDepth) throw new DtbError(`node nesting deeper than the limit of ${maxDepth}`, off);
          const nameStart = off + 4;
          const nul = bytes.indexOf(0, nameStart);
          if (nul < 0 || nul >= structEnd) throw new DtbError('unterminated node name', nameStart);
          visitor.beginNode(nameStart, nul, depth, off);
          off = (nul + 4) & ~3;
          break;
        }
        case PROP: {
          if (depth < 0) throw new DtbError('property outside any node', off);
          if (off + 12 > structEnd) throw new DtbError('property header truncated', off);
          const length = dv.getUint32(off + 4);
          const nameOff = dv.getUint32(off + 8);
          if (length > maxPropertySize) {
            throw new DtbError(`property length ${length} is over the limit of ${maxPropertySize} bytes`, off + 4);
          }
          const valueStart = off + 12;
          if (valueStart + length > structEnd) {
            throw new DtbError(`property value of ${length} bytes runs past the structure block`, off + 4);
          }
          if (nameOff > lastNameOffset) {
            throw new DtbError(
              nameOff >= stringsEndRel(this.layout)
                ? `property name offset ${nameOff} is outside the strings block`
                : `property name at strings offset ${nameOff} is not NUL-terminated`,
              off + 8,
            );
          }
          visitor.property(stringsStart + nameOff, valueStart, length, off);
          off = (valueStart + length + 3) & ~3;
          break;
        }
        case END_NODE:
          if (depth < 0) throw new DtbError('FDT_END_NODE without an open node', off);
          visitor.endNode(depth, off);
          depth--;
          if (depth < 0) rootDone = true;
          off += 4;
          break;
        case NOP:
          off += 4;
          break;
        case END:
          if (!rootDone) throw new DtbError(depth < 0 ? 'FDT_END before any node' : 'FDT_END inside an open node', off);
          return off + 4;
        default:
          throw new DtbError(`unknown token 0x${token.toString(16).padStart(8, '0')}`, off);
      }
    }
  }
}

function stringsEndRel(l: FdtLayout): number {
  return l.stringsEnd - l.stringsStart;
}

/** Walk a blob without building a tree (the lazy mode): header checks, then `visitor` on every token. */
export function walkFdt(bytes: Uint8Array, visitor: FdtVisitor, opts: FdtReadOptions = {}): FdtReader {
  const r = new FdtReader(bytes, opts);
  r.walk(visitor);
  return r;
}

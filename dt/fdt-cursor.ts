// FdtCursor: libfdt's read-only API over a checked blob (fdt_next_node, fdt_subnode_offset,
// fdt_path_offset with aliases, fdt_getprop, fdt_get_phandle, fdt_get_path...): random access by
// structure-block offsets, without building a tree. FdtEditor adds libfdt's in-place writes to it.
//
// Offsets of nodes and properties are relative to the structure block, as libfdt's are. Errors are
// libfdt's negative FDT_ERR_* codes, returned (not thrown) so control flow can follow libfdt's. Names
// and paths are byte strings (one character per byte; the same as text for ASCII names).
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_NOP, FDT_PROP, HDR } from './fdt-format';
import { FdtReader, type FdtReadOptions } from './fdt-reader';

/** libfdt's error codes (libfdt.h), negated as libfdt returns them. */
export const FDT_ERR = {
  NOTFOUND: -1,
  EXISTS: -2,
  NOSPACE: -3,
  BADOFFSET: -4,
  BADPATH: -5,
  BADPHANDLE: -6,
  BADSTATE: -7,
  TRUNCATED: -8,
  BADMAGIC: -9,
  BADVERSION: -10,
  BADSTRUCTURE: -11,
  BADLAYOUT: -12,
  INTERNAL: -13,
  BADNCELLS: -14,
  BADVALUE: -15,
  BADOVERLAY: -16,
  NOPHANDLES: -17,
  BADFLAGS: -18,
} as const;

/** fdt_strerror: the code's name (FDT_ERR_NOTFOUND, ...). */
export function fdtStrerror(code: number): string {
  for (const [k, v] of Object.entries(FDT_ERR)) if (v === code) return `FDT_ERR_${k}`;
  return code < 0 ? `FDT_ERR_UNKNOWN(${-code})` : 'FDT_ERR_OK';
}

export const align4 = (n: number) => (n + 3) & ~3;

/** Names and paths are handled as "binary strings": one character per byte, compared as C compares them. */
export function bytesToBinary(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

export class FdtCursor {
  protected mem: Uint8Array;
  protected dv: DataView;
  /** Set by nextTag: the offset after the tag just read. */
  nextOffset = 0;
  /** The depth that nextNode tracks (libfdt's `int *depth`). */
  depth = 0;

  protected constructor(mem: Uint8Array) {
    this.mem = mem;
    this.dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  }

  /**
   * A cursor over `bytes` (no copy): the blob is first checked entirely (FdtReader.walk), so that
   * every later step can trust its structure. DtbError on a malformed blob.
   */
  static over(bytes: Uint8Array, opts: FdtReadOptions = {}): FdtCursor {
    const r = new FdtReader(bytes, opts);
    r.walk({ beginNode() {}, property() {}, endNode() {} });
    return new FdtCursor(bytes.subarray(0, r.header.totalsize));
  }

  protected get(field: number): number {
    return this.dv.getUint32(field);
  }

  protected set(field: number, v: number): void {
    this.dv.setUint32(field, v >>> 0);
  }

  private get structOff(): number {
    return this.get(HDR.off_dt_struct);
  }

  /** Absolute offset of a structure-block offset. */
  abs(off: number): number {
    return this.structOff + off;
  }

  u32(absOff: number): number {
    return this.dv.getUint32(absOff);
  }

  bytes(absStart: number, len: number): Uint8Array {
    return this.mem.subarray(absStart, absStart + len);
  }

  // ---- reading (fdt.c, fdt_ro.c) ----

  /** fdt_next_tag on a well-formed structure block. */
  nextTag(off: number): number {
    const a = this.abs(off);
    const tag = this.dv.getUint32(a);
    let next = off + 4;
    if (tag === FDT_BEGIN_NODE) {
      next = this.mem.indexOf(0, a + 4) - this.structOff + 1;
    } else if (tag === FDT_PROP) {
      next = off + 12 + this.dv.getUint32(a + 4);
    }
    this.nextOffset = align4(next);
    return tag;
  }

  /** fdt_next_node: the next BEGIN_NODE after `off` (-1: the root); with `track`, updates `depth`. */
  nextNode(off: number, track: boolean): number {
    let next = 0;
    if (off >= 0) {
      if (this.nextTag(off) !== FDT_BEGIN_NODE) return FDT_ERR.BADOFFSET;
      next = this.nextOffset;
    }
    for (;;) {
      off = next;
      const tag = this.nextTag(off);
      next = this.nextOffset;
      if (tag === FDT_BEGIN_NODE) {
        if (track) this.depth++;
        return off;
      }
      if (tag === FDT_END_NODE) {
        if (track && --this.depth < 0) return next;
      } else if (tag === FDT_END) {
        return FDT_ERR.NOTFOUND;
      }
    }
  }

  /** fdt_first_subnode / fdt_next_subnode. */
  firstSubnode(off: number): number {
    this.depth = 0;
    const o = this.nextNode(off, true);
    if (o < 0 || this.depth !== 1) return FDT_ERR.NOTFOUND;
    return o;
  }

  nextSubnode(off: number): number {
    this.depth = 1;
    let o = off;
    do {
      o = this.nextNode(o, true);
      if (o < 0 || this.depth < 1) return FDT_ERR.NOTFOUND;
    } while (this.depth > 1);
    return o;
  }

  /** The subnodes of `off`, in order (offsets valid until the next edit). */
  subnodes(off: number): number[] {
    const out: number[] = [];
    for (let c = this.firstSubnode(off); c >= 0; c = this.nextSubnode(c)) out.push(c);
    return out;
  }

  /** fdt_get_name, as a binary string. */
  name(off: number): string {
    const a = this.abs(off) + 4;
    return bytesToBinary(this.mem, a, this.mem.indexOf(0, a));
  }

  /** fdt_first_property_offset / fdt_next_property_offset: every PROP of the node, skipping NOPs. */
  properties(node: number): number[] {
    const out: number[] = [];
    if (this.nextTag(node) !== FDT_BEGIN_NODE) return out;
    let off = this.nextOffset;
    for (;;) {
      const tag = this.nextTag(off);
      if (tag === FDT_PROP) out.push(off);
      else if (tag !== FDT_NOP) return out;
      off = this.nextOffset;
    }
  }

  /** A property's name (binary string), absolute value offset and length. */
  property(off: number): { name: string; data: number; len: number } {
    const a = this.abs(off);
    const strings = this.get(HDR.off_dt_strings) + this.dv.getUint32(a + 8);
    return { name: bytesToBinary(this.mem, strings, this.mem.indexOf(0, strings)), data: a + 12, len: this.dv.getUint32(a + 4) };
  }

  /** fdt_getprop_namelen: the first property named `name`; len is the value length or an error. */
  getProp(node: number, name: string): { off: number; data: number; len: number } | number {
    for (const p of this.properties(node)) {
      const pr = this.property(p);
      if (pr.name === name) return { off: p, data: pr.data, len: pr.len };
    }
    return FDT_ERR.NOTFOUND;
  }

  /** A property's value as a C string would read it (up to its first NUL), or undefined when absent. */
  getString(node: number, name: string): string | undefined {
    const p = this.getProp(node, name);
    if (typeof p === 'number') return undefined;
    const end = this.mem.indexOf(0, p.data);
    return bytesToBinary(this.mem, p.data, end < 0 || end > p.data + p.len ? p.data + p.len : end);
  }

  /** fdt_nodename_eq_: `name` matches the node's full name, or its name before '@' when `name` has no '@'. */
  private nodenameEq(off: number, name: string): boolean {
    const full = this.name(off);
    if (full.length < name.length || !full.startsWith(name)) return false;
    if (full.length === name.length) return true;
    return !name.includes('@') && full.charCodeAt(name.length) === 0x40;
  }

  /** fdt_subnode_offset_namelen. */
  subnodeOffset(parent: number, name: string): number {
    this.depth = 0;
    for (let off = parent; off >= 0 && this.depth >= 0; off = this.nextNode(off, true)) {
      if (this.depth === 1 && this.nodenameEq(off, name)) return off;
    }
    return FDT_ERR.NOTFOUND;
  }

  /** fdt_path_offset: absolute paths, or paths that start with an alias. */
  pathOffset(path: string, aliasDepth = 0): number {
    let p = 0;
    let off = 0;
    if (path.charCodeAt(0) !== 0x2f) {
      if (aliasDepth > 8) return FDT_ERR.BADPATH;
      let q = path.indexOf('/');
      if (q < 0) q = path.length;
      const aliases = this.pathOffset('/aliases');
      const target = aliases < 0 ? undefined : this.getString(aliases, path.slice(0, q));
      if (target === undefined) return FDT_ERR.BADPATH;
      off = this.pathOffset(target, aliasDepth + 1);
      p = q;
    }
    while (p < path.length) {
      while (path.charCodeAt(p) === 0x2f) {
        p++;
        if (p === path.length) return off;
      }
      let q = path.indexOf('/', p);
      if (q < 0) q = path.length;
      off = this.subnodeOffset(off, path.slice(p, q));
      if (off < 0) return off;
      p = q;
    }
    return off;
  }

  /** fdt_get_phandle: `phandle`, else `linux,phandle`, when exactly 4 bytes; 0 when neither. */
  getPhandle(node: number): number {
    for (const name of ['phandle', 'linux,phandle']) {
      const p = this.getProp(node, name);
      if (typeof p !== 'number' && p.len === 4) return this.u32(p.data);
    }
    return 0;
  }

  /** fdt_node_offset_by_phandle. */
  nodeByPhandle(phandle: number): number {
    if (phandle === 0 || phandle === 0xffffffff) return FDT_ERR.BADPHANDLE;
    for (let off = this.nextNode(-1, false); off >= 0; off = this.nextNode(off, false)) {
      if (this.getPhandle(off) === phandle) return off;
    }
    return FDT_ERR.NOTFOUND;
  }

  /** fdt_find_max_phandle. */
  maxPhandle(): number {
    let max = 0;
    for (let off = this.nextNode(-1, false); off >= 0; off = this.nextNode(off, false)) {
      const v = this.getPhandle(off);
      if (v > max) max = v;
    }
    return max;
  }

  /** fdt_get_path, as a binary string. */
  getPath(node: number): string | number {
    const names: string[] = [];
    this.depth = 0;
    for (let off = 0; off >= 0 && off <= node; off = this.nextNode(off, true)) {
      names.length = this.depth;
      names.push(this.name(off));
      if (off === node) return names.length === 1 ? '/' : names.join('/');
    }
    return FDT_ERR.BADOFFSET;
  }
}

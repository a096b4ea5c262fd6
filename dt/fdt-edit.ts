// FdtEditor: a blob edited in place with libfdt's semantics (fdt_open_into, fdt_setprop, fdt_add_subnode,
// fdt_setprop_inplace, fdt_pack), down to the bytes libfdt's memmove-based splicing leaves behind in
// value padding. fdtoverlay's output is such an edited blob, so the overlay code runs on this.
//
// Offsets of nodes and properties are relative to the structure block, as libfdt's are. Errors are
// libfdt's negative FDT_ERR_* codes, returned (not thrown) so control flow can follow libfdt's.
// Blobs given to `open` must already have passed FdtReader's checks: a well-formed structure is assumed.
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_NOP, FDT_PROP, HDR } from './fdt-format';

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

const align4 = (n: number) => (n + 3) & ~3;

/** Names and paths are handled as "binary strings": one character per byte, compared as C compares them. */
export function bytesToBinary(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

export class FdtEditor {
  private mem: Uint8Array;
  private dv: DataView;
  /** Set by nextTag: the offset after the tag just read. */
  nextOffset = 0;
  /** The depth that nextNode tracks (libfdt's `int *depth`). */
  depth = 0;

  private constructor(mem: Uint8Array) {
    this.mem = mem;
    this.dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  }

  /**
   * fdt_open_into: a blob whose blocks are in order (reservation map, structure, strings) keeps its
   * layout, version becomes 17; any other layout is packed (and last_comp_version becomes 16).
   * The buffer's free space (past the strings block) reads as zeros.
   */
  static open(blob: Uint8Array): FdtEditor {
    const src = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const h = (f: number) => src.getUint32(f);
    const totalsize = h(HDR.totalsize);
    const version = h(HDR.version);
    let rsvCount = 0;
    while (src.getBigUint64(h(HDR.off_mem_rsvmap) + rsvCount * 16 + 8) !== 0n) rsvCount++;
    const rsvSize = (rsvCount + 1) * 16;
    const structSize = version >= 17 ? h(HDR.size_dt_struct) : structBlockSize(blob, h(HDR.off_dt_struct));
    const misordered =
      h(HDR.off_mem_rsvmap) < 40 ||
      h(HDR.off_dt_struct) < h(HDR.off_mem_rsvmap) + rsvSize ||
      h(HDR.off_dt_strings) < h(HDR.off_dt_struct) + structSize ||
      totalsize < h(HDR.off_dt_strings) + h(HDR.size_dt_strings);
    if (!misordered) {
      const mem = new Uint8Array(totalsize + 4096);
      mem.set(blob.subarray(0, totalsize));
      const ed = new FdtEditor(mem);
      ed.set(HDR.version, 17);
      ed.set(HDR.size_dt_struct, structSize);
      ed.set(HDR.totalsize, mem.length);
      return ed;
    }
    const stringsSize = h(HDR.size_dt_strings);
    const size = 40 + rsvSize + structSize + stringsSize;
    const mem = new Uint8Array(size + 4096);
    mem.set(blob.subarray(h(HDR.off_mem_rsvmap), h(HDR.off_mem_rsvmap) + rsvSize), 40);
    mem.set(blob.subarray(h(HDR.off_dt_struct), h(HDR.off_dt_struct) + structSize), 40 + rsvSize);
    mem.set(blob.subarray(h(HDR.off_dt_strings), h(HDR.off_dt_strings) + stringsSize), 40 + rsvSize + structSize);
    const ed = new FdtEditor(mem);
    ed.set(HDR.magic, h(HDR.magic));
    ed.set(HDR.totalsize, mem.length);
    ed.set(HDR.off_mem_rsvmap, 40);
    ed.set(HDR.off_dt_struct, 40 + rsvSize);
    ed.set(HDR.size_dt_struct, structSize);
    ed.set(HDR.off_dt_strings, 40 + rsvSize + structSize);
    ed.set(HDR.size_dt_strings, stringsSize);
    ed.set(HDR.version, 17);
    ed.set(HDR.last_comp_version, 16);
    ed.set(HDR.boot_cpuid_phys, h(HDR.boot_cpuid_phys));
    return ed;
  }

  /** A private copy of a blob for in-place edits that never change its size (the overlay's fixups). */
  static copy(blob: Uint8Array): FdtEditor {
    return new FdtEditor(blob.slice(0, new DataView(blob.buffer, blob.byteOffset).getUint32(HDR.totalsize)));
  }

  private get(field: number): number {
    return this.dv.getUint32(field);
  }

  private set(field: number, v: number): void {
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

  // ---- writing (fdt_rw.c, fdt_wip.c) ----

  private dataSize(): number {
    return this.get(HDR.off_dt_strings) + this.get(HDR.size_dt_strings);
  }

  /** fdt_splice_: move everything after `at + oldLen` by newLen - oldLen (the bytes left behind stay). */
  private splice(at: number, oldLen: number, newLen: number): void {
    const dsize = this.dataSize();
    const need = dsize - oldLen + newLen;
    if (need > this.mem.length) {
      // libfdt would fail with NOSPACE and fdtoverlay retry in a larger (zeroed) buffer
      const grown = new Uint8Array(Math.max(need + 4096, this.mem.length * 2));
      grown.set(this.mem);
      this.mem = grown;
      this.dv = new DataView(grown.buffer);
      this.set(HDR.totalsize, grown.length);
    }
    this.mem.copyWithin(at + newLen, at + oldLen, dsize);
  }

  private spliceStruct(at: number, oldLen: number, newLen: number): void {
    this.splice(at, oldLen, newLen);
    const delta = newLen - oldLen;
    this.set(HDR.size_dt_struct, this.get(HDR.size_dt_struct) + delta);
    this.set(HDR.off_dt_strings, this.get(HDR.off_dt_strings) + delta);
  }

  /** fdt_find_add_string_: the first offset where `name` and its NUL appear, else appended. */
  private findAddString(name: string): number {
    const strtab = this.get(HDR.off_dt_strings);
    const size = this.get(HDR.size_dt_strings);
    const n = name.length;
    const mem = this.mem;
    outer: for (let p = 0; p + n + 1 <= size; p++) {
      if (mem[strtab + p + n] !== 0) continue;
      for (let i = 0; i < n; i++) if (mem[strtab + p + i] !== name.charCodeAt(i)) continue outer;
      return p;
    }
    this.splice(strtab + size, 0, n + 1);
    for (let i = 0; i < n; i++) this.mem[strtab + size + i] = name.charCodeAt(i);
    this.mem[strtab + size + n] = 0;
    this.set(HDR.size_dt_strings, size + n + 1);
    return size;
  }

  /**
   * fdt_setprop_placeholder: resize the named property in place, or insert a new one first in the
   * node; returns the absolute offset of its (len-byte) value area.
   */
  setPropPlaceholder(node: number, name: string, len: number): number {
    const existing = this.getProp(node, name);
    if (typeof existing !== 'number') {
      this.spliceStruct(existing.data, align4(existing.len), align4(len));
      this.dv.setUint32(existing.data - 8, len);
      return existing.data;
    }
    if (this.nextTag(node) !== FDT_BEGIN_NODE) return FDT_ERR.BADOFFSET;
    const at = this.nextOffset;
    const nameoff = this.findAddString(name);
    const a = this.abs(at);
    this.spliceStruct(a, 0, 12 + align4(len));
    this.dv.setUint32(a, FDT_PROP);
    this.dv.setUint32(a + 4, len);
    this.dv.setUint32(a + 8, nameoff);
    return a + 12;
  }

  /** fdt_setprop. */
  setProp(node: number, name: string, value: Uint8Array): number {
    const data = this.setPropPlaceholder(node, name, value.length);
    if (data < 0) return data;
    this.mem.set(value, data);
    return 0;
  }

  /** fdt_setprop_inplace_namelen_partial: overwrite `value.length` bytes at `idx` of an existing value. */
  setPropInplacePartial(node: number, name: string, idx: number, value: Uint8Array): number {
    const p = this.getProp(node, name);
    if (typeof p === 'number') return p;
    if (p.len < idx + value.length) return FDT_ERR.NOSPACE;
    this.mem.set(value, p.data + idx);
    return 0;
  }

  /** fdt_add_subnode: a new empty node after the parent's properties, before its existing children. */
  addSubnode(parent: number, name: string): number {
    if (this.subnodeOffset(parent, name) >= 0) return FDT_ERR.EXISTS;
    if (this.nextTag(parent) !== FDT_BEGIN_NODE) return FDT_ERR.INTERNAL;
    let off = this.nextOffset;
    let tag: number;
    let next = off;
    do {
      off = next;
      tag = this.nextTag(off);
      next = this.nextOffset;
    } while (tag === FDT_PROP || tag === FDT_NOP);
    const nameLen = align4(name.length + 1);
    const a = this.abs(off);
    this.spliceStruct(a, 0, 4 + nameLen + 4);
    this.dv.setUint32(a, FDT_BEGIN_NODE);
    this.mem.fill(0, a + 4, a + 4 + nameLen);
    for (let i = 0; i < name.length; i++) this.mem[a + 4 + i] = name.charCodeAt(i);
    this.dv.setUint32(a + 4 + nameLen, FDT_END_NODE);
    return off;
  }

  /** fdt_pack, then the blob's bytes: header, reservation map, structure block, strings block. */
  pack(): Uint8Array {
    const h = (f: number) => this.get(f);
    const rsvOff = h(HDR.off_mem_rsvmap);
    let rsvCount = 0;
    while (this.dv.getBigUint64(rsvOff + rsvCount * 16 + 8) !== 0n) rsvCount++;
    const rsvSize = (rsvCount + 1) * 16;
    const structSize = h(HDR.size_dt_struct);
    const stringsSize = h(HDR.size_dt_strings);
    const total = 40 + rsvSize + structSize + stringsSize;
    const out = new Uint8Array(total);
    out.set(this.mem.subarray(0, 40));
    out.set(this.mem.subarray(rsvOff, rsvOff + rsvSize), 40);
    out.set(this.mem.subarray(h(HDR.off_dt_struct), h(HDR.off_dt_struct) + structSize), 40 + rsvSize);
    out.set(this.mem.subarray(h(HDR.off_dt_strings), h(HDR.off_dt_strings) + stringsSize), 40 + rsvSize + structSize);
    const dv = new DataView(out.buffer);
    dv.setUint32(HDR.totalsize, total);
    dv.setUint32(HDR.off_mem_rsvmap, 40);
    dv.setUint32(HDR.off_dt_struct, 40 + rsvSize);
    dv.setUint32(HDR.off_dt_strings, 40 + rsvSize + structSize);
    return out;
  }

  /** The raw bytes (for the overlay copy, which never changes size). */
  raw(): Uint8Array {
    return this.mem;
  }
}

/** Size of a structure block found by scanning to FDT_END (version 16 headers do not record it). */
function structBlockSize(blob: Uint8Array, structOff: number): number {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  let off = 0;
  for (;;) {
    const tag = dv.getUint32(structOff + off);
    if (tag === FDT_BEGIN_NODE) off = align4(blob.indexOf(0, structOff + off + 4) - structOff + 1);
    else if (tag === FDT_PROP) off = align4(off + 12 + dv.getUint32(structOff + off + 4));
    else off += 4;
    if (tag === FDT_END) return off;
  }
}

// FdtEditor: a blob edited in place with libfdt's semantics (fdt_open_into, fdt_setprop, fdt_add_subnode,
// fdt_setprop_inplace, fdt_pack), down to the bytes libfdt's memmove-based splicing leaves behind in
// value padding. fdtoverlay's output is such an edited blob, so the overlay code runs on this.
// Blobs given to `open` must already have passed FdtReader's checks: a well-formed structure is assumed.
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_NOP, FDT_PROP, HDR } from './fdt-format';
import { FDT_ERR, FdtCursor, align4 } from './fdt-cursor';

export class FdtEditor extends FdtCursor {
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

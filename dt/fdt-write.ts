// toFdt: a DeviceTree to a version 17 blob laid out as dtc lays it out (flattree.c's dt_to_blob):
// header, reservation map at offset 40, structure block, strings block, no gaps.
import { DtTreeError } from './errors';
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_MAGIC,
  FDT_OUTPUT_LAST_COMP_VERSION,
  FDT_OUTPUT_VERSION,
  FDT_PROP,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_V17_HEADER_SIZE,
  HDR,
} from './fdt-format';
import { originalPadding } from './blob-origin';
import { StringsTable } from './strings-table';
import { encodeName } from './text';
import type { DeviceTree, DtNode, DtProperty } from './tree';

export interface ToFdtOptions {
  /**
   * How the strings block is built. 'dtc': from scratch in structure order, as dtc does. 'keep': start
   * from `tree.stringsBlock` and append missing names, as libfdt's fdt_setprop does, and keep the
   * padding bytes that parsed values had in their blob (fdt_pack's output; fdtoverlay's). 'auto'
   * (default): 'keep' when the tree has a stringsBlock, else 'dtc'. For a tree parsed from a
   * dtc-made blob both give the same bytes.
   */
  strings?: 'auto' | 'dtc' | 'keep';
  /** Extra empty reservation entries after the real ones (dtc -R). Default 0. */
  reserveSlots?: number;
  /** Zero bytes appended and counted in totalsize (dtc -p). Default 0. */
  padding?: number;
}

const MAX_U64 = (1n << 64n) - 1n;

/** A growable output buffer for the structure block. */
class Sink {
  buf = new Uint8Array(1 << 16);
  dv = new DataView(this.buf.buffer);
  off = 0;

  ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.off + n) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.buf.subarray(0, this.off));
    this.buf = grown;
    this.dv = new DataView(grown.buffer);
  }

  u32(v: number): void {
    this.dv.setUint32(this.off, v);
    this.off += 4;
  }

  /** Write a node name and its NUL, then pad to 4 bytes. */
  name(node: DtNode): void {
    const name = node.name;
    const n = name.length;
    this.ensure(n * 3 + 8);
    const buf = this.buf;
    let off = this.off;
    for (let i = 0; i < n; i++) {
      const c = name.charCodeAt(i);
      if (c >= 0x80) {
        if (name.includes('/') || name.includes('\0')) {
          throw new DtTreeError(`${node.path}: node name must not contain '/' or NUL`);
        }
        off = this.off;
        const enc = encodeName(name);
        buf.set(enc, off);
        off += enc.length;
        break;
      }
      if (c === 0 || c === 0x2f) throw new DtTreeError(`${node.path}: node name must not contain '/' or NUL`);
      buf[off++] = c;
    }
    buf[off++] = 0;
    this.off = (off + 3) & ~3;
  }

  /** Write a value and pad it to 4 bytes: with zeros, or (keepPadding) with the bytes its source blob had. */
  value(p: DtProperty, keepPadding: boolean): void {
    const n = p.length;
    this.ensure(n + 3);
    const off = this.off;
    p.copyTo(this.buf, off);
    const end = off + n;
    if (keepPadding && (n & 3) !== 0) {
      const pad = originalPadding(p);
      for (let i = 4 - (n & 3) - 1, v = pad; i >= 0; i--, v >>>= 8) this.buf[end + i] = v & 0xff;
    }
    this.off = (end + 3) & ~3;
  }
}

function emitNode(out: Sink, node: DtNode, strings: StringsTable, keepPadding: boolean): void {
  if (node.parent && node.name.length === 0) throw new DtTreeError(`${node.path}: empty node name`);
  out.ensure(4);
  out.u32(FDT_BEGIN_NODE);
  out.name(node);
  const props = node.properties;
  for (let i = 0; i < props.length; i++) {
    const p = props[i]!;
    if (p.name.includes('\0')) throw new DtTreeError(`${node.path}: property name ${JSON.stringify(p.name)} contains NUL`);
    out.ensure(12);
    out.u32(FDT_PROP);
    out.u32(p.length);
    out.u32(strings.offsetOf(p.name));
    out.value(p, keepPadding);
  }
}

/** The structure block (ending with FDT_END) and the strings block of `tree`. */
function flatten(tree: DeviceTree, strings: StringsTable, keepPadding: boolean): Uint8Array {
  const out = new Sink();
  // Depth-first without recursion, so that a deep tree cannot overflow the stack.
  const nodes: DtNode[] = [tree.root];
  const next: number[] = [0];
  emitNode(out, tree.root, strings, keepPadding);
  while (nodes.length > 0) {
    const top = nodes.length - 1;
    const node = nodes[top]!;
    const i = next[top]!;
    if (i < node.children.length) {
      next[top] = i + 1;
      const child = node.children[i]!;
      emitNode(out, child, strings, keepPadding);
      nodes.push(child);
      next.push(0);
    } else {
      out.ensure(4);
      out.u32(FDT_END_NODE);
      nodes.pop();
      next.pop();
    }
  }
  out.ensure(4);
  out.u32(FDT_END);
  return out.buf.subarray(0, out.off);
}

/** Serialize `tree` as a version 17 blob (last_comp_version 16), byte for byte as dtc would. */
export function toFdt(tree: DeviceTree, opts: ToFdtOptions = {}): Uint8Array {
  const mode = opts.strings ?? 'auto';
  const keep = mode === 'keep' || (mode === 'auto' && tree.stringsBlock !== undefined);
  const strings = new StringsTable(keep ? tree.stringsBlock : undefined);
  const struct = flatten(tree, strings, keep);
  const strtab = strings.bytes();

  const slots = opts.reserveSlots ?? 0;
  const padding = opts.padding ?? 0;
  if (!Number.isInteger(slots) || slots < 0) throw new DtTreeError(`reserveSlots ${slots} must be a non-negative integer`);
  if (!Number.isInteger(padding) || padding < 0) throw new DtTreeError(`padding ${padding} must be a non-negative integer`);
  const boot = tree.bootCpuidPhys;
  if (!Number.isInteger(boot) || boot < 0 || boot > 0xffffffff) throw new DtTreeError(`bootCpuidPhys ${boot} is not a u32`);

  const rsvOff = FDT_V17_HEADER_SIZE; // ALIGN(40, 8)
  const rsvSize = (tree.memReserve.length + slots + 1) * FDT_RESERVE_ENTRY_SIZE;
  const structOff = rsvOff + rsvSize;
  const stringsOff = structOff + struct.length;
  const used = stringsOff + strtab.length;
  const total = used + padding;
  if (total > 0xffffffff) throw new DtTreeError(`blob of ${total} bytes does not fit a 32-bit totalsize`);

  const blob = new Uint8Array(total);
  const dv = new DataView(blob.buffer);
  dv.setUint32(HDR.magic, FDT_MAGIC);
  dv.setUint32(HDR.totalsize, total);
  dv.setUint32(HDR.off_dt_struct, structOff);
  dv.setUint32(HDR.off_dt_strings, stringsOff);
  dv.setUint32(HDR.off_mem_rsvmap, rsvOff);
  dv.setUint32(HDR.version, FDT_OUTPUT_VERSION);
  dv.setUint32(HDR.last_comp_version, FDT_OUTPUT_LAST_COMP_VERSION);
  dv.setUint32(HDR.boot_cpuid_phys, boot);
  dv.setUint32(HDR.size_dt_strings, strtab.length);
  dv.setUint32(HDR.size_dt_struct, struct.length);
  tree.memReserve.forEach((r, i) => {
    for (const [what, v] of [['address', r.address], ['size', r.size]] as const) {
      if (v < 0n || v > MAX_U64) throw new DtTreeError(`/memreserve/ entry ${i}: ${what} ${v} is not a u64`);
    }
    // A zero size is the map's terminator: written, it would silently cut the map short.
    if (r.size === 0n) throw new DtTreeError(`/memreserve/ entry ${i} has size 0`);
    dv.setBigUint64(rsvOff + i * 16, r.address);
    dv.setBigUint64(rsvOff + i * 16 + 8, r.size);
  });
  blob.set(struct, structOff);
  blob.set(strtab, stringsOff);
  return blob;
}

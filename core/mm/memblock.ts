// Early memory layout (memblock): RAM from the DT `memory` nodes minus /memreserve/ entries,
// /reserved-memory regions (static `reg`, and dynamic `size` ones placed here), the DTB and the kernel
// image, page-aligned (RAM inward, reservations outward). What is left feeds the page allocator.
import { ofDeviceIsAvailable, ofRegs, type DeviceTree, type DtNode } from '../../dt/index';
import { OfError } from '../of/of-base';
import { PAGE_SIZE, type PhysRange } from './page-alloc';

const PAGE = BigInt(PAGE_SIZE);
const alignDown = (v: bigint, a: bigint): bigint => v - (v % a);
const alignUp = (v: bigint, a: bigint): bigint => alignDown(v + a - 1n, a);

/** A reserved region and why it is reserved (shown in dmesg). */
export interface Reservation extends PhysRange {
  name: string;
  /** `no-map`: not even the kernel may touch it (it stays out of the linear map in Linux). */
  noMap?: boolean;
}

export interface MemoryLayout {
  /** RAM as the memory nodes describe it. */
  ram: PhysRange[];
  reserved: Reservation[];
  /** RAM minus reservations, page aligned: the page allocator's ranges. */
  usable: PhysRange[];
}

/** Subtract `cut` from each range of `ranges`. */
export function subtractRange(ranges: PhysRange[], cut: PhysRange): PhysRange[] {
  const out: PhysRange[] = [];
  const cEnd = cut.base + cut.size;
  for (const r of ranges) {
    const rEnd = r.base + r.size;
    if (cEnd <= r.base || cut.base >= rEnd || cut.size === 0n) {
      out.push(r);
      continue;
    }
    if (cut.base > r.base) out.push({ base: r.base, size: cut.base - r.base });
    if (cEnd < rEnd) out.push({ base: cEnd, size: rEnd - cEnd });
  }
  return out;
}

function memoryNodes(tree: DeviceTree): DtNode[] {
  return tree.root.children.filter((n) => n.string('device_type') === 'memory' && ofDeviceIsAvailable(n));
}

/**
 * Lay out memory. `extra` adds reservations the boot protocol knows about (the DTB blob, the kernel
 * image). Throws OfError when the DT gives no RAM or a malformed region.
 */
export function layoutMemory(tree: DeviceTree, extra: readonly Reservation[] = []): MemoryLayout {
  const ram: PhysRange[] = [];
  for (const n of memoryNodes(tree)) for (const r of ofRegs(n)) if (r.size > 0n) ram.push({ base: r.address, size: r.size });
  if (ram.length === 0) throw new OfError('/memory', 'reg', 'no RAM: the DT has no usable memory node');
  ram.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));

  const reserved: Reservation[] = [];
  tree.memReserve.forEach((m, i) => reserved.push({ name: `/memreserve/ ${i}`, base: m.address, size: m.size }));
  const rmem = tree.findNode('/reserved-memory');
  let usable = ram.map((r) => ({ ...r }));
  const cutAll = (list: Reservation[]) => {
    for (const r of list) usable = subtractRange(usable, { base: alignDown(r.base, PAGE), size: alignUp(r.base + r.size, PAGE) - alignDown(r.base, PAGE) });
  };
  if (rmem) {
    const dynamic: DtNode[] = [];
    for (const c of rmem.children) {
      if (!ofDeviceIsAvailable(c)) continue;
      const regs = ofRegs(c);
      if (regs.length > 0) for (const r of regs) reserved.push({ name: c.path, base: r.address, size: r.size, noMap: c.has('no-map') });
      else if (c.has('size')) dynamic.push(c);
    }
    reserved.push(...extra);
    cutAll(reserved);
    for (const c of dynamic) {
      const r = placeDynamic(rmem, c, usable);
      reserved.push(r);
      cutAll([r]);
    }
  } else {
    reserved.push(...extra);
    cutAll(reserved);
  }
  usable = usable
    .map((r) => {
      const base = alignUp(r.base, PAGE);
      const end = alignDown(r.base + r.size, PAGE);
      return { base, size: end > base ? end - base : 0n };
    })
    .filter((r) => r.size > 0n);
  return { ram, reserved, usable };
}

/** A /reserved-memory child with `size` and no `reg`: placed top-down in RAM (early_init_dt_alloc_reserved_memory_arch). */
function placeDynamic(rmem: DtNode, c: DtNode, usable: PhysRange[]): Reservation {
  const sc = rmem.u32('#size-cells') ?? 1;
  const ac = rmem.u32('#address-cells') ?? 2;
  const sizeCells = c.u32s('size');
  if (!sizeCells || sizeCells.length !== sc) throw new OfError(c.path, 'size', `expected ${sc} cells`);
  const size = sizeCells.reduce((v, x) => (v << 32n) | BigInt(x), 0n);
  const alignCells = c.u32s('alignment');
  const align = alignCells ? alignCells.reduce((v, x) => (v << 32n) | BigInt(x), 0n) : PAGE;
  const windows: PhysRange[] = [];
  const ar = c.u32s('alloc-ranges');
  if (ar) {
    const stride = ac + sc;
    for (let i = 0; i + stride <= ar.length; i += stride) {
      const base = ar.slice(i, i + ac).reduce((v, x) => (v << 32n) | BigInt(x), 0n);
      const sz = ar.slice(i + ac, i + stride).reduce((v, x) => (v << 32n) | BigInt(x), 0n);
      windows.push({ base, size: sz });
    }
  }
  const candidates = [...usable].reverse();
  for (const u of candidates) {
    const spans = windows.length === 0 ? [u] : windows.map((w) => intersect(u, w)).filter((x): x is PhysRange => x !== undefined);
    for (const s of spans.reverse()) {
      const top = alignDown(s.base + s.size - size, align > 0n ? align : PAGE);
      if (top >= s.base && s.base + s.size >= top + size) return { name: c.path, base: top, size, noMap: c.has('no-map') };
    }
  }
  throw new OfError(c.path, 'size', `cannot place 0x${size.toString(16)} bytes in free RAM`);
}

function intersect(a: PhysRange, b: PhysRange): PhysRange | undefined {
  const base = a.base > b.base ? a.base : b.base;
  const end = a.base + a.size < b.base + b.size ? a.base + a.size : b.base + b.size;
  return end > base ? { base, size: end - base } : undefined;
}

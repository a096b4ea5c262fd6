// Addresses in the spirit of Linux's drivers/of/address.c: `reg` decoded with the parent's
// #address-cells/#size-cells, and bus addresses translated to CPU addresses through each parent
// bus's `ranges` (empty `ranges`: identity; none: not translatable), PCI buses matched by space code.
import { DtQueryError } from './errors';
import type { DtNode } from './tree';
import { readCells } from './value';

/** Defaults when no ancestor says (OF_ROOT_NODE_ADDR_CELLS_DEFAULT / _SIZE_CELLS_DEFAULT). */
const ROOT_ADDR_CELLS = 2;
const ROOT_SIZE_CELLS = 1;
/** More cells than any bus needs (Linux's OF_MAX_ADDR_CELLS is 4). */
const MAX_ADDR_CELLS = 4;

function cellsProp(node: DtNode, name: string): number | undefined {
  const v = node.value(name);
  if (v === undefined || v.length !== 4) return undefined;
  return new DataView(v.buffer, v.byteOffset, 4).getUint32(0);
}

/** of_bus_n_addr_cells: #address-cells of `node` or its nearest ancestor that has one. */
export function ofBusAddrCells(node: DtNode): number {
  for (let n: DtNode | undefined = node; n; n = n.parent) {
    const c = cellsProp(n, '#address-cells');
    if (c !== undefined) return c;
  }
  return ROOT_ADDR_CELLS;
}

/** of_bus_n_size_cells. */
export function ofBusSizeCells(node: DtNode): number {
  for (let n: DtNode | undefined = node; n; n = n.parent) {
    const c = cellsProp(n, '#size-cells');
    if (c !== undefined) return c;
  }
  return ROOT_SIZE_CELLS;
}

/** of_n_addr_cells: the cells of an address in `node`'s own `reg` (its parent bus's #address-cells). */
export function ofNAddrCells(node: DtNode): number {
  return ofBusAddrCells(node.parent ?? node);
}

/** of_n_size_cells. */
export function ofNSizeCells(node: DtNode): number {
  return ofBusSizeCells(node.parent ?? node);
}

export interface DtReg {
  /** The address on the parent bus (all address cells joined; for PCI, the phys.hi cell included). */
  address: bigint;
  size: bigint;
}

/** Every (address, size) of `reg`, decoded with the parent's cell counts. */
export function ofRegs(node: DtNode): DtReg[] {
  const v = node.value('reg');
  if (v === undefined) return [];
  const na = ofNAddrCells(node);
  const ns = ofNSizeCells(node);
  const one = (na + ns) * 4;
  if (na > MAX_ADDR_CELLS || ns > MAX_ADDR_CELLS) throw new DtQueryError('EINVAL', `${node.path}: #address-cells ${na} / #size-cells ${ns} out of range`);
  if (one === 0 || v.length % one !== 0) {
    throw new DtQueryError('EINVAL', `${node.path}: reg is ${v.length} bytes, not a multiple of ${one} (${na} address + ${ns} size cells)`);
  }
  const out: DtReg[] = [];
  for (let i = 0; i < v.length / one; i++) {
    out.push({ address: readCells(v, i * (na + ns), na)!, size: readCells(v, i * (na + ns) + na, ns)! });
  }
  return out;
}

function isPciBus(node: DtNode): boolean {
  const t = node.string('device_type');
  return t === 'pci' || t === 'pciex';
}

/** PCI address space of a phys.hi cell: 1 I/O, 2/3 memory (IORESOURCE_IO / IORESOURCE_MEM). */
function pciSpace(hi: bigint): number {
  const ss = Number((hi >> 24n) & 3n);
  return ss === 1 ? 1 : ss >= 2 ? 2 : 0;
}

/**
 * Translate an address on `node`'s parent bus (as in its `reg`) to a CPU physical address, or
 * undefined when some bus on the way has no `ranges` or no range covers it (OF_BAD_ADDR).
 */
export function ofTranslateAddress(node: DtNode, address: bigint): bigint | undefined {
  if (!node.parent) return address;
  let bus: DtNode = node.parent;
  let na = ofNAddrCells(node);
  let addr = address;
  for (;;) {
    const parent: DtNode | undefined = bus.parent;
    if (!parent) return addr;
    const pna = ofNAddrCells(bus);
    const ns = ofBusSizeCells(bus);
    const ranges = bus.value('ranges');
    if (ranges === undefined) return undefined;
    const pci = isPciBus(bus);
    if (ranges.length === 0) {
      // identity mapping; PCI addresses drop their phys.hi cell
      addr = pci ? addr & ((1n << BigInt(32 * (na - 1))) - 1n) : addr;
    } else {
      const one = na + pna + ns;
      let mapped: bigint | undefined;
      for (let at = 0; (at + one) * 4 <= ranges.length; at += one) {
        const child = readCells(ranges, at, na)!;
        const size = readCells(ranges, at + na + pna, ns)!;
        let da = addr;
        let cp = child;
        if (pci) {
          const low = (1n << BigInt(32 * (na - 1))) - 1n;
          if (pciSpace(addr >> BigInt(32 * (na - 1))) !== pciSpace(child >> BigInt(32 * (na - 1)))) continue;
          da = addr & low;
          cp = child & low;
        }
        if (da >= cp && da < cp + size) {
          let base = readCells(ranges, at + na, pna)!;
          if (isPciBus(parent)) {
            // the parent is a PCI bus too: the offset goes into its lower cells, phys.hi kept
            const low = (1n << BigInt(32 * (pna - 1))) - 1n;
            base = (base & ~low) | (((base & low) + (da - cp)) & low);
            mapped = base;
          } else {
            mapped = base + (da - cp);
          }
          break;
        }
      }
      if (mapped === undefined) return undefined;
      addr = mapped;
    }
    na = pna;
    bus = parent;
  }
}

/** of_address_to_resource: the CPU address and size of the index-th `reg` entry. */
export function ofAddressToResource(node: DtNode, index = 0): { start: bigint; size: bigint } | undefined {
  const reg = ofRegs(node)[index];
  if (!reg) return undefined;
  const start = ofTranslateAddress(node, reg.address);
  return start === undefined ? undefined : { start, size: reg.size };
}

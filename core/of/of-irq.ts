// Interrupt specifiers from the DT (drivers/of/irq.c shapes): `interrupts` with the inherited
// `interrupt-parent`, `interrupts-extended`, and `interrupt-map` nexus nodes, resolved to the interrupt
// controller node and its specifier cells.
import { readCells, type DeviceTree, type DtNode } from '../../dt/index';
import { OfError, type OfPhandleArgs } from './of-base';

/** Deepest interrupt-map chain followed before giving up (a loop in the DT). */
const MAX_IRQ_NEXUS_DEPTH = 16;

/** The interrupt parent of `node` (of_irq_find_parent): `interrupt-parent` on it or an ancestor. */
export function ofIrqFindParent(tree: DeviceTree, node: DtNode): DtNode | undefined {
  for (let n: DtNode | undefined = node; n; ) {
    const ph = n.u32('interrupt-parent');
    const p: DtNode | undefined = ph !== undefined ? tree.nodeByPhandle(ph) : n.parent;
    if (ph !== undefined && !p) throw new OfError(n.path, 'interrupt-parent', `phandle 0x${ph.toString(16)} names no node`);
    if (!p) return undefined;
    if (p.has('#interrupt-cells')) return p;
    n = p;
  }
  return undefined;
}

/** The number of interrupts a node lists (of_irq_count). */
export function ofIrqCount(tree: DeviceTree, node: DtNode): number {
  let n = 0;
  while (ofIrqParseOne(tree, node, n)) n++;
  return n;
}

/**
 * Interrupt `index` of `node`, resolved to its controller (of_irq_parse_one + of_irq_parse_raw).
 * Undefined when the node has no such interrupt; OfError when the DT is inconsistent.
 */
export function ofIrqParseOne(tree: DeviceTree, node: DtNode, index: number): OfPhandleArgs | undefined {
  const ext = node.u32s('interrupts-extended');
  if (ext) {
    let i = 0;
    for (let cur = 0; i < ext.length; cur++) {
      const ph = ext[i]!;
      const ctrl = tree.nodeByPhandle(ph);
      if (!ctrl) throw new OfError(node.path, 'interrupts-extended', `phandle 0x${ph.toString(16)} names no node`);
      const cells = ctrl.u32('#interrupt-cells');
      if (cells === undefined) throw new OfError(ctrl.path, '#interrupt-cells', 'missing on an interrupt parent');
      if (i + 1 + cells > ext.length) throw new OfError(node.path, 'interrupts-extended', `entry ${cur} is truncated`);
      if (cur === index) return ofIrqParseRaw(tree, { np: ctrl, args: ext.slice(i + 1, i + 1 + cells) }, node);
      i += 1 + cells;
    }
    return undefined;
  }
  if (node.has('interrupts-extended')) throw new OfError(node.path, 'interrupts-extended', 'length is not a multiple of 4');
  const ints = node.u32s('interrupts');
  if (!ints) {
    if (node.has('interrupts')) throw new OfError(node.path, 'interrupts', 'length is not a multiple of 4');
    return undefined;
  }
  const parent = ofIrqFindParent(tree, node);
  if (!parent) throw new OfError(node.path, 'interrupts', 'no interrupt parent');
  const cells = parent.u32('#interrupt-cells')!;
  if (cells === 0 || ints.length % cells !== 0) {
    throw new OfError(node.path, 'interrupts', `${ints.length} cells do not divide into #interrupt-cells ${cells} of ${parent.path}`);
  }
  if ((index + 1) * cells > ints.length) return undefined;
  return ofIrqParseRaw(tree, { np: parent, args: ints.slice(index * cells, (index + 1) * cells) }, node);
}

/**
 * Follow interrupt-map nexus nodes until an `interrupt-controller` (of_irq_parse_raw). `device` supplies
 * the child unit address the map is keyed on.
 */
export function ofIrqParseRaw(tree: DeviceTree, spec: OfPhandleArgs, device: DtNode): OfPhandleArgs {
  let cur = spec;
  let unit = unitAddressCells(device);
  for (let depth = 0; depth < MAX_IRQ_NEXUS_DEPTH; depth++) {
    const np = cur.np;
    if (np.has('interrupt-controller')) return cur;
    const map = np.u32s('interrupt-map');
    if (!map) throw new OfError(np.path, 'interrupt-map', 'interrupt parent is neither an interrupt-controller nor a nexus');
    const ac = np.u32('#address-cells') ?? 0;
    const ic = np.u32('#interrupt-cells') ?? 0;
    const key = [...padCells(unit, ac), ...cur.args];
    const mask = np.u32s('interrupt-map-mask') ?? new Array<number>(ac + ic).fill(0xffffffff);
    if (mask.length !== ac + ic) throw new OfError(np.path, 'interrupt-map-mask', `expected ${ac + ic} cells`);
    const masked = key.map((c, i) => (c & mask[i]!) >>> 0);
    let i = 0;
    let next: { np: DtNode; args: number[]; unit: number[] } | undefined;
    while (i < map.length) {
      if (i + ac + ic + 1 > map.length) throw new OfError(np.path, 'interrupt-map', 'truncated entry');
      const childKey = map.slice(i, i + ac + ic);
      const ph = map[i + ac + ic]!;
      const parent = tree.nodeByPhandle(ph);
      if (!parent) throw new OfError(np.path, 'interrupt-map', `phandle 0x${ph.toString(16)} names no node`);
      const pac = parent.u32('#address-cells') ?? 0;
      const pic = parent.u32('#interrupt-cells');
      if (pic === undefined) throw new OfError(parent.path, '#interrupt-cells', 'missing on an interrupt-map parent');
      const start = i + ac + ic + 1;
      if (start + pac + pic > map.length) throw new OfError(np.path, 'interrupt-map', 'truncated entry');
      const match = childKey.every((c, k) => ((c & mask[k]!) >>> 0) === masked[k]);
      if (match) {
        next = { np: parent, unit: map.slice(start, start + pac), args: map.slice(start + pac, start + pac + pic) };
        break;
      }
      i = start + pac + pic;
    }
    if (!next) throw new OfError(np.path, 'interrupt-map', `no entry matches <${key.map((c) => `0x${c.toString(16)}`).join(' ')}>`);
    cur = { np: next.np, args: next.args };
    unit = next.unit;
  }
  throw new OfError(spec.np.path, 'interrupt-map', `more than ${MAX_IRQ_NEXUS_DEPTH} nexus levels (a loop?)`);
}

/** The first `reg` address of `device` as cells (the unit address an interrupt-map is keyed on). */
function unitAddressCells(device: DtNode): number[] {
  const reg = device.value('reg');
  const ac = device.parent?.u32('#address-cells') ?? 2;
  if (!reg || reg.length < ac * 4) return [];
  const out: number[] = [];
  for (let i = 0; i < ac; i++) out.push(Number(readCells(reg, i, 1)!));
  return out;
}

function padCells(cells: number[], n: number): number[] {
  const out = cells.slice(0, n);
  while (out.length < n) out.push(0);
  return out;
}

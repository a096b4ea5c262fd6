// Device-tree queries the kernel needs (drivers/of/base.c, address.c shapes): availability, compatible
// matching, cells, `reg` with address translation through `ranges`, and phandle-with-args lists.
import { readCells, type DeviceTree, type DtNode } from '../../dt/index';

/** A DT node the kernel cannot use as it is: the message names the node and property. */
export class OfError extends Error {
  constructor(
    readonly node: string,
    readonly property: string,
    message: string,
  ) {
    super(`${node}: ${property}: ${message}`);
    this.name = 'OfError';
  }
}

/** `status` absent, "okay" or "ok" (of_device_is_available). */
export function ofDeviceIsAvailable(node: DtNode): boolean {
  const s = node.string('status');
  return s === undefined || s === 'okay' || s === 'ok';
}

/** #address-cells that applies to `node`'s reg (its parent's, default 2 per the DT spec). */
export function ofNAddrCells(node: DtNode): number {
  return node.parent?.u32('#address-cells') ?? 2;
}

/** #size-cells that applies to `node`'s reg (its parent's, default 1). */
export function ofNSizeCells(node: DtNode): number {
  return node.parent?.u32('#size-cells') ?? 1;
}

/** Cells a node declares for its children. */
function childAddrCells(n: DtNode): number {
  return n.u32('#address-cells') ?? 2;
}
function childSizeCells(n: DtNode): number {
  return n.u32('#size-cells') ?? 1;
}

/** One `reg` entry. */
export interface OfReg {
  address: bigint;
  size: bigint;
}

/** `reg` as written (bus addresses of the parent bus, no translation). */
export function ofRegRaw(node: DtNode): OfReg[] {
  const v = node.value('reg');
  if (!v) return [];
  const ac = ofNAddrCells(node);
  const sc = ofNSizeCells(node);
  const stride = ac + sc;
  if (stride === 0 || v.length % (stride * 4) !== 0) {
    throw new OfError(node.path, 'reg', `length ${v.length} is not a multiple of (#address-cells ${ac} + #size-cells ${sc}) cells`);
  }
  if (ac > 2 || sc > 2) throw new OfError(node.path, 'reg', `#address-cells ${ac} / #size-cells ${sc} above 2 are not supported`);
  const out: OfReg[] = [];
  for (let i = 0; i < v.length / 4; i += stride) {
    out.push({ address: readCells(v, i, ac)!, size: readCells(v, i + ac, sc)! });
  }
  return out;
}

/**
 * Translate a bus address of `bus`'s children to a CPU physical address (of_translate_address): each
 * ancestor's `ranges` maps child addresses to parent addresses; an empty `ranges` is identity, a missing
 * one means the bus is not memory-mapped (an OfError).
 */
export function ofTranslateAddress(bus: DtNode, address: bigint): bigint {
  let addr = address;
  for (let n = bus; n.parent; n = n.parent) {
    const ranges = n.value('ranges');
    if (!ranges) throw new OfError(n.path, 'ranges', 'missing: addresses below this node are not translatable');
    if (ranges.length === 0) continue;
    const ca = childAddrCells(n);
    const pa = childAddrCells(n.parent);
    const cs = childSizeCells(n);
    const stride = ca + pa + cs;
    if (ranges.length % (stride * 4) !== 0) throw new OfError(n.path, 'ranges', 'length is not a whole number of entries');
    let hit = false;
    for (let i = 0; i < ranges.length / 4; i += stride) {
      const child = readCells(ranges, i, ca)!;
      const parent = readCells(ranges, i + ca, pa)!;
      const size = readCells(ranges, i + ca + pa, cs)!;
      if (addr >= child && addr - child < size) {
        addr = parent + (addr - child);
        hit = true;
        break;
      }
    }
    if (!hit) throw new OfError(n.path, 'ranges', `address 0x${addr.toString(16)} is outside every range`);
  }
  return addr;
}

/** `reg` translated to CPU addresses (of_address_to_resource for each entry). */
export function ofReg(node: DtNode): OfReg[] {
  const raw = ofRegRaw(node);
  const bus = node.parent;
  if (!bus || bus.isRoot || !bus.parent) return raw;
  return raw.map((r) => ({ address: ofTranslateAddress(bus, r.address), size: r.size }));
}

/** A compatible match table entry (struct of_device_id): the compatible string and driver data. */
export interface OfDeviceId<D = unknown> {
  compatible: string;
  data?: D;
}

/**
 * The best entry of `table` for `node` (of_match_node): the node's compatibles are tried in order, so
 * the most specific one any entry names wins.
 */
export function ofMatchNode<D>(table: readonly OfDeviceId<D>[], node: DtNode): { entry: OfDeviceId<D>; score: number } | undefined {
  const compat = node.strings('compatible');
  if (!compat) return undefined;
  for (let i = 0; i < compat.length; i++) {
    const entry = table.find((e) => e.compatible === compat[i]);
    if (entry) return { entry, score: i };
  }
  return undefined;
}

/** A phandle reference with its argument cells (struct of_phandle_args). */
export interface OfPhandleArgs {
  np: DtNode;
  args: number[];
}

/**
 * Entry `index` of a `<&phandle args...>` list whose argument count the target declares in `cellsName`
 * (of_parse_phandle_with_args). Undefined when the list has no such entry.
 */
export function ofParsePhandleWithArgs(tree: DeviceTree, node: DtNode, listName: string, cellsName: string, index: number): OfPhandleArgs | undefined {
  const cells = node.u32s(listName);
  if (!cells) {
    if (node.has(listName)) throw new OfError(node.path, listName, 'length is not a multiple of 4');
    return undefined;
  }
  let i = 0;
  for (let cur = 0; i < cells.length; cur++) {
    const ph = cells[i]!;
    const np = tree.nodeByPhandle(ph);
    if (!np) throw new OfError(node.path, listName, `phandle 0x${ph.toString(16)} names no node`);
    const n = np.u32(cellsName);
    if (n === undefined) throw new OfError(np.path, cellsName, `missing (needed by ${node.path} ${listName})`);
    if (i + 1 + n > cells.length) throw new OfError(node.path, listName, `entry ${cur} is truncated`);
    if (cur === index) return { np, args: cells.slice(i + 1, i + 1 + n) };
    i += 1 + n;
  }
  return undefined;
}

/** Index of `name` in a `<list>-names` property, or -1. */
export function ofPropertyMatchString(node: DtNode, namesProp: string, name: string): number {
  return node.strings(namesProp)?.indexOf(name) ?? -1;
}

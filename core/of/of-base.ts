// Device-tree helpers the kernel adds on top of dt/'s of_* queries: the kernel-side DT error, match
// tables, translated `reg` entries, and phandle-with-args lists (mboxes, #mbox-cells).
import { ofDeviceIsCompatible, ofRegs, ofTranslateAddress, type DeviceTree, type DtNode } from '../../dt/index';

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

/** A compatible match table entry (struct of_device_id): the compatible string and driver data. */
export interface OfDeviceId<D = unknown> {
  compatible: string;
  data?: D;
}

/**
 * The best entry of `table` for `node` and its score (higher is better: an earlier entry of the node's
 * compatible list), as of_match_node ranks them; undefined when nothing matches.
 */
export function ofBestMatch<D>(table: readonly OfDeviceId<D>[], node: DtNode): { entry: OfDeviceId<D>; score: number } | undefined {
  let best: { entry: OfDeviceId<D>; score: number } | undefined;
  for (const entry of table) {
    const score = ofDeviceIsCompatible(node, entry.compatible);
    if (score > 0 && (!best || score > best.score)) best = { entry, score };
  }
  return best;
}

/** One `reg` entry, at a CPU physical address. */
export interface OfReg {
  address: bigint;
  size: bigint;
}

/** `reg` translated to CPU addresses (of_address_to_resource per entry); OfError when untranslatable. */
export function ofReg(node: DtNode): OfReg[] {
  return ofRegs(node).map((r) => {
    const address = ofTranslateAddress(node, r.address);
    if (address === undefined) throw new OfError(node.path, 'reg', `address 0x${r.address.toString(16)} does not translate to a CPU address`);
    return { address, size: r.size };
  });
}

/** A phandle reference with its argument cells (struct of_phandle_args). */
export interface OfPhandleArgs {
  np: DtNode;
  args: number[];
}

/**
 * Entry `index` of a `<&phandle args...>` list whose argument count the target declares in `cellsName`
 * (of_parse_phandle_with_args). Undefined when the list has no such entry; OfError when it is malformed.
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

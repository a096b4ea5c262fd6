// parseFdt: a flattened blob to a DeviceTree, every offset, size and token checked (see FdtReader.walk).
import { markParsedBuffer } from './blob-origin';
import { DtbError } from './errors';
import { FdtReader, type FdtReadOptions, type FdtVisitor } from './fdt-reader';
import { decodeName } from './text';
import { DeviceTree, DtNode, DtProperty } from './tree';

export interface ParseFdtOptions extends FdtReadOptions {
  /**
   * Copy the blob first. By default property values are views into `bytes` (no copy per value), so
   * the caller must not reuse or change `bytes` while the tree lives.
   */
  copy?: boolean;
}

// Module-local copies of hot imports (an imported binding may compile to a getter call under tsx).
const Node = DtNode;
const viewProperty = DtProperty.view;
const decode = decodeName;

/** Sibling names are checked for duplicates by linear scan up to this many, then through a Set. */
const LINEAR_DUP_SCAN = 16;

/** A node's lists, built per open node and stored as exact-size arrays when the node ends. */
type Lists = { properties: DtProperty[]; children: DtNode[] };

class Level {
  node!: DtNode;
  props: DtProperty[] = [];
  nProps = 0;
  kids: DtNode[] = [];
  nKids = 0;
  propSet: Set<string> | undefined = undefined;
  kidSet: Set<string> | undefined = undefined;
}

class TreeBuilder implements FdtVisitor {
  readonly tree = new DeviceTree();
  /** One Level per depth, reused from node to node. */
  private readonly levels: Level[] = [];
  private depth = -1;

  constructor(
    private readonly reader: FdtReader,
    private readonly bytes: Uint8Array,
  ) {}

  /** Names repeat (cpu@0, port, endpoint...): equal names share one string, found by a hash of the bytes. */
  private readonly names = new Map<number, string>();

  private nodeName(start: number, end: number): string {
    const bytes = this.bytes;
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) {
      const c = bytes[i]!;
      if (c === 0x2f) throw new DtbError(`node name contains '/'`, i);
      h = Math.imul(h ^ c, 0x01000193);
    }
    const known = this.names.get(h);
    if (known !== undefined && known.length === end - start) {
      let same = true;
      for (let i = 0; i < known.length; i++) {
        if (known.charCodeAt(i) !== bytes[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return known;
    }
    const name = decode(bytes, start, end);
    if (known === undefined) this.names.set(h, name);
    return name;
  }

  private open(depth: number, node: DtNode): void {
    let lv = this.levels[depth];
    if (!lv) {
      lv = new Level();
      this.levels.push(lv);
    }
    lv.node = node;
    lv.nProps = 0;
    lv.nKids = 0;
    lv.propSet = undefined;
    lv.kidSet = undefined;
    this.depth = depth;
  }

  beginNode(nameStart: number, nameEnd: number, depth: number): void {
    if (depth === 0) {
      if (nameEnd !== nameStart) throw new DtbError('the root node has a name (it must be empty)', nameStart);
      this.open(0, this.tree.root);
      return;
    }
    if (nameEnd === nameStart) throw new DtbError('empty node name', nameStart);
    const name = this.nodeName(nameStart, nameEnd);
    const up = this.levels[depth - 1]!;
    if (up.nKids < LINEAR_DUP_SCAN) {
      for (let i = 0; i < up.nKids; i++) if (up.kids[i]!.name === name) throw duplicate('node', name, up.node, nameStart);
    } else {
      if (!up.kidSet) up.kidSet = new Set(up.kids.slice(0, up.nKids).map((k) => k.name));
      if (up.kidSet.has(name)) throw duplicate('node', name, up.node, nameStart);
      up.kidSet.add(name);
    }
    const node = new Node(name);
    node.parent = up.node;
    up.kids[up.nKids++] = node;
    this.open(depth, node);
  }

  property(nameStart: number, valueStart: number, length: number, tokenOffset: number): void {
    const name = this.reader.propName(nameStart);
    const lv = this.levels[this.depth]!;
    if (lv.nProps < LINEAR_DUP_SCAN) {
      for (let i = 0; i < lv.nProps; i++) if (lv.props[i]!.name === name) throw duplicate('property', name, lv.node, tokenOffset);
    } else {
      if (!lv.propSet) lv.propSet = new Set(lv.props.slice(0, lv.nProps).map((p) => p.name));
      if (lv.propSet.has(name)) throw duplicate('property', name, lv.node, tokenOffset);
      lv.propSet.add(name);
    }
    lv.props[lv.nProps++] = viewProperty(name, this.bytes, valueStart, length);
  }

  endNode(depth: number): void {
    const lv = this.levels[depth]!;
    // The node's `readonly` lists are replaced here, once, by exact-size arrays (less memory than
    // growing them one push at a time).
    const lists = lv.node as unknown as Lists;
    if (lv.nProps > 0) lists.properties = lv.props.slice(0, lv.nProps);
    if (lv.nKids > 0) lists.children = lv.kids.slice(0, lv.nKids);
    this.depth = depth - 1;
  }
}

function duplicate(what: string, name: string, parent: DtNode, offset: number): DtbError {
  return new DtbError(`duplicate ${what} name ${JSON.stringify(name)} in ${parent.path}`, offset);
}

/**
 * Parse a flattened device tree (versions 16 and 17). Malformed input throws DtbError naming the
 * problem and its byte offset; limits (FdtLimits) bound depth, total size and property size.
 * The tree remembers the blob's strings block (`stringsBlock`), and values stay views into the blob,
 * so that toFdt's 'keep' mode reproduces the blob as libfdt's fdt_pack would (padding bytes included).
 */
export function parseFdt(bytes: Uint8Array, opts: ParseFdtOptions = {}): DeviceTree {
  const src = opts.copy ? bytes.slice() : bytes;
  const reader = new FdtReader(src, opts);
  const builder = new TreeBuilder(reader, src);
  reader.walk(builder);
  const tree = builder.tree;
  tree.memReserve = reader.memReserve();
  tree.bootCpuidPhys = reader.header.boot_cpuid_phys;
  tree.stringsBlock = src.subarray(reader.layout.stringsStart, reader.layout.stringsEnd);
  markParsedBuffer(src, reader.layout.structStart, reader.layout.structEnd);
  return tree;
}

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

/** Sibling names are checked for duplicates by linear scan up to this many, then through a Set. */
const LINEAR_DUP_SCAN = 16;

class TreeBuilder implements FdtVisitor {
  readonly tree = new DeviceTree();
  private cur: DtNode = this.tree.root;
  private readonly stack: DtNode[] = [];
  /** Per open node (same index as the stack, plus the current): name sets once lists grow long. */
  private propSets: Array<Set<string> | undefined> = [undefined];
  private childSets: Array<Set<string> | undefined> = [undefined];

  constructor(
    private readonly reader: FdtReader,
    private readonly bytes: Uint8Array,
  ) {}

  beginNode(nameStart: number, nameEnd: number, depth: number): void {
    if (depth === 0) {
      if (nameEnd !== nameStart) throw new DtbError('the root node has a name (it must be empty)', nameStart);
      return;
    }
    if (nameEnd === nameStart) throw new DtbError('empty node name', nameStart);
    const bytes = this.bytes;
    for (let i = nameStart; i < nameEnd; i++) {
      if (bytes[i] === 0x2f) throw new DtbError(`node name contains '/'`, i);
    }
    const name = decodeName(bytes, nameStart, nameEnd);
    const parent = this.cur;
    const level = this.stack.length;
    this.checkDuplicate(parent.children, this.childSets, level, name, nameStart, 'node');
    const node = new DtNode(name);
    node.parent = parent;
    parent.children.push(node);
    this.stack.push(parent);
    this.propSets.push(undefined);
    this.childSets.push(undefined);
    this.cur = node;
  }

  property(nameStart: number, valueStart: number, length: number, tokenOffset: number): void {
    const name = this.reader.propName(nameStart);
    const props = this.cur.properties;
    this.checkDuplicate(props, this.propSets, this.stack.length, name, tokenOffset, 'property');
    props.push(new DtProperty(name, this.bytes.subarray(valueStart, valueStart + length)));
  }

  endNode(depth: number): void {
    if (depth === 0) return;
    this.cur = this.stack.pop()!;
    this.propSets.pop();
    this.childSets.pop();
  }

  private checkDuplicate(
    list: ReadonlyArray<{ name: string }>,
    sets: Array<Set<string> | undefined>,
    level: number,
    name: string,
    offset: number,
    what: string,
  ): void {
    if (list.length < LINEAR_DUP_SCAN) {
      for (let i = 0; i < list.length; i++) {
        if (list[i]!.name === name) throw new DtbError(`duplicate ${what} name ${JSON.stringify(name)} in ${this.cur.path}`, offset);
      }
      return;
    }
    let set = sets[level];
    if (!set) {
      set = new Set(list.map((x) => x.name));
      sets[level] = set;
    }
    if (set.has(name)) throw new DtbError(`duplicate ${what} name ${JSON.stringify(name)} in ${this.cur.path}`, offset);
    set.add(name);
  }
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
  markParsedBuffer(src);
  return tree;
}

// Turns tree nodes into the objects bindings validate: decoded properties, `$nodename`, and child nodes
// as nested objects; rows of reg, ranges, interrupts, interrupt-map and phandle arrays split by the
// cells of the nodes they depend on, as dt-schema's dtb decoding does.
import type { DeviceTree, DtNode } from '../dt';
import { decodeValue, isRaw, readInts, rows, type Value } from './decode';
import type { PropTypeTable } from './prop-types';

export type NodeInstance = { [key: string]: Value | NodeInstance };

/** A property that could not be decoded as its type or split into whole rows. */
export interface DecodeIssue {
  node: DtNode;
  property: string;
  /** Which rule: `cell-count`, `phandle`, `interrupt-parent` or `decode`. */
  rule: string;
  /** The core schema defining the property's layout. */
  schemaId: string;
  message: string;
}

const REG_SCHEMA = 'http://devicetree.org/schemas/reg.yaml#';
const IRQ_SCHEMA = 'http://devicetree.org/schemas/interrupts.yaml#';
const CORE_SCHEMA = 'http://devicetree.org/schemas/dt-core.yaml#';

/** Phandle-array properties whose provider cell count is not named `#<name without s>-cells`. */
const PHANDLE_ARGS: Record<string, string | number | null> = {
  'assigned-clocks': '#clock-cells',
  'assigned-clock-parents': '#clock-cells',
  'cooling-device': '#cooling-cells',
  'interrupts-extended': '#interrupt-cells',
  interconnects: '#interconnect-cells',
  mboxes: '#mbox-cells',
  'sound-dai': '#sound-dai-cells',
  'msi-parent': '#msi-cells',
  'dma-masters': '#dma-cells',
  'gpio-ranges': 3,
  'memory-region': null,
};

const GPIO_PROP = /(^gpios?|-gpios?)$/;

/** dtc's generated nodes (__symbols__, __fixups__, __local_fixups__): bookkeeping, not devices; dt-schema skips them. */
export function isGeneratedNode(n: DtNode): boolean {
  return n.name.length > 4 && n.name.startsWith('__') && n.name.endsWith('__');
}

/** Upper bound on interrupt-parent hops, so a phandle loop cannot hang the walk. */
const MAX_IRQ_HOPS = 64;

function cellsOf(node: DtNode, name: string): number | undefined {
  const v = node.value(name);
  return v && v.length === 4 ? new DataView(v.buffer, v.byteOffset, 4).getUint32(0) : undefined;
}

function u32s(b: Uint8Array): number[] | undefined {
  return b.length % 4 === 0 ? readInts(b, 4, false) : undefined;
}

/** Decodes the nodes of one tree; phandles are indexed once, on first need. */
export class TreeDecoder {
  private phandles: Map<number, DtNode> | undefined;
  readonly issues: DecodeIssue[] = [];

  constructor(
    private readonly tree: DeviceTree,
    private readonly types: PropTypeTable,
  ) {}

  /** The node's instance, children included (each decoded once). */
  instance(node: DtNode, cache?: Map<DtNode, NodeInstance>): NodeInstance {
    const hit = cache?.get(node);
    if (hit) return hit;
    const inst: NodeInstance = { $nodename: [node.parent ? node.name : '/'] };
    for (const p of node.properties) inst[p.name] = this.property(node, p.name, p.value);
    for (const c of node.children) if (!isGeneratedNode(c)) inst[c.name] = this.instance(c, cache);
    cache?.set(node, inst);
    return inst;
  }

  private issue(node: DtNode, property: string, rule: string, schemaId: string, message: string): void {
    this.issues.push({ node, property, rule, schemaId, message });
  }

  byPhandle(ph: number): DtNode | undefined {
    if (!this.phandles) {
      this.phandles = new Map();
      for (const n of this.tree.walk()) {
        const v = n.phandle;
        if (v !== undefined && v !== 0 && v !== 0xffffffff && !this.phandles.has(v)) this.phandles.set(v, n);
      }
    }
    return this.phandles.get(ph);
  }

  property(node: DtNode, name: string, bytes: Uint8Array): Value {
    const type = this.types.lookup(name);
    const d = decodeValue(bytes, type);
    if (d.problem) this.issue(node, name, 'decode', CORE_SCHEMA, d.problem);
    if (isRaw(d.value) || !Array.isArray(d.value) || !Array.isArray(d.value[0])) return d.value;
    const cells = u32s(bytes);
    if (!cells) return d.value;

    if (d.format === 'address' || name === 'reg') return this.splitReg(node, name, cells);
    if ((name === 'ranges' || name === 'dma-ranges')) return this.splitRanges(node, name, cells);
    if (name === 'interrupts') return this.splitInterrupts(node, cells);
    if (name === 'interrupt-map') return this.splitInterruptMap(node, cells);
    if (GPIO_PROP.test(name) && !name.endsWith(',nr-gpios')) return this.splitPhandles(node, name, cells, '#gpio-cells');
    if (d.format === 'phandle-array' && !type?.dim) {
      let cellName: string | number | null | undefined = PHANDLE_ARGS[name];
      if (cellName === undefined) {
        if (!name.endsWith('s')) return d.value;
        cellName = `#${name.slice(0, -1)}-cells`;
      }
      return this.splitPhandles(node, name, cells, cellName);
    }
    return d.value;
  }

  /** reg: rows of the parent's #address-cells + #size-cells (2 and 1 when absent, as the spec says). */
  private splitReg(node: DtNode, name: string, cells: number[]): number[][] {
    const parent = node.parent;
    const ac = parent ? (cellsOf(parent, '#address-cells') ?? 2) : 2;
    const sc = parent ? (cellsOf(parent, '#size-cells') ?? 1) : 1;
    const stride = ac + sc;
    if (stride === 0) {
      this.issue(node, name, 'cell-count', REG_SCHEMA, `parent ${parent?.path ?? '/'} has #address-cells = #size-cells = 0`);
      return [cells];
    }
    if (cells.length % stride !== 0) {
      this.issue(node, name, 'cell-count', REG_SCHEMA,
        `${cells.length} cells is not a multiple of #address-cells (${ac}) + #size-cells (${sc}) of ${parent?.path ?? '/'}`);
    }
    return rows(cells, stride);
  }

  /** ranges: rows of child address, parent address and child size cells. */
  private splitRanges(node: DtNode, name: string, cells: number[]): number[][] {
    const parent = node.parent;
    const pac = parent ? (cellsOf(parent, '#address-cells') ?? 2) : 2;
    const ac = cellsOf(node, '#address-cells') ?? 2;
    const sc = cellsOf(node, '#size-cells') ?? 1;
    const stride = ac + pac + sc;
    if (stride > 0 && cells.length % stride !== 0) {
      this.issue(node, name, 'cell-count', REG_SCHEMA,
        `${cells.length} cells is not a multiple of #address-cells (${ac}) + parent #address-cells (${pac}) + #size-cells (${sc})`);
    }
    return rows(cells, stride);
  }

  /** The interrupt parent, found as Linux's of_irq_find_parent finds it. */
  interruptParent(node: DtNode): DtNode | undefined {
    let n: DtNode | undefined = node;
    for (let hops = 0; n && hops < MAX_IRQ_HOPS; hops++) {
      const ip: Uint8Array | undefined = n.value('interrupt-parent');
      let next: DtNode | undefined;
      if (ip) {
        const ph: number | undefined = ip.length === 4 ? new DataView(ip.buffer, ip.byteOffset, 4).getUint32(0) : undefined;
        next = ph === undefined ? undefined : this.byPhandle(ph);
        if (!next) {
          this.issue(node, 'interrupt-parent', 'phandle', IRQ_SCHEMA,
            `interrupt-parent of ${n.path} does not point at a node`);
          return undefined;
        }
      } else {
        next = n.parent;
      }
      if (next && cellsOf(next, '#interrupt-cells') !== undefined) return next;
      n = next;
    }
    return undefined;
  }

  private splitInterrupts(node: DtNode, cells: number[]): number[][] {
    const parent = this.interruptParent(node);
    const icells = parent ? cellsOf(parent, '#interrupt-cells')! : undefined;
    if (icells === undefined) {
      this.issue(node, 'interrupts', 'interrupt-parent', IRQ_SCHEMA, 'no interrupt parent with #interrupt-cells');
      return [cells];
    }
    if (icells === 0 || cells.length % icells !== 0) {
      this.issue(node, 'interrupts', 'cell-count', IRQ_SCHEMA,
        `${cells.length} cells is not a multiple of #interrupt-cells (${icells}) of ${parent!.path}`);
    }
    return rows(cells, icells);
  }

  private splitInterruptMap(node: DtNode, cells: number[]): number[][] {
    const ac = cellsOf(node, '#address-cells') ?? 2;
    const ic = cellsOf(node, '#interrupt-cells') ?? 1;
    const out: number[][] = [];
    let i = 0;
    while (i < cells.length) {
      const ph = cells[i + ac + ic];
      const p = ph === undefined ? undefined : this.byPhandle(ph);
      const pic = p ? cellsOf(p, '#interrupt-cells') : undefined;
      if (!p || pic === undefined) {
        this.issue(node, 'interrupt-map', 'phandle', IRQ_SCHEMA,
          `entry at cell ${i} names no interrupt controller`);
        out.push(cells.slice(i));
        break;
      }
      const len = ac + ic + 1 + (cellsOf(p, '#address-cells') ?? 0) + pic;
      out.push(cells.slice(i, i + len));
      i += len;
    }
    return out;
  }

  private splitPhandles(node: DtNode, name: string, cells: number[], cellName: string | number | null): number[][] {
    const out: number[][] = [];
    let i = 0;
    while (i < cells.length) {
      const ph = cells[i]!;
      let args = 0;
      if (ph !== 0 && cellName !== null) {
        if (typeof cellName === 'number') {
          args = cellName;
        } else {
          const p = this.byPhandle(ph);
          if (!p) {
            this.issue(node, name, 'phandle', CORE_SCHEMA, `phandle 0x${ph.toString(16)} at cell ${i} does not point at a node`);
            out.push(cells.slice(i));
            return out;
          }
          args = cellsOf(p, cellName) ?? 0;
        }
      }
      if (i + 1 + args > cells.length) {
        this.issue(node, name, 'cell-count', CORE_SCHEMA,
          `entry at cell ${i} needs ${args} argument cells (${typeof cellName === 'string' ? cellName : 'fixed'}) but ${cells.length - i - 1} remain`);
      }
      out.push(cells.slice(i, i + 1 + args));
      i += 1 + args;
    }
    return out;
  }
}

// A subset of dtc's warning checks (checks.c), with dtc's names; they never stop a compile.
import { isOneString, nodePos, type Check, type Fail } from './checks';
import type { LiveNode } from './live-tree';

function u32(v: Uint8Array): number {
  return ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
}

function cellsOf(n: LiveNode, name: string): number | undefined {
  const p = n.prop(name);
  return p && p.data.length === 4 ? u32(p.data.view()) : undefined;
}

/** dtc's defaults when a parent says nothing: 2 address cells, 1 size cell. */
const addrCells = (n: LiveNode): number => cellsOf(n, '#address-cells') ?? 2;
const sizeCells = (n: LiveNode): number => cellsOf(n, '#size-cells') ?? 1;

function unitName(n: LiveNode): string {
  const at = n.name.indexOf('@');
  return at < 0 ? '' : n.name.slice(at + 1);
}

function isStringList(v: Uint8Array): boolean {
  let i = 0;
  while (i < v.length) {
    const nul = v.indexOf(0, i);
    if (nul < 0) return false;
    i = nul + 1;
  }
  return true;
}

function stringCheck(name: string, prop: string): Check {
  return {
    name,
    severity: 'warning',
    prereqs: [],
    node: (_ctx, node, fail) => {
      const p = node.prop(prop);
      if (p && !isOneString(p.data.view())) fail(p.pos ?? nodePos(node), `${node.fullpath}:${prop}: property is not a string`);
    },
  };
}

function cellCheck(name: string, prop: string): Check {
  return {
    name,
    severity: 'warning',
    prereqs: [],
    node: (_ctx, node, fail) => {
      const p = node.prop(prop);
      if (p && p.data.length !== 4) fail(p.pos ?? nodePos(node), `${node.fullpath}:${prop}: property is not a single cell`);
    },
  };
}

function rangesCheck(name: string, prop: string): Check {
  return {
    name,
    severity: 'warning',
    prereqs: ['address_cells_is_cell', 'size_cells_is_cell'],
    node: (_ctx, node, fail) => {
      const p = node.prop(prop);
      if (!p) return;
      const where = p.pos ?? nodePos(node);
      const parent = node.parent;
      if (!parent) {
        fail(where, `root node has a "${prop}" property`);
        return;
      }
      const pa = addrCells(parent);
      const ps = sizeCells(parent);
      const ca = addrCells(node);
      const cs = sizeCells(node);
      if (p.data.length === 0) {
        if (pa !== ca) fail(where, `${node.fullpath}: empty "${prop}" property but its #address-cells (${ca}) differs from ${parent.fullpath} (${pa})`);
        if (ps !== cs) fail(where, `${node.fullpath}: empty "${prop}" property but its #size-cells (${cs}) differs from ${parent.fullpath} (${ps})`);
      } else if (p.data.length % ((pa + ca + cs) * 4 || 1) !== 0) {
        fail(
          where,
          `${node.fullpath}: "${prop}" property has invalid length (${p.data.length} bytes) (parent #address-cells == ${pa}, child #address-cells == ${ca}, #size-cells == ${cs})`,
        );
      }
    },
  };
}

const latin1 = new TextDecoder('latin1');
const busCache = new WeakMap<LiveNode, boolean>();

/** dtc's pci_bridge/simple_bus_bridge: a parent whose children's unit addresses follow the bus's own format. */
function isBus(n: LiveNode | undefined): boolean {
  if (!n) return false;
  let bus = busCache.get(n);
  if (bus === undefined) {
    const dt = n.prop('device_type');
    const compat = n.prop('compatible');
    const list = compat ? latin1.decode(compat.data.view()).split('\0') : [];
    bus = (dt !== undefined && latin1.decode(dt.data.view()) === 'pci\0') || list.includes('simple-bus') || list.includes('simple-mfd');
    busCache.set(n, bus);
  }
  return bus;
}

function perChildUnitAddresses(node: LiveNode, fail: Fail): void {
  if (!node.prop('#address-cells') || !node.prop('#size-cells')) return;
  const seen = new Map<string, LiveNode>();
  for (const c of node.children) {
    if (c.deleted) continue;
    const unit = unitName(c);
    if (!unit) continue;
    const first = seen.get(unit);
    if (first) fail(nodePos(c), `${c.fullpath}: duplicate unit-address (also used in node ${first.fullpath})`);
    else seen.set(unit, c);
  }
}

/** The warnings, in dtc's table order. */
export const WARNING_CHECKS: readonly Check[] = [
  {
    name: 'node_name_vs_property_name',
    severity: 'warning',
    prereqs: ['node_name_chars'],
    node: (_ctx, node, fail) => {
      if (node.parent?.prop(node.name)) fail(nodePos(node), `${node.fullpath}: node name and property name conflict`);
    },
  },
  cellCheck('address_cells_is_cell', '#address-cells'),
  cellCheck('size_cells_is_cell', '#size-cells'),
  stringCheck('device_type_is_string', 'device_type'),
  stringCheck('model_is_string', 'model'),
  stringCheck('status_is_string', 'status'),
  stringCheck('label_is_string', 'label'),
  {
    name: 'compatible_is_string_list',
    severity: 'warning',
    prereqs: [],
    node: (_ctx, node, fail) => {
      const p = node.prop('compatible');
      if (p && !isStringList(p.data.view())) fail(p.pos ?? nodePos(node), `${node.fullpath}:compatible: property is not a string list`);
    },
  },
  {
    name: 'names_is_string_list',
    severity: 'warning',
    prereqs: [],
    node: (_ctx, node, fail) => {
      for (const p of node.props) {
        if (!p.deleted && p.name.endsWith('-names') && !isStringList(p.data.view())) {
          fail(p.pos ?? nodePos(node), `${node.fullpath}:${p.name}: property is not a string list`);
        }
      }
    },
  },
  {
    name: 'reg_format',
    severity: 'warning',
    prereqs: ['address_cells_is_cell', 'size_cells_is_cell'],
    node: (_ctx, node, fail) => {
      const p = node.prop('reg');
      if (!p) return;
      const where = p.pos ?? nodePos(node);
      if (!node.parent) {
        fail(where, 'root node has a "reg" property');
        return;
      }
      if (p.data.length === 0) fail(where, `${node.fullpath}:reg: property is empty`);
      const a = addrCells(node.parent);
      const s = sizeCells(node.parent);
      const entry = (a + s) * 4;
      if (entry === 0 ? p.data.length !== 0 : p.data.length % entry !== 0) {
        fail(where, `${node.fullpath}:reg: property has invalid length (${p.data.length} bytes) (#address-cells == ${a}, #size-cells == ${s})`);
      }
    },
  },
  rangesCheck('ranges_format', 'ranges'),
  rangesCheck('dma_ranges_format', 'dma-ranges'),
  {
    name: 'unit_address_vs_reg',
    severity: 'warning',
    prereqs: [],
    node: (_ctx, node, fail) => {
      if (node.child('__overlay__')) return;
      let p = node.prop('reg');
      if (!p) {
        p = node.prop('ranges');
        if (p && p.data.length === 0) p = undefined;
      }
      const unit = unitName(node);
      if (p && !unit) fail(nodePos(node), `${node.fullpath}: node has a reg or ranges property, but no unit name`);
      if (!p && unit) fail(nodePos(node), `${node.fullpath}: node has a unit name, but no reg or ranges property`);
    },
  },
  {
    name: 'unit_address_format',
    severity: 'warning',
    prereqs: ['node_name_format'],
    node: (_ctx, node, fail) => {
      if (isBus(node.parent)) return;
      let unit = unitName(node);
      if (!unit) return;
      if (unit.startsWith('0x')) {
        fail(nodePos(node), `${node.fullpath}: unit name should not have leading "0x"`);
        unit = unit.slice(2);
      }
      if (unit[0] === '0' && /[0-9a-fA-F]/.test(unit[1] ?? '')) fail(nodePos(node), `${node.fullpath}: unit name should not have leading 0s`);
    },
  },
  {
    name: 'avoid_default_addr_size',
    severity: 'warning',
    prereqs: ['address_cells_is_cell', 'size_cells_is_cell'],
    node: (_ctx, node, fail) => {
      const parent = node.parent;
      if (!parent || (!node.prop('reg') && !node.prop('ranges'))) return;
      if (!parent.prop('#address-cells')) fail(nodePos(node), `${node.fullpath}: Relying on default #address-cells value`);
      if (!parent.prop('#size-cells')) fail(nodePos(node), `${node.fullpath}: Relying on default #size-cells value`);
    },
  },
  {
    name: 'unique_unit_address',
    severity: 'warning',
    prereqs: ['avoid_default_addr_size'],
    node: (_ctx, node, fail) => perChildUnitAddresses(node, fail),
  },
  {
    name: 'chosen_node_is_root',
    severity: 'warning',
    prereqs: [],
    node: (_ctx, node, fail) => {
      if (node.name === 'chosen' && node.parent?.parent) fail(nodePos(node), `${node.fullpath}: chosen node must be at root node`);
    },
  },
  {
    name: 'chosen_node_bootargs',
    severity: 'warning',
    prereqs: [],
    node: (_ctx, node, fail) => {
      const p = node.name === 'chosen' ? node.prop('bootargs') : undefined;
      if (p && !isOneString(p.data.view())) fail(p.pos ?? nodePos(node), `${node.fullpath}:bootargs: property is not a string`);
    },
  },
  {
    name: 'chosen_node_stdout_path',
    severity: 'warning',
    prereqs: [],
    node: (_ctx, node, fail) => {
      if (node.name !== 'chosen') return;
      let p = node.prop('stdout-path');
      if (!p) {
        p = node.prop('linux,stdout-path');
        if (!p) return;
        fail(p.pos ?? nodePos(node), `${node.fullpath}:linux,stdout-path: Use 'stdout-path' instead`);
      }
      if (!isOneString(p.data.view())) fail(p.pos ?? nodePos(node), `${node.fullpath}:${p.name}: property is not a string`);
    },
  },
  {
    name: 'alias_paths',
    severity: 'warning',
    prereqs: [],
    node: (ctx, node, fail) => {
      if (node.name !== 'aliases') return;
      for (const p of node.props) {
        if (p.deleted || p.name === 'phandle' || p.name === 'linux,phandle') continue;
        const v = p.data.view();
        const nul = v.indexOf(0);
        const path = latin1.decode(v.subarray(0, nul < 0 ? v.length : nul));
        if (v.length === 0 || !ctx.tree.nodeByPath(path)) {
          fail(p.pos ?? nodePos(node), `${node.fullpath}:${p.name}: aliases property is not a valid node (${path})`);
          continue;
        }
        if (!/^[a-z0-9-]*$/.test(p.name)) fail(p.pos ?? nodePos(node), `${node.fullpath}: aliases property name must include only lowercase and '-'`);
      }
    },
  },
];

// dtc's checks that are errors (checks.c), in dtc's order, including the ones that change the tree:
// explicit phandles, phandle and path references, redundant `name` properties and /omit-if-no-ref/ nodes.
import { diagnostic, type DtsDiagnostic, type DtsSeverity, type SourcePosition } from './dts-error';
import { deleteNode, type LiveNode, type LiveProp, type LiveTree } from './live-tree';
import type { Marker } from './prop-data';

export interface CheckContext {
  readonly tree: LiveTree;
  readonly plugin: boolean;
  readonly symbols: boolean;
  readonly diagnostics: DtsDiagnostic[];
  /** The first holder of each label, built when duplicate_label first needs it. */
  labelIndex?: Map<string, LabelHolder>;
}

export interface Check {
  readonly name: string;
  readonly severity: DtsSeverity;
  readonly prereqs: readonly string[];
  /** Called for every live node, depth first; reports each problem through `fail`. */
  readonly node: (ctx: CheckContext, node: LiveNode, fail: Fail) => void;
}

export type Fail = (pos: SourcePosition | undefined, message: string) => void;

const enc = new TextEncoder();

/** Every live node, depth first, parents before children. A callback may delete the node it is given. */
export function forEachLiveNode(n: LiveNode, fn: (n: LiveNode) => void): void {
  fn(n);
  for (const c of n.children) if (!c.deleted) forEachLiveNode(c, fn);
}

/** Where a message about a node points: its own position, else its nearest ancestor's. */
export function nodePos(n: LiveNode): SourcePosition | undefined {
  for (let m: LiveNode | undefined = n; m; m = m.parent) if (m.pos) return m.pos;
  return undefined;
}

export function at(p: SourcePosition | undefined): string {
  return p ? `${p.file}:${p.line}:${p.column}` : 'an unknown place';
}

function charTable(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  return t;
}

/** The index of the first character of `s` not in `allowed`, or -1. */
function charsOutside(s: string, allowed: Uint8Array): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || !allowed[c]) return i;
  }
  return -1;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** dtc's NODECHARS and PROPCHARS. */
const NODECHARS = charTable(`${ALNUM},._+-@`);
const PROPCHARS = charTable(`${ALNUM},._+*#?-`);

/** dtc's data_is_one_string: non-empty, NUL-terminated, no NUL before the end. */
export function isOneString(v: Uint8Array): boolean {
  if (v.length === 0 || v[v.length - 1] !== 0) return false;
  return v.indexOf(0) === v.length - 1;
}

// ---- label description for duplicate_label (dtc's DESCLABEL) ----

export interface LabelHolder {
  node: LiveNode;
  prop: LiveProp | undefined;
  marker: Marker | undefined;
}

function describeHolder(h: LabelHolder): string {
  if (h.marker) return `value of '${h.prop!.name}' in ${h.node.fullpath}`;
  if (h.prop) return `'${h.prop.name}' in ${h.node.fullpath}`;
  return h.node.fullpath;
}

/** The first holder of each label, looked up as dtc does: node labels, then property labels, then value labels. */
function firstLabelHolders(root: LiveNode): Map<string, LabelHolder> {
  const nodes = new Map<string, LabelHolder>();
  const props = new Map<string, LabelHolder>();
  const marks = new Map<string, LabelHolder>();
  forEachLiveNode(root, (node) => {
    for (const l of node.labels) if (!l.deleted && !nodes.has(l.name)) nodes.set(l.name, { node, prop: undefined, marker: undefined });
    for (const prop of node.props) {
      if (prop.deleted) continue;
      for (const l of prop.labels) if (!l.deleted && !props.has(l.name)) props.set(l.name, { node, prop, marker: undefined });
      for (const m of prop.data.markers ?? []) {
        if (m.type === 'label' && !marks.has(m.ref)) marks.set(m.ref, { node, prop, marker: m });
      }
    }
  });
  for (const [k, v] of props) if (!nodes.has(k)) nodes.set(k, v);
  for (const [k, v] of marks) if (!nodes.has(k)) nodes.set(k, v);
  return nodes;
}

function checkLabel(ctx: CheckContext, fail: Fail, name: string, pos: SourcePosition, here: LabelHolder): void {
  ctx.labelIndex ??= firstLabelHolders(ctx.tree.root);
  const first = ctx.labelIndex.get(name);
  if (!first) return;
  if (first.node !== here.node || first.prop !== here.prop || first.marker !== here.marker) {
    const firstPos = first.marker?.pos ?? labelPos(first, name);
    fail(pos, `duplicate label '${name}' on ${describeHolder(here)} and ${describeHolder(first)} (at ${at(firstPos)})`);
  }
}

function labelPos(h: LabelHolder, name: string): SourcePosition | undefined {
  const list = h.prop ? h.prop.labels : h.node.labels;
  return list.find((l) => l.name === name)?.pos;
}

// ---- explicit phandles ----

function phandleProp(ctx: CheckContext, fail: Fail, node: LiveNode, name: string): number {
  const prop = node.prop(name);
  if (!prop) return 0;
  if (prop.data.length !== 4) {
    fail(prop.pos ?? nodePos(node), `bad length (${prop.data.length}) ${name} property`);
    return 0;
  }
  const ref = prop.data.markers?.find((m) => m.type === 'phandle');
  if (ref) {
    // `phandle = <&me>` asks for a phandle to be allocated; a reference to another node is nonsense.
    if (ctx.tree.nodeByRef(ref.ref) !== node) fail(ref.pos, `${name} is a reference to another node`);
    return 0;
  }
  const b = prop.data.bytes;
  const v = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  if (v === 0 || v === 0xffffffff) {
    fail(prop.pos ?? nodePos(node), `bad value (0x${v.toString(16)}) in ${name} property`);
    return 0;
  }
  return v;
}

/** The error checks of dtc's check table, in its order. */
export const ERROR_CHECKS: readonly Check[] = [
  {
    name: 'duplicate_node_names',
    severity: 'error',
    prereqs: [],
    node: (_ctx, node, fail) => {
      // dtc compares each live child with every later one, deleted or not; a map keeps it linear.
      const kids = node.children;
      if (kids.length < 2) return;
      const firstLive = new Map<string, LiveNode>();
      for (const b of kids) {
        const a = firstLive.get(b.name);
        if (a) {
          fail(
            b.pos,
            b.deleted
              ? `/delete-node/ ${b.name} in the block that defines node '${b.name}' (of ${node.fullpath}): it only deletes nodes of earlier blocks, so dtc counts a duplicate node name`
              : `duplicate node name '${b.name}' in ${node.fullpath} (first defined at ${at(a.pos)})`,
          );
        } else if (!b.deleted) {
          firstLive.set(b.name, b);
        }
      }
    },
  },
  {
    name: 'duplicate_property_names',
    severity: 'error',
    prereqs: [],
    node: (_ctx, node, fail) => {
      const seen = new Map<string, LiveProp>();
      for (const p of node.props) {
        if (p.deleted) continue;
        const first = seen.get(p.name);
        if (first) fail(p.pos ?? nodePos(node), `duplicate property '${p.name}' in ${node.fullpath} (first defined at ${at(first.pos)})`);
        else seen.set(p.name, p);
      }
    },
  },
  {
    name: 'node_name_chars',
    severity: 'error',
    prereqs: [],
    node: (_ctx, node, fail) => {
      const bad = charsOutside(node.name, NODECHARS);
      if (bad >= 0) fail(nodePos(node), `bad character '${node.name[bad]}' in node name '${node.name}'`);
    },
  },
  {
    name: 'node_name_format',
    severity: 'error',
    prereqs: ['node_name_chars'],
    node: (_ctx, node, fail) => {
      const at = node.name.indexOf('@');
      if (at >= 0 && node.name.indexOf('@', at + 1) >= 0) {
        fail(nodePos(node), `multiple '@' characters in node name '${node.name}'`);
      }
    },
  },
  {
    name: 'property_name_chars',
    severity: 'error',
    prereqs: [],
    node: (_ctx, node, fail) => {
      for (const p of node.props) {
        if (p.deleted) continue;
        const bad = charsOutside(p.name, PROPCHARS);
        if (bad >= 0) fail(p.pos ?? nodePos(node), `bad character '${p.name[bad]}' in property name '${p.name}'`);
      }
    },
  },
  {
    name: 'name_is_string',
    severity: 'error',
    prereqs: [],
    node: (_ctx, node, fail) => {
      const p = node.prop('name');
      if (p && !isOneString(p.data.view())) fail(p.pos ?? nodePos(node), `property 'name' of ${node.fullpath} is not a string`);
    },
  },
  {
    name: 'name_properties',
    severity: 'error',
    prereqs: ['name_is_string'],
    node: (_ctx, node, fail) => {
      // dtc looks at the first `name` property even when it was deleted.
      const i = node.props.findIndex((p) => p.name === 'name');
      if (i < 0) return;
      const p = node.props[i]!;
      const base = enc.encode(node.basename);
      const v = p.data.view();
      let ok = v.length === base.length + 1;
      for (let k = 0; ok && k < base.length; k++) ok = v[k] === base[k];
      if (ok) {
        // Correct, therefore redundant: dtc drops it.
        node.props.splice(i, 1);
      } else {
        const shown = new TextDecoder().decode(v.subarray(0, v.indexOf(0) < 0 ? v.length : v.indexOf(0)));
        fail(p.pos ?? nodePos(node), `"name" property is incorrect ("${shown}" instead of base node name "${node.basename}")`);
      }
    },
  },
  {
    name: 'duplicate_label',
    severity: 'error',
    prereqs: [],
    node: (ctx, node, fail) => {
      for (const l of node.labels) if (!l.deleted) checkLabel(ctx, fail, l.name, l.pos, { node, prop: undefined, marker: undefined });
      for (const prop of node.props) {
        if (prop.deleted) continue;
        for (const l of prop.labels) if (!l.deleted) checkLabel(ctx, fail, l.name, l.pos, { node, prop, marker: undefined });
        for (const m of prop.data.markers ?? []) if (m.type === 'label') checkLabel(ctx, fail, m.ref, m.pos, { node, prop, marker: m });
      }
    },
  },
  {
    name: 'explicit_phandles',
    severity: 'error',
    prereqs: [],
    node: (ctx, node, fail) => {
      let ph = phandleProp(ctx, fail, node, 'phandle');
      const linux = phandleProp(ctx, fail, node, 'linux,phandle');
      if (!ph && !linux) return;
      if (ph && linux && ph !== linux) fail(nodePos(node), `mismatching 'phandle' and 'linux,phandle' properties in ${node.fullpath}`);
      if (!ph) ph = linux;
      const other = ctx.tree.nodeByPhandle(ph);
      if (other && other !== node) {
        const p = node.prop('phandle') ?? node.prop('linux,phandle');
        fail(p?.pos ?? nodePos(node), `duplicated phandle 0x${ph.toString(16)} (seen before at ${other.fullpath})`);
        return;
      }
      ctx.tree.setPhandle(node, ph);
    },
  },
  {
    name: 'phandle_references',
    severity: 'error',
    prereqs: ['duplicate_node_names', 'explicit_phandles'],
    node: (ctx, node, fail) => {
      for (const prop of node.props) {
        if (prop.deleted || !prop.data.markers) continue;
        for (const m of prop.data.markers) {
          if (m.type !== 'phandle') continue;
          const target = ctx.tree.nodeByRef(m.ref);
          if (!target) {
            // In a plugin the reference is resolved when the overlay is applied (__fixups__).
            if (ctx.plugin) prop.data.writeU32At(m.offset, 0xffffffff);
            else fail(m.pos, `reference to non-existent node or label "${m.ref}"`);
            continue;
          }
          prop.data.writeU32At(m.offset, ctx.tree.nodePhandle(target));
          target.referenced = true;
        }
      }
    },
  },
  {
    name: 'path_references',
    severity: 'error',
    prereqs: ['duplicate_node_names'],
    node: (ctx, node, fail) => {
      for (const prop of node.props) {
        if (prop.deleted || !prop.data.markers) continue;
        for (const m of prop.data.markers) {
          if (m.type !== 'path') continue;
          const target = ctx.tree.nodeByRef(m.ref);
          if (!target) {
            fail(m.pos, `reference to non-existent node or label "${m.ref}"`);
            continue;
          }
          const path = enc.encode(target.fullpath);
          const withNul = new Uint8Array(path.length + 1);
          withNul.set(path);
          prop.data.insertAtMarker(m, withNul);
          target.referenced = true;
        }
      }
    },
  },
  {
    name: 'omit_unused_nodes',
    severity: 'error',
    prereqs: ['phandle_references', 'path_references'],
    node: (ctx, node) => {
      // With -@ a labelled node stays: an overlay may refer to it.
      if (ctx.symbols && node.labels.length > 0) return;
      if (node.omitIfUnused && !node.referenced) deleteNode(node);
    },
  },
];

/** Runs checks in order (a check whose prerequisite failed is skipped, as dtc does); true when an error was found. */
export function runChecks(ctx: CheckContext, checks: readonly Check[], status = new Map<string, boolean>()): boolean {
  let errored = false;
  for (const check of checks) {
    if (check.prereqs.some((p) => status.get(p) === false)) {
      status.set(check.name, false);
      continue;
    }
    let passed = true;
    const fail: Fail = (pos, message) => {
      passed = false;
      const where = pos ?? ctx.tree.root.pos ?? { file: '<input>', line: 1, column: 1 };
      ctx.diagnostics.push(diagnostic(where, check.severity, message, check.name));
    };
    forEachLiveNode(ctx.tree.root, (n) => check.node(ctx, n, fail));
    status.set(check.name, passed);
    if (!passed && check.severity === 'error') errored = true;
  }
  return errored;
}

// The nodes dtc adds for overlays: __symbols__ (with -@), and for a /plugin/ source __fixups__ and
// __local_fixups__, built in dtc's order (livetree.c's generate_*_tree).
import { diagnostic, type DtsDiagnostic } from './dts-error';
import { forEachLiveNode } from './checks';
import { LiveNode, LiveProp, type LiveTree } from './live-tree';
import { PropData } from './prop-data';

const enc = new TextEncoder();

/** The live child `name` of the root, created at the end of the root when missing (dtc's build_root_node). */
function rootChild(tree: LiveTree, name: string): LiveNode {
  const existing = tree.root.child(name);
  if (existing) return existing;
  const n = new LiveNode(name, undefined);
  tree.root.addChild(n);
  return n;
}

/** dtc's append_to_property: bytes added to the live property `name`, which is created when missing. */
function appendToProperty(node: LiveNode, name: string, bytes: Uint8Array): void {
  const p = node.prop(name);
  if (p) {
    const d = new PropData(p.data.length + bytes.length);
    d.appendBytes(p.data.view());
    d.appendBytes(bytes);
    p.data = d;
  } else {
    node.addProp(new LiveProp(name, PropData.of(bytes), undefined));
  }
}

function cString(s: string): Uint8Array {
  const b = enc.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

function anyNode(tree: LiveTree, pred: (n: LiveNode) => boolean): boolean {
  let found = false;
  forEachLiveNode(tree.root, (n) => {
    found ||= pred(n);
  });
  return found;
}

/**
 * `/__symbols__`: one property per label, named after it, holding the node's path; every labelled node gets a
 * phandle so that an overlay can refer to it.
 */
export function generateSymbols(tree: LiveTree, warnings: DtsDiagnostic[]): void {
  // dtc tests the label list itself, so a node whose labels were all deleted still counts.
  if (!anyNode(tree, (n) => n.labels.length > 0)) return;
  const symbols = rootChild(tree, '__symbols__');
  forEachLiveNode(tree.root, (n) => {
    if (n.labels.length === 0) return;
    for (const l of n.labels) {
      if (l.deleted) continue;
      if (symbols.prop(l.name)) {
        warnings.push(diagnostic(l.pos, 'warning', `label ${l.name} already exists in /__symbols__`, 'symbols'));
        continue;
      }
      symbols.addProp(new LiveProp(l.name, PropData.of(cString(n.fullpath)), undefined));
    }
    tree.nodePhandle(n);
  });
}

function phandleRefs(n: LiveNode, fn: (prop: LiveProp, offset: number, ref: string) => void): void {
  for (const p of n.props) {
    if (p.deleted || !p.data.markers) continue;
    for (const m of p.data.markers) if (m.type === 'phandle') fn(p, m.offset, m.ref);
  }
}

/** `/__fixups__`: for each label not in this source, the `path:property:offset` of every cell that refers to it. */
export function generateFixups(tree: LiveTree): void {
  const unresolved = (n: LiveNode): boolean => {
    let any = false;
    phandleRefs(n, (_p, _o, ref) => {
      any ||= !tree.nodeByRef(ref);
    });
    return any;
  };
  if (!anyNode(tree, unresolved)) return;
  const fixups = rootChild(tree, '__fixups__');
  forEachLiveNode(tree.root, (n) => {
    phandleRefs(n, (prop, offset, ref) => {
      if (!tree.nodeByRef(ref)) appendToProperty(fixups, ref, cString(`${n.fullpath}:${prop.name}:${offset}`));
    });
  });
}

/**
 * `/__local_fixups__`: a tree mirroring the paths of nodes whose cells refer to nodes of this source; each
 * property lists the offsets of those cells, so that the overlay's own phandles can be renumbered.
 */
export function generateLocalFixups(tree: LiveTree): void {
  const resolved = (n: LiveNode): boolean => {
    let any = false;
    phandleRefs(n, (_p, _o, ref) => {
      any ||= tree.nodeByRef(ref) !== undefined;
    });
    return any;
  };
  if (!anyNode(tree, resolved)) return;
  const local = rootChild(tree, '__local_fixups__');
  forEachLiveNode(tree.root, (n) => {
    phandleRefs(n, (prop, offset, ref) => {
      if (!tree.nodeByRef(ref)) return;
      const names: string[] = [];
      for (let m: LiveNode | undefined = n; m?.parent; m = m.parent) names.push(m.name);
      let w = local;
      for (let i = names.length - 1; i >= 0; i--) {
        let next = w.child(names[i]!);
        if (!next) {
          next = new LiveNode(names[i]!, undefined);
          w.addChild(next);
        }
        w = next;
      }
      const cell = new PropData(4);
      cell.appendU32(offset);
      appendToProperty(w, prop.name, cell.view());
    });
  });
}

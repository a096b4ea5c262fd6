// fast-check generators of (base, overlay) pairs shaped as dtc -@ emits them: a base with phandles and
// /__symbols__, an overlay with fragments (target by label fixup or by path), __fixups__,
// __local_fixups__ and its own __symbols__.
import fc from 'fast-check';
import { DeviceTree, DtNode, encodeStringList } from '../../dt';
import { deviceTree, nodeName, propName, propValue } from './arbitrary';

export interface OverlayCase {
  base: DeviceTree;
  /** Applied in order (a later one may merge into what an earlier one added). */
  overlays: DeviceTree[];
}

type Fragment = Plan['overlays'][number][number];

/** Choices the generator draws once and then interprets against the base it built. */
interface Plan {
  base: DeviceTree;
  labelled: number[]; // picks of base nodes that get a phandle and a label
  phandleGap: number;
  overlays: Array<
    Array<{
      byLabel: boolean;
      pick: number;
      props: Array<[string, Uint8Array]>;
      refs: Array<{ kind: 'base' | 'local'; pick: number }>;
      kids: Array<{ name: string; props: Array<[string, Uint8Array]>; labelled: boolean; reuse: boolean }>;
    }>
  >;
}

const kid = fc.record({
  name: nodeName,
  props: fc.uniqueArray(fc.tuple(propName.filter((n) => n !== 'phandle'), propValue), { maxLength: 3, selector: ([k]) => k }),
  labelled: fc.boolean(),
  reuse: fc.boolean(),
});

const fragment = fc.record({
  byLabel: fc.boolean(),
  pick: fc.nat(),
  props: fc.uniqueArray(fc.tuple(propName.filter((n) => n !== 'phandle'), propValue), { maxLength: 4, selector: ([k]) => k }),
  refs: fc.array(fc.record({ kind: fc.constantFrom('base' as const, 'local' as const), pick: fc.nat() }), { maxLength: 3 }),
  kids: fc.array(kid, { maxLength: 3 }),
});

const plan: fc.Arbitrary<Plan> = fc.record({
  base: deviceTree,
  labelled: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
  phandleGap: fc.integer({ min: 1, max: 40 }),
  overlays: fc.array(fc.array(fragment, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 2 }),
});

function build(p: Plan): OverlayCase {
  const base = p.base;
  const nodes = [...base.walk()];
  const symbols = base.root.ensureChild('__symbols__');
  const labels: Array<{ label: string; node: DtNode }> = [];
  let ph = p.phandleGap;
  for (const pick of p.labelled) {
    const node = nodes[pick % nodes.length]!;
    if (node.phandle !== undefined || node === base.root) continue;
    node.setU32('phandle', ph);
    ph += 1 + (pick % 3);
    const label = `lbl${labels.length}`;
    labels.push({ label, node });
    symbols.setString(label, node.path);
  }

  return { base, overlays: p.overlays.map((fragments) => buildOverlay(fragments, nodes, labels)) };
}

function buildOverlay(fragments: Fragment[], nodes: DtNode[], labels: Array<{ label: string; node: DtNode }>): DeviceTree {
  const ov = new DeviceTree();
  const fixups = new Map<string, string[]>();
  const localFixups = ov.root.addChild('__local_fixups__');
  const ovSymbols = ov.root.addChild('__symbols__');
  let localPh = 1;
  fragments.forEach((f, i) => {
    const frag = ov.root.addChild(`fragment@${i}`);
    const fragPath = `/fragment@${i}`;
    if (f.byLabel && labels.length > 0) {
      const { label } = labels[f.pick % labels.length]!;
      frag.setU32('target', 0xffffffff);
      fixups.set(label, [...(fixups.get(label) ?? []), `${fragPath}:target:0`]);
    } else {
      frag.setString('target-path', nodes[f.pick % nodes.length]!.path);
    }
    const body = frag.addChild('__overlay__');
    for (const [k, v] of f.props) body.setProperty(k, v);
    const kids: DtNode[] = [];
    for (const k of f.kids) {
      // `reuse`: a name already present under some base node, so that merging meets an existing node
      const name = k.reuse && nodes.length > 1 ? nodes[1 + (i % (nodes.length - 1))]!.name : k.name;
      if (body.child(name)) continue;
      const kid = body.addChild(name);
      for (const [pk, pv] of k.props) kid.setProperty(pk, pv);
      if (k.labelled) {
        kid.setU32('phandle', localPh++);
        ovSymbols.setString(`ov${i}_${kids.length}`, `${fragPath}/__overlay__/${name}`);
        kids.push(kid);
      }
    }
    // references: to base labels (fixups) and to the overlay's own labelled nodes (local fixups)
    const cells: number[] = [];
    const refPaths: string[] = [];
    f.refs.forEach((r, j) => {
      if (r.kind === 'base' && labels.length > 0) {
        const { label } = labels[r.pick % labels.length]!;
        fixups.set(label, [...(fixups.get(label) ?? []), `${fragPath}/__overlay__:refs:${j * 8}`]);
        cells.push(0xffffffff, j);
      } else if (kids.length > 0) {
        const kid = kids[r.pick % kids.length]!;
        refPaths.push(String(j * 8));
        cells.push(kid.phandle!, j);
      } else {
        cells.push(0, j);
      }
    });
    if (cells.length > 0) {
      body.setU32('refs', cells);
      const offs = refPaths.map(Number);
      if (offs.length > 0) localFixups.ensureChild(`fragment@${i}`).ensureChild('__overlay__').setU32('refs', offs);
    }
  });
  if (localFixups.children.length === 0) ov.root.removeChild(localFixups);
  if (ovSymbols.properties.length === 0) ov.root.removeChild(ovSymbols);
  if (fixups.size > 0) {
    const fx = ov.root.addChild('__fixups__');
    for (const [label, list] of fixups) fx.setProperty(label, encodeStringList(list));
  }
  return ov;
}

export const overlayCase: fc.Arbitrary<OverlayCase> = plan.map(build);

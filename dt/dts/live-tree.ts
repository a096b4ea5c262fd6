// The tree while it is compiled, as dtc keeps it (livetree.c): deleted nodes, properties and labels stay in place
// with a flag, because a later block that names them again brings them back where they were.
import type { SourcePosition } from './dts-error';
import { PropData } from './prop-data';

export interface LiveLabel {
  readonly name: string;
  deleted: boolean;
  readonly pos: SourcePosition;
}

/** The label list of everything without labels (most properties): shared, never written to. */
export const NO_LABELS: readonly LiveLabel[] = Object.freeze([]);

export interface Labelled {
  labels: readonly LiveLabel[];
}

export class LiveProp implements Labelled {
  labels: readonly LiveLabel[] = NO_LABELS;
  deleted = false;

  constructor(
    readonly name: string,
    public data: PropData,
    public pos: SourcePosition | undefined,
  ) {}
}

export class LiveNode implements Labelled {
  props: LiveProp[] = [];
  children: LiveNode[] = [];
  parent: LiveNode | undefined = undefined;
  labels: readonly LiveLabel[] = NO_LABELS;
  deleted = false;
  /** The phandle dtc has given the node (explicit or allocated); 0 when none. */
  phandle = 0;
  omitIfUnused = false;
  referenced = false;

  constructor(
    public name: string,
    public pos: SourcePosition | undefined,
  ) {}

  get fullpath(): string {
    if (!this.parent) return '/';
    const parts: string[] = [];
    for (let n: LiveNode | undefined = this; n?.parent; n = n.parent) parts.push(n.name);
    return `/${parts.reverse().join('/')}`;
  }

  /** The name before '@'. */
  get basename(): string {
    const at = this.name.indexOf('@');
    return at < 0 ? this.name : this.name.slice(0, at);
  }

  /** The live (not deleted) property `name`. */
  prop(name: string): LiveProp | undefined {
    for (const p of this.props) if (!p.deleted && p.name === name) return p;
    return undefined;
  }

  /** The live child named exactly `name`. */
  child(name: string): LiveNode | undefined {
    for (const c of this.children) if (!c.deleted && c.name === name) return c;
    return undefined;
  }

  addProp(p: LiveProp): void {
    this.props.push(p);
  }

  addChild(c: LiveNode): void {
    c.parent = this;
    this.children.push(c);
  }
}

/** dtc's add_label: a label already there (even deleted) is revived in place, a new one goes first. */
export function addLabel(holder: Labelled, name: string, pos: SourcePosition): void {
  for (const l of holder.labels) {
    if (l.name === name) {
      l.deleted = false;
      return;
    }
  }
  holder.labels = [{ name, deleted: false, pos }, ...holder.labels];
}

export function liveLabels(labels: readonly LiveLabel[]): string[] {
  const out: string[] = [];
  for (const l of labels) if (!l.deleted) out.push(l.name);
  return out;
}

export function hasLiveLabel(labels: readonly LiveLabel[], name: string): boolean {
  for (const l of labels) if (!l.deleted && l.name === name) return true;
  return false;
}

function deleteProp(p: LiveProp): void {
  p.deleted = true;
  for (const l of p.labels) l.deleted = true;
}

/** dtc's delete_node: the node, its live subtree, their properties and labels are all marked deleted. */
export function deleteNode(n: LiveNode): void {
  n.deleted = true;
  for (const c of n.children) if (!c.deleted) deleteNode(c);
  for (const p of n.props) if (!p.deleted) deleteProp(p);
  for (const l of n.labels) l.deleted = true;
}

export type PhandleFormat = 'epapr' | 'legacy' | 'both';

/**
 * The tree under construction plus the lookups dtc does by walking it (by label, path and phandle), kept as
 * indexes so that a source with many references compiles in linear time.
 */
export class LiveTree {
  root: LiveNode = new LiveNode('', undefined);
  /** Every node that was ever given a label, by label; a lookup checks the holder is still live and attached. */
  private readonly labelHolders = new Map<string, LiveNode[]>();
  private readonly byPhandle = new Map<number, LiveNode>();
  private nextPhandle = 1;
  private nextFragment = 0;

  constructor(readonly phandleFormat: PhandleFormat = 'epapr') {}

  addNodeLabel(n: LiveNode, name: string, pos: SourcePosition): void {
    addLabel(n, name, pos);
    let holders = this.labelHolders.get(name);
    if (!holders) this.labelHolders.set(name, (holders = []));
    if (!holders.includes(n)) holders.push(n);
  }

  /** Live and reachable from the root through live nodes. */
  isAttached(n: LiveNode): boolean {
    let m: LiveNode | undefined = n;
    for (; m?.parent; m = m.parent) if (m.deleted) return false;
    return m === this.root;
  }

  /** dtc's get_node_by_label: the first node in tree order that carries the live label. */
  nodeByLabel(label: string): LiveNode | undefined {
    const holders = this.labelHolders.get(label);
    if (!holders) return undefined;
    let best: LiveNode | undefined;
    for (const n of holders) {
      if (!hasLiveLabel(n.labels, label) || !this.isAttached(n)) continue;
      if (!best || precedes(n, best)) best = n;
    }
    return best;
  }

  /** dtc's get_node_by_path: components match node names exactly; repeated slashes are skipped. */
  nodeByPath(path: string): LiveNode | undefined {
    let n = this.root;
    let i = 0;
    for (;;) {
      while (path[i] === '/') i++;
      if (i >= path.length) return n.deleted ? undefined : n;
      const slash = path.indexOf('/', i);
      const comp = slash < 0 ? path.slice(i) : path.slice(i, slash);
      const c = n.child(comp);
      if (!c) return undefined;
      if (slash < 0) return c;
      n = c;
      i = slash + 1;
    }
  }

  /** dtc's get_node_by_ref: `/` is the root, `/...` a path, anything else a label. */
  nodeByRef(ref: string): LiveNode | undefined {
    if (ref === '/') return this.root;
    return ref.startsWith('/') ? this.nodeByPath(ref) : this.nodeByLabel(ref);
  }

  nodeByPhandle(ph: number): LiveNode | undefined {
    const n = this.byPhandle.get(ph);
    return n && n.phandle === ph && this.isAttached(n) ? n : undefined;
  }

  setPhandle(n: LiveNode, ph: number): void {
    n.phandle = ph;
    this.byPhandle.set(ph, n);
  }

  /**
   * dtc's get_node_phandle: the node's phandle, allocating the lowest free one above the last allocated when it
   * has none, and adding its `phandle` (or `linux,phandle`) property at the end of its properties.
   */
  nodePhandle(n: LiveNode): number {
    if (n.phandle !== 0 && n.phandle !== 0xffffffff) return n.phandle;
    while (this.nodeByPhandle(this.nextPhandle)) this.nextPhandle++;
    const ph = this.nextPhandle;
    this.setPhandle(n, ph);
    const cell = (): PropData => {
      const d = new PropData(4);
      d.appendU32(ph);
      return d;
    };
    // A node that already has the property refers to itself (`phandle = <&me>`); the caller patches it.
    if (this.phandleFormat !== 'epapr' && !n.prop('linux,phandle')) {
      n.addProp(new LiveProp('linux,phandle', cell(), undefined));
    }
    if (this.phandleFormat !== 'legacy' && !n.prop('phandle')) n.addProp(new LiveProp('phandle', cell(), undefined));
    return ph;
  }

  /** dtc's merge_nodes: `update`'s labels, properties and children go into `target`; same names are merged. */
  merge(target: LiveNode, update: LiveNode): LiveNode {
    target.deleted = false;
    for (const l of update.labels) this.addNodeLabel(target, l.name, l.pos);

    for (const np of update.props) {
      if (np.deleted) {
        const victim = target.props.find((p) => p.name === np.name);
        if (victim) deleteProp(victim);
        continue;
      }
      const old = target.props.find((p) => p.name === np.name);
      if (old) {
        for (const l of np.labels) addLabel(old, l.name, l.pos);
        old.data = np.data;
        old.deleted = false;
        old.pos = np.pos;
      } else {
        target.addProp(np);
      }
    }

    for (const nc of update.children) {
      nc.parent = undefined;
      if (nc.deleted) {
        const victim = target.children.find((c) => c.name === nc.name);
        if (victim) deleteNode(victim);
        continue;
      }
      const old = target.children.find((c) => c.name === nc.name);
      if (old) this.merge(old, nc);
      else target.addChild(nc);
    }
    update.children = [];
    return target;
  }

  /**
   * dtc's add_orphan_node, for `&ref { ... }` in a plugin whose target is not in this source: a new
   * `fragment@N` with `target = <&ref>` (or `target-path = "/path"`) and the block as its `__overlay__`.
   */
  addOrphan(block: LiveNode, ref: string, refPos: SourcePosition): void {
    const d = new PropData();
    let prop: LiveProp;
    if (ref.startsWith('/')) {
      d.appendBytes(new TextEncoder().encode(ref));
      d.appendByte(0);
      prop = new LiveProp('target-path', d, undefined);
    } else {
      d.addMarker('phandle', ref, refPos);
      d.appendU32(0xffffffff);
      prop = new LiveProp('target', d, undefined);
    }
    const frag = new LiveNode(`fragment@${this.nextFragment++}`, refPos);
    frag.addProp(prop);
    block.name = '__overlay__';
    frag.addChild(block);
    this.root.addChild(frag);
  }

  /** dtc's guess_boot_cpuid: `reg` of the first child of /cpus (deleted or not, as dtc looks), when one cell. */
  guessBootCpuid(): number {
    const cpus = this.nodeByPath('/cpus');
    const first = cpus?.children[0];
    const reg = first?.prop('reg');
    if (!reg || reg.data.length !== 4) return 0;
    const b = reg.data.bytes;
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }
}

/** Does `a` come before `b` in a depth-first walk of their tree? */
export function precedes(a: LiveNode, b: LiveNode): boolean {
  const chain = (n: LiveNode): LiveNode[] => {
    const out: LiveNode[] = [];
    for (let m: LiveNode | undefined = n; m; m = m.parent) out.push(m);
    return out.reverse();
  };
  const ca = chain(a);
  const cb = chain(b);
  let i = 0;
  while (i < ca.length && i < cb.length && ca[i] === cb[i]) i++;
  if (i === ca.length) return true; // a is an ancestor of b (or b itself)
  if (i === cb.length) return false;
  const parent = ca[i - 1];
  if (!parent) return false;
  return parent.children.indexOf(ca[i]!) < parent.children.indexOf(cb[i]!);
}

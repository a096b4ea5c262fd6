// The live device tree: ordered nodes and properties (insertion order kept, as libfdt and dtc keep it),
// labels, phandles, and the mutation API every other part of dt/ builds on.
//
// Property values are byte arrays and are treated as immutable: a parsed tree may hold views into
// the blob it came from, and clones share values. Change a value by setting a new one.
import { DtTreeError } from './errors';
import {
  EMPTY,
  decodeString,
  decodeStringList,
  decodeU32,
  decodeU32Array,
  decodeU64,
  encodeString,
  encodeStringList,
  encodeU32,
  encodeU64,
} from './value';

const NO_LABELS: readonly string[] = Object.freeze([]);

/** Property labels live beside the properties: few properties have one, and a parsed tree has none. */
const propertyLabels = new WeakMap<DtProperty, string[]>();

export class DtProperty {
  /** The value itself (off < 0), or the blob the value is a slice of (bytes [off, off + len)). */
  private b: Uint8Array;
  private off = -1;
  private len: number;

  constructor(
    public name: string,
    value: Uint8Array,
    labels?: string[],
  ) {
    this.b = value;
    this.len = value.length;
    if (labels) propertyLabels.set(this, labels);
  }

  /**
   * A property whose value is bytes [offset, offset + length) of `blob`. The view is made on first
   * access: a parsed tree costs one small object per property until its values are read.
   */
  static view(name: string, blob: Uint8Array, offset: number, length: number): DtProperty {
    const p = new DtProperty(name, blob);
    p.off = offset;
    p.len = length;
    return p;
  }

  get value(): Uint8Array {
    if (this.off >= 0) {
      this.b = this.b.subarray(this.off, this.off + this.len);
      this.off = -1;
    }
    return this.b;
  }

  set value(v: Uint8Array) {
    this.b = v;
    this.off = -1;
    this.len = v.length;
  }

  /** The value's length in bytes (without materializing a lazy value). */
  get length(): number {
    return this.len;
  }

  /** Copy the value into `dst` at `at` (without materializing a lazy value). */
  copyTo(dst: Uint8Array, at: number): void {
    const src = this.b;
    const n = this.len;
    const off = this.off < 0 ? 0 : this.off;
    if (n <= 32) for (let i = 0; i < n; i++) dst[at + i] = src[off + i]!;
    else dst.set(this.off < 0 ? src : src.subarray(off, off + n), at);
  }

  /** Where a lazily viewed value lives ([blob, offset]); undefined once the value has been read or set. */
  get source(): [Uint8Array, number] | undefined {
    return this.off >= 0 ? [this.b, this.off] : undefined;
  }

  get labels(): string[] {
    let l = propertyLabels.get(this);
    if (l === undefined) {
      l = [];
      propertyLabels.set(this, l);
    }
    return l;
  }

  set labels(l: string[]) {
    propertyLabels.set(this, l);
  }

  /** The labels, without creating a list when there is none. */
  readLabels(): readonly string[] {
    return propertyLabels.get(this) ?? NO_LABELS;
  }

  /** A copy sharing the (immutable) value; a lazy value stays lazy. */
  clone(): DtProperty {
    const l = propertyLabels.get(this);
    const c = new DtProperty(this.name, this.b, l && l.length > 0 ? [...l] : undefined);
    c.off = this.off;
    c.len = this.len;
    return c;
  }
}

/** A `/memreserve/` entry: a physical range the OS must not use. */
export interface MemReserve {
  address: bigint;
  size: bigint;
  labels?: string[];
}

function checkNodeName(name: string): void {
  if (name.length === 0) throw new DtTreeError('node name must not be empty');
  if (name.includes('/') || name.includes('\0')) {
    throw new DtTreeError(`node name ${JSON.stringify(name)} must not contain '/' or NUL`);
  }
}

function checkPropertyName(name: string): void {
  if (name.length === 0) throw new DtTreeError('property name must not be empty');
  if (name.includes('\0')) throw new DtTreeError(`property name ${JSON.stringify(name)} must not contain NUL`);
}

export class DtNode {
  parent: DtNode | undefined = undefined;
  readonly properties: DtProperty[] = [];
  readonly children: DtNode[] = [];

  private l: string[] | undefined;

  /** `name` is the full node name with any unit address (`cpu@0`); the root's name is empty. */
  constructor(
    public name: string,
    labels?: string[],
  ) {
    this.l = labels;
  }

  get labels(): string[] {
    let l = this.l;
    if (l === undefined) {
      l = [];
      this.l = l;
    }
    return l;
  }

  set labels(l: string[]) {
    this.l = l;
  }

  /** The labels, without creating a list when there is none. */
  readLabels(): readonly string[] {
    return this.l ?? NO_LABELS;
  }

  hasLabel(label: string): boolean {
    return this.l !== undefined && this.l.includes(label);
  }

  get isRoot(): boolean {
    return this.parent === undefined && this.name === '';
  }

  /** The name before `@`. */
  get nodeName(): string {
    const at = this.name.indexOf('@');
    return at < 0 ? this.name : this.name.slice(0, at);
  }

  /** The unit address after `@`, or undefined when there is none. */
  get unitAddress(): string | undefined {
    const at = this.name.indexOf('@');
    return at < 0 ? undefined : this.name.slice(at + 1);
  }

  get path(): string {
    if (!this.parent) return '/';
    const parts: string[] = [];
    for (let n: DtNode | undefined = this; n && n.parent; n = n.parent) parts.push(n.name);
    return `/${parts.reverse().join('/')}`;
  }

  get depth(): number {
    let d = 0;
    for (let n = this.parent; n; n = n.parent) d++;
    return d;
  }

  // ---- properties ----

  property(name: string): DtProperty | undefined {
    for (const p of this.properties) if (p.name === name) return p;
    return undefined;
  }

  value(name: string): Uint8Array | undefined {
    return this.property(name)?.value;
  }

  has(name: string): boolean {
    return this.property(name) !== undefined;
  }

  /** Set a property's value: replaced in place (keeping its position and labels) or appended. */
  setProperty(name: string, value: Uint8Array, labels?: string[]): DtProperty {
    checkPropertyName(name);
    const existing = this.property(name);
    if (existing) {
      existing.value = value;
      if (labels) for (const l of labels) if (!existing.labels.includes(l)) existing.labels.push(l);
      return existing;
    }
    const p = new DtProperty(name, value, labels ? [...labels] : undefined);
    this.properties.push(p);
    return p;
  }

  setEmpty(name: string): DtProperty {
    return this.setProperty(name, EMPTY);
  }

  setU32(name: string, values: number | readonly number[]): DtProperty {
    return this.setProperty(name, encodeU32(values));
  }

  setU64(name: string, values: bigint | readonly bigint[]): DtProperty {
    return this.setProperty(name, encodeU64(values));
  }

  setString(name: string, value: string): DtProperty {
    return this.setProperty(name, encodeString(value));
  }

  setStringList(name: string, values: readonly string[]): DtProperty {
    return this.setProperty(name, encodeStringList(values));
  }

  removeProperty(name: string): boolean {
    const i = this.properties.findIndex((p) => p.name === name);
    if (i < 0) return false;
    this.properties.splice(i, 1);
    return true;
  }

  renameProperty(from: string, to: string): void {
    checkPropertyName(to);
    const p = this.property(from);
    if (!p) throw new DtTreeError(`${this.path}: no property ${from}`);
    if (from !== to && this.has(to)) throw new DtTreeError(`${this.path}: property ${to} already exists`);
    p.name = to;
  }

  // ---- typed getters (undefined when absent or of the wrong shape) ----

  u32(name: string): number | undefined {
    const v = this.value(name);
    return v && decodeU32(v);
  }

  u32s(name: string): number[] | undefined {
    const v = this.value(name);
    return v && decodeU32Array(v);
  }

  u64(name: string): bigint | undefined {
    const v = this.value(name);
    return v && decodeU64(v);
  }

  string(name: string): string | undefined {
    const v = this.value(name);
    return v && decodeString(v);
  }

  strings(name: string): string[] | undefined {
    const v = this.value(name);
    return v && decodeStringList(v);
  }

  /** A boolean property is true when present (whatever its value). */
  bool(name: string): boolean {
    return this.has(name);
  }

  /** The node's phandle (`phandle`, or the legacy `linux,phandle`), if it has one. */
  get phandle(): number | undefined {
    return this.u32('phandle') ?? this.u32('linux,phandle');
  }

  // ---- children ----

  /** The child whose full name is `name`. */
  child(name: string): DtNode | undefined {
    for (const c of this.children) if (c.name === name) return c;
    return undefined;
  }

  /**
   * libfdt's path-component match: an exact name, or, when `component` has no unit address,
   * the first child whose name before `@` equals it.
   */
  findChild(component: string): DtNode | undefined {
    const exact = this.child(component);
    if (exact || component.includes('@')) return exact;
    for (const c of this.children) if (c.nodeName === component) return c;
    return undefined;
  }

  addChild(name: string, labels?: string[]): DtNode {
    checkNodeName(name);
    if (this.child(name)) throw new DtTreeError(`${this.path}: node ${name} already exists`);
    const n = new DtNode(name, labels ? [...labels] : undefined);
    n.parent = this;
    this.children.push(n);
    return n;
  }

  /** The child named `name`, created (appended) when missing. */
  ensureChild(name: string): DtNode {
    return this.child(name) ?? this.addChild(name);
  }

  removeChild(nameOrNode: string | DtNode): boolean {
    const i =
      typeof nameOrNode === 'string'
        ? this.children.findIndex((c) => c.name === nameOrNode)
        : this.children.indexOf(nameOrNode);
    if (i < 0) return false;
    const [gone] = this.children.splice(i, 1);
    gone!.parent = undefined;
    return true;
  }

  rename(name: string): void {
    checkNodeName(name);
    if (!this.parent) throw new DtTreeError('the root node cannot be renamed');
    if (name !== this.name && this.parent.child(name)) {
      throw new DtTreeError(`${this.parent.path}: node ${name} already exists`);
    }
    this.name = name;
  }

  /** This node and every descendant, depth first, in structure-block order. */
  *walk(): Generator<DtNode> {
    const stack: DtNode[] = [this];
    while (stack.length > 0) {
      const n = stack.pop()!;
      yield n;
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
    }
  }

  /** A deep copy (values are shared; they are immutable). The copy has no parent. */
  clone(): DtNode {
    const copy = new DtNode(this.name, this.l && [...this.l]);
    for (const p of this.properties) copy.properties.push(p.clone());
    for (const c of this.children) {
      const cc = c.clone();
      cc.parent = copy;
      copy.children.push(cc);
    }
    return copy;
  }
}

/** A whole device tree: the root node, the memory reservation map and the boot CPU. */
export class DeviceTree {
  root: DtNode = new DtNode('');
  memReserve: MemReserve[] = [];
  bootCpuidPhys = 0;
  /**
   * The strings block of the blob this tree was parsed from (or that an overlay left), if any. toFdt
   * keeps it and appends new names as libfdt does, so a parsed-then-edited tree serializes as the
   * same blob edited in place with libfdt and packed. Undefined for trees built from scratch.
   */
  stringsBlock: Uint8Array | undefined = undefined;

  /** The node at an absolute path (`/`, `/cpus/cpu@0`); components match as libfdt matches them. */
  findNode(path: string): DtNode | undefined {
    if (!path.startsWith('/')) return undefined;
    let n: DtNode | undefined = this.root;
    for (const comp of path.split('/')) {
      if (comp === '') continue;
      n = n.findChild(comp);
      if (!n) return undefined;
    }
    return n;
  }

  /** The node at `path`, creating missing nodes along the way. */
  ensureNode(path: string): DtNode {
    if (!path.startsWith('/')) throw new DtTreeError(`path ${JSON.stringify(path)} is not absolute`);
    let n = this.root;
    for (const comp of path.split('/')) if (comp !== '') n = n.findChild(comp) ?? n.addChild(comp);
    return n;
  }

  *walk(): Generator<DtNode> {
    yield* this.root.walk();
  }

  nodeByPhandle(phandle: number): DtNode | undefined {
    if (phandle === 0 || phandle === 0xffffffff) return undefined;
    for (const n of this.walk()) if (n.phandle === phandle) return n;
    return undefined;
  }

  /** The largest phandle in use (0 when none), as libfdt's fdt_find_max_phandle. */
  maxPhandle(): number {
    let max = 0;
    for (const n of this.walk()) {
      const ph = n.phandle;
      if (ph !== undefined && ph !== 0xffffffff && ph > max) max = ph;
    }
    return max;
  }

  /** The node carrying `label`, if any. */
  nodeByLabel(label: string): DtNode | undefined {
    for (const n of this.walk()) if (n.hasLabel(label)) return n;
    return undefined;
  }

  clone(): DeviceTree {
    const t = new DeviceTree();
    t.root = this.root.clone();
    t.memReserve = this.memReserve.map((r) => ({ ...r, ...(r.labels ? { labels: [...r.labels] } : {}) }));
    t.bootCpuidPhys = this.bootCpuidPhys;
    t.stringsBlock = this.stringsBlock;
    return t;
  }
}

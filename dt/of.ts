// Queries in the spirit of Linux's of_* helpers (drivers/of/base.c, property.c): find nodes by path,
// alias, label, phandle and compatible; read typed properties; status. Absent things are `undefined`;
// present but malformed values are a DtQueryError carrying the errno Linux returns.
import { DtQueryError } from './errors';
import type { DeviceTree, DtNode } from './tree';
import { decodeStringList, readCells } from './value';

/** The root of the tree a node belongs to. */
export function ofRoot(node: DtNode): DtNode {
  let n = node;
  while (n.parent) n = n.parent;
  return n;
}

/** of_find_node_by_phandle, from any node of the tree (phandle or linux,phandle; 0 and ~0 match nothing). */
export function ofFindNodeByPhandle(from: DtNode | DeviceTree, phandle: number): DtNode | undefined {
  if (phandle === 0 || phandle === 0xffffffff) return undefined;
  const root = 'root' in from ? from.root : ofRoot(from);
  for (const n of root.walk()) if (n.phandle === phandle) return n;
  return undefined;
}

/** The value of /aliases/<alias>, if it is a string. */
export function ofAlias(tree: DeviceTree, alias: string): string | undefined {
  return tree.findNode('/aliases')?.string(alias);
}

/**
 * of_find_node_opts_by_path: an absolute path, or one that starts with an alias (`serial0`,
 * `ethernet0/mdio`); text after the first ':' is options (`serial0:115200n8`), returned separately.
 */
export function ofFindNodeByPath(tree: DeviceTree, path: string): { node: DtNode; options: string | undefined } | undefined {
  const colon = path.indexOf(':');
  const options = colon < 0 ? undefined : path.slice(colon + 1);
  let p = colon < 0 ? path : path.slice(0, colon);
  if (!p.startsWith('/')) {
    const slash = p.indexOf('/');
    const alias = slash < 0 ? p : p.slice(0, slash);
    const target = ofAlias(tree, alias);
    if (target === undefined || !target.startsWith('/')) return undefined;
    p = target + (slash < 0 ? '' : p.slice(slash));
  }
  const node = tree.findNode(p);
  return node && { node, options };
}

/** A node by label: one the tree carries (from DTS), else an entry of /__symbols__ (a blob built with -@). */
export function ofFindNodeByLabel(tree: DeviceTree, label: string): DtNode | undefined {
  const direct = tree.nodeByLabel(label);
  if (direct) return direct;
  const path = tree.findNode('/__symbols__')?.string(label);
  return path === undefined ? undefined : tree.findNode(path);
}

/** The entries of a node's `compatible`, most specific first (empty when absent or malformed). */
export function ofCompatibles(node: DtNode): string[] {
  const v = node.value('compatible');
  return (v && decodeStringList(v)) ?? [];
}

/**
 * __of_device_is_compatible's score for one compatible string: higher is a better match (an earlier
 * entry of the node's list), 0 when the node is not compatible.
 */
export function ofDeviceIsCompatible(node: DtNode, compat: string): number {
  const list = ofCompatibles(node);
  const i = list.findIndex((c) => c.toLowerCase() === compat.toLowerCase());
  return i < 0 ? 0 : Number.MAX_SAFE_INTEGER - i;
}

/** of_match_node: the table entry whose compatible matches the node best (earliest in the node's list). */
export function ofMatchNode<T extends { compatible: string }>(node: DtNode, table: readonly T[]): T | undefined {
  let best: T | undefined;
  let bestScore = 0;
  for (const entry of table) {
    const score = ofDeviceIsCompatible(node, entry.compatible);
    if (score > bestScore) {
      best = entry;
      bestScore = score;
    }
  }
  return best;
}

/** Every node compatible with `compat`, in structure order (of_find_compatible_node, repeated). */
export function ofFindCompatibleNodes(tree: DeviceTree, compat: string): DtNode[] {
  return [...tree.walk()].filter((n) => ofDeviceIsCompatible(n, compat) > 0);
}

/** of_device_is_available: no `status`, or `status` is "okay" or "ok". */
export function ofDeviceIsAvailable(node: DtNode): boolean {
  const v = node.value('status');
  if (v === undefined) return true;
  const s = node.string('status');
  return s === 'okay' || s === 'ok';
}

function need(node: DtNode, name: string): Uint8Array | undefined {
  const v = node.value(name);
  if (v !== undefined && v.length === 0) throw new DtQueryError('ENODATA', `${node.path}: ${name} is empty`);
  return v;
}

/** of_property_read_u32_index. */
export function ofReadU32(node: DtNode, name: string, index = 0): number | undefined {
  const v = need(node, name);
  if (v === undefined) return undefined;
  if ((index + 1) * 4 > v.length) throw new DtQueryError('EOVERFLOW', `${node.path}: ${name} has no cell ${index}`);
  return new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(index * 4);
}

/** of_property_read_u64_index. */
export function ofReadU64(node: DtNode, name: string, index = 0): bigint | undefined {
  const v = need(node, name);
  if (v === undefined) return undefined;
  if ((index + 1) * 8 > v.length) throw new DtQueryError('EOVERFLOW', `${node.path}: ${name} has no 64-bit value ${index}`);
  return new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(index * 8);
}

/** of_property_read_u32_array: every cell; EINVAL when the length is not a multiple of 4. */
export function ofReadU32Array(node: DtNode, name: string): number[] | undefined {
  const v = need(node, name);
  if (v === undefined) return undefined;
  if (v.length % 4 !== 0) throw new DtQueryError('EINVAL', `${node.path}: ${name} is ${v.length} bytes, not whole cells`);
  return node.u32s(name);
}

/** of_property_read_string_array: the strings of a string list; EILSEQ-like content is EINVAL. */
export function ofReadStrings(node: DtNode, name: string): string[] | undefined {
  const v = need(node, name);
  if (v === undefined) return undefined;
  if (v[v.length - 1] !== 0) throw new DtQueryError('EINVAL', `${node.path}: ${name} is not NUL-terminated`);
  const out: string[] = [];
  const d = new TextDecoder();
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] === 0) {
      out.push(d.decode(v.subarray(start, i)));
      start = i + 1;
    }
  }
  return out;
}

/** of_property_read_string_index. */
export function ofReadString(node: DtNode, name: string, index = 0): string | undefined {
  const list = ofReadStrings(node, name);
  if (list === undefined) return undefined;
  if (index >= list.length) throw new DtQueryError('ENODATA', `${node.path}: ${name} has no string ${index}`);
  return list[index];
}

/** of_property_match_string: the index of `s` in a string list, or -1. */
export function ofMatchString(node: DtNode, name: string, s: string): number {
  return ofReadStrings(node, name)?.indexOf(s) ?? -1;
}

/** of_property_read_bool: present (with or without a value). */
export function ofReadBool(node: DtNode, name: string): boolean {
  return node.has(name);
}

/** A number of `cells` cells starting at cell `at` of a property, as a bigint (EOVERFLOW when short). */
export function ofReadCells(node: DtNode, name: string, at: number, cells: number): bigint | undefined {
  const v = node.value(name);
  if (v === undefined) return undefined;
  const r = readCells(v, at, cells);
  if (r === undefined) throw new DtQueryError('EOVERFLOW', `${node.path}: ${name} has no cells ${at}..${at + cells - 1}`);
  return r;
}

// toDts: the text `dtc -I dtb -O dts` prints for a tree (treesource.c), byte for byte, including how
// dtc guesses between strings, cells and bytes, its escapes, `/memreserve/` lines and (with `sort`)
// the order `dtc -s` gives. dtc also drops a `name` property that merely repeats the node's name
// (checks.c, name_properties); so does this printer.
import { binaryKey, compareNames } from './text';
import type { DeviceTree, DtNode, DtProperty, MemReserve } from './tree';

export interface ToDtsOptions {
  /** Sort reservations, properties and nodes as `dtc -s` does. */
  sort?: boolean;
  /**
   * Which dtc's output to reproduce: '1.6' (default; Debian 12's dtc 1.6.1) prints a string list as
   * one string with `\0` escapes; '1.7' (dtc 1.7.x) prints `"a", "b"`.
   */
  dialect?: '1.6' | '1.7';
}

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** C's isprint in the "C" locale, plus NUL and the escapable controls: what dtc calls a string byte. */
function isStringByte(c: number): boolean {
  return (c >= 0x20 && c <= 0x7e) || c === 0 || (c >= 7 && c <= 13);
}

type Guess = 'string' | 'cells' | 'bytes';

/** treesource.c's guess_value_type for a value without type markers (as every value read from a blob). */
export function guessValueType(v: Uint8Array): Guess {
  const len = v.length;
  let notString = 0;
  let nul = 0;
  for (let i = 0; i < len; i++) {
    const c = v[i]!;
    if (c === 0) nul++;
    else if (!isStringByte(c)) notString++;
  }
  if (len > 0 && v[len - 1] === 0 && notString === 0 && nul <= len - nul) return 'string';
  if (len % 4 === 0) return 'cells';
  return 'bytes';
}

const ESCAPES: Record<number, string> = {
  7: '\\a',
  8: '\\b',
  9: '\\t',
  10: '\\n',
  11: '\\v',
  12: '\\f',
  13: '\\r',
  0x5c: '\\\\',
  0x22: '\\"',
  0: '\\0',
};

/** write_propval_string: bytes [start, end) quoted, the final NUL at `end` not printed. */
function quoted(v: Uint8Array, start: number, end: number): string {
  let s = '"';
  for (let i = start; i < end; i++) {
    const c = v[i]!;
    const esc = ESCAPES[c];
    if (esc !== undefined) s += esc;
    else if (c >= 0x20 && c <= 0x7e) s += String.fromCharCode(c);
    // unreachable for guessed strings; dtc prints the (signed, sign-extended) char with %02x
    else s += `\\x${(c >= 0x80 ? (0xffffff00 | c) >>> 0 : c).toString(16).padStart(2, '0')}`;
  }
  return `${s}"`;
}

function cells(v: Uint8Array): string {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  let s = '<';
  for (let i = 0; i < v.length; i += 4) {
    const c = dv.getUint32(i);
    if (i > 0) s += ' ';
    s += c < 16 ? `0x0${c.toString(16)}` : `0x${c.toString(16)}`;
  }
  return `${s}>`;
}

function bytes(v: Uint8Array): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) {
    if (i > 0) s += ' ';
    s += HEX2[v[i]!]!;
  }
  return `${s}]`;
}

function stringList17(v: Uint8Array): string {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] === 0) {
      parts.push(quoted(v, start, i));
      start = i + 1;
    }
  }
  return parts.join(', ');
}

/** The text after a property's name: `;` for an empty value, else ` = <value>;`. */
export function propertyValueText(v: Uint8Array, dialect: '1.6' | '1.7' = '1.6'): string {
  if (v.length === 0) return ';';
  switch (guessValueType(v)) {
    case 'string':
      return ` = ${dialect === '1.7' ? stringList17(v) : quoted(v, 0, v.length - 1)};`;
    case 'cells':
      return ` = ${cells(v)};`;
    default:
      return ` = ${bytes(v)};`;
  }
}

function labelPrefix(labels: readonly string[]): string {
  let s = '';
  for (const l of labels) s += `${l}: `;
  return s;
}

/** The `name` property dtc's name_properties check deletes: a string equal to the node's base name. */
function isRedundantName(node: DtNode, p: DtProperty): boolean {
  if (p.name !== 'name') return false;
  const name = binaryKey(node.name);
  const at = name.indexOf('@');
  const base = at < 0 ? name : name.slice(0, at);
  const v = p.value;
  if (v.length !== base.length + 1) return false;
  for (let i = 0; i < base.length; i++) if (v[i] !== base.charCodeAt(i)) return false;
  return true;
}

/** dtc runs name_properties only when every `name` property in the tree is one string (name_is_string). */
function namesAreStrings(tree: DeviceTree): boolean {
  for (const n of tree.walk()) {
    for (const p of n.properties) {
      if (p.name !== 'name') continue;
      const v = p.value;
      if (v.length === 0 || v[v.length - 1] !== 0 || v.indexOf(0) !== v.length - 1) return false;
    }
  }
  return true;
}

function byName<T extends { name: string }>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => compareNames(a.name, b.name));
}

function compareReserve(a: MemReserve, b: MemReserve): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  if (a.size !== b.size) return a.size < b.size ? -1 : 1;
  return 0;
}

/** Print `tree` as `dtc -I dtb -O dts` (or, with `sort`, `dtc -s -I dtb -O dts`) prints it. */
export function toDts(tree: DeviceTree, opts: ToDtsOptions = {}): string {
  const sort = opts.sort ?? false;
  const dialect = opts.dialect ?? '1.6';
  const dropNames = namesAreStrings(tree);
  const out: string[] = ['/dts-v1/;\n\n'];
  const rsv = sort ? [...tree.memReserve].sort(compareReserve) : tree.memReserve;
  for (const r of rsv) {
    out.push(`${labelPrefix(r.labels ?? [])}/memreserve/\t0x${r.address.toString(16).padStart(16, '0')} 0x${r.size.toString(16).padStart(16, '0')};\n`);
  }

  // Depth-first without recursion: [node, depth, next child index] frames.
  const tabs = (n: number) => '\t'.repeat(n);
  const kids = (n: DtNode) => (sort ? byName(n.children) : n.children);
  const open = (n: DtNode, depth: number) => {
    out.push(`${tabs(depth)}${labelPrefix(n.readLabels())}${n.name === '' && !n.parent ? '/' : n.name} {\n`);
    const props = sort ? byName(n.properties) : n.properties;
    const pre = tabs(depth + 1);
    for (const p of props) {
      if (dropNames && isRedundantName(n, p)) continue;
      out.push(`${pre}${labelPrefix(p.readLabels())}${p.name}${propertyValueText(p.value, dialect)}\n`);
    }
  };
  const stack: Array<{ node: DtNode; children: readonly DtNode[]; next: number }> = [];
  open(tree.root, 0);
  stack.push({ node: tree.root, children: kids(tree.root), next: 0 });
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next < top.children.length) {
      const child = top.children[top.next++]!;
      out.push('\n');
      open(child, stack.length);
      stack.push({ node: child, children: kids(child), next: 0 });
    } else {
      stack.pop();
      out.push(`${tabs(stack.length)}};\n`);
    }
  }
  return out.join('');
}

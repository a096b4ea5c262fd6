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

/** dtc's escapes inside a quoted string (write_propval_string). */
const ESCAPES: Array<string | undefined> = [];
ESCAPES[7] = '\\a';
ESCAPES[8] = '\\b';
ESCAPES[9] = '\\t';
ESCAPES[10] = '\\n';
ESCAPES[11] = '\\v';
ESCAPES[12] = '\\f';
ESCAPES[13] = '\\r';
ESCAPES[0x5c] = '\\\\';
ESCAPES[0x22] = '\\"';
ESCAPES[0] = '\\0';

const HEX = '0123456789abcdef';
const utf8 = new TextEncoder();

/** The output, built as bytes (ASCII text plus UTF-8 names) and decoded once at the end. */
class TextSink {
  buf = new Uint8Array(1 << 16);
  n = 0;

  ensure(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.n + k) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.buf.subarray(0, this.n));
    this.buf = grown;
  }

  /** Text that is ASCII, or UTF-8 encoded when it is not. */
  text(s: string): void {
    this.ensure(s.length * 3);
    const buf = this.buf;
    let n = this.n;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        n = this.n + utf8.encodeInto(s, buf.subarray(this.n)).written;
        break;
      }
      buf[n++] = c;
    }
    this.n = n;
  }

  byte(c: number): void {
    this.ensure(1);
    this.buf[this.n++] = c;
  }

  tabs(k: number): void {
    this.ensure(k);
    this.buf.fill(9, this.n, this.n + k);
    this.n += k;
  }

  /** write_propval_string: bytes [start, end) of v quoted, escapes as dtc prints them. */
  quoted(v: Uint8Array, start: number, end: number): void {
    this.ensure((end - start) * 4 + 2);
    const buf = this.buf;
    let n = this.n;
    buf[n++] = 0x22;
    for (let i = start; i < end; i++) {
      const c = v[i]!;
      const esc = ESCAPES[c];
      if (esc !== undefined) {
        buf[n++] = 0x5c;
        buf[n++] = esc.charCodeAt(1);
      } else if (c >= 0x20 && c <= 0x7e) {
        buf[n++] = c;
      } else {
        // unreachable for guessed strings; dtc prints the (signed, sign-extended) char with %02x
        this.n = n;
        this.text(`\\x${(c >= 0x80 ? (0xffffff00 | c) >>> 0 : c).toString(16).padStart(2, '0')}`);
        n = this.n;
      }
    }
    buf[n++] = 0x22;
    this.n = n;
  }

  /** `<0x01 0xdeadbeef>`: cells printed with %02x. */
  cells(v: Uint8Array): void {
    this.ensure((v.length / 4) * 11 + 2);
    const buf = this.buf;
    let n = this.n;
    buf[n++] = 0x3c;
    for (let i = 0; i < v.length; i += 4) {
      if (i > 0) buf[n++] = 0x20;
      buf[n++] = 0x30;
      buf[n++] = 0x78;
      const c = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
      let digits = 8;
      while (digits > 2 && (c >>> ((digits - 1) * 4)) === 0) digits--;
      for (let d = digits - 1; d >= 0; d--) buf[n++] = HEX.charCodeAt((c >>> (d * 4)) & 15);
    }
    buf[n++] = 0x3e;
    this.n = n;
  }

  /** `[01 02 ff]`. */
  bytes(v: Uint8Array): void {
    this.ensure(v.length * 3 + 2);
    const buf = this.buf;
    let n = this.n;
    buf[n++] = 0x5b;
    for (let i = 0; i < v.length; i++) {
      if (i > 0) buf[n++] = 0x20;
      buf[n++] = HEX.charCodeAt(v[i]! >> 4);
      buf[n++] = HEX.charCodeAt(v[i]! & 15);
    }
    buf[n++] = 0x5d;
    this.n = n;
  }

  /** The text after a property's name: `;` for an empty value, else ` = <value>;`. */
  value(v: Uint8Array, dialect: '1.6' | '1.7'): void {
    if (v.length === 0) return this.text(';');
    this.text(' = ');
    switch (guessValueType(v)) {
      case 'string':
        if (dialect === '1.7') {
          // dtc 1.7 marks each string of a list: "a", "b"
          let start = 0;
          for (let i = 0; i < v.length; i++) {
            if (v[i] !== 0) continue;
            if (start > 0) this.text(', ');
            this.quoted(v, start, i);
            start = i + 1;
          }
        } else {
          this.quoted(v, 0, v.length - 1);
        }
        break;
      case 'cells':
        this.cells(v);
        break;
      default:
        this.bytes(v);
    }
    this.byte(0x3b);
  }

  toString(): string {
    return new TextDecoder().decode(this.buf.subarray(0, this.n));
  }
}

/** The text after a property's name: `;` for an empty value, else ` = <value>;`. */
export function propertyValueText(v: Uint8Array, dialect: '1.6' | '1.7' = '1.6'): string {
  const out = new TextSink();
  out.value(v, dialect);
  return out.toString();
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
  const out = new TextSink();
  out.text('/dts-v1/;\n\n');
  const rsv = sort ? [...tree.memReserve].sort(compareReserve) : tree.memReserve;
  for (const r of rsv) {
    out.text(`${labelPrefix(r.labels ?? [])}/memreserve/\t0x${r.address.toString(16).padStart(16, '0')} 0x${r.size.toString(16).padStart(16, '0')};\n`);
  }

  const kids = (n: DtNode) => (sort ? byName(n.children) : n.children);
  const open = (n: DtNode, depth: number) => {
    out.tabs(depth);
    const labels = n.readLabels();
    if (labels.length > 0) out.text(labelPrefix(labels));
    out.text(n.name === '' && !n.parent ? '/' : n.name);
    out.text(' {\n');
    const props = sort ? byName(n.properties) : n.properties;
    for (const p of props) {
      if (dropNames && isRedundantName(n, p)) continue;
      out.tabs(depth + 1);
      const pl = p.readLabels();
      if (pl.length > 0) out.text(labelPrefix(pl));
      out.text(p.name);
      out.value(p.value, dialect);
      out.byte(10);
    }
  };
  // Depth-first without recursion, so that a deep tree cannot overflow the stack.
  const stack: Array<{ children: readonly DtNode[]; next: number }> = [];
  open(tree.root, 0);
  stack.push({ children: kids(tree.root), next: 0 });
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next < top.children.length) {
      const child = top.children[top.next++]!;
      out.byte(10);
      open(child, stack.length);
      stack.push({ children: kids(child), next: 0 });
    } else {
      stack.pop();
      out.tabs(stack.length);
      out.text('};\n');
    }
  }
  return out.toString();
}

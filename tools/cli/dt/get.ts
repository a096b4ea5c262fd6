// `gunyah dt get <in.dtb> <path> [<prop>] [-t type]`: print a property's value as fdtget does; with no
// property, list the node's properties (fdtget -p), or its subnodes with -l (fdtget -l).
import type { Command } from 'commander';
import { ofFindNodeByPath, parseFdt, type DtNode } from '../../../dt';
import { CliError } from '../errors';
import { readBlobFile, withBlob } from './blob-file';

/** How to print a value: fdtget's conversion letter and unit size (-1: guess 4 or 1), or 64-bit cells. */
interface Display {
  type: 'i' | 'd' | 'u' | 'x' | 's' | undefined;
  size: number;
  u64?: boolean;
}

/** `-t`: u32, u64, s, bytes, or any fdtget type string ([hh|h|l|b][iuxs]). */
export function parseType(t: string | undefined): Display {
  if (t === undefined) return { type: undefined, size: -1 };
  switch (t) {
    case 'u32':
      return { type: 'u', size: 4 };
    case 'u64':
      return { type: 'u', size: 8, u64: true };
    case 'bytes':
      return { type: 'x', size: 1 };
  }
  const m = /^(hh|h|l|b)?([iuxs])$/.exec(t);
  if (!m) throw new CliError(`invalid type ${JSON.stringify(t)}: use u32, u64, s, bytes or an fdtget type such as x, hx, bu`);
  const q = m[1];
  const type = m[2] as Display['type'];
  if (type === 's') return { type, size: -1 };
  return { type, size: q === 'hh' || q === 'b' ? 1 : q === 'h' ? 2 : q === 'l' ? 4 : -1 };
}

/** util_is_printable_string: NUL-terminated, non-empty printable strings only. */
function isPrintableStringList(v: Uint8Array): boolean {
  if (v.length === 0 || v[v.length - 1] !== 0) return false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] === 0) {
      if (i === start) return false;
      start = i + 1;
    } else if (v[i]! < 0x20 || v[i]! > 0x7e) {
      return false;
    }
  }
  return true;
}

/** fdtget's show_data: the text for a value (without the newline). */
export function formatValue(v: Uint8Array, d: Display): string {
  if (v.length === 0) return '';
  if (d.type === 's' || (d.type === undefined && isPrintableStringList(v))) {
    if (v[v.length - 1] !== 0) throw new CliError('Unterminated string');
    const parts: string[] = [];
    let start = 0;
    for (let i = 0; i < v.length; i++) {
      if (v[i] === 0) {
        parts.push(new TextDecoder().decode(v.subarray(start, i)));
        start = i + 1;
      }
    }
    return parts.join(' ');
  }
  let size = d.size;
  if (size === -1) size = v.length % 4 === 0 ? 4 : 1;
  else if (v.length % size !== 0) throw new CliError('Property length must be a multiple of selected data size');
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out: string[] = [];
  for (let i = 0; i < v.length; i += size) {
    if (d.u64) {
      out.push(dv.getBigUint64(i).toString());
      continue;
    }
    const value = size === 4 ? dv.getUint32(i) : size === 2 ? dv.getUint16(i) : v[i]!;
    switch (d.type ?? 'd') {
      case 'x':
        out.push(value.toString(16));
        break;
      case 'u':
        out.push(String(value));
        break;
      default:
        out.push(String(value | 0)); // %d / %i print the cell as a signed int
    }
  }
  return out.join(' ');
}

export function registerGet(dt: Command): void {
  dt.command('get')
    .description('print a property as fdtget does (or list a node\'s properties, or subnodes with -l)')
    .argument('<in.dtb>', 'the blob')
    .argument('<path>', 'node path (an alias may start it)')
    .argument('[prop]', 'property name')
    .option('-t, --type <type>', 'u32 | u64 | s | bytes, or an fdtget type ([hh|h|l|b][iuxs])')
    .option('-l, --list', 'list the subnodes of the node')
    .option('-d, --default <value>', 'print this when the node or property is missing')
    .action((file: string, path: string, prop: string | undefined, opts: { type?: string; list?: boolean; default?: string }) => {
      const display = parseType(opts.type);
      const bytes = readBlobFile(file);
      const tree = withBlob(file, () => parseFdt(bytes));
      const node: DtNode | undefined = ofFindNodeByPath(tree, path)?.node;
      if (!node) {
        if (opts.default !== undefined) return void process.stdout.write(`${opts.default}\n`);
        throw new CliError(`${file}: no node ${path}`);
      }
      if (opts.list) return void process.stdout.write(node.children.map((c) => `${c.name}\n`).join(''));
      if (prop === undefined) return void process.stdout.write(node.properties.map((p) => `${p.name}\n`).join(''));
      const v = node.value(prop);
      if (v === undefined) {
        if (opts.default !== undefined) return void process.stdout.write(`${opts.default}\n`);
        throw new CliError(`${file}: ${node.path} has no property ${prop}`);
      }
      process.stdout.write(`${formatValue(v, display)}\n`);
    });
}

// Interrupts in the spirit of Linux's drivers/of/irq.c: the interrupt parent (interrupt-parent, else
// the nearest ancestor with #interrupt-cells), `interrupts` and `interrupts-extended` specifiers, and
// interrupt-map nexus translation up to the controller that takes the interrupt.
import { DtQueryError } from './errors';
import { ofFindNodeByPhandle } from './of';
import type { DtNode } from './tree';

/** An interrupt as a controller understands it: the controller node and its #interrupt-cells cells. */
export interface DtIrq {
  controller: DtNode;
  args: number[];
}

/** Bound on parent/map hops, so a cyclic interrupt tree fails instead of looping. */
const MAX_HOPS = 64;
/** MAX_PHANDLE_ARGS: no specifier (address + interrupt cells) is longer. */
const MAX_ARGS = 16;

function u32(node: DtNode, name: string): number | undefined {
  const v = node.value(name);
  if (v === undefined || v.length < 4) return undefined;
  return new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(0);
}

function cells(v: Uint8Array): number[] {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= v.length; i += 4) out.push(dv.getUint32(i));
  return out;
}

/** of_irq_find_parent: follow interrupt-parent (or the tree parent) to a node with #interrupt-cells. */
export function ofIrqFindParent(node: DtNode): DtNode | undefined {
  let child: DtNode | undefined = node;
  for (let hops = 0; child && hops < MAX_HOPS; hops++) {
    const ph = u32(child, 'interrupt-parent');
    const p: DtNode | undefined = ph === undefined ? child.parent : ofFindNodeByPhandle(child, ph);
    if (!p || p.has('#interrupt-cells')) return p;
    child = p;
  }
  return undefined;
}

/**
 * of_irq_parse_raw: walk from `irq.controller` (the first interrupt parent) through interrupt-map
 * nexus nodes to an interrupt controller. `addr` is the device's unit address cells (its `reg`).
 */
export function ofIrqParseRaw(start: DtIrq, addr: readonly number[] | undefined): DtIrq {
  let ipar: DtNode | undefined = start.controller;
  let args = [...start.args];
  let intsize: number | undefined;
  for (let hops = 0; ipar && hops < MAX_HOPS; hops++) {
    intsize = u32(ipar, '#interrupt-cells');
    if (intsize !== undefined) break;
    ipar = ofIrqFindParent(ipar);
  }
  if (!ipar || intsize === undefined) throw new DtQueryError('ENOENT', `no interrupt parent with #interrupt-cells above ${start.controller.path}`);
  if (args.length !== intsize) throw new DtQueryError('EINVAL', `${ipar.path}: #interrupt-cells is ${intsize}, specifier has ${args.length} cells`);
  // #address-cells of the parent, looked up the old way (walking up)
  let addrsize = 2;
  for (let n: DtNode | undefined = ipar; n; n = n.parent) {
    const a = u32(n, '#address-cells');
    if (a !== undefined) {
      addrsize = a;
      break;
    }
  }
  if (addrsize + intsize > MAX_ARGS) throw new DtQueryError('EINVAL', `${ipar.path}: specifier of ${addrsize}+${intsize} cells is too long`);
  let match: number[] = [...Array.from({ length: addrsize }, (_, i) => addr?.[i] ?? 0), ...args];

  for (let hops = 0; hops < MAX_HOPS; hops++) {
    const map = ipar.value('interrupt-map');
    if (!map && ipar.has('interrupt-controller')) return { controller: ipar, args };
    let next: DtNode | undefined;
    if (!map) {
      next = ofIrqFindParent(ipar);
    } else {
      const mask = ipar.value('interrupt-map-mask');
      const maskCells = mask ? cells(mask) : [];
      if (!addr && addrsize !== 0) throw new DtQueryError('EINVAL', `${ipar.path}: interrupt-map needs the device's reg`);
      const imap = cells(map);
      let i = 0;
      let found: { par: DtNode; naddr: number; nint: number; at: number } | undefined;
      while (imap.length - i > addrsize + intsize + 1 && !found) {
        let ok = true;
        for (let k = 0; k < addrsize + intsize; k++, i++) {
          const m = maskCells[k] ?? 0xffffffff;
          if (((match[k]! ^ imap[i]!) & m) !== 0) ok = false;
        }
        const par = ofFindNodeByPhandle(ipar, imap[i++]!);
        if (!par) throw new DtQueryError('ENOENT', `${ipar.path}: interrupt-map names phandle 0x${imap[i - 1]!.toString(16)}, which no node has`);
        const nint = u32(par, '#interrupt-cells');
        if (nint === undefined) throw new DtQueryError('EINVAL', `${par.path}: no #interrupt-cells`);
        const naddr = u32(par, '#address-cells') ?? 0;
        if (naddr + nint > MAX_ARGS || imap.length - i < naddr + nint) throw new DtQueryError('EINVAL', `${ipar.path}: interrupt-map entry truncated`);
        if (ok) found = { par, naddr, nint, at: i };
        i += naddr + nint;
      }
      if (!found) throw new DtQueryError('ENOENT', `${ipar.path}: no interrupt-map entry matches <${match.join(' ')}>`);
      if (found.par === ipar) throw new DtQueryError('EINVAL', `${ipar.path}: interrupt-map entry points to itself`);
      match = imap.slice(found.at, found.at + found.naddr + found.nint);
      args = imap.slice(found.at + found.naddr, found.at + found.naddr + found.nint);
      intsize = found.nint;
      addrsize = found.naddr;
      next = found.par;
    }
    if (!next) throw new DtQueryError('ENOENT', `${ipar.path}: interrupt tree ends without a controller`);
    ipar = next;
  }
  throw new DtQueryError('EINVAL', `interrupt tree deeper than ${MAX_HOPS} levels (a cycle?)`);
}

/** The device's `reg` cells that an interrupt-map matches on (its unit address). */
function unitAddress(node: DtNode): number[] | undefined {
  const reg = node.value('reg');
  return reg ? cells(reg) : undefined;
}

/** The entries of `interrupts-extended`: [phandle, #interrupt-cells args...] each. */
function extendedEntries(node: DtNode, v: Uint8Array): Array<{ controller: DtNode | undefined; args: number[] }> {
  const c = cells(v);
  const out: Array<{ controller: DtNode | undefined; args: number[] }> = [];
  for (let i = 0; i < c.length; ) {
    const ph = c[i++]!;
    if (ph === 0) {
      out.push({ controller: undefined, args: [] }); // an empty entry, as of_parse_phandle_with_args allows
      continue;
    }
    const ctl = ofFindNodeByPhandle(node, ph);
    if (!ctl) throw new DtQueryError('ENOENT', `${node.path}: interrupts-extended names phandle 0x${ph.toString(16)}, which no node has`);
    const n = u32(ctl, '#interrupt-cells');
    if (n === undefined) throw new DtQueryError('EINVAL', `${ctl.path}: no #interrupt-cells`);
    if (i + n > c.length) throw new DtQueryError('EINVAL', `${node.path}: interrupts-extended entry for ${ctl.path} is truncated`);
    out.push({ controller: ctl, args: c.slice(i, i + n) });
    i += n;
  }
  return out;
}

/** of_irq_count: how many interrupts the node has. */
export function ofIrqCount(node: DtNode): number {
  const ext = node.value('interrupts-extended');
  if (ext) return extendedEntries(node, ext).length;
  const v = node.value('interrupts');
  if (!v) return 0;
  const p = ofIrqFindParent(node);
  const n = p && u32(p, '#interrupt-cells');
  return n ? Math.floor(v.length / 4 / n) : 0;
}

/** of_irq_parse_one: the index-th interrupt of a device, translated to its controller. */
export function ofIrqParseOne(node: DtNode, index = 0): DtIrq | undefined {
  const addr = unitAddress(node);
  const ext = node.value('interrupts-extended');
  if (ext) {
    const e = extendedEntries(node, ext)[index];
    if (!e) return undefined;
    if (!e.controller) throw new DtQueryError('ENOENT', `${node.path}: interrupts-extended entry ${index} is empty`);
    return ofIrqParseRaw({ controller: e.controller, args: e.args }, addr);
  }
  const v = node.value('interrupts');
  if (!v) return undefined;
  const p = ofIrqFindParent(node);
  if (!p) throw new DtQueryError('EINVAL', `${node.path}: no interrupt parent`);
  const n = u32(p, '#interrupt-cells');
  if (n === undefined) throw new DtQueryError('EINVAL', `${p.path}: no #interrupt-cells`);
  const all = cells(v);
  if ((index + 1) * n > all.length) return undefined;
  return ofIrqParseRaw({ controller: p, args: all.slice(index * n, (index + 1) * n) }, addr);
}

/** Every interrupt of a device (of_irq_parse_one for each index). */
export function ofIrqParseAll(node: DtNode): DtIrq[] {
  const out: DtIrq[] = [];
  const count = ofIrqCount(node);
  for (let i = 0; i < count; i++) {
    const irq = ofIrqParseOne(node, i);
    if (irq) out.push(irq);
  }
  return out;
}

// Device-tree overlays with fdtoverlay's semantics (libfdt's fdt_overlay_apply, dtc 1.6.1): the
// overlay's phandles move above the base's largest, its __local_fixups__ follow them, __fixups__ are
// resolved through the base's __symbols__, each fragment's __overlay__ is merged into its target
// (target = <phandle> or target-path), and the overlay's __symbols__ are added to the base's.
// applyOverlayFdt works on blobs and returns what `fdtoverlay` writes, byte for byte.
import { DtbError } from './errors';
import { FDT_ERR, bytesToBinary, fdtStrerror } from './fdt-cursor';
import { FdtEditor } from './fdt-edit';
import type { FdtLimits } from './fdt-limits';
import { parseFdt } from './fdt-parse';
import { toFdt } from './fdt-write';
import type { DeviceTree } from './tree';

export interface OverlayOptions {
  /** Limits for reading the base and overlay blobs (see FdtLimits). */
  limits?: Partial<FdtLimits>;
  /** Names for error messages (file names), one per overlay. */
  names?: readonly string[];
  /** The base's name in error messages. Default "base". */
  baseName?: string;
  /**
   * Which libfdt to behave as. '1.6' (default; dtc 1.6.1, Debian 12): an overlay node's phandle
   * replaces the phandle of the base node it merges into. '1.7' (dtc 1.7.x): the base node keeps its
   * phandle and the overlay's references to it follow (overlay_prevent_phandle_overwrite); a fixup
   * against a base without __symbols__ then fails with FDT_ERR_BADOFFSET, as 1.7 does.
   */
  libfdt?: '1.6' | '1.7';
}

/** A libfdt failure inside one overlay: the code, what was being done, and where in the overlay. */
class OverlayFail {
  constructor(
    readonly code: number,
    readonly what: string,
    readonly node: number | undefined,
  ) {}
}

const utf8 = new TextDecoder();
/** A binary string (one char per byte) shown as text. */
const show = (s: string) => JSON.stringify(utf8.decode(Uint8Array.from(s, (c) => c.charCodeAt(0))));

function fail(code: number, what: string, node?: number): never {
  throw new OverlayFail(code, what, node);
}

function check(code: number, what: string, node?: number): number {
  if (code < 0) fail(code, what, node);
  return code;
}

/** A property's value read as a C string (up to its first NUL). */
function cString(ed: FdtEditor, data: number, len: number): string {
  const b = ed.bytes(data, len);
  const nul = b.indexOf(0);
  return bytesToBinary(b, 0, nul < 0 ? len : nul);
}

function u32be(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}

/** overlay_adjust_node_phandles: add `delta` to every phandle of the overlay. */
function adjustPhandles(fdto: FdtEditor, node: number, delta: number): void {
  for (const name of ['phandle', 'linux,phandle']) {
    const p = fdto.getProp(node, name);
    if (typeof p === 'number') continue;
    if (p.len !== 4) fail(FDT_ERR.BADPHANDLE, `${name} is ${p.len} bytes, not 4`, node);
    const v = fdto.u32(p.data);
    if (v + delta > 0xffffffff || v + delta === 0xffffffff) fail(FDT_ERR.NOPHANDLES, `${name} 0x${v.toString(16)} + 0x${delta.toString(16)} overflows`, node);
    fdto.raw().set(u32be(v + delta), p.data);
  }
  for (const c of fdto.subnodes(node)) adjustPhandles(fdto, c, delta);
}

/**
 * Walk `tree` alongside its `__local_fixups__` node `fixups` and rewrite every phandle cell listed there
 * with `map`: libfdt's overlay_update_local_node_references (add a delta) and the phandle-overwrite
 * fix-up of libfdt 1.7 (replace one phandle) both walk it the same way.
 */
function mapLocalReferences(fdto: FdtEditor, tree: number, fixups: number, map: (phandle: number) => number): void {
  for (const po of fdto.properties(fixups)) {
    const fx = fdto.property(po);
    if (fx.len % 4 !== 0) fail(FDT_ERR.BADOVERLAY, `__local_fixups__ property ${show(fx.name)} is not a list of cells`, fixups);
    const target = fdto.getProp(tree, fx.name);
    if (typeof target === 'number') fail(FDT_ERR.BADOVERLAY, `__local_fixups__ names property ${show(fx.name)}, which the node lacks`, tree);
    for (let i = 0; i < fx.len; i += 4) {
      const at = fdto.u32(fx.data + i);
      if (at + 4 > target.len) fail(FDT_ERR.BADOVERLAY, `local fixup offset ${at} is outside ${show(fx.name)}`, tree);
      const v = fdto.u32(target.data + at);
      const w = map(v);
      if (w !== v) fdto.raw().set(u32be(w), target.data + at);
    }
  }
  for (const child of fdto.subnodes(fixups)) {
    const name = fdto.name(child);
    const t = fdto.subnodeOffset(tree, name);
    if (t < 0) fail(FDT_ERR.BADOVERLAY, `__local_fixups__ names node ${show(name)}, which the overlay lacks`, tree);
    mapLocalReferences(fdto, t, child, map);
  }
}

/** strtoul(s, &end, 10) with libfdt's check that the whole rest was consumed; -1 when it was not. */
function parseOffset(s: string): number {
  const m = /^[ \t\n\v\f\r]*\+?(\d+)$/.exec(s);
  if (!m) return -1;
  const v = Number(m[1]);
  return v <= 0x7fffffff ? v : -1;
}

/** The phandle of the base node a label names (overlay_fixup_one_phandle's lookup), or a failure. */
function resolveLabel(fdt: FdtEditor, symbols: number, label: string, v17: boolean, at: number): number {
  if (symbols < 0) {
    // 1.7 asks fdt_getprop of the missing node's negative offset, which is FDT_ERR_BADOFFSET
    fail(v17 ? FDT_ERR.BADOFFSET : symbols, `label ${show(label)} cannot be resolved: the base has no /__symbols__`, at);
  }
  const sym = fdt.getProp(symbols, label);
  if (typeof sym === 'number') fail(sym, `label ${show(label)} is not in the base's /__symbols__`, at);
  const symPath = cString(fdt, sym.data, sym.len);
  const node = check(fdt.pathOffset(symPath), `label ${show(label)}: base has no node ${show(symPath)}`, at);
  const phandle = fdt.getPhandle(node);
  if (phandle === 0) fail(FDT_ERR.NOTFOUND, `label ${show(label)}: base node ${show(symPath)} has no phandle`, at);
  return phandle;
}

/** overlay_fixup_phandles: resolve "path:property:offset" entries through the base's __symbols__. */
function fixupPhandles(fdt: FdtEditor, fdto: FdtEditor, v17: boolean): void {
  const fixups = fdto.pathOffset('/__fixups__');
  if (fixups === FDT_ERR.NOTFOUND) return;
  check(fixups, 'finding /__fixups__');
  const symbols = fdt.pathOffset('/__symbols__');
  for (const po of fdto.properties(fixups)) {
    const { name: label, data, len: total } = fdto.property(po);
    // libfdt 1.7 resolves the label once, before reading the entries; 1.6 per entry, after parsing it
    const early = v17 ? resolveLabel(fdt, symbols, label, v17, fixups) : 0;
    const value = bytesToBinary(fdto.bytes(data, total));
    let pos = 0;
    do {
      const end = value.indexOf('\0', pos);
      if (end < 0) fail(FDT_ERR.BADOVERLAY, `__fixups__ ${show(label)}: entry not NUL-terminated`, fixups);
      const entry = value.slice(pos, end);
      pos = end + 1;
      const c1 = entry.indexOf(':');
      if (c1 < 0 || c1 === entry.length - 1) fail(FDT_ERR.BADOVERLAY, `__fixups__ ${show(label)}: malformed entry ${show(entry)}`, fixups);
      const c2 = entry.indexOf(':', c1 + 1);
      if (c2 < 0 || c2 === c1 + 1) fail(FDT_ERR.BADOVERLAY, `__fixups__ ${show(label)}: malformed entry ${show(entry)}`, fixups);
      const path = entry.slice(0, c1);
      const prop = entry.slice(c1 + 1, c2);
      const at = parseOffset(entry.slice(c2 + 1));
      if (at < 0) fail(FDT_ERR.BADOVERLAY, `__fixups__ ${show(label)}: bad offset in ${show(entry)}`, fixups);
      const phandle = v17 ? early : resolveLabel(fdt, symbols, label, v17, fixups);
      const where = fdto.pathOffset(path);
      if (where === FDT_ERR.NOTFOUND) fail(FDT_ERR.BADOVERLAY, `__fixups__ ${show(label)}: overlay has no node ${show(path)}`, fixups);
      check(where, `__fixups__ ${show(label)}: path ${show(path)}`, fixups);
      check(fdto.setPropInplacePartial(where, prop, at, u32be(phandle)), `__fixups__ ${show(label)}: cannot write ${show(prop)} at offset ${at}`, where);
    } while (pos < total);
  }
}

type Target = { off: number; path: string | undefined };

/** overlay_get_target / fdt_overlay_target_offset: the base node a fragment applies to, or a failure. */
function findTarget(fdt: FdtEditor, fdto: FdtEditor, fragment: number): Target | OverlayFail {
  const frag = show(fdto.name(fragment));
  let phandle = 0;
  const t = fdto.getProp(fragment, 'target');
  if (typeof t !== 'number') {
    phandle = t.len === 4 ? fdto.u32(t.data) : 0xffffffff;
    if (phandle === 0xffffffff) return new OverlayFail(FDT_ERR.BADPHANDLE, `fragment ${frag}: unresolved or malformed target`, fragment);
  }
  if (phandle !== 0) {
    const off = fdt.nodeByPhandle(phandle);
    if (off < 0) return new OverlayFail(off, `fragment ${frag}: no base node has phandle 0x${phandle.toString(16)}`, fragment);
    return { off, path: undefined };
  }
  const tp = fdto.getProp(fragment, 'target-path');
  if (typeof tp === 'number') return new OverlayFail(FDT_ERR.BADOVERLAY, `fragment ${frag} has neither target nor target-path`, fragment);
  const path = cString(fdto, tp.data, tp.len);
  const off = fdt.pathOffset(path);
  if (off < 0) return new OverlayFail(off, `fragment ${frag}: base has no node ${show(path)}`, fragment);
  return { off, path };
}

function getTarget(fdt: FdtEditor, fdto: FdtEditor, fragment: number): Target {
  const t = findTarget(fdt, fdto, fragment);
  if (t instanceof OverlayFail) throw t;
  return t;
}

/** overlay_prevent_phandle_overwrite_node (libfdt 1.7): a merged node keeps the base's phandle. */
function keepBasePhandles(fdt: FdtEditor, base: number, fdto: FdtEditor, node: number): void {
  const fdtPh = fdt.getPhandle(base);
  const ovPh = fdto.getPhandle(node);
  if (fdtPh !== 0 && ovPh !== 0) {
    for (const name of ['phandle', 'linux,phandle']) {
      const p = fdto.getProp(node, name);
      if (typeof p !== 'number' && p.len === 4) fdto.raw().set(u32be(fdtPh), p.data);
    }
    const lf = fdto.pathOffset('/__local_fixups__');
    if (lf >= 0) mapLocalReferences(fdto, 0, lf, (v) => (v === ovPh ? fdtPh : v));
  }
  for (const child of fdto.subnodes(node)) {
    const b = fdt.subnodeOffset(base, fdto.name(child));
    if (b >= 0) keepBasePhandles(fdt, b, fdto, child);
  }
}

/** overlay_prevent_phandle_overwrite (libfdt 1.7). */
function preventPhandleOverwrite(fdt: FdtEditor, fdto: FdtEditor): void {
  for (const fragment of fdto.subnodes(0)) {
    const ov = fdto.subnodeOffset(fragment, '__overlay__');
    if (ov === FDT_ERR.NOTFOUND) continue;
    const t = findTarget(fdt, fdto, fragment);
    if (t instanceof OverlayFail) {
      if (t.code === FDT_ERR.NOTFOUND) continue;
      throw t;
    }
    keepBasePhandles(fdt, t.off, fdto, ov);
  }
}

function pathOf(fdt: FdtEditor, node: number): string {
  const p = fdt.getPath(node);
  if (typeof p === 'number') fail(p, 'path of the target');
  return p;
}

/** overlay_apply_node: properties set on the target (new ones first, as libfdt inserts), subnodes merged. */
function applyNode(fdt: FdtEditor, target: number, fdto: FdtEditor, node: number): void {
  for (const po of fdto.properties(node)) {
    const p = fdto.property(po);
    check(fdt.setProp(target, p.name, fdto.bytes(p.data, p.len)), `setting ${show(p.name)}`, node);
  }
  for (const sub of fdto.subnodes(node)) {
    const name = fdto.name(sub);
    let n = fdt.addSubnode(target, name);
    if (n === FDT_ERR.EXISTS) {
      n = fdt.subnodeOffset(target, name);
      if (n === FDT_ERR.NOTFOUND) fail(FDT_ERR.INTERNAL, `node ${show(name)} exists and does not`, sub);
    }
    check(n, `adding node ${show(name)}`, sub);
    applyNode(fdt, n, fdto, sub);
  }
}

/** overlay_merge: every fragment with an __overlay__ node, in order. */
function merge(fdt: FdtEditor, fdto: FdtEditor): void {
  for (const fragment of fdto.subnodes(0)) {
    const ov = fdto.subnodeOffset(fragment, '__overlay__');
    if (ov === FDT_ERR.NOTFOUND) continue;
    const { off } = getTarget(fdt, fdto, fragment);
    applyNode(fdt, off, fdto, ov);
  }
}

/** overlay_symbol_update: the overlay's labels of merged nodes become base __symbols__ entries. */
function updateSymbols(fdt: FdtEditor, fdto: FdtEditor): void {
  const ovSym = fdto.subnodeOffset(0, '__symbols__');
  if (ovSym < 0) return;
  let rootSym = fdt.subnodeOffset(0, '__symbols__');
  if (rootSym === FDT_ERR.NOTFOUND) rootSym = fdt.addSubnode(0, '__symbols__');
  check(rootSym, 'adding /__symbols__ to the base');
  const OVERLAY = '/__overlay__/';
  for (const po of fdto.properties(ovSym)) {
    const { name, data, len } = fdto.property(po);
    const path = bytesToBinary(fdto.bytes(data, len));
    if (len < 1 || path.indexOf('\0') !== len - 1) fail(FDT_ERR.BADVALUE, `__symbols__ ${show(name)} is not one string`, ovSym);
    if (path[0] !== '/') fail(FDT_ERR.BADVALUE, `__symbols__ ${show(name)} is not an absolute path`, ovSym);
    const s = path.indexOf('/', 1);
    if (s < 0 || s >= len - 1) continue; // not inside a fragment: does not end up in the base
    const fragName = path.slice(1, s);
    const tail = len - s; // bytes from the '/' after the fragment name to the end, NUL included
    let rel: string;
    if (tail > OVERLAY.length && path.startsWith(OVERLAY, s)) rel = path.slice(s + OVERLAY.length, len - 1);
    else if (tail === OVERLAY.length && path.startsWith('/__overlay__', s)) rel = '';
    else continue;
    const fragment = fdto.subnodeOffset(0, fragName);
    if (fragment < 0) fail(FDT_ERR.BADOVERLAY, `__symbols__ ${show(name)}: no fragment ${show(fragName)}`, ovSym);
    if (fdto.subnodeOffset(fragment, '__overlay__') < 0) fail(FDT_ERR.BADOVERLAY, `__symbols__ ${show(name)}: fragment has no __overlay__`, fragment);
    const first = getTarget(fdt, fdto, fragment);
    const targetLen = (first.path ?? pathOf(fdt, first.off)).length;
    const size = targetLen + (targetLen > 1 ? 1 : 0) + rel.length + 1;
    const at = check(fdt.setPropPlaceholder(rootSym, name, size), `adding __symbols__ ${show(name)}`, ovSym);
    // the insertion may have moved the target: look it up again, as libfdt does
    const targetPath = first.path ?? pathOf(fdt, getTarget(fdt, fdto, fragment).off);
    const text = `${targetLen > 1 ? targetPath : ''}/${rel}\0`;
    fdt.raw().set(Uint8Array.from(text, (c) => c.charCodeAt(0)), at);
  }
}

/** The blob-level offset of an overlay node, for error reports. */
function overlayOffset(ovBlob: Uint8Array, node: number | undefined): number {
  const structOff = new DataView(ovBlob.buffer, ovBlob.byteOffset).getUint32(8);
  return structOff + (node ?? 0);
}

/**
 * Apply overlays to a base blob in order, exactly as `fdtoverlay -i base -o out overlay...` does, and
 * return the output blob. A failure (unresolvable label, missing target, malformed fixup) is a
 * DtbError naming the libfdt error and the overlay node at fault; the input blobs are never changed.
 */
export function applyOverlayFdt(base: Uint8Array, overlays: readonly Uint8Array[], opts: OverlayOptions = {}): Uint8Array {
  const readOpts = opts.limits ? { limits: opts.limits } : {};
  try {
    parseFdt(base, readOpts);
  } catch (e) {
    if (e instanceof DtbError) throw new DtbError(`${opts.baseName ?? 'base'}: ${e.message.replace(/ \(at byte offset \d+\)$/, '')}`, e.offset);
    throw e;
  }
  const fdt = FdtEditor.open(base);
  overlays.forEach((ovBlob, i) => {
    const label = opts.names?.[i] ?? `overlay ${i}`;
    try {
      parseFdt(ovBlob, readOpts);
    } catch (e) {
      if (e instanceof DtbError) throw new DtbError(`${label}: ${e.message.replace(/ \(at byte offset \d+\)$/, '')}`, e.offset);
      throw e;
    }
    const fdto = FdtEditor.copy(ovBlob);
    try {
      const delta = fdt.maxPhandle();
      adjustPhandles(fdto, 0, delta);
      const lf = fdto.pathOffset('/__local_fixups__');
      if (lf >= 0) mapLocalReferences(fdto, 0, lf, (v) => (v + delta) >>> 0);
      const v17 = opts.libfdt === '1.7';
      fixupPhandles(fdt, fdto, v17);
      if (v17) preventPhandleOverwrite(fdt, fdto);
      merge(fdt, fdto);
      updateSymbols(fdt, fdto);
    } catch (e) {
      if (!(e instanceof OverlayFail)) throw e;
      throw new DtbError(`${label}: cannot apply (${fdtStrerror(e.code)}): ${e.what}`, overlayOffset(ovBlob, e.node));
    }
  });
  return fdt.pack();
}

/**
 * Apply an overlay to a tree: the result is a new tree (the base is left as it was), equal to what
 * fdtoverlay makes of the two trees' blobs; toFdt of it gives fdtoverlay's bytes.
 */
export function applyOverlay(base: DeviceTree, overlay: DeviceTree, opts: OverlayOptions = {}): DeviceTree {
  const out = applyOverlayFdt(toFdt(base), [toFdt(overlay)], opts);
  return parseFdt(out);
}

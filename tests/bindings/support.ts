// Test support: DTS/DTB to a tree, and the bindings under test.
//
// TEMPORARY until dt/ lands compileDts: DTS goes through the installed dtc, then dt/'s parseFdt.
// treeFromDts prefers dt/'s compileDts as soon as dt/ exports it.
import { execFileSync, spawnSync } from 'node:child_process';
import * as dt from '../../dt';
import { parseFdt, type DeviceTree } from '../../dt';

/** dt/dts's compileDts (on its branch, not yet on main): source in, `{ tree, plugin, warnings }` out. */
type CompileDts = (src: string, opts?: { fileName?: string }) => { tree: DeviceTree };

const dtApi = dt as unknown as Record<string, unknown>;
export const haveCompileDts = typeof dtApi['compileDts'] === 'function';
export const haveDtc = spawnSync('dtc', ['--version']).status === 0;
export const haveQemu = spawnSync('qemu-system-aarch64', ['--version']).status === 0;

export function treeFromDtb(blob: Uint8Array): DeviceTree {
  return parseFdt(blob);
}

/** DTS source to a tree: dt/'s compileDts when it exists, else dtc (tests skip without either). */
export function treeFromDts(src: string): DeviceTree {
  if (haveCompileDts) return (dtApi['compileDts'] as CompileDts)(src).tree;
  const blob = execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-'], { input: src });
  return treeFromDtb(new Uint8Array(blob));
}

export const canCompileDts = haveCompileDts || haveDtc;

/** A tree described as nested objects: a Uint8Array is a property, an object a child node. */
export interface Spec {
  [name: string]: Uint8Array | Spec;
}

export const u32 = (...v: number[]): Uint8Array => dt.encodeU32(v);
export const u64 = (...v: bigint[]): Uint8Array => dt.encodeU64(v);
export const str = (...v: string[]): Uint8Array => dt.encodeStringList(v);
export const flag: Uint8Array = new Uint8Array(0);

export function build(spec: Spec): DeviceTree {
  const tree = new dt.DeviceTree();
  const fill = (node: dt.DtNode, s: Spec) => {
    for (const [k, v] of Object.entries(s)) {
      if (v instanceof Uint8Array) node.setProperty(k, v);
      else fill(node.addChild(k), v);
    }
  };
  fill(tree.root, spec);
  return tree;
}

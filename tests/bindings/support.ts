// Test support: DTS and DTB to a tree (this project's compiler and parser), and a terse tree builder.
import { spawnSync } from 'node:child_process';
import * as dt from '../../dt';
import { compileDts, parseFdt, type DeviceTree } from '../../dt';

export const haveQemu = spawnSync('qemu-system-aarch64', ['--version']).status === 0;

export function treeFromDtb(blob: Uint8Array): DeviceTree {
  return parseFdt(blob);
}

/** DTS source to a tree, compiled by dt/dts's compileDts. */
export function treeFromDts(src: string): DeviceTree {
  return compileDts(src).tree;
}

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

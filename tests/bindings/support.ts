// Test support: DTS/DTB to a tree, and the bindings under test.
//
// TEMPORARY until dt/ lands compileDts: DTS goes through the installed dtc, then dt/'s parseFdt.
// treeFromDts prefers dt/'s compileDts as soon as dt/ exports it.
import { execFileSync, spawnSync } from 'node:child_process';
import * as dt from '../../dt';
import { parseFdt, type DeviceTree } from '../../dt';

type CompileDts = (src: string) => DeviceTree;

const dtApi = dt as unknown as Record<string, unknown>;
export const haveCompileDts = typeof dtApi['compileDts'] === 'function';
export const haveDtc = spawnSync('dtc', ['--version']).status === 0;
export const haveQemu = spawnSync('qemu-system-aarch64', ['--version']).status === 0;

export function treeFromDtb(blob: Uint8Array): DeviceTree {
  return parseFdt(blob);
}

/** DTS source to a tree: dt/'s compileDts when it exists, else dtc (tests skip without either). */
export function treeFromDts(src: string): DeviceTree {
  if (haveCompileDts) return (dtApi['compileDts'] as CompileDts)(src);
  const blob = execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-'], { input: src });
  return treeFromDtb(new Uint8Array(blob));
}

export const canCompileDts = haveCompileDts || haveDtc;

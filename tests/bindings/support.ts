// Test support: DTS/DTB to a tree, and the bindings under test.
//
// TEMPORARY until dt/ lands parseFdt and compileDts: DTS goes through the installed dtc and the blob
// through the small reader below. Each helper prefers dt/'s own function as soon as dt/ exports it.
import { execFileSync, spawnSync } from 'node:child_process';
import * as dt from '../../dt';
import { DeviceTree, DtNode, DtProperty } from '../../dt';

type ParseFdt = (blob: Uint8Array) => DeviceTree;
type CompileDts = (src: string) => DeviceTree;

const dtApi = dt as unknown as Record<string, unknown>;
export const haveParseFdt = typeof dtApi['parseFdt'] === 'function';
export const haveCompileDts = typeof dtApi['compileDts'] === 'function';
export const haveDtc = spawnSync('dtc', ['--version']).status === 0;
export const haveQemu = spawnSync('qemu-system-aarch64', ['--version']).status === 0;

/** A minimal FDT reader (v17 blobs from dtc/QEMU), for tests only, until dt/'s parseFdt lands. */
function readFdt(blob: Uint8Array): DeviceTree {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (dv.getUint32(0) !== 0xd00dfeed) throw new Error('not a DTB');
  const offStruct = dv.getUint32(8);
  const offStrings = dv.getUint32(12);
  const offRsv = dv.getUint32(16);
  const tree = new DeviceTree();
  for (let o = offRsv; ; o += 16) {
    const address = dv.getBigUint64(o);
    const size = dv.getBigUint64(o + 8);
    if (address === 0n && size === 0n) break;
    tree.memReserve.push({ address, size });
  }
  const str = (o: number) => {
    let e = offStrings + o;
    while (blob[e] !== 0) e++;
    return new TextDecoder().decode(blob.subarray(offStrings + o, e));
  };
  const stack: DtNode[] = [];
  let o = offStruct;
  for (;;) {
    const tok = dv.getUint32(o);
    o += 4;
    if (tok === 1) {
      let e = o;
      while (blob[e] !== 0) e++;
      const name = new TextDecoder().decode(blob.subarray(o, e));
      o = (e + 4) & ~3;
      const node = stack.length === 0 ? tree.root : stack[stack.length - 1]!.addChild(name);
      stack.push(node);
    } else if (tok === 2) {
      stack.pop();
    } else if (tok === 3) {
      const len = dv.getUint32(o);
      const nameOff = dv.getUint32(o + 4);
      o += 8;
      stack[stack.length - 1]!.properties.push(new DtProperty(str(nameOff), blob.slice(o, o + len)));
      o = (o + len + 3) & ~3;
    } else if (tok === 4) {
      continue;
    } else if (tok === 9) {
      break;
    } else {
      throw new Error(`bad FDT token ${tok}`);
    }
  }
  return tree;
}

export function treeFromDtb(blob: Uint8Array): DeviceTree {
  return haveParseFdt ? (dtApi['parseFdt'] as ParseFdt)(blob) : readFdt(blob);
}

/** DTS source to a tree: dt/'s compileDts when it exists, else dtc (tests skip without either). */
export function treeFromDts(src: string): DeviceTree {
  if (haveCompileDts) return (dtApi['compileDts'] as CompileDts)(src);
  const blob = execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-'], { input: src });
  return treeFromDtb(new Uint8Array(blob));
}

export const canCompileDts = haveCompileDts || haveDtc;

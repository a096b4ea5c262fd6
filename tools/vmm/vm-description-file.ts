// Read VM descriptions from a file: DTS source (compiled with dt/'s dtc-compatible compiler) or a DTB,
// every "gunyah-ts,vm" node in it (the root, or the children of a board's /vms), checked against the
// bindings when they are given. Image references are resolved relative to the file.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { compileDts, DtbError, DtsError, parseFdt, type DeviceTree } from '../../dt';
import type { BindingSet } from '../../bindings';
import { findVmDescriptions, parseVmDescription, VmDescriptionError, type VmDescription } from './vm-description';

export interface VmDescriptionFile {
  tree: DeviceTree;
  descriptions: VmDescription[];
  /** Where `image` paths are relative to (the file's directory). */
  baseDir: string;
}

const FDT_MAGIC = [0xd0, 0x0d, 0xfe, 0xed];

/** Parse a VM description from bytes (DTS text or a DTB); `fileName` names it in errors and resolves includes. */
export function parseVmDescriptionSource(bytes: Uint8Array, fileName: string, bindings?: BindingSet): VmDescriptionFile {
  let tree: DeviceTree;
  try {
    if (bytes.length >= 4 && FDT_MAGIC.every((b, i) => bytes[i] === b)) tree = parseFdt(bytes, { copy: true });
    else tree = compileDts(bytes, { fileName }).tree;
  } catch (e) {
    if (e instanceof DtsError || e instanceof DtbError) throw new VmDescriptionError(`${fileName}: ${e.message}`);
    throw e;
  }
  const nodes = findVmDescriptions(tree);
  if (nodes.length === 0) throw new VmDescriptionError(`${fileName}: no node with compatible "gunyah-ts,vm" (the root, or children of /vms)`);
  return { tree, descriptions: nodes.map((n) => parseVmDescription(tree, n, bindings)), baseDir: dirname(resolve(fileName)) };
}

/** Read and parse a VM description file. */
export function readVmDescriptionFile(path: string, bindings?: BindingSet): VmDescriptionFile {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new VmDescriptionError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : e instanceof Error ? e.message : String(e)}`);
  }
  return parseVmDescriptionSource(bytes, path, bindings);
}

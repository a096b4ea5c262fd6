// Reads the board `gunyah run` boots: a DTS (compiled, errors as file:line:col) or a DTB, checked
// against the binding schemas (errors name the node and the rule), read as a board by
// firmware/platform, each VM description read for the VMM and its image loaded (a missing image names
// the path it was looked for at). Everything that can be wrong with a board is found here, before boot.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { compileDts, DtsError, type DeviceTree } from '../../../dt';
import { formatViolation, loadBindings, type BindingSet } from '../../../bindings';
import { BoardError, parseBoard, type Board } from '../../../firmware/platform';
import { ImageBuildError } from '../../image/build-image';
import { builtinImage, BUILTIN_PREFIX } from '../../image/builtin-images';
import { parseVmDescription, VmDescriptionError, type VmDescription } from '../../vmm/vm-description';
import { DevicePlacementError, nativeAppRefs, STUB_IMAGE } from '../../devices';
import { CliError } from '../errors';
import { readTree } from '../dt/check';
import { DEFAULT_BOARD_DTS, DEFAULT_BOARD_NAME } from './default-board';

export interface BoardVm {
  desc: VmDescription;
  /** The image bytes, loaded before boot. */
  image: Uint8Array;
  /** Where the image came from (a resolved path, or builtin:<name>). */
  imageSource: string;
  /** Native app images of its devices placed "native", by reference. */
  appImages: ReadonlyMap<string, Uint8Array>;
  /** The stub VM image, when a device is placed "stub". */
  stubImage: Uint8Array | undefined;
}

export interface LoadedBoard {
  /** The file name as given (or `<default board>`), for messages. */
  file: string;
  tree: DeviceTree;
  board: Board;
  vms: BoardVm[];
}

export interface LoadBoardOptions {
  /** Binding schemas to check with (default: bindings/ as shipped). */
  bindings?: BindingSet;
}

function boardTree(file: string | undefined): DeviceTree {
  if (file === undefined) {
    try {
      return compileDts(DEFAULT_BOARD_DTS, { fileName: DEFAULT_BOARD_NAME }).tree;
    } catch (e) {
      // The embedded board is checked by the tests; this would be a bug, not a user error.
      if (e instanceof DtsError) throw new Error(`the default board does not compile: ${e.message}`);
      throw e;
    }
  }
  return readTree(file);
}

/** Load image `ref` ("builtin:<name>" or a path relative to the board); `where` prefixes errors. */
async function loadRef(where: string, what: string, ref: string, baseDir: string): Promise<{ image: Uint8Array; imageSource: string }> {
  if (ref.startsWith(BUILTIN_PREFIX)) {
    try {
      return { image: await builtinImage(ref.slice(BUILTIN_PREFIX.length)), imageSource: ref };
    } catch (e) {
      if (e instanceof ImageBuildError) throw new CliError(`${where}: ${what} ${JSON.stringify(ref)}: ${e.message.split('\n')[0]}`);
      throw e;
    }
  }
  const path = resolve(baseDir, ref);
  if (!existsSync(path)) throw new CliError(`${where}: ${what} ${path}: no such file`);
  try {
    return { image: new Uint8Array(readFileSync(path)), imageSource: path };
  } catch (e) {
    throw new CliError(`${where}: ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function loadVm(file: string, desc: VmDescription, baseDir: string): Promise<BoardVm> {
  const where = `${file}: /vms/${desc.name}`;
  const { image, imageSource } = await loadRef(where, 'image', desc.image, baseDir);
  // What the VM's device placements run, loaded before boot as the VM's own image is.
  const appImages = new Map<string, Uint8Array>();
  let refs: string[];
  try {
    refs = nativeAppRefs(desc);
  } catch (e) {
    if (e instanceof DevicePlacementError) throw new CliError(`${file}: ${e.message}`);
    throw e;
  }
  for (const ref of refs) appImages.set(ref, (await loadRef(where, 'native-app', ref, baseDir)).image);
  const stubImage = desc.devices.some((d) => d.placement === 'stub') ? (await loadRef(where, 'stub image', STUB_IMAGE, baseDir)).image : undefined;
  return { desc, image, imageSource, appImages, stubImage };
}

/** Read, check and resolve a board; `file` undefined means the embedded default board. */
export async function loadBoard(file: string | undefined, opts: LoadBoardOptions = {}): Promise<LoadedBoard> {
  const name = file ?? DEFAULT_BOARD_NAME;
  const tree = boardTree(file);
  let bindings: BindingSet;
  try {
    bindings = opts.bindings ?? loadBindings();
  } catch (e) {
    throw new CliError(`binding schemas: ${(e as Error).message}`);
  }
  const violations = bindings.validateTree(tree);
  if (violations.length > 0) {
    const more = violations.length > 1 ? ` (and ${violations.length - 1} more; see gunyah dt check)` : '';
    throw new CliError(`${name}: ${formatViolation(violations[0]!)}${more}`);
  }
  if (!tree.root.strings('compatible')?.includes('gunyah-ts,board')) throw new CliError(`${name}: /: compatible is not "gunyah-ts,board"`);
  let board: Board;
  try {
    board = parseBoard(tree);
  } catch (e) {
    if (e instanceof BoardError) throw new CliError(`${name}: ${e.message}`);
    throw e;
  }
  const descs: VmDescription[] = [];
  for (const node of board.vms) {
    try {
      descs.push(parseVmDescription(tree, node));
    } catch (e) {
      if (e instanceof VmDescriptionError) throw new CliError(`${name}: ${e.message}`);
      throw e;
    }
  }
  const baseDir = file === undefined ? process.cwd() : dirname(resolve(file));
  const vms = await Promise.all(descs.map((desc) => loadVm(name, desc, baseDir)));
  return { file: name, tree, board, vms };
}

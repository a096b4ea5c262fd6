// `gunyah dt check <file.dtb|.dts> [--schemas dir]`: validate a tree against the binding schemas, like
// `make dtbs_check`: one line per violation on stdout, status 1 if there is any.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import * as dt from '../../../dt';
import { parseFdt, type DeviceTree } from '../../../dt';
import { formatViolation, loadBindings, type BindingSet } from '../../../bindings';
import { CliError } from '../errors';

const FDT_MAGIC = [0xd0, 0x0d, 0xfe, 0xed];

/** Largest input read, so a wrong path (a disk image) fails fast instead of filling memory. */
export const MAX_INPUT_BYTES = 64 << 20;

/** dt/dts's compiler: source in, `{ tree, plugin, warnings }` out. */
type CompileDts = (source: string | Uint8Array, opts?: { fileName?: string }) => { tree: DeviceTree };

function isDtb(file: string, bytes: Uint8Array): boolean {
  if (file.endsWith('.dtb') || file.endsWith('.dtbo')) return true;
  return FDT_MAGIC.every((b, i) => bytes[i] === b);
}

/** Read `file` as a tree: a blob by its magic or extension, else DTS source. */
export function readTree(file: string): DeviceTree {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new CliError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (bytes.length > MAX_INPUT_BYTES) throw new CliError(`${file}: ${bytes.length} bytes is over the ${MAX_INPUT_BYTES}-byte input limit`);
  if (isDtb(file, bytes)) {
    try {
      return parseFdt(bytes);
    } catch (err) {
      throw new CliError(`${file}: ${(err as Error).message}`);
    }
  }
  // DTS input goes through dt/'s compiler (dt/dts-compile) once it exists.
  const compileDts = (dt as unknown as Record<string, unknown>)['compileDts'] as CompileDts | undefined;
  if (typeof compileDts !== 'function') {
    throw new CliError(`${file}: DTS input needs dt/'s compileDts, which this build lacks; give a .dtb`);
  }
  try {
    return compileDts(bytes, { fileName: file }).tree;
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message.split('\n')[0]}`);
  }
}

export interface CheckOptions {
  schemas?: string;
  unmatched?: boolean;
}

/** The violation lines for `file`; throws CliError on unreadable input or schemas. */
export function checkFile(file: string, opts: CheckOptions = {}): string[] {
  let bindings: BindingSet;
  try {
    bindings = opts.schemas ? loadBindings(opts.schemas) : loadBindings();
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const tree = readTree(file);
  return bindings.validateTree(tree, { unmatched: opts.unmatched ?? false }).map(formatViolation);
}

export function registerCheck(dtCmd: Command): void {
  dtCmd
    .command('check')
    .description('validate a DTB or DTS against the binding schemas (like make dtbs_check)')
    .argument('<file>', 'a .dtb (or any flattened tree) or a .dts')
    .option('--schemas <dir>', 'schema directory (default: the bindings shipped with gunyah-ts)')
    .option('--unmatched', 'also report nodes whose compatible no schema documents')
    .action((file: string, opts: CheckOptions) => {
      const lines = checkFile(file, opts);
      if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
      process.exitCode = lines.length > 0 ? 1 : 0;
    });
}

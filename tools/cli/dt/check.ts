// `gunyah dt check <file.dtb|.dts> [--schemas dir]`: validate a tree against the binding schemas, like
// `make dtbs_check`: one line per violation on stdout, status 1 if there is any.
import type { Command } from 'commander';
import { compileDts, DtsError, parseFdt, type DeviceTree } from '../../../dt';
import { formatViolation, loadBindings, type BindingSet } from '../../../bindings';
import { CliError } from '../errors';
import { readBlobFile, withBlob } from './blob-file';

const FDT_MAGIC = [0xd0, 0x0d, 0xfe, 0xed];

function isDtb(file: string, bytes: Uint8Array): boolean {
  if (file.endsWith('.dtb') || file.endsWith('.dtbo')) return true;
  return FDT_MAGIC.every((b, i) => bytes[i] === b);
}

/** Read `file` as a tree: a blob by its magic or extension, else DTS source compiled as dtc would. */
export function readTree(file: string): DeviceTree {
  const bytes = readBlobFile(file);
  if (isDtb(file, bytes)) return withBlob(file, () => parseFdt(bytes));
  try {
    return compileDts(bytes, { fileName: file }).tree;
  } catch (err) {
    if (err instanceof DtsError) throw new CliError(err.message);
    throw err;
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

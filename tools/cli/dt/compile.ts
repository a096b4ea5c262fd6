// `gunyah dt compile <in.dts> [-o out] [-@] [-i dir]... [-O dtb|dts] [-H format] [-q]`: dtc -I dts, in TypeScript.
// Errors go to stderr as `file:line:col: error: message` with status 1, and no output file is left behind:
// the output is written to a temporary file next to the target and renamed into place.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { compileDts, DtsError, formatDiagnostic, toDts, toFdt, type PhandleFormat } from '../../../dt';
import { CliError } from '../errors';

/** Largest source read: a wrong path (a disk image) fails fast instead of filling memory. */
export const MAX_SOURCE_BYTES = 64 << 20;

export interface CompileCliOptions {
  out?: string;
  symbols?: boolean;
  include?: string[];
  outFormat?: string;
  phandle?: string;
  quiet?: boolean;
}

export interface CompileCliResult {
  /** The bytes to write (a blob, or DTS text). */
  output: Uint8Array;
  /** Lines for stderr: errors (then nothing is written) or warnings. */
  messages: string[];
  status: 0 | 1;
}

function readSource(file: string): Uint8Array {
  try {
    const bytes = file === '-' ? readFileSync(0) : readFileSync(file);
    if (bytes.length > MAX_SOURCE_BYTES) {
      throw new CliError(`${file}: error: ${bytes.length} bytes is over the ${MAX_SOURCE_BYTES}-byte source limit`);
    }
    return bytes;
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`${file}: error: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** How /include/ and /incbin/ files are read: absent files are undefined, other failures are reported. */
function readIncluded(path: string): Uint8Array | undefined {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** dtc's choice of output format: -O, else the output file's extension, else a blob. */
function outputFormat(opts: CompileCliOptions): 'dtb' | 'dts' {
  const f = opts.outFormat ?? (opts.out?.endsWith('.dts') ? 'dts' : 'dtb');
  if (f !== 'dtb' && f !== 'dts') throw new CliError(`unknown output format "${f}" (use dtb or dts)`);
  return f;
}

/** Compile `file` as the command does, without touching stdout, stderr or the output file. */
export function compileFile(file: string, opts: CompileCliOptions = {}): CompileCliResult {
  const format = outputFormat(opts);
  const phandle = opts.phandle ?? 'epapr';
  if (phandle !== 'epapr' && phandle !== 'legacy' && phandle !== 'both') {
    throw new CliError(`invalid argument "${phandle}" to -H (use legacy, epapr or both)`);
  }
  const source = readSource(file);
  try {
    const r = compileDts(source, {
      fileName: file === '-' ? '<stdin>' : file,
      readFile: readIncluded,
      includeDirs: opts.include ?? [],
      symbols: opts.symbols ?? false,
      phandleFormat: phandle as PhandleFormat,
    });
    const output = format === 'dtb' ? toFdt(r.tree) : new TextEncoder().encode(toDts(r.tree));
    return { output, messages: opts.quiet ? [] : r.warnings.map(formatDiagnostic), status: 0 };
  } catch (err) {
    if (!(err instanceof DtsError)) throw err;
    const shown = opts.quiet ? err.errors : err.diagnostics;
    return { output: new Uint8Array(0), messages: shown.map(formatDiagnostic), status: 1 };
  }
}

/** Write `data` to `path` through a temporary file in the same directory, so a failure leaves nothing. */
export function writeAtomically(path: string, data: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new CliError(`${path}: error: cannot write: ${(err as Error).message}`);
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerCompile(dtCmd: Command): void {
  dtCmd
    .command('compile')
    .description('compile device-tree source to a blob, as dtc -I dts -O dtb does (byte for byte)')
    .argument('<in.dts>', 'the source ("-" reads stdin)')
    .option('-o, --out <file>', 'output file (default: stdout)')
    .option('-@, --symbols', 'add /__symbols__ so that overlays can refer to labels')
    .option('-i, --include <dir>', 'search this directory for /include/ and /incbin/ files (repeatable)', collect, [])
    .option('-O, --out-format <format>', 'dtb or dts (default: by the -o extension, else dtb)')
    .option('-H, --phandle <format>', 'phandle properties: epapr (default), legacy or both')
    .option('-q, --quiet', 'do not print warnings')
    .action((file: string, opts: CompileCliOptions) => {
      const r = compileFile(file, opts);
      if (r.messages.length > 0) process.stderr.write(`${r.messages.join('\n')}\n`);
      if (r.status !== 0) {
        process.exitCode = r.status;
        return;
      }
      if (opts.out && opts.out !== '-') writeAtomically(opts.out, r.output);
      else process.stdout.write(r.output);
      process.exitCode = 0;
    });
}

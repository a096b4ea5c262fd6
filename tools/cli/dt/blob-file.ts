// Reading and writing blob files for the dt commands: a size limit before reading, one-line errors.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { DtbError, DEFAULT_FDT_LIMITS } from '../../../dt';
import { CliError } from '../errors';

/** Read a file that should hold a blob; larger than the DTB size limit is refused before reading. */
export function readBlobFile(file: string): Uint8Array {
  try {
    const size = statSync(file).size;
    if (size > DEFAULT_FDT_LIMITS.maxTotalSize) {
      throw new CliError(`${file}: ${size} bytes is over the ${DEFAULT_FDT_LIMITS.maxTotalSize}-byte blob limit`);
    }
    return new Uint8Array(readFileSync(file));
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`);
  }
}

export function writeFile(file: string, data: Uint8Array | string): void {
  try {
    writeFileSync(file, data);
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message}`);
  }
}

/** Run `fn` on a blob, turning a DtbError into a one-line CliError that names the file. */
export function withBlob<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DtbError) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
}

// Source files of a compile: how /include/ and /incbin/ names are found and read, without a hard tie to node:fs.

/**
 * Reads a file by path: its bytes (or text), or undefined when it does not exist.
 * Any other failure may throw; the compiler reports it at the directive that asked for the file.
 */
export type ReadFile = (path: string) => Uint8Array | string | undefined;

/** A file the compiler has read: the name messages use, the directory its own includes start from, its bytes. */
export interface SourceFile {
  readonly name: string;
  readonly dir: string | undefined;
  readonly bytes: Uint8Array;
  /** A normalized path, used to detect include cycles. */
  readonly key: string;
}

const utf8 = new TextEncoder();

export function toBytes(source: string | Uint8Array): Uint8Array {
  return typeof source === 'string' ? utf8.encode(source) : source;
}

/** The directory part of a path ('a/b.dts' -> 'a'), or undefined when there is none (as dtc's get_dirname). */
export function dirnameOf(path: string): string | undefined {
  const slash = path.lastIndexOf('/');
  if (slash < 0) return undefined;
  return slash === 0 ? '/' : path.slice(0, slash);
}

/** dtc's join_path: one '/' between the parts; an absolute name ignores the directory. */
export function joinPath(dir: string | undefined, name: string): string {
  if (dir === undefined || name.startsWith('/')) return name;
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** Collapse '.', '..' and repeated slashes, so that one file reached two ways has one key. */
export function normalizePath(path: string): string {
  const abs = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (part !== '..' || !abs) out.push(part);
  }
  const joined = out.join('/');
  return abs ? `/${joined}` : joined || '.';
}

interface NodeFs {
  readFileSync(path: string): Uint8Array;
}

/**
 * The host's file reader when there is one (Node.js: node:fs, reached at run time so that dt/ still loads
 * in a browser), else undefined: callers there pass `readFile` themselves.
 */
export function hostReadFile(): ReadFile | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = proc?.getBuiltinModule?.('node:fs') as NodeFs | undefined;
  if (!fs) return undefined;
  return (path: string) => {
    try {
      return fs.readFileSync(path);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
  };
}

export type OpenResult =
  | { readonly ok: true; readonly file: SourceFile }
  | { readonly ok: false; readonly reason: string };

/** Finds files as dtc does: relative to the including file's directory first, then each include directory in order. */
export class SourceLoader {
  constructor(
    private readonly readFile: ReadFile | undefined,
    readonly includeDirs: readonly string[],
  ) {}

  open(name: string, fromDir: string | undefined): OpenResult {
    if (!this.readFile) {
      return { ok: false, reason: 'no file reader is available here (pass readFile to compileDts)' };
    }
    const candidates = [joinPath(fromDir, name)];
    if (!name.startsWith('/')) for (const dir of this.includeDirs) candidates.push(joinPath(dir, name));
    for (const path of candidates) {
      let data: Uint8Array | string | undefined;
      try {
        data = this.readFile(path);
      } catch (err) {
        return { ok: false, reason: `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}` };
      }
      if (data !== undefined) {
        return { ok: true, file: { name: path, dir: dirnameOf(path), bytes: toBytes(data), key: normalizePath(path) } };
      }
    }
    const where = candidates.length > 1 ? ` (looked in: ${candidates.join(', ')})` : '';
    return { ok: false, reason: `no such file${where}` };
  }
}

// `gunyah image build`: bundle a guest program (a TypeScript module exporting `main` and any other
// entry functions) with esbuild into one platform-neutral CommonJS text and wrap it in a GYTS image
// (firmware/hypervisor/image/README.md).
//
// Guests have no Node built-ins and no file system. Imports of Node built-ins are replaced by stub
// modules whose every export throws ENOSYS when called or constructed (so a class that merely
// extends one still loads), except a few pure `path`/`url` helpers. bindings/ reads its schemas from
// disk and is replaced by a stub whose loadBindings throws: guest kernels boot with
// `validator: false`.
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { encodeImage, IMAGE_ENTRY0, ImageError, type ImageKind } from '../../firmware/hypervisor/index';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BINDINGS_INDEX = resolve(PROJECT_ROOT, 'bindings', 'index.ts');

export interface BuildImageOptions {
  /** Minify the program text (smaller images; default false so guest stack traces stay readable). */
  minify?: boolean;
  /** tsconfig to compile with (default: the project's). */
  tsconfig?: string;
}

export interface BuiltImage {
  image: Uint8Array;
  /** A guest (exports main) or a native app (exports app and no main). */
  kind: ImageKind;
  /** Entry names in table order ("main", or "app" for a native app, first). */
  entries: string[];
  /** Bytes of program text. */
  textSize: number;
  /** Source files bundled (absolute paths; what a cache keys on). */
  inputs: string[];
  warnings: string[];
}

/** A build that failed (esbuild errors, no main, too many entries). */
export class ImageBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageBuildError';
  }
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Pure helpers guests may call at load time (module-level constants in shared code). */
const PURE_HELPERS: Record<string, Record<string, string>> = {
  url: { fileURLToPath: '(u) => String(u).replace(/^file:\\/\\//, "")', pathToFileURL: '(p) => new URL("file://" + p)' },
  path: {
    join: '(...p) => p.filter(Boolean).join("/").replace(/\\/+/g, "/")',
    resolve: '(...p) => p.filter(Boolean).join("/").replace(/\\/+/g, "/")',
    dirname: '(p) => String(p).replace(/\\/[^/]*$/, "") || "/"',
    basename: '(p) => String(p).replace(/^.*\\//, "")',
    sep: '"/"',
  },
};

async function builtinStub(spec: string): Promise<string> {
  const name = spec.replace(/^node:/, '');
  let keys: string[] = [];
  try {
    keys = Object.keys((await import(`node:${name}`)) as object).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
  } catch {
    keys = [];
  }
  const pure = PURE_HELPERS[name.split('/')[0]!] ?? {};
  const lines = [
    `const enosys = (what) => { const f = function () { throw new Error("ENOSYS: " + what + " is not available to a guest program"); }; return f; };`,
    'const ns = {};',
  ];
  for (const k of keys) lines.push(`export const ${k} = ${pure[k] ?? `enosys(${JSON.stringify(`${spec}.${k}`)})`}; ns.${k} = ${k};`);
  lines.push('export default ns;');
  return lines.join('\n');
}

const BINDINGS_STUB = `
export function loadBindings() {
  throw new Error("ENOSYS: bindings/ reads its schemas from disk; a guest kernel boots with validator: false");
}
`;

const guestPlugin: esbuild.Plugin = {
  name: 'gunyah-guest',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (NODE_BUILTINS.has(args.path)) return { path: args.path, namespace: 'guest-builtin' };
      return undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'guest-builtin' }, async (args) => ({ contents: await builtinStub(args.path), loader: 'js' }));
    b.onLoad({ filter: /[\\/]bindings[\\/]index\.ts$/ }, (args) => (resolve(args.path) === BINDINGS_INDEX ? { contents: BINDINGS_STUB, loader: 'js' } : undefined));
  },
};

function formatMessages(ms: esbuild.Message[]): string[] {
  return ms.map((m) => `${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ''}${m.text}`);
}

/** Bundle `entry` and wrap it in a GYTS image. */
export async function buildImage(entry: string, opts: BuildImageOptions = {}): Promise<BuiltImage> {
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      tsconfig: opts.tsconfig ?? resolve(PROJECT_ROOT, 'tsconfig.json'),
      define: { 'import.meta.url': '"file:///guest/"' },
      minify: opts.minify ?? false,
      legalComments: 'none',
      logLevel: 'silent',
      plugins: [guestPlugin],
    });
  } catch (e) {
    const errors = (e as { errors?: esbuild.Message[] }).errors;
    throw new ImageBuildError(errors ? formatMessages(errors).join('\n') : e instanceof Error ? e.message : String(e));
  }
  const out = result.outputFiles[0];
  const meta = Object.values(result.metafile.outputs)[0];
  if (!out || !meta) throw new ImageBuildError(`esbuild produced no output for ${entry}`);
  const exported = (meta.exports ?? []).filter((n) => n !== 'default');
  // A program with `main` is a guest; one with `app` and no `main` is a native app (a device
  // emulator the hypervisor loads into itself), flagged as such in the header.
  if (!exported.includes('main') && !exported.includes('app')) {
    throw new ImageBuildError(`${entry} exports neither a "main" entry function (a guest) nor an "app" entry point (a native app)`);
  }
  const kind: ImageKind = exported.includes('main') ? 'guest' : 'native-app';
  const first = IMAGE_ENTRY0[kind];
  const entries = [first, ...exported.filter((n) => n !== first).sort()];
  // The ESM bundle's exports become module.exports of a CommonJS text (what the decoder runs).
  const cjs = await esbuild.transform(out.text, { format: 'cjs', loader: 'js', target: 'es2022', minify: opts.minify ?? false, legalComments: 'none' });
  let image: Uint8Array;
  try {
    image = encodeImage({ text: cjs.code, entries, kind });
  } catch (e) {
    if (e instanceof ImageError) throw new ImageBuildError(e.message);
    throw e;
  }
  const text = new TextEncoder().encode(cjs.code);
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.includes(':'))
    .map((p) => resolve(process.cwd(), p));
  return { image, kind, entries, textSize: text.length, inputs, warnings: formatMessages([...result.warnings, ...cjs.warnings]) };
}

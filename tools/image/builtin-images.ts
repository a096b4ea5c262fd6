// The bundled example guests (examples/guests/<name>.ts) and native apps (examples/apps/<name>.ts)
// as images, built on demand so a VM description can say `image = "builtin:<name>"` (or a device
// `native-app = "builtin:<name>"`) without committed binaries. Builds are cached in
// memory per process and on disk (GUNYAH_IMAGE_CACHE, default <tmpdir>/gunyah-ts-images) keyed by a
// hash of every source file the bundle read, so an edit anywhere in the guest's imports rebuilds it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, ImageBuildError } from './build-image';

const EXAMPLES = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');
/** Where bundled programs live; a name is unique across them. */
const PROGRAM_DIRS = [join(EXAMPLES, 'guests'), join(EXAMPLES, 'apps')];
/** Bump when the build recipe changes so old cache entries are not reused. */
const RECIPE = 'gyts-1';

export const BUILTIN_PREFIX = 'builtin:';

function programsIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
    .map((f) => f.slice(0, -3));
}

/** Names of the bundled guests and native apps. */
export function builtinImageNames(): string[] {
  return PROGRAM_DIRS.flatMap(programsIn).sort();
}

/** The source file of bundled program `name`. */
function builtinSource(name: string): string | undefined {
  for (const dir of PROGRAM_DIRS) if (programsIn(dir).includes(name)) return join(dir, `${name}.ts`);
  return undefined;
}

function cacheDir(): string {
  return process.env['GUNYAH_IMAGE_CACHE'] ?? join(tmpdir(), 'gunyah-ts-images');
}

function hashInputs(inputs: readonly string[]): string | undefined {
  const h = createHash('sha256').update(RECIPE);
  for (const p of [...inputs].sort()) {
    let data: Buffer;
    try {
      data = readFileSync(p);
    } catch {
      return undefined; // an input went away: rebuild
    }
    h.update(p).update('\0').update(data).update('\0');
  }
  return h.digest('hex');
}

interface Manifest {
  recipe: string;
  entry: string;
  inputs: string[];
  hash: string;
}

const memo = new Map<string, Promise<Uint8Array>>();

/** The image of guest program `entry`, from the on-disk cache when no input changed, else built. */
export async function loadOrBuild(name: string, entry: string): Promise<Uint8Array> {
  const dir = cacheDir();
  // The cache may be shared by several checkouts (worktrees, CI clones): an entry belongs to one
  // entry file, or a build from another checkout whose sources did not change would be reused here.
  const key = `${name}-${createHash('sha256').update(entry).digest('hex').slice(0, 12)}`;
  const manifestPath = join(dir, `${key}.json`);
  const imagePath = join(dir, `${key}.img`);
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (m.recipe === RECIPE && m.entry === entry && m.inputs.includes(entry) && existsSync(imagePath) && hashInputs(m.inputs) === m.hash) return new Uint8Array(readFileSync(imagePath));
  } catch {
    // no usable cache entry
  }
  const built = await buildImage(entry);
  const hash = hashInputs(built.inputs);
  if (hash) {
    try {
      mkdirSync(dir, { recursive: true });
      // Write-then-rename so a concurrent reader never sees half an image.
      const tmp = `${imagePath}.${process.pid}.tmp`;
      writeFileSync(tmp, built.image);
      renameSync(tmp, imagePath);
      writeFileSync(manifestPath, JSON.stringify({ recipe: RECIPE, entry, inputs: built.inputs, hash } satisfies Manifest));
    } catch {
      // a read-only cache only costs rebuilds
    }
  }
  return built.image;
}

/** The image of bundled guest or app `name` (built, or from the cache). */
export function builtinImage(name: string): Promise<Uint8Array> {
  const source = /^[a-z0-9][a-z0-9-]*$/.test(name) ? builtinSource(name) : undefined;
  if (!source) return Promise.reject(new ImageBuildError(`no builtin image ${JSON.stringify(name)} (have: ${builtinImageNames().join(', ')})`));
  let p = memo.get(name);
  if (!p) {
    p = loadOrBuild(name, source);
    memo.set(name, p);
    p.catch(() => memo.delete(name));
  }
  return p;
}

/** Resolve an image reference: "builtin:<name>", or a path relative to `baseDir`. */
export async function loadImageRef(ref: string, baseDir: string): Promise<Uint8Array> {
  if (ref.startsWith(BUILTIN_PREFIX)) return builtinImage(ref.slice(BUILTIN_PREFIX.length));
  return new Uint8Array(readFileSync(resolve(baseDir, ref)));
}

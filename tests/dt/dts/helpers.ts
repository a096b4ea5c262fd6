// Shared by the DTS compiler tests: the fixtures, compiling them, and dtc run on the same sources.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { compileDts, DtsError, toFdt, type CompileDtsOptions } from '../../../dt/index';
import { firstDiff } from '../helpers';

export const dtsFixtureDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/dts');
export const includeDir = join(dtsFixtureDir, 'include');

/** The differential fixtures (top-level *.dts; the .dtsi files they include are not compiled alone). */
export function dtsFixtures(): string[] {
  return readdirSync(dtsFixtureDir)
    .filter((f) => f.endsWith('.dts'))
    .sort();
}

export function compileFixture(name: string, symbols: boolean): Uint8Array {
  const path = join(dtsFixtureDir, name);
  return toFdt(compileDts(readFileSync(path), { fileName: path, symbols, includeDirs: [includeDir] }).tree);
}

/** Compile source text held in memory, with in-memory include files. */
export function compileText(
  text: string,
  files: Record<string, string | Uint8Array> = {},
  opts: CompileDtsOptions = {},
): ReturnType<typeof compileDts> {
  return compileDts(text, {
    fileName: 'test.dts',
    readFile: (p) => files[p],
    ...opts,
  });
}

/** The DtsError a compile throws (fails the test when it does not throw one). */
export function compileError(
  text: string,
  files: Record<string, string | Uint8Array> = {},
  opts: CompileDtsOptions = {},
): DtsError {
  try {
    compileText(text, files, opts);
  } catch (err) {
    if (err instanceof DtsError) return err;
    throw err;
  }
  assert.fail('expected a DtsError');
}

export type DtcResult = { ok: true; blob: Uint8Array } | { ok: false; stderr: string };

/** Run dtc on `main` (plus other files) in a temporary directory. */
export function dtc(main: string, files: Record<string, string | Uint8Array> = {}, args: string[] = []): DtcResult {
  const dir = mkdtempSync(join(tmpdir(), 'gunyah-dts-'));
  try {
    for (const [name, data] of Object.entries({ 'test.dts': main, ...files })) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), data);
    }
    const r = spawnSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', 'out.dtb', ...args, 'test.dts'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 10_000,
    });
    if (r.status !== 0) return { ok: false, stderr: r.stderr };
    return { ok: true, blob: new Uint8Array(readFileSync(join(dir, 'out.dtb'))) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function assertSameBytes(ours: Uint8Array, theirs: Uint8Array, what: string): void {
  assert.ok(Buffer.compare(Buffer.from(ours), Buffer.from(theirs)) === 0, `${what}: ${firstDiff(ours, theirs)}`);
}

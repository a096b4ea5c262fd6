// Shared by the dt tests: fixture loading and access to the reference tools (dtc, fdtoverlay, fdtget).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const fixtureDir = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/dt');

export function fixture(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(join(fixtureDir, rel)));
}

export function fixtureText(rel: string): string {
  return readFileSync(join(fixtureDir, rel), 'utf8');
}

/** The raw QEMU virt dumps (not the derived .dtc/.packed blobs). */
export function qemuFixtures(): string[] {
  return readdirSync(join(fixtureDir, 'qemu'))
    .filter((f) => /^virt-[^.]+\.dtb$/.test(f))
    .sort()
    .map((f) => `qemu/${f}`);
}

export function dtcFixtures(): string[] {
  return readdirSync(join(fixtureDir, 'dtc'))
    .filter((f) => /^[^.]+\.dtb$/.test(f))
    .sort()
    .map((f) => `dtc/${f}`);
}

const toolCache = new Map<string, string | undefined>();

/** The `--version` line of a tool, or undefined when it is not installed. */
export function toolVersion(tool: string): string | undefined {
  if (!toolCache.has(tool)) {
    const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    toolCache.set(tool, r.error ? undefined : (r.stdout || r.stderr).trim().split('\n')[0]);
  }
  return toolCache.get(tool);
}

/** A skip message when `tool` is absent (for `test(name, { skip }, fn)`), else false. */
export function needTool(tool: string): string | false {
  return toolVersion(tool) ? false : `${tool} is not installed (Debian package device-tree-compiler)`;
}

/** dtc's version as "major.minor" (e.g. "1.6"), or undefined. */
export function dtcSeries(): string | undefined {
  const m = /DTC (\d+\.\d+)/.exec(toolVersion('dtc') ?? '');
  return m?.[1];
}

/** Run a tool with files in a fresh temporary directory; `files` are written first, stdout returned. */
export function runTool(
  tool: string,
  args: (dir: string) => string[],
  files: Record<string, Uint8Array | string> = {},
  outputs: string[] = [],
): { stdout: Buffer; outputs: Uint8Array[] } {
  const dir = mkdtempSync(join(tmpdir(), 'gunyah-dt-'));
  try {
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    const stdout = execFileSync(tool, args(dir), { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
    return { stdout, outputs: outputs.map((o) => new Uint8Array(readFileSync(join(dir, o)))) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Hex dump position of the first difference, for readable assertion messages. */
export function firstDiff(a: Uint8Array, b: Uint8Array): string {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `first difference at byte ${i} (0x${i.toString(16)})`;
  return a.length === b.length ? 'equal' : `lengths differ: ${a.length} vs ${b.length}`;
}

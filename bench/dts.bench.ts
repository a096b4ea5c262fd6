// npm run bench -- dts: DTS compile throughput (KB/s of source) on a generated 2 MiB source and on QEMU's
// virt tree as dtc prints it, side by side with dtc in the same run: whole-process time for both
// (`gunyah dt compile` under node+tsx, and `dtc`), plus the in-process compile (and compile + toFdt).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileDts, toFdt } from '../dt';
import { generatedSource } from './dts-gen';
import { nsPerOp, printTable, type Row } from './table';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** QEMU's virt tree printed by dtc, made fresh when qemu and dtc are here, else the committed printout. */
function qemuVirtSource(dir: string): { text: string; from: string } {
  const dtb = join(dir, 'virt.dtb');
  const q = spawnSync('qemu-system-aarch64', ['-machine', `virt,dumpdtb=${dtb}`, '-nographic'], { encoding: 'utf8', timeout: 30_000 });
  if (!q.error && q.status === 0) {
    const d = spawnSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', dtb], { encoding: 'utf8' });
    if (!d.error && d.status === 0) return { text: d.stdout, from: 'qemu-system-aarch64 -machine virt,dumpdtb + dtc -O dts' };
  }
  const fallback = join(root, 'tests/fixtures/dt/qemu/virt-default.dts.out');
  return { text: readFileSync(fallback, 'utf8'), from: `${fallback} (qemu or dtc not installed)` };
}

/** Median wall time of `runs` runs of a command, in ms; undefined when it cannot run. */
function processMs(cmd: string, args: string[], runs: number): number | undefined {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    const t1 = process.hrtime.bigint();
    if (r.error || r.status !== 0) {
      process.stdout.write(`${cmd} failed: ${r.error?.message ?? r.stderr.trim().split('\n')[0]}\n`);
      return undefined;
    }
    times.push(Number(t1 - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function haveDtc(): boolean {
  try {
    execFileSync('dtc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export default async function run(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gunyah-dts-bench-'));
  try {
    const qemu = qemuVirtSource(dir);
    process.stdout.write(`qemu virt source: ${qemu.from}\n`);
    const sources: Array<[string, string]> = [
      ['generated', generatedSource(2 << 20)],
      ['qemu-virt', qemu.text],
    ];
    const dtc = haveDtc();
    if (!dtc) process.stdout.write('dtc comparison skipped: dtc is not installed (Debian package device-tree-compiler)\n');
    const tsx = import.meta.resolve('tsx');
    const rows: Row[] = [];
    for (const [label, text] of sources) {
      const src = join(dir, `${label}.dts`);
      writeFileSync(src, text);
      const bytes = new TextEncoder().encode(text);
      const kb = bytes.length / 1024;
      const big = bytes.length > 256 * 1024;
      const rate = (ms: number) => kb / (ms / 1000);
      const row = (tool: string, ms: number | undefined, cpuMs?: number) => {
        if (ms === undefined) return;
        rows.push({ source: label, 'source KB': Math.round(kb), tool, 'wall ms': ms, 'KB/s': rate(ms), 'cpu ms': cpuMs ?? '' });
      };
      // CPU time per run too: on a loaded machine wall time says more about the neighbours than about us.
      const inProcess = (tool: string, fn: () => void) => {
        const opts = { minMs: big ? 3000 : 1000, batch: big ? 1 : 20 };
        const c0 = process.cpuUsage();
        let n = 0;
        const ns = nsPerOp(() => {
          fn();
          n++;
        }, opts);
        const c = process.cpuUsage(c0);
        row(tool, ns / 1e6, (c.user + c.system) / 1000 / n);
      };

      inProcess('compileDts (in process)', () => void compileDts(bytes, { fileName: src }));
      inProcess('compileDts + toFdt (in process)', () => void toFdt(compileDts(bytes, { fileName: src }).tree));

      const runs = big ? 5 : 9;
      const ours = join(dir, `${label}.gunyah.dtb`);
      row('gunyah dt compile (process)', processMs(process.execPath, ['--import', tsx, join(root, 'tools/gunyah.ts'), 'dt', 'compile', src, '-o', ours], runs));
      if (dtc) {
        const theirs = join(dir, `${label}.dtc.dtb`);
        row('dtc (process)', processMs('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', theirs, src], runs));
        const same = Buffer.compare(readFileSync(ours), readFileSync(theirs)) === 0;
        process.stdout.write(`${label}: gunyah and dtc blobs ${same ? 'identical' : 'DIFFER'}\n`);
      }
    }
    printTable(rows);
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

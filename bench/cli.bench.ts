// `gunyah run` timings: `npm start` wall time (process spawn to the last console line, and to exit),
// where an in-process run spends its time (board load and binding check, boot and VMs), and what
// --trace (Chrome JSON to a file) and --stats (trace stream counted) cost over a plain run.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChromeTraceWriter, DEFAULT_BOARD_DTS, HypercallCounter, loadBoard, RunSession, type LoadedBoard } from '../tools/cli/run/index';
import { printTable, type Row } from './table';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Spawn `cmd`, return ms to the last `name | text` console line and ms to exit. */
function timeChild(cmd: string, args: string[]): Promise<{ lastLine: number; exit: number }> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    let last = 0;
    let partial = '';
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      if (lines.some((l) => /^\w+\s+\| /.test(l))) last = performance.now() - t0;
    });
    child.on('error', rej);
    child.on('close', (status) => (status === 0 ? res({ lastLine: last, exit: performance.now() - t0 }) : rej(new Error(`${cmd} exited ${status}`))));
  });
}

async function runOnce(board: LoadedBoard, mode: 'plain' | 'stats' | 'trace', dir: string): Promise<{ ms: number; events: number; virtualNs: number }> {
  const writer = mode === 'trace' ? new ChromeTraceWriter(join(dir, 'bench.json')) : undefined;
  const counter = mode === 'stats' ? new HypercallCounter() : undefined;
  let events = 0;
  const s = new RunSession(board, {
    console: () => undefined,
    ...(mode === 'plain' ? {} : { trace: (e) => (events++, writer?.add(e), counter?.add(e)) }),
  });
  const t0 = performance.now();
  const r = await s.run();
  writer?.close(r.virtualNs);
  return { ms: performance.now() - t0, events, virtualNs: r.virtualNs };
}

export default async function (): Promise<Row[]> {
  const rows: Row[] = [];
  // Warm the image cache so no run pays for an esbuild bundle.
  await loadBoard(undefined);
  for (const [what, cmd, args] of [
    ['npm start', 'npm', ['start', '--silent']],
    ['node --import tsx tools/gunyah.ts run', process.execPath, ['--import', 'tsx', 'tools/gunyah.ts', 'run']],
  ] as const) {
    const t = [];
    for (let i = 0; i < 3; i++) t.push(await timeChild(cmd, [...args]));
    rows.push({ measure: `${what}: to last console line`, ms: Math.round(median(t.map((x) => x.lastLine))), 'trace events': '' });
    rows.push({ measure: `${what}: to exit`, ms: Math.round(median(t.map((x) => x.exit))), 'trace events': '' });
  }
  const loads: number[] = [];
  let board!: LoadedBoard;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    board = await loadBoard(undefined);
    loads.push(performance.now() - t0);
  }
  rows.push({ measure: 'in process: load + binding-check the default board (schemas cached)', ms: Math.round(median(loads)), 'trace events': '' });
  const dir = mkdtempSync(join(tmpdir(), 'gunyah-bench-'));
  try {
    const two = await loadBoard(join(ROOT, 'tests/fixtures/boards/two-cpu.dts'));
    // A busier board: the default board's machine with eight 4-vCPU kernel guests.
    const busyFile = join(dir, 'busy.dts');
    const vms = Array.from({ length: 8 }, (_, i) => `vm${i} { compatible = "gunyah-ts,vm"; image = "builtin:hello"; memory-size = <0x0 0x2000000>; vcpus = <4>; };`).join('\n');
    writeFileSync(busyFile, DEFAULT_BOARD_DTS.replace(/vms \{[\s\S]*\n    \};\n\};\n$/, `vms {\n${vms}\n};\n};\n`));
    const busy = await loadBoard(busyFile);
    for (const [name, b] of [
      ['default board', board],
      ['two-cpu.dts', two],
      ['8 VMs x 4 vCPUs', busy],
    ] as const) {
      const base: Record<string, number> = {};
      for (const mode of ['plain', 'stats', 'trace'] as const) {
        const runs = [];
        for (let i = 0; i < RUNS; i++) runs.push(await runOnce(b, mode, dir));
        const ms = median(runs.map((r) => r.ms));
        base[mode] = ms;
        const overhead = mode === 'plain' ? '' : ` (+${Math.round(((ms - base['plain']!) / base['plain']!) * 100)}%)`;
        rows.push({ measure: `in process: ${name}, ${mode === 'plain' ? 'no trace' : mode === 'stats' ? '--stats (trace counted)' : '--trace (JSON file)'}${overhead}`, ms: Math.round(ms * 10) / 10, 'trace events': runs[0]!.events });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows);
  return rows;
}

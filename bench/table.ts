// Small helpers shared by the benchmarks: timing loops and a plain-text table.

/** Run `fn` repeatedly for at least `minMs` of wall time (after a warm-up) and return ns per call. */
export function nsPerOp(fn: () => void, opts: { minMs?: number; batch?: number } = {}): number {
  const minMs = opts.minMs ?? 300;
  const batch = opts.batch ?? 1000;
  for (let i = 0; i < batch; i++) fn();
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  const limit = BigInt(minMs) * 1_000_000n;
  while (elapsed < limit) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / ops;
}

/** Same as nsPerOp for async work. */
export async function nsPerOpAsync(fn: () => Promise<void>, opts: { minMs?: number; batch?: number } = {}): Promise<number> {
  const minMs = opts.minMs ?? 300;
  const batch = opts.batch ?? 100;
  for (let i = 0; i < batch; i++) await fn();
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  const limit = BigInt(minMs) * 1_000_000n;
  while (elapsed < limit) {
    for (let i = 0; i < batch; i++) await fn();
    ops += batch;
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / ops;
}

export type Row = Record<string, string | number>;

/** Print rows as an aligned text table. */
export function printTable(rows: Row[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const cell = (v: string | number | undefined) =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 3 : 1)) : (v ?? '');
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`${line(cols)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => cell(r[c])))}\n`);
}

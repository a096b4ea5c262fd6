// `gunyah run` on the embedded default board, as `npm start` runs it, with --stats and --trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasStack, linesOf, runCli } from './helpers';

interface TraceEvt {
  ph: string;
  name: string;
  cat?: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  args?: Record<string, unknown>;
}

test('gunyah run (default board): every VM boots and prints, all exit, status 0, trace and stats', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gunyah-run-'));
  try {
    const trace = join(dir, 'out.json');
    const r = await runCli(['run', '--stats', '--trace', trace]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!hasStack(r.stderr), r.stderr);
    // The primary VM's kernel console, then each VM's own console.
    assert.ok(linesOf(r.stdout, 'primary').some((l) => l.includes('gh_vm_mgr: /dev/gunyah')), r.stdout);
    const vmids = new Map<string, number>();
    for (const [vm, cpus] of [
      ['alpha', 4],
      ['beta', 2],
    ] as const) {
      const lines = linesOf(r.stdout, vm);
      const hello = lines.map((l) => /^hello from vm (\d+)$/.exec(l)).find(Boolean);
      assert.ok(hello, `${vm}: ${lines.join(' / ')}`);
      vmids.set(vm, Number(hello[1]));
      assert.ok(lines.includes(`${cpus} CPUs online`), `${vm}: ${lines.join(' / ')}`);
      assert.ok(lines.includes('-- exited: PLATFORM_OFF'), `${vm}: ${lines.join(' / ')}`);
    }
    const gamma = linesOf(r.stdout, 'gamma');
    assert.ok(gamma.some((l) => /^hello from vm \d+$/.test(l)), gamma.join(' / '));
    assert.match(r.stderr, /3 VMs torn down, memory reclaimed, invariants hold/);
    // --stats: one row per VM with its VMID and console bytes ("hello from vm N\n" + "K CPUs online\n").
    for (const [vm, vmid] of vmids) {
      const row = r.stderr.split('\n').find((l) => l.startsWith(`${vm} `));
      assert.ok(row, r.stderr);
      const cols = row.trim().split(/\s{2,}/);
      assert.equal(Number(cols[1]), vmid);
      assert.ok(Number(cols[2]) > 0, `hypercalls of ${vm}: ${row}`);
      assert.equal(Number(cols[5]), `hello from vm ${vmid}\n`.length + '4 CPUs online\n'.length);
      assert.equal(cols[6], '32 MiB');
    }
    // --trace: JSON the trace viewers take, with run slices on pCPU threads for every vCPU of each VM.
    const json = JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: TraceEvt[] };
    const events = json.traceEvents;
    const slices = events.filter((e) => e.ph === 'X' && e.cat === 'run');
    const pcpus = new Set(slices.map((s) => s.tid));
    assert.ok(pcpus.size >= 2, `slices on ${pcpus.size} pCPUs`);
    for (const s of slices) assert.ok(s.dur! >= 0 && s.ts >= 0 && s.tid >= 0 && s.tid < 4);
    for (const [vm, vcpus] of [
      ['alpha', 4],
      ['beta', 2],
      ['gamma', 1],
    ] as const) {
      for (let v = 0; v < vcpus; v++) assert.ok(slices.some((s) => s.name === `${vm} vcpu${v}`), `no run slice for ${vm} vcpu${v}`);
    }
    // Slices of one pCPU never overlap.
    for (const cpu of pcpus) {
      const mine = slices.filter((s) => s.tid === cpu).sort((a, b) => a.ts - b.ts);
      for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.ts >= mine[i - 1]!.ts + mine[i - 1]!.dur! - 1e-6, `pCPU ${cpu} slices overlap at ${mine[i]!.ts}`);
    }
    assert.ok(events.some((e) => e.cat === 'hvc' && e.ph === 'i'), 'hypercall events');
    assert.ok(events.some((e) => e.cat === 'irq'), 'interrupt events');
    for (const state of ['created', 'running', 'exited', 'freed']) assert.ok(events.some((e) => e.cat === 'vm' && e.name === `VM ${state}`), `VM ${state} event`);
    assert.ok(events.some((e) => e.ph === 'M' && e.name === 'process_name' && (e.args?.['name'] as string).includes('(alpha)')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceEvent } from '../../../../firmware/hypervisor';
import { ChromeTraceWriter } from '../../../../tools/cli/run/chrome-trace';

test('chrome trace: run events become per-pCPU slices; instants per vCPU; names in metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trace-'));
  try {
    const path = join(dir, 't.json');
    const w = new ChromeTraceWriter(path);
    w.nameVm(128, 'alpha');
    const evs: TraceEvent[] = [
      { kind: 'run', t: 1000, vmid: 3, vcpu: 0, cpu: 0 },
      { kind: 'run', t: 1500, vmid: 128, vcpu: 1, cpu: 1 },
      { kind: 'hvc', t: 1600, vmid: 128, vcpu: 1, call: 0x6000, name: 'msgq_send', args: [], result: 0, error: 'OK' },
      { kind: 'run', t: 3000, vmid: 128, vcpu: 0, cpu: 0 },
      { kind: 'run', t: 4000, vmid: 0, vcpu: -1, cpu: 1 },
    ];
    for (const e of evs) w.add(e);
    w.vmState(128, 'exited', 4500, 'exit type 1');
    w.close(5000);
    const j = JSON.parse(readFileSync(path, 'utf8')) as { traceEvents: Record<string, unknown>[] };
    const x = j.traceEvents.filter((e) => e['ph'] === 'X').map((e) => [e['name'], e['tid'], e['ts'], e['dur']]);
    assert.deepEqual(x, [
      ['primary vcpu0', 0, 1, 2],
      ['alpha vcpu1', 1, 1.5, 2.5],
      ['alpha vcpu0', 0, 3, 2],
    ]);
    assert.deepEqual(w.slices.get('128:1'), 1);
    const hvc = j.traceEvents.find((e) => e['cat'] === 'hvc')!;
    assert.deepEqual([hvc['name'], hvc['ph'], hvc['pid'], hvc['tid'], hvc['ts']], ['msgq_send', 'i', 1128, 1, 1.6]);
    const names = j.traceEvents.filter((e) => e['ph'] === 'M').map((e) => (e['args'] as { name?: string }).name);
    assert.ok(names.includes('pCPU 1') && names.includes('VM 128 (alpha)') && names.includes('vcpu1'));
    assert.ok(j.traceEvents.some((e) => e['name'] === 'VM exited' && e['s'] === 'p'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

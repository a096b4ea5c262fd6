// The trace stream and determinism: the same seed gives the same events at the same virtual
// times; tracing is off until subscribed; the invariant checker catches corrupted state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hvc, hypercall, type TraceEvent } from '../../../firmware/hypervisor/index';
import { buildVm, create, ok, RAM_BASE, rig, type Rig } from './harness';

async function scenario(seed: number, record: boolean): Promise<{ events: string[]; rg: Rig }> {
  const events: string[] = [];
  const holder: { rg?: Rig } = {};
  const rg = rig(async (cpu, env) => {
    const q = await create(cpu, env, Hvc.PARTITION_CREATE_MSGQUEUE);
    await ok(cpu, Hvc.MSGQUEUE_CONFIGURE, q, (240 << 16) | 8, 0);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, q, 0);
    for (let i = 0; i < 2; i++) {
      await buildVm(cpu, env, holder.rg!.machine, {
        vmid: 70 + i,
        pa: RAM_BASE + 0x1000_0000 + i * 0x10_0000,
        size: 0x10_0000,
        ipaBase: 0x8000_0000,
        entry: 0x8000_0000,
        code: async (g) => {
          for (let k = 0; k < 5; k++) {
            await hypercall(g, Hvc.HYPERVISOR_IDENTIFY);
            await g.spin(250_000 * (i + 1));
          }
        },
      });
    }
    await hypercall(cpu, Hvc.MSGQUEUE_SEND, q, 8, 0x1000, 0, 0);
  }, { seed, cpus: 2 });
  holder.rg = rg;
  if (record) rg.hv.trace$.subscribe((e: TraceEvent) => events.push(JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))));
  await rg.machine.runUntilQuiescent();
  return { events, rg };
}

test('the same seed gives the same trace; another seed other cap IDs', async () => {
  const a = await scenario(11, true);
  const b = await scenario(11, true);
  const c = await scenario(12, true);
  assert.ok(a.events.length > 50, `${a.events.length} events`);
  assert.deepEqual(a.events, b.events);
  assert.notDeepEqual(a.events, c.events);
  assert.equal(a.rg.machine.now, b.rg.machine.now);
  const kinds = new Set(a.events.map((e) => (JSON.parse(e) as TraceEvent).kind));
  for (const k of ['hvc', 'sched', 'object', 'power']) assert.ok(kinds.has(k as never), `trace has ${k} events`);
  const hvc = a.events.map((e) => JSON.parse(e) as TraceEvent).find((e) => e.kind === 'hvc' && e.name === 'msgqueue_send');
  assert.ok(hvc && hvc.kind === 'hvc' && hvc.error === 'GH_ERROR_ADDR_INVALID', 'the send from an unmapped buffer is traced with its error');
});

test('tracing is off until subscribed and stops on unsubscribe', async () => {
  const rg = rig(async (cpu) => {
    for (let i = 0; i < 3; i++) await hypercall(cpu, Hvc.HYPERVISOR_IDENTIFY);
  });
  assert.equal(rg.hv.trace.enabled, false);
  const seen: TraceEvent[] = [];
  const sub = rg.hv.trace$.subscribe((e) => seen.push(e));
  assert.equal(rg.hv.trace.enabled, true);
  await rg.machine.runUntilQuiescent();
  sub.unsubscribe();
  assert.equal(rg.hv.trace.enabled, false);
  const calls = seen.filter((e) => e.kind === 'hvc');
  assert.equal(calls.length, 3);
  assert.ok(calls.every((e, i) => i === 0 || e.t >= calls[i - 1]!.t), 'virtual timestamps never go back');
});

test('the invariant checker reports corrupted ownership, mappings and caps', async () => {
  const { rg } = await scenario(3, false);
  assert.deepEqual(rg.hv.checkInvariants(), []);
  // Corrupt the stage 2 of a VM: map a page its extent does not own.
  const as = rg.hv.vmids.get(70)!;
  as.map(0xa000_0000, 0x1000, RAM_BASE, 15, 7, 7, [...as.s2.entries()][0]!.value.ext);
  const bad = rg.hv.checkInvariants();
  assert.ok(bad.some((m) => /not owned by its extent/.test(m)), bad.join('\n'));
});

// Doorbells: send/receive flag semantics, enable and ack masks, reset, and the VIRQ level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GhError, Hvc, hypercall, type GuestCpu } from '../../../firmware/hypervisor/index';
import { clearPending, create, err, isPending, ok, runRoot, setEdge } from './harness';

const VIRQ = 60;
const send = async (cpu: GuestCpu, db: bigint, f: bigint) => (await hypercall(cpu, Hvc.DOORBELL_SEND, db, f, 0)).x[1]!;
const recv = async (cpu: GuestCpu, db: bigint, c: bigint) => hypercall(cpu, Hvc.DOORBELL_RECEIVE, db, c, 0);

test('send returns the old flags, receive clears, clear-mask 0 is invalid', async () => {
  await runRoot(async (cpu, env) => {
    const db = await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, db, 0);
    assert.equal(await send(cpu, db, 0x5n), 0n);
    assert.equal(await send(cpu, db, 0x8000_0000_0000_0000n), 0x5n);
    const r = await recv(cpu, db, 0x1n);
    assert.deepEqual([r.error, r.x[1]], [GhError.OK, 0x8000_0000_0000_0005n]);
    assert.equal((await recv(cpu, db, 0n)).error, GhError.ARGUMENT_INVALID);
    assert.equal((await recv(cpu, db, ~0n)).x[1], 0x8000_0000_0000_0004n);
    assert.equal(await send(cpu, db, 0n), 0n);
  });
});

test('the VIRQ is level-asserted while flags & enable, and auto-acked by the ack mask', async () => {
  await runRoot(async (cpu, env) => {
    const db = await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL);
    assert.equal(await err(cpu, Hvc.DOORBELL_BIND_VIRQ, db, env.vic_capid, VIRQ, 0), GhError.OBJECT_STATE);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, db, 0);
    await ok(cpu, Hvc.DOORBELL_BIND_VIRQ, db, env.vic_capid, VIRQ, 0);
    assert.equal(await err(cpu, Hvc.DOORBELL_BIND_VIRQ, db, env.vic_capid, VIRQ + 1, 0), GhError.VIRQ_BOUND);
    // Only bit 1 enabled: bit 0 alone does not assert.
    await ok(cpu, Hvc.DOORBELL_MASK, db, 0x2n, 0x0n, 0);
    await send(cpu, db, 0x1n);
    assert.equal(await isPending(cpu, env, VIRQ), false);
    await send(cpu, db, 0x2n);
    assert.equal(await isPending(cpu, env, VIRQ), true);
    await recv(cpu, db, 0x2n);
    assert.equal(await isPending(cpu, env, VIRQ), false, 'level drops with the enabled flags');
    // Enabling a set flag asserts at once; the ack mask then clears it.
    await ok(cpu, Hvc.DOORBELL_MASK, db, 0x1n, 0x1n, 0);
    assert.equal((await recv(cpu, db, 0x10n)).x[1], 0n, 'flag 0 auto-acked on assert');
    // Level semantics with auto-ack: the flag is gone, so the line is low again.
    assert.equal(await isPending(cpu, env, VIRQ), false);
    // Edge-configured: an assert latches even though the auto-ack cleared the flag.
    await setEdge(cpu, env, VIRQ, true);
    assert.equal(await send(cpu, db, 0x1n), 0n);
    assert.equal(await isPending(cpu, env, VIRQ), true);
    await clearPending(cpu, env, VIRQ);
    // Masked flags send an edge-only assert, which an edge-configured VIRQ takes.
    await ok(cpu, Hvc.DOORBELL_MASK, db, 0x0n, 0x0n, 0);
    await send(cpu, db, 0x4n);
    assert.equal(await isPending(cpu, env, VIRQ), true, 'edge-only assert latches on an edge VIRQ');
    await clearPending(cpu, env, VIRQ);
    await setEdge(cpu, env, VIRQ, false);
    await send(cpu, db, 0x8n);
    assert.equal(await isPending(cpu, env, VIRQ), false, 'but not on a level VIRQ');
    // Reset: flags 0, enable all, ack 0, VIRQ cleared.
    await ok(cpu, Hvc.DOORBELL_RESET, db, 0);
    assert.equal((await recv(cpu, db, ~0n)).x[1], 0n);
    await send(cpu, db, 0x100n);
    assert.equal(await isPending(cpu, env, VIRQ), true, 'enable mask back to all ones');
    await ok(cpu, Hvc.DOORBELL_UNBIND_VIRQ, db, 0);
    await ok(cpu, Hvc.DOORBELL_BIND_VIRQ, db, env.vic_capid, VIRQ + 1, 0);
  });
});

// Doorbells: send/receive flag semantics, enable and ack masks, reset, and the VIRQ level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GhError, gicEnable, gicInit, Hvc, hypercall, type GicFrames, type GuestCpu } from '../../../firmware/hypervisor/index';
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
    // Not acknowledged yet: the assertion stays latched whatever the flags say now (check_pending
    // with reasserted = true); once that window is closed (ICPENDR here) the flags decide.
    assert.equal(await isPending(cpu, env, VIRQ), true, 'an unacknowledged assertion stays pending');
    await clearPending(cpu, env, VIRQ);
    assert.equal(await isPending(cpu, env, VIRQ), false, 'level drops with the enabled flags');
    // Enabling a set flag asserts at once; the ack mask then clears it.
    await ok(cpu, Hvc.DOORBELL_MASK, db, 0x1n, 0x1n, 0);
    assert.equal((await recv(cpu, db, 0x10n)).x[1], 0n, 'flag 0 auto-acked on assert');
    // The auto-acknowledged assertion is still delivered (the guest must not lose it)...
    assert.equal(await isPending(cpu, env, VIRQ), true, 'auto-acked but not yet taken');
    // ...but with the flag gone nothing holds the line once that window closes.
    await clearPending(cpu, env, VIRQ);
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

test('a level doorbell with an ack mask: one interrupt per send burst, re-pended at EOI only while flags & enable', async () => {
  await runRoot(async (cpu, env) => {
    const frames: GicFrames = { gicdBase: env.gicd_base, gicrBase: env.gicr_base, gicrStride: env.gicr_stride };
    const db = await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, db, 0);
    await ok(cpu, Hvc.DOORBELL_BIND_VIRQ, db, env.vic_capid, VIRQ, 0);
    // Linux v17's level irqfd: enable = ack = bit 0, so the flag is cleared as the VIRQ is raised.
    await ok(cpu, Hvc.DOORBELL_MASK, db, 0x1n, 0x1n, 0);
    await gicInit(cpu, frames);
    await gicEnable(cpu, frames, VIRQ, false);
    let taken = 0;
    let held: number | undefined;
    let mode: 'eoi' | 'hold' | 'drain-on-3rd' = 'eoi';
    cpu.setIrqVector(() => {
      for (;;) {
        const id = cpu.gicAcknowledge();
        if (id === 1023) return;
        assert.equal(id, VIRQ);
        taken++;
        if (mode === 'hold') {
          held = id; // the handler is still running: EOI comes later, from the test body
          return;
        }
        if (mode === 'drain-on-3rd' && taken === 3) {
          cpu.x[0] = db;
          cpu.x[1] = ~0n & 0xffff_ffff_ffff_ffffn;
          cpu.x[2] = 0n;
          void cpu.hvc(0x6000 + Hvc.DOORBELL_RECEIVE); // clears the flags before the EOI
        }
        cpu.gicEndOfInterrupt(id);
      }
    });
    const settle = () => cpu.spin(50_000);

    // A burst of sends before the guest gets to it: one interrupt, and it is not re-pended at EOI.
    cpu.setIrqMasked(true);
    for (let i = 0; i < 3; i++) await send(cpu, db, 0x1n);
    assert.equal((await recv(cpu, db, ~0n)).x[1], 0n, 'every send auto-acknowledged its flag');
    assert.equal(taken, 0);
    cpu.setIrqMasked(false);
    await settle();
    await settle();
    assert.equal(taken, 1, 'exactly one interrupt for the burst');
    assert.equal(await isPending(cpu, env, VIRQ), false);

    // A send while the guest handles the interrupt (after acknowledge, before EOI) is not lost:
    // the EOI re-pends it once.
    mode = 'hold';
    await send(cpu, db, 0x1n);
    await settle();
    assert.equal(taken, 2);
    await send(cpu, db, 0x1n);
    await send(cpu, db, 0x1n);
    await settle();
    assert.equal(taken, 2, 'active: not taken again before EOI');
    mode = 'eoi';
    cpu.gicEndOfInterrupt(held!);
    await settle();
    await settle();
    assert.equal(taken, 3, 're-pended once at EOI for the sends it had not seen');
    assert.equal(await isPending(cpu, env, VIRQ), false);

    // Without an ack mask the flag stays set: the EOI re-pends while flags & enable is non-zero,
    // and a receive that clears the flags ends it.
    await ok(cpu, Hvc.DOORBELL_MASK, db, 0x1n, 0x0n, 0);
    taken = 0;
    mode = 'drain-on-3rd';
    await send(cpu, db, 0x1n);
    for (let i = 0; i < 5; i++) await settle();
    assert.equal(taken, 3, 'taken until the handler cleared the flag');
    assert.equal((await recv(cpu, db, ~0n)).x[1], 0n);
    assert.equal(await isPending(cpu, env, VIRQ), false);
    cpu.setIrqMasked(true);
  });
});

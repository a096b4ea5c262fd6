// Message queues: configure limits, send/receive results and errors, thresholds and their VIRQs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DELAY_UNCHANGED, GhError, Hvc, hypercall, Rights, THRESHOLD_MAXIMUM, THRESHOLD_UNCHANGED, type BootEnv, type GuestCpu } from '../../../firmware/hypervisor/index';
import { create, err, isPending, ok, RM_BASE, runRoot, setEdge } from './harness';

const BUF = BigInt(RM_BASE + 0x10_0000);
const TX = 50;
const RX = 51;

async function queue(cpu: GuestCpu, env: BootEnv, depth: number, size: number): Promise<bigint> {
  const q = await create(cpu, env, Hvc.PARTITION_CREATE_MSGQUEUE);
  await ok(cpu, Hvc.MSGQUEUE_CONFIGURE, q, (size << 16) | depth, 0);
  await ok(cpu, Hvc.OBJECT_ACTIVATE, q, 0);
  return q;
}

const send = (cpu: GuestCpu, q: bigint, size: number, push = 0, buf = BUF) => hypercall(cpu, Hvc.MSGQUEUE_SEND, q, size, buf, push, 0);
const recv = (cpu: GuestCpu, q: bigint, bufSize = 240, buf = BUF + 0x1000n) => hypercall(cpu, Hvc.MSGQUEUE_RECEIVE, q, buf, bufSize, 0);

test('configure limits: depth 1..255, message size 1..1023, activation needs both', async () => {
  await runRoot(async (cpu, env) => {
    const q = await create(cpu, env, Hvc.PARTITION_CREATE_MSGQUEUE);
    for (const [size, depth] of [[0, 8], [240, 0], [1024, 8], [240, 256]]) {
      assert.equal(await err(cpu, Hvc.MSGQUEUE_CONFIGURE, q, (size! << 16) | depth!, 0), GhError.ARGUMENT_INVALID, `${size} x ${depth}`);
    }
    assert.equal(await err(cpu, Hvc.MSGQUEUE_CONFIGURE, q, (1023 << 16) | 255, 0), GhError.OK);
    const unconfigured = await create(cpu, env, Hvc.PARTITION_CREATE_MSGQUEUE);
    assert.equal(await err(cpu, Hvc.OBJECT_ACTIVATE, unconfigured, 0), GhError.OBJECT_CONFIG);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, q, 0);
    assert.equal(await err(cpu, Hvc.MSGQUEUE_CONFIGURE, q, (240 << 16) | 8, 0), GhError.OBJECT_STATE);
    // Operational calls need ACTIVE.
    const fresh = await create(cpu, env, Hvc.PARTITION_CREATE_MSGQUEUE);
    assert.equal((await send(cpu, fresh, 4)).error, GhError.OBJECT_STATE);
  });
});

test('send and receive: sizes, not-full / not-empty, FULL and EMPTY, bad buffers', async () => {
  await runRoot(async (cpu, env) => {
    const q = await queue(cpu, env, 3, 16);
    cpu.write(BUF, new TextEncoder().encode('0123456789abcdef'));
    assert.deepEqual([(await send(cpu, q, 0)).error], [GhError.ARGUMENT_SIZE], 'zero-length');
    assert.deepEqual([(await send(cpu, q, 17)).error], [GhError.ARGUMENT_SIZE], 'over max size');
    assert.equal((await send(cpu, q, 4, 0, 0x10n)).error, GhError.ADDR_INVALID, 'unmapped buffer');
    // A buffer running off the end of mapped memory fails whole; nothing is queued.
    assert.equal((await send(cpu, q, 16, 0, BigInt(RM_BASE + 0x100_0000 - 8))).error, GhError.ADDR_INVALID);
    let r = await send(cpu, q, 5);
    assert.deepEqual([r.error, r.x[1]], [GhError.OK, 1n]);
    r = await send(cpu, q, 16);
    assert.deepEqual([r.error, r.x[1]], [GhError.OK, 1n]);
    r = await send(cpu, q, 1);
    assert.deepEqual([r.error, r.x[1]], [GhError.OK, 0n], 'this send filled the queue');
    r = await send(cpu, q, 1);
    assert.deepEqual([r.error, r.x[1]], [GhError.MSGQUEUE_FULL, 0n]);
    // Receive: too-small buffer keeps the message queued; a read-only buffer is refused.
    r = await recv(cpu, q, 4);
    assert.deepEqual([r.error, r.x[1], r.x[2]], [GhError.ARGUMENT_SIZE, 0n, 1n]);
    r = await recv(cpu, q, 240, 0x10n);
    assert.equal(r.error, GhError.ADDR_INVALID);
    r = await recv(cpu, q);
    assert.deepEqual([r.error, r.x[1], r.x[2]], [GhError.OK, 5n, 1n]);
    const got = new Uint8Array(5);
    cpu.read(BUF + 0x1000n, got);
    assert.equal(new TextDecoder().decode(got), '01234');
    r = await recv(cpu, q);
    assert.deepEqual([r.error, r.x[1], r.x[2]], [GhError.OK, 16n, 1n]);
    r = await recv(cpu, q);
    assert.deepEqual([r.error, r.x[1], r.x[2]], [GhError.OK, 1n, 0n], 'now empty');
    r = await recv(cpu, q);
    assert.deepEqual([r.error, r.x[1], r.x[2]], [GhError.MSGQUEUE_EMPTY, 0n, 0n]);
    // Rights: send needs Send, receive and flush need Receive.
    const sendOnly = (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, env.cspace_capid, q, env.cspace_capid, Rights.msgqueue.SEND, 0))[1]!;
    assert.equal((await recv(cpu, sendOnly)).error, GhError.CSPACE_INSUFFICIENT_RIGHTS);
    assert.equal(await err(cpu, Hvc.MSGQUEUE_FLUSH, sendOnly, 0), GhError.CSPACE_INSUFFICIENT_RIGHTS);
  });
});

test('RX VIRQ: asserted when the count reaches the not-empty threshold or on push; level tracks the count', async () => {
  await runRoot(async (cpu, env) => {
    const q = await queue(cpu, env, 4, 8);
    await ok(cpu, Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, q, env.vic_capid, RX, 0);
    await ok(cpu, Hvc.MSGQUEUE_BIND_SEND_VIRQ, q, env.vic_capid, TX, 0);
    assert.equal(await err(cpu, Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, q, env.vic_capid, RX + 5, 0), GhError.VIRQ_BOUND);
    const q2 = await queue(cpu, env, 4, 8);
    assert.equal(await err(cpu, Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, q2, env.vic_capid, RX, 0), GhError.BUSY, 'VIRQ taken');
    assert.equal(await err(cpu, Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, q2, env.vic_capid, 31, 0), GhError.ARGUMENT_INVALID, 'not an SPI');
    assert.equal(await err(cpu, Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, q2, env.vic_capid, 1020, 0), GhError.ARGUMENT_INVALID, 'beyond the SPIs');
    // Threshold 2: one message is not enough; the second crosses it.
    await ok(cpu, Hvc.MSGQUEUE_CONFIGURE_RECEIVE, q, 2, DELAY_UNCHANGED, -1n);
    await send(cpu, q, 1);
    assert.equal(await isPending(cpu, env, RX), false);
    await send(cpu, q, 1);
    assert.equal(await isPending(cpu, env, RX), true);
    // Level: receiving below the threshold drops the line.
    await recv(cpu, q);
    assert.equal(await isPending(cpu, env, RX), false);
    // Push asserts regardless of the threshold.
    await recv(cpu, q);
    await send(cpu, q, 1, 1);
    await setEdge(cpu, env, RX, true);
    await send(cpu, q, 1, 1);
    assert.equal(await isPending(cpu, env, RX), true, 'edge latched by the push');
  });
});

test('threshold configuration: ranges, -1 unchanged, -2 maximum, delays unimplemented, re-evaluation', async () => {
  await runRoot(async (cpu, env) => {
    const q = await queue(cpu, env, 4, 8);
    await ok(cpu, Hvc.MSGQUEUE_BIND_SEND_VIRQ, q, env.vic_capid, TX, 0);
    await ok(cpu, Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, q, env.vic_capid, RX, 0);
    const cs = (thr: number | bigint, delay: number | bigint = DELAY_UNCHANGED) => err(cpu, Hvc.MSGQUEUE_CONFIGURE_SEND, q, thr, delay, -1n);
    const cr = (thr: number | bigint, delay: number | bigint = DELAY_UNCHANGED) => err(cpu, Hvc.MSGQUEUE_CONFIGURE_RECEIVE, q, thr, delay, -1n);
    assert.equal(await cs(1, 0), GhError.UNIMPLEMENTED, 'not-full holdoff');
    assert.equal(await cr(1, 5), GhError.UNIMPLEMENTED, 'not-empty holdoff');
    assert.equal(await cs(4), GhError.ARGUMENT_INVALID, 'not-full threshold must be below the depth');
    assert.equal(await cs(THRESHOLD_UNCHANGED), GhError.OK);
    assert.equal(await cr(0), GhError.ARGUMENT_INVALID);
    assert.equal(await cr(5), GhError.ARGUMENT_INVALID);
    assert.equal(await cr(4), GhError.OK);
    assert.equal(await cr(THRESHOLD_MAXIMUM), GhError.OK);
    assert.equal(await cr(THRESHOLD_UNCHANGED), GhError.OK);
    // Upper register bits are not part of the 32-bit threshold.
    assert.equal(await cs(0x1_0000_0002n), GhError.OK);
    // count (0) <= not-full threshold: configuring asserts the send VIRQ.
    assert.equal(await isPending(cpu, env, TX), true);
    await send(cpu, q, 1);
    await send(cpu, q, 1);
    await send(cpu, q, 1);
    await cs(1); // count 3 > 1: cleared
    assert.equal(await isPending(cpu, env, TX), false);
    // Receiving down to the not-full threshold asserts it again.
    await recv(cpu, q);
    assert.equal(await isPending(cpu, env, TX), false);
    await recv(cpu, q);
    assert.equal(await isPending(cpu, env, TX), true);
    await cr(1); // count 1 >= 1: asserted
    assert.equal(await isPending(cpu, env, RX), true);
    // Flush: empties, asserts send, clears receive.
    await cs(0);
    assert.equal(await isPending(cpu, env, TX), false);
    await ok(cpu, Hvc.MSGQUEUE_FLUSH, q, 0);
    assert.equal(await isPending(cpu, env, TX), true);
    assert.equal(await isPending(cpu, env, RX), false);
    assert.equal((await recv(cpu, q)).error, GhError.MSGQUEUE_EMPTY);
    // Unbinding and deleting leave no VIRQ bound.
    await ok(cpu, Hvc.MSGQUEUE_UNBIND_SEND_VIRQ, q, 0);
    const q2 = await queue(cpu, env, 2, 8);
    await ok(cpu, Hvc.MSGQUEUE_BIND_SEND_VIRQ, q2, env.vic_capid, TX, 0);
    await ok(cpu, Hvc.CSPACE_DELETE_CAP_FROM, env.cspace_capid, q, 0);
    await ok(cpu, Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, q2, env.vic_capid, RX, 0);
  });
});

// The split virtqueue (virtio 1.2 §2.7) on the device side: chains, indirect tables, ring index
// wrap-around at 2^16, EVENT_IDX, and a hostile guest's descriptors turning into a device error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bit,
  SplitQueue,
  VirtioFeature as F,
  VirtioMmio as R,
  VirtioStatus as S,
  virtioConsoleMmio,
  VirtqueueError,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  vringNeedEvent,
} from '../../../tools/devices/index';
import { ascii, driverOk, MEM_BASE, negotiate, rd, TestEnv, TestQueue, wr } from './helpers';

const V1 = bit(F.VERSION_1);
const DATA = MEM_BASE + 0x8000;

/** A live console with its transmit queue (size `n`) ready; extra features on request. */
function liveTx(n = 8, features = 0n, at?: (q: TestQueue) => void) {
  const env = new TestEnv();
  const dev = virtioConsoleMmio();
  dev.init(env);
  negotiate(dev, V1 | features);
  const rx = new TestQueue(env, 0, n, MEM_BASE + 0x1000);
  const tx = new TestQueue(env, 1, n, MEM_BASE + 0x4000);
  at?.(tx);
  rx.setup(dev);
  tx.setup(dev);
  driverOk(dev);
  return { env, dev, rx, tx };
}

const put = (env: TestEnv, gpa: number, s: string): void => env.bytes.set(ascii(s), gpa - MEM_BASE);
const needsReset = (dev: ReturnType<typeof liveTx>['dev']): boolean => (rd(dev, R.STATUS) & S.DEVICE_NEEDS_RESET) !== 0;

test('a chain of several readable descriptors is gathered in order', () => {
  const { env, dev, tx } = liveTx();
  put(env, DATA, 'hello, ');
  put(env, DATA + 0x100, 'virtio ');
  put(env, DATA + 0x200, 'world');
  const head = tx.post([
    { addr: DATA, len: 7 },
    { addr: DATA + 0x100, len: 7 },
    { addr: DATA + 0x200, len: 5 },
  ]);
  wr(dev, R.QUEUE_NOTIFY, 1);
  assert.equal(env.outText, 'hello, virtio world');
  assert.deepEqual(tx.takeUsed(), [[head, 0]]);
  assert.equal(dev.type.stats.txBytes, 19);
});

test('an indirect table (with VIRTIO_F_INDIRECT_DESC), alone or after direct descriptors', () => {
  const { env, dev, tx } = liveTx(8, bit(F.RING_INDIRECT_DESC));
  put(env, DATA, 'ab');
  put(env, DATA + 0x10, 'cd');
  put(env, DATA + 0x20, 'ef');
  tx.postIndirect(MEM_BASE + 0x7000, [
    { addr: DATA, len: 2 },
    { addr: DATA + 0x10, len: 2 },
  ]);
  // Direct descriptor, then one pointing at an indirect table (§2.7.5.3.2: must be handled).
  const v = env.view();
  v.setBigUint64(0x7100, BigInt(DATA + 0x20), true);
  v.setUint32(0x7108, 2, true);
  tx.post([
    { addr: DATA + 0x10, len: 1 },
    { addr: MEM_BASE + 0x7100, len: 16, flags: VIRTQ_DESC_F_INDIRECT },
  ]);
  wr(dev, R.QUEUE_NOTIFY, 1);
  assert.equal(env.outText, 'abcdcef');
  assert.equal(tx.takeUsed().length, 2);
  assert.equal(needsReset(dev), false);
});

test('ring indices wrap at 2^16: a queue started near 0xffff keeps working across the wrap', () => {
  const { env, dev, tx } = liveTx(4, 0n, (q) => q.startAt(0xfffe));
  assert.equal(dev.queues[1]!.lastAvail, 0xfffe);
  let expect = '';
  for (let i = 0; i < 10; i++) {
    const s = String.fromCharCode(0x41 + i);
    put(env, DATA + i, s);
    tx.post([{ addr: DATA + i, len: 1 }]);
    wr(dev, R.QUEUE_NOTIFY, 1);
    expect += s;
  }
  assert.equal(env.outText, expect);
  assert.equal(tx.takeUsed().length, 10);
  assert.equal(tx.usedIdx, (0xfffe + 10) & 0xffff);
  assert.equal(dev.queues[1]!.lastAvail, 8);
  assert.equal(needsReset(dev), false);
});

test('EVENT_IDX: the device publishes avail_event and notifies only when used_event is crossed', () => {
  const { env, dev, tx } = liveTx(8, bit(F.RING_EVENT_IDX));
  tx.usedEvent = 2; // interrupt me when the used index passes 2
  for (let i = 0; i < 4; i++) {
    tx.post([{ addr: DATA, len: 1 }]);
    wr(dev, R.QUEUE_NOTIFY, 1);
    assert.equal(tx.availEvent, i + 1, 'avail_event follows what the device consumed');
    const irq = rd(dev, R.INTERRUPT_STATUS) & 1;
    assert.equal(irq, i === 2 ? 1 : 0, `notification after completion ${i + 1}`);
    wr(dev, R.INTERRUPT_ACK, 1);
  }
  assert.equal(vringNeedEvent(2, 3, 2), true);
  assert.equal(vringNeedEvent(2, 2, 1), false);
  assert.equal(vringNeedEvent(0xffff, 0, 0xfffe), true, 'wraps');
});

test('receive: host input fills device-writable buffers; larger input spans several buffers', () => {
  const { env, dev, rx } = liveTx();
  rx.post([{ addr: DATA, len: 4, write: true }]);
  rx.post([
    { addr: DATA + 0x100, len: 2, write: true },
    { addr: DATA + 0x200, len: 8, write: true },
  ]);
  wr(dev, R.QUEUE_NOTIFY, 0);
  assert.equal(dev.input(ascii('0123456789xyz')), 13);
  assert.deepEqual(rx.takeUsed(), [
    [0, 4],
    [1, 9],
  ]);
  const txt = (at: number, n: number) => new TextDecoder().decode(env.bytes.subarray(at - MEM_BASE, at - MEM_BASE + n));
  assert.equal(txt(DATA, 4), '0123');
  assert.equal(txt(DATA + 0x100, 2), '45');
  assert.equal(txt(DATA + 0x200, 7), '6789xyz');
  assert.equal(dev.type.pendingInput, 0);
  assert.equal(env.irq, true);
});

test('input without receive buffers waits (bounded), and is delivered when buffers arrive', () => {
  const env = new TestEnv();
  const dev = virtioConsoleMmio({ inputBuffer: 8 });
  dev.init(env);
  negotiate(dev, V1);
  const rx = new TestQueue(env, 0, 8, MEM_BASE + 0x1000);
  rx.setup(dev);
  driverOk(dev);
  assert.equal(dev.input(ascii('abcdef')), 6);
  assert.equal(dev.input(ascii('ghijkl')), 2, 'only the room left is taken');
  assert.equal(dev.type.stats.inputRefused, 4);
  rx.post([{ addr: DATA, len: 64, write: true }]);
  wr(dev, R.QUEUE_NOTIFY, 0);
  assert.deepEqual(rx.takeUsed(), [[0, 8]]);
  assert.equal(new TextDecoder().decode(env.bytes.subarray(DATA - MEM_BASE, DATA - MEM_BASE + 8)), 'abcdefgh');
});

test('emerg_wr writes one character even before the device is configured', () => {
  const env = new TestEnv();
  const dev = virtioConsoleMmio();
  dev.init(env);
  wr(dev, R.CONFIG + 8, 0x21, 4);
  wr(dev, R.CONFIG + 8, 0x1_0a, 4);
  assert.deepEqual(env.out, [0x21, 0x0a]);
  assert.equal(dev.type.stats.emergBytes, 2);
});

test('a long transmit burst is done in batches; the rest finishes on the device timer', () => {
  const { env, dev, tx } = liveTx(128);
  for (let i = 0; i < 100; i++) tx.post([{ addr: DATA, len: 1 }]);
  env.bytes[DATA - MEM_BASE] = 0x2e;
  wr(dev, R.QUEUE_NOTIFY, 1);
  assert.equal(env.out.length, 64);
  assert.ok(env.timers.has(0));
  env.runTimers(dev);
  assert.equal(env.out.length, 100);
  assert.equal(tx.takeUsed().length, 100);
});

// ---- hostile guests ----

interface Hostile {
  name: string;
  features?: bigint;
  build(q: TestQueue, env: TestEnv): void;
  why: RegExp;
}

const hostile: Hostile[] = [
  {
    name: 'head index outside the table',
    build: (q) => q.makeAvailable(200),
    why: /head descriptor 200 is outside the table of 8/,
  },
  {
    name: 'next index outside the table',
    build: (q) => {
      q.writeDesc(0, { addr: DATA, len: 1, flags: VIRTQ_DESC_F_NEXT, next: 9 }, undefined);
      q.makeAvailable(0);
    },
    why: /links to 9, outside its table of 8/,
  },
  {
    name: 'a loop in the chain',
    build: (q) => {
      q.writeDesc(0, { addr: DATA, len: 1, flags: VIRTQ_DESC_F_NEXT, next: 1 }, undefined);
      q.writeDesc(1, { addr: DATA, len: 1, flags: VIRTQ_DESC_F_NEXT, next: 0 }, undefined);
      q.makeAvailable(0);
    },
    why: /longer than the queue \(a loop\?\)/,
  },
  {
    name: 'the available index jumps past the queue size',
    build: (q, env) => env.view().setUint16(q.avail + 2 - MEM_BASE, 9, true),
    why: /available index moved 9 entries ahead/,
  },
  {
    name: 'a readable descriptor after a writable one',
    build: (q) => q.post([{ addr: DATA, len: 1, write: true }, { addr: DATA, len: 1 }]),
    why: /device-readable descriptor 1 follows a device-writable one/,
  },
  {
    name: 'an indirect descriptor without the feature',
    build: (q) => q.post([{ addr: MEM_BASE + 0x7000, len: 16, flags: VIRTQ_DESC_F_INDIRECT }]),
    why: /VIRTIO_F_INDIRECT_DESC was not negotiated/,
  },
  {
    name: 'INDIRECT together with NEXT',
    features: bit(F.RING_INDIRECT_DESC),
    build: (q) => q.post([{ addr: MEM_BASE + 0x7000, len: 16, flags: VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, next: 1 }]),
    why: /sets both INDIRECT and NEXT/,
  },
  {
    name: 'an indirect table whose length is not a multiple of 16',
    features: bit(F.RING_INDIRECT_DESC),
    build: (q) => q.post([{ addr: MEM_BASE + 0x7000, len: 20, flags: VIRTQ_DESC_F_INDIRECT }]),
    why: /not a whole number of descriptors/,
  },
  {
    name: 'an indirect table larger than the queue',
    features: bit(F.RING_INDIRECT_DESC),
    build: (q) => q.post([{ addr: MEM_BASE + 0x7000, len: 16 * 9, flags: VIRTQ_DESC_F_INDIRECT }]),
    why: /indirect table of 9 descriptors exceeds the queue size 8/,
  },
  {
    name: 'an indirect descriptor inside an indirect table',
    features: bit(F.RING_INDIRECT_DESC),
    build: (q) => q.postIndirect(MEM_BASE + 0x7000, [{ addr: MEM_BASE + 0x7100, len: 16, flags: VIRTQ_DESC_F_INDIRECT }]),
    why: /indirect descriptor 0 inside an indirect table/,
  },
  {
    name: 'an indirect table that loops',
    features: bit(F.RING_INDIRECT_DESC),
    build: (q) =>
      q.postIndirect(MEM_BASE + 0x7000, [
        { addr: DATA, len: 1, flags: VIRTQ_DESC_F_NEXT, next: 1 },
        { addr: DATA, len: 1, flags: VIRTQ_DESC_F_NEXT, next: 0 },
      ]),
    why: /a loop\?/,
  },
  {
    name: 'a buffer outside guest memory',
    build: (q) => q.post([{ addr: 0x1000, len: 4 }]),
    why: /GPA 0x1000: unmapped/,
  },
  {
    name: 'a buffer straddling the end of the grant',
    build: (q) => q.post([{ addr: MEM_BASE + 0x10_0000 - 2, len: 4 }]),
    why: /unmapped/,
  },
  {
    name: 'a 2^64-ish address',
    build: (q, env) => {
      q.post([{ addr: 0, len: 4 }]);
      env.view().setBigUint64(q.desc - MEM_BASE, 0xffff_ffff_ffff_fff0n, true);
    },
    why: /overflow/,
  },
  {
    name: 'a chain over 2^32 bytes',
    build: (q) => q.post([{ addr: DATA, len: 0xffff_ffff }, { addr: DATA, len: 0xffff_ffff }]),
    why: /longer than 2\^32 bytes/,
  },
];

for (const h of hostile) {
  test(`hostile guest: ${h.name} is a device error (DEVICE_NEEDS_RESET), not a crash`, () => {
    const { env, dev, tx } = liveTx(8, h.features ?? 0n);
    h.build(tx, env);
    assert.doesNotThrow(() => wr(dev, R.QUEUE_NOTIFY, 1));
    assert.equal(needsReset(dev), true);
    assert.match(dev.stats.lastError!, h.why);
    assert.equal(env.out.length, 0, 'nothing was transmitted');
    assert.equal(tx.usedIdx, 0, 'no completion was written');
    // The driver is told through a configuration change interrupt.
    assert.equal(rd(dev, R.INTERRUPT_STATUS) & 2, 2);
  });
}

test('a receive chain with a read-only grant: the device cannot write and reports an error', () => {
  const env = new TestEnv([
    { gpa: BigInt(MEM_BASE), size: 0x8000n, writable: true },
    { gpa: BigInt(DATA), size: 0x1000n, writable: false },
  ]);
  const dev = virtioConsoleMmio();
  dev.init(env);
  negotiate(dev, V1);
  const rx = new TestQueue(env, 0, 8, MEM_BASE + 0x1000);
  rx.setup(dev);
  driverOk(dev);
  rx.post([{ addr: DATA, len: 8, write: true }]);
  wr(dev, R.QUEUE_NOTIFY, 0);
  dev.input(ascii('x'));
  assert.match(dev.stats.lastError!, /guest write of 1 bytes at GPA 0x80008000: permission/);
});

test('fuzz: random descriptor tables and rings never throw out of a register access and always terminate', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ addr: fc.oneof(fc.constant(DATA), fc.integer({ min: 0, max: 2 ** 32 })), len: fc.integer({ min: 0, max: 300 }), flags: fc.integer({ min: 0, max: 7 }), next: fc.integer({ min: 0, max: 20 }) }), { minLength: 16, maxLength: 16 }),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.boolean(),
      (descs, heads, start, indirect) => {
        const { env, dev, tx } = liveTx(16, indirect ? bit(F.RING_INDIRECT_DESC) | bit(F.RING_EVENT_IDX) : 0n, (q) => q.startAt(start));
        descs.forEach((d, i) => tx.writeDesc(i, d, undefined));
        for (const h of heads) tx.makeAvailable(h % 24);
        wr(dev, R.QUEUE_NOTIFY, 1);
        env.runTimers(dev);
        const st = rd(dev, R.STATUS);
        // Either everything that was made available was used, or the device says it needs a reset.
        if (!(st & S.DEVICE_NEEDS_RESET)) assert.equal(tx.takeUsed().length, heads.length);
        return true;
      },
    ),
    { seed: 0x5eed, numRuns: 300 },
  );
});

test('SplitQueue rejects a maximum that is not a power of 2', () => {
  assert.throws(() => new SplitQueue(0, 100), RangeError);
  assert.throws(() => new SplitQueue(0, 65536), RangeError);
  assert.ok(new VirtqueueError(3, 'x').message.startsWith('virtqueue 3'));
  assert.equal(VIRTQ_DESC_F_WRITE, 2);
});

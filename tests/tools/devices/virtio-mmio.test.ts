// The virtio-mmio transport's register semantics (virtio 1.2 §4.2.2): identification, feature
// negotiation, the status state machine, queue configuration, interrupts, configuration generation,
// and resets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bit,
  GUNYAH_TS_VENDOR_ID,
  VIRTIO_MMIO_MAGIC,
  VirtioFeature as F,
  VirtioMmio as R,
  VirtioStatus as S,
  virtioConsoleMmio,
  VirtioConsoleFeature,
} from '../../../tools/devices/index';
import { ascii, driverOk, MEM_BASE, negotiate, rd, TestEnv, TestQueue, wr } from './helpers';

const V1 = bit(F.VERSION_1);

function fresh() {
  const env = new TestEnv();
  const dev = virtioConsoleMmio();
  dev.init(env);
  return { env, dev };
}

test('identification registers: magic, version 2, device ID 3, vendor', () => {
  const { dev } = fresh();
  assert.equal(rd(dev, R.MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
  assert.equal(rd(dev, R.MAGIC_VALUE), 0x74726976);
  assert.equal(rd(dev, R.VERSION), 2);
  assert.equal(rd(dev, R.DEVICE_ID), 3);
  assert.equal(rd(dev, R.VENDOR_ID), GUNYAH_TS_VENDOR_ID);
  assert.equal(dev.windowSize, 0x200);
});

test('device features are read 32 bits at a time through DeviceFeaturesSel', () => {
  const { dev } = fresh();
  wr(dev, R.DEVICE_FEATURES_SEL, 0);
  const lo = rd(dev, R.DEVICE_FEATURES);
  wr(dev, R.DEVICE_FEATURES_SEL, 1);
  const hi = rd(dev, R.DEVICE_FEATURES);
  wr(dev, R.DEVICE_FEATURES_SEL, 2);
  assert.equal(rd(dev, R.DEVICE_FEATURES), 0);
  const all = (BigInt(hi) << 32n) | BigInt(lo);
  assert.equal(all, dev.offered);
  assert.ok(all & V1, 'VERSION_1 offered');
  assert.ok(all & bit(F.RING_INDIRECT_DESC) && all & bit(F.RING_EVENT_IDX));
  assert.ok(all & bit(VirtioConsoleFeature.SIZE) && all & bit(VirtioConsoleFeature.EMERG_WRITE));
  assert.equal(all & bit(VirtioConsoleFeature.MULTIPORT), 0n, 'single port');
  assert.equal(all & bit(F.NOTIFICATION_DATA), 0n, 'Gunyah forbids NOTIFICATION_DATA');
});

test('FEATURES_OK sticks only for an offered feature set that includes VERSION_1', () => {
  const { dev, env } = fresh();
  assert.equal(negotiate(dev, 0n) & S.FEATURES_OK, 0, 'legacy driver refused');
  assert.match(env.logs.at(-1)!.message, /VERSION_1 is required/);
  assert.equal(negotiate(dev, V1 | bit(50)) & S.FEATURES_OK, 0, 'unoffered bit refused');
  assert.match(env.logs.at(-1)!.message, /were not offered/);
  assert.equal(negotiate(dev, V1 | bit(F.RING_EVENT_IDX)) & S.FEATURES_OK, S.FEATURES_OK);
  assert.equal(dev.features, V1 | bit(F.RING_EVENT_IDX));
  // Once FEATURES_OK is set the driver features are frozen.
  wr(dev, R.DRIVER_FEATURES_SEL, 0);
  wr(dev, R.DRIVER_FEATURES, 0);
  driverOk(dev);
  assert.equal(dev.features, V1 | bit(F.RING_EVENT_IDX));
  assert.equal(rd(dev, R.STATUS), S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
});

test('DRIVER_OK without FEATURES_OK does not stick', () => {
  const { dev } = fresh();
  wr(dev, R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.DRIVER_OK);
  assert.equal(rd(dev, R.STATUS), S.ACKNOWLEDGE | S.DRIVER);
  assert.equal(dev.live, false);
});

test('queue registers: QueueNumMax per queue, 0 for a queue that does not exist', () => {
  const { dev } = fresh();
  for (const [q, max] of [[0, 256], [1, 256], [2, 0], [0xffff, 0]] as const) {
    wr(dev, R.QUEUE_SEL, q);
    assert.equal(rd(dev, R.QUEUE_NUM_MAX), max, `queue ${q}`);
    assert.equal(rd(dev, R.QUEUE_READY), 0);
  }
});

test('QueueReady refuses a bad layout or a ready before FEATURES_OK, and reads back 0', () => {
  const { dev, env } = fresh();
  const q = new TestQueue(env, 0, 16, MEM_BASE + 0x1000);
  q.setup(dev);
  assert.equal(rd(dev, R.QUEUE_READY), 0, 'before FEATURES_OK');
  negotiate(dev, V1);
  for (const [reg, val, why] of [
    [R.QUEUE_NUM, 12, /power of 2/],
    [R.QUEUE_NUM, 512, /power of 2, 1\.\.256/],
    [R.QUEUE_NUM, 0, /queue size 0/],
  ] as const) {
    wr(dev, R.QUEUE_READY, 0);
    wr(dev, reg, val);
    wr(dev, R.QUEUE_READY, 1);
    assert.equal(rd(dev, R.QUEUE_READY), 0);
    assert.match(env.logs.at(-1)!.message, why);
    wr(dev, R.QUEUE_NUM, 16);
  }
  q.setup(dev);
  wr(dev, R.QUEUE_READY, 0);
  wr(dev, R.QUEUE_DESC_LOW, MEM_BASE + 0x1008);
  wr(dev, R.QUEUE_READY, 1);
  assert.equal(rd(dev, R.QUEUE_READY), 0);
  assert.match(env.logs.at(-1)!.message, /not 16-byte aligned/);
  wr(dev, R.QUEUE_DESC_LOW, MEM_BASE + 0x1000);
  wr(dev, R.QUEUE_USED_LOW, q.used + 2);
  wr(dev, R.QUEUE_READY, 1);
  assert.match(env.logs.at(-1)!.message, /device area .* not 4-byte aligned/);
  q.setup(dev);
  assert.equal(rd(dev, R.QUEUE_READY), 1);
});

test('queue layout registers are frozen while the queue is ready', () => {
  const { dev, env } = fresh();
  negotiate(dev, V1);
  const q = new TestQueue(env, 1, 16, MEM_BASE + 0x1000);
  q.setup(dev);
  wr(dev, R.QUEUE_NUM, 4);
  wr(dev, R.QUEUE_DESC_LOW, 0x1234_0000);
  assert.equal(dev.queues[1]!.size, 16);
  assert.equal(dev.queues[1]!.descAddr, BigInt(q.desc));
  // Stopping the queue unfreezes them; it reads back 0.
  wr(dev, R.QUEUE_READY, 0);
  assert.equal(rd(dev, R.QUEUE_READY), 0);
  wr(dev, R.QUEUE_NUM, 4);
  assert.equal(dev.queues[1]!.size, 4);
});

test('64-bit queue addresses are assembled from low and high halves', () => {
  const { dev } = fresh();
  negotiate(dev, V1);
  wr(dev, R.QUEUE_SEL, 0);
  wr(dev, R.QUEUE_DESC_LOW, 0x8765_4000);
  wr(dev, R.QUEUE_DESC_HIGH, 0x1);
  wr(dev, R.QUEUE_AVAIL_HIGH, 0xffff_ffff);
  wr(dev, R.QUEUE_AVAIL_LOW, 0x10);
  assert.equal(dev.queues[0]!.descAddr, 0x1_8765_4000n);
  assert.equal(dev.queues[0]!.availAddr, 0xffff_ffff_0000_0010n);
});

test('interrupt status is raised by a used buffer, drives the line, and InterruptACK lowers it', () => {
  const { dev, env } = fresh();
  negotiate(dev, V1);
  const tx = new TestQueue(env, 1, 8, MEM_BASE + 0x2000);
  tx.setup(dev);
  driverOk(dev);
  env.bytes.set(ascii('hi'), 0x100);
  tx.post([{ addr: MEM_BASE + 0x100, len: 2 }]);
  wr(dev, R.QUEUE_NOTIFY, 1);
  assert.equal(env.outText, 'hi');
  assert.equal(rd(dev, R.INTERRUPT_STATUS), 1);
  assert.equal(env.irq, true);
  wr(dev, R.INTERRUPT_ACK, 2);
  assert.equal(env.irq, true, 'acking another bit leaves it');
  wr(dev, R.INTERRUPT_ACK, 1);
  assert.equal(rd(dev, R.INTERRUPT_STATUS), 0);
  assert.equal(env.irq, false);
  assert.deepEqual(tx.takeUsed(), [[0, 0]]);
});

test('no used-buffer notification when the driver set VIRTQ_AVAIL_F_NO_INTERRUPT', () => {
  const { dev, env } = fresh();
  negotiate(dev, V1);
  const tx = new TestQueue(env, 1, 8, MEM_BASE + 0x2000);
  tx.setup(dev);
  driverOk(dev);
  tx.availFlags = 1;
  tx.post([{ addr: MEM_BASE + 0x100, len: 1 }]);
  wr(dev, R.QUEUE_NOTIFY, 1);
  assert.equal(tx.takeUsed().length, 1);
  assert.equal(rd(dev, R.INTERRUPT_STATUS), 0);
  assert.equal(env.irq, false);
});

test('configuration space: cols/rows readable by byte, half and word; past the end reads 0', () => {
  const { dev } = fresh();
  assert.equal(rd(dev, R.CONFIG, 2), 80);
  assert.equal(rd(dev, R.CONFIG + 2, 2), 24);
  assert.equal(rd(dev, R.CONFIG, 4), 80 | (24 << 16));
  assert.equal(rd(dev, R.CONFIG + 1, 1), 0);
  assert.equal(rd(dev, R.CONFIG + 4, 4), 0, 'max_nr_ports without MULTIPORT');
  assert.equal(rd(dev, R.CONFIG + 12, 4), 0);
  assert.equal(rd(dev, R.CONFIG + 0xfc, 4), 0);
  assert.equal(rd(dev, R.CONFIG_GENERATION), 0);
});

test('a device error sets DEVICE_NEEDS_RESET, bumps ConfigGeneration and raises a config interrupt', () => {
  const { dev, env } = fresh();
  negotiate(dev, V1);
  const tx = new TestQueue(env, 1, 8, MEM_BASE + 0x2000);
  tx.setup(dev);
  driverOk(dev);
  tx.post([{ addr: 0x10, len: 4 }]); // outside the grant
  wr(dev, R.QUEUE_NOTIFY, 1);
  assert.equal(rd(dev, R.STATUS) & S.DEVICE_NEEDS_RESET, S.DEVICE_NEEDS_RESET);
  assert.equal(rd(dev, R.INTERRUPT_STATUS), 2);
  assert.equal(rd(dev, R.CONFIG_GENERATION), 1);
  assert.equal(env.irq, true);
  assert.equal(dev.stats.deviceErrors, 1);
  assert.match(dev.stats.lastError!, /GPA 0x10: unmapped/);
  // The device stopped: further notifications do nothing, the queue reads as not ready.
  wr(dev, R.QUEUE_SEL, 1);
  assert.equal(rd(dev, R.QUEUE_READY), 0);
  // A reset brings it back.
  wr(dev, R.STATUS, 0);
  assert.equal(rd(dev, R.STATUS), 0);
  assert.equal(rd(dev, R.INTERRUPT_STATUS), 0);
  assert.equal(env.irq, false);
  assert.equal(negotiate(dev, V1) & S.FEATURES_OK, S.FEATURES_OK);
});

test('writing 0 to Status resets features, queues and interrupts', () => {
  const { dev, env } = fresh();
  negotiate(dev, V1 | bit(F.RING_EVENT_IDX));
  new TestQueue(env, 0, 8, MEM_BASE + 0x2000).setup(dev);
  driverOk(dev);
  assert.equal(dev.live, true);
  wr(dev, R.STATUS, 0);
  assert.equal(dev.live, false);
  assert.equal(dev.features, 0n);
  wr(dev, R.QUEUE_SEL, 0);
  assert.equal(rd(dev, R.QUEUE_READY), 0);
  assert.equal(dev.queues[0]!.size, 0);
  assert.equal(dev.stats.resets, 2, 'the one in negotiate, and this one');
});

test('QueueReset (RING_RESET) resets one queue and reads 0 afterwards', () => {
  const { dev, env } = fresh();
  negotiate(dev, V1 | bit(F.RING_RESET));
  const rx = new TestQueue(env, 0, 8, MEM_BASE + 0x2000);
  rx.setup(dev);
  const tx = new TestQueue(env, 1, 8, MEM_BASE + 0x3000);
  tx.setup(dev);
  wr(dev, R.QUEUE_SEL, 0);
  wr(dev, R.QUEUE_RESET, 1);
  assert.equal(rd(dev, R.QUEUE_RESET), 0);
  assert.equal(rd(dev, R.QUEUE_READY), 0);
  wr(dev, R.QUEUE_SEL, 1);
  assert.equal(rd(dev, R.QUEUE_READY), 1, 'the other queue is untouched');
});

test('control registers need 32-bit accesses; write-only and reserved registers read 0; SHM reads -1', () => {
  const { dev } = fresh();
  assert.equal(rd(dev, R.MAGIC_VALUE, 2), 0);
  assert.equal(rd(dev, R.MAGIC_VALUE, 1), 0);
  assert.equal(rd(dev, R.MAGIC_VALUE, 8), 0);
  wr(dev, R.STATUS, S.ACKNOWLEDGE, 1);
  assert.equal(rd(dev, R.STATUS), 0, 'a byte write to Status is ignored');
  for (const off of [R.QUEUE_SEL, R.QUEUE_NOTIFY, R.INTERRUPT_ACK, R.DRIVER_FEATURES, R.QUEUE_NUM, 0x18, 0xf0]) assert.equal(rd(dev, off), 0, `0x${off.toString(16)}`);
  assert.equal(rd(dev, R.SHM_LEN_LOW), 0xffff_ffff);
  assert.equal(rd(dev, R.SHM_BASE_HIGH), 0xffff_ffff);
  // Outside the window or misaligned: ignored, reads 0.
  assert.equal(rd(dev, 0x200), 0);
  assert.equal(rd(dev, 0x1fe, 4), 0);
  assert.equal(rd(dev, 0x2, 4), 0);
});

test('notifications before DRIVER_OK are remembered: buffers posted in probe are used once the driver is OK', () => {
  const { dev, env } = fresh();
  negotiate(dev, V1);
  const rx = new TestQueue(env, 0, 8, MEM_BASE + 0x2000);
  rx.setup(dev);
  rx.post([{ addr: MEM_BASE + 0x400, len: 16, write: true }]);
  wr(dev, R.QUEUE_NOTIFY, 0);
  assert.equal(dev.input(ascii('early')), 5);
  assert.equal(rx.takeUsed().length, 0, 'nothing before DRIVER_OK');
  driverOk(dev);
  assert.deepEqual(rx.takeUsed(), [[0, 5]]);
  assert.equal(new TextDecoder().decode(env.bytes.subarray(0x400, 0x405)), 'early');
});

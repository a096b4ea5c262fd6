// The PL011 register model (tools/devices/pl011) and its DeviceEmulator wrapper, on a host-side
// DeviceEnv: flags, transmit gating, the receive FIFO and its interrupt, overrun, the identification
// registers, and host input that never overruns the FIFO.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pl011, Pl011Device, PL011_FR as FR, PL011_ID, PL011_INT as INT, PL011_REG as REG, PL011_SIZE } from '../../../tools/devices/index';
import { rd, TestEnv, wr } from './helpers';

const LCR_H_FEN = 1 << 4;
const CR_ENABLE = 0x301; // UARTEN | TXE | RXE

function device(): { dev: Pl011Device; env: TestEnv } {
  const env = new TestEnv();
  const dev = new Pl011Device();
  dev.init(env);
  return { dev, env };
}

test('reset state: TX empty, RX empty, TX interrupt raw-pending but masked, PrimeCell IDs, 4 KiB window', () => {
  const { dev, env } = device();
  assert.equal(dev.windowSize, PL011_SIZE);
  assert.equal(rd(dev, REG.FR), FR.TXFE | FR.RXFE);
  assert.equal(rd(dev, REG.RIS), INT.TX);
  assert.equal(rd(dev, REG.MIS), 0);
  assert.equal(rd(dev, REG.CR), 0x300);
  assert.equal(env.irq, false);
  assert.deepEqual(
    PL011_ID.map((_, i) => rd(dev, 0xfe0 + 4 * i)),
    [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1],
  );
  assert.equal(rd(dev, 0x800), 0, 'reserved offsets read as zero');
});

test('transmit only with UARTEN and TXE; bytes go to the character backend; every access is charged', () => {
  const { dev, env } = device();
  wr(dev, REG.DR, 0x41);
  assert.equal(env.outText, '', 'UART disabled: nothing is sent');
  wr(dev, REG.CR, CR_ENABLE);
  for (const c of 'hi\n') wr(dev, REG.DR, c.charCodeAt(0));
  assert.equal(env.outText, 'hi\n');
  assert.equal(dev.uartStats?.txBytes, 3);
  assert.equal(env.charged, 20 * 5, '5 register accesses at 20 ns');
});

test('receive: FIFO of 16 with FEN (1 without), RX interrupt through IMSC, cleared once drained', () => {
  const { dev, env } = device();
  wr(dev, REG.CR, CR_ENABLE);
  assert.equal(dev.input(Uint8Array.of(1, 2, 3)), 1, 'FIFOs off: one byte of room');
  assert.equal(rd(dev, REG.FR) & (FR.RXFF | FR.RXFE), FR.RXFF);
  assert.equal(rd(dev, REG.DR), 1);
  wr(dev, REG.LCR_H, LCR_H_FEN | 0x60);
  wr(dev, REG.IMSC, INT.RX | INT.RT);
  assert.equal(env.irq, false);
  const bytes = Uint8Array.from({ length: 20 }, (_, i) => 0x30 + i);
  assert.equal(dev.input(bytes), 16, 'the host offers 20, the FIFO takes 16 and the rest waits');
  assert.equal(env.irq, true);
  assert.equal(rd(dev, REG.RIS) & INT.OE, 0, 'host input never overruns');
  const got: number[] = [];
  while (!(rd(dev, REG.FR) & FR.RXFE)) got.push(rd(dev, REG.DR));
  assert.deepEqual(got, [...bytes.subarray(0, 16)], 'no error bits in DR');
  assert.equal(env.irq, false, 'the receive interrupt drops once the FIFO is drained');
  assert.equal(dev.input(bytes.subarray(16)), 4);
  assert.equal(env.irqEdges, 2);
});

test('the register model overruns a full FIFO: OE in RIS and DR, rest counted as dropped; ECR clears it', () => {
  const irqs: boolean[] = [];
  const u = new Pl011({ onIrq: (l) => irqs.push(l) });
  u.write(REG.LCR_H, 4, LCR_H_FEN);
  u.write(REG.IMSC, 4, INT.OE);
  assert.equal(u.rxRoom, 16);
  assert.equal(u.receive(new Uint8Array(18)), 16);
  assert.equal(u.stats.rxDropped, 2);
  assert.equal(u.read(REG.RIS) & INT.OE, INT.OE);
  assert.deepEqual(irqs, [true]);
  assert.equal(u.read(REG.DR) >> 8, 1 << 3, 'DR carries the overrun flag with the data');
  u.write(REG.RSR_ECR, 4, 0);
  assert.equal(u.read(REG.RSR_ECR), 0);
  u.write(REG.ICR, 4, INT.OE);
  assert.deepEqual(irqs, [true, false]);
});

test('disabling the FIFOs keeps the oldest byte only', () => {
  const u = new Pl011();
  u.write(REG.LCR_H, 4, LCR_H_FEN);
  u.receive(Uint8Array.of(7, 8, 9));
  u.write(REG.LCR_H, 4, 0);
  assert.equal(u.rxLevel, 1);
  assert.equal(u.read(REG.DR), 7);
});

test('init restarts the device: a fresh register file', () => {
  const { dev, env } = device();
  wr(dev, REG.CR, CR_ENABLE);
  wr(dev, REG.IMSC, INT.TX);
  assert.equal(env.irq, true);
  dev.init(env);
  assert.equal(env.irq, false);
  assert.equal(rd(dev, REG.IMSC), 0);
  assert.equal(rd(dev, REG.CR), 0x300);
});

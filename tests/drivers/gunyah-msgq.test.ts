// gunyah-msgq on the fake machine: a message-queue pair modelled after spec §2.1 (depth, not-full and
// not-empty thresholds, PUSH, TX/RX virqs as GIC SPIs). Checks ordering, -EAGAIN on a full queue with
// TX-done from the TX interrupt, RX drained until empty, and receive errors logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GhMsgq, type GhMsgqData } from '../../drivers/mailbox/index';
import { Hypercalls, Mm, type HypercallsImpl, type MmImpl } from '../../core/index';
import { bootFake } from '../core/helpers/kernel';
import { addDevice } from '../core/helpers/board';
import type { FakeMachine } from '../core/helpers/fake-machine';

const TX_CAP = 0x1111_0000_0000_0010n;
const RX_CAP = 0x1111_0000_0000_0011n;

/** Both queues of the pair, as the hypervisor would keep them. */
class FakePair {
  tx: Uint8Array[] = [];
  rx: Uint8Array[] = [];
  sends: { data: string; push: boolean }[] = [];
  failRecv = 0;
  constructor(
    private readonly m: FakeMachine,
    readonly depth = 3,
  ) {}

  install(): void {
    const prev = this.m.hvcHandler;
    this.m.hvcHandler = (cpu, imm) => {
      const x = cpu.x;
      if (x[0] === 0xc600801bn && x[1] === TX_CAP) {
        const size = Number(x[2]);
        if (this.tx.length === this.depth) {
          x[0] = 61n;
          x[1] = 0n;
          return;
        }
        const b = new Uint8Array(size);
        cpu.read(x[3]!, b);
        this.tx.push(b);
        this.sends.push({ data: new TextDecoder().decode(b), push: (x[4]! & 1n) === 1n });
        x[0] = 0n;
        x[1] = this.tx.length !== this.depth ? 1n : 0n;
        return;
      }
      if (x[0] === 0xc600801cn && x[1] === RX_CAP) {
        if (this.failRecv > 0) {
          this.failRecv--;
          x[0] = 22n; // ADDR_INVAL
          return;
        }
        const b = this.rx.shift();
        if (!b) {
          x[0] = 60n;
          x[2] = 0n;
          return;
        }
        cpu.write(x[2]!, b);
        x[0] = 0n;
        x[1] = BigInt(b.length);
        x[2] = this.rx.length > 0 ? 1n : 0n;
        return;
      }
      return prev(cpu, imm);
    };
  }

  /** The peer consumes one message; the TX virq fires when the count drops to depth - 1. */
  drainOne(): Uint8Array | undefined {
    const b = this.tx.shift();
    if (b && this.tx.length === this.depth - 1) this.m.gic.raise(35);
    return b;
  }

  /** The peer sends; the RX virq fires on the empty->1 edge or with PUSH. */
  peerSend(s: string, push = false): void {
    this.rx.push(new TextEncoder().encode(s));
    if (this.rx.length === 1 || push) this.m.gic.raise(36);
  }
}

async function setup() {
  const { m, k } = await bootFake();
  const node = addDevice(k.tree, 'msgq', ['test,msgq'], [3, 4]);
  const txIrq = k.irq.ofIrqGet(node, 0) as number;
  const rxIrq = k.irq.ofIrqGet(node, 1) as number;
  const pair = new FakePair(m);
  pair.install();
  const q = new GhMsgq(
    { mailbox: k.mailbox, irq: k.irq, hyp: k.get<HypercallsImpl>(Hypercalls), mm: k.get<MmImpl>(Mm), printk: k.printk },
    'test-msgq',
    { capid: TX_CAP, irq: txIrq },
    { capid: RX_CAP, irq: rxIrq },
  );
  return { m, k, pair, q };
}

const msg = (s: string, push = false): GhMsgqData => {
  const data = new TextEncoder().encode(s);
  return { length: data.length, push, data };
};

test('TX: in order, PUSH per message; a full queue waits for the TX interrupt and retries', async () => {
  const { m, k, pair, q } = await setup();
  const done: [string, number][] = [];
  await q.init({ txDone: (d, r) => done.push([new TextDecoder().decode(d.data), r]) });
  const sends = ['a', 'b', 'c', 'd', 'e'].map((s, i) => k.mailbox.send(q.chan, msg(s, i === 4)));
  await Promise.all(sends);
  await m.settle();
  // Depth 3: a, b, c queued; c filled it, so no TX-done for c until the queue drains.
  assert.deepEqual(pair.sends.map((x) => x.data), ['a', 'b', 'c']);
  assert.deepEqual(done, [
    ['a', 0],
    ['b', 0],
  ]);
  pair.drainOne();
  await m.settle();
  assert.deepEqual(pair.sends.map((x) => x.data), ['a', 'b', 'c', 'd']);
  pair.drainOne();
  pair.drainOne();
  await m.settle();
  pair.drainOne();
  await m.settle();
  assert.deepEqual(pair.sends.map((x) => `${x.data}${x.push ? '!' : ''}`), ['a', 'b', 'c', 'd', 'e!']);
  assert.deepEqual(done.map(([s]) => s), ['a', 'b', 'c', 'd', 'e']);
  await q.remove();
  await k.shutdown();
});

test('RX: the threaded interrupt drains every message to the rx callback; errors are logged and dropped', async () => {
  const { m, k, pair, q } = await setup();
  const got: string[] = [];
  await q.init({ rxCallback: (d) => got.push(new TextDecoder().decode(d.data.slice(0, d.length))) });
  pair.peerSend('one');
  pair.peerSend('two');
  pair.peerSend('three');
  await m.settle();
  assert.deepEqual(got, ['one', 'two', 'three']);
  pair.failRecv = 1;
  pair.peerSend('lost?');
  await m.settle();
  assert.match(k.dmesg(), /test-msgq: msgq recv failed: msgqueue_receive: GH_ERROR_ADDR_INVAL \(22\) \(errno -22\)/);
  assert.equal(q.rxErrors, 1);
  // The message stayed queued; the next interrupt (PUSH) collects it and the new one.
  pair.peerSend('four', true);
  await m.settle();
  assert.deepEqual(got, ['one', 'two', 'three', 'lost?', 'four']);
  await q.remove();
  // After remove the interrupts are free and the controller is gone.
  assert.equal(k.irq.desc(q.rx!.irq)!.actions.length, 0);
  await k.shutdown();
});

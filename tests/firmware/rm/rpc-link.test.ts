// The transmit side of a link (spec §14; rm-rpc-fifo.c): one message in flight, one buffered reply
// (a newer one drops it), at most 256 queued notifications (oldest dropped), notifications numbered
// by the RM's own counter; and the server's dispatch of unknown IDs and handler errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_PENDING_NOTIFICATIONS,
  Reassembler,
  RmErr,
  RmError,
  RpcServer,
  RpcType,
  fragmentMessage,
  type LinkTransport,
  type RpcLink,
  type RpcMessage,
} from '../../../firmware/rm';

/** A queue with room for `room` packets until the test makes more. */
class FakeQueue implements LinkTransport {
  sent: Uint8Array[] = [];
  inbox: Uint8Array[] = [];
  constructor(public room: number) {}
  async send(_l: RpcLink, p: Uint8Array): Promise<'ok' | 'full'> {
    if (this.room === 0) return 'full';
    this.room--;
    this.sent.push(p.slice());
    return 'ok';
  }
  async receive(): Promise<Uint8Array | 'empty'> {
    return this.inbox.shift() ?? 'empty';
  }
  messages(): RpcMessage[] {
    const r = new Reassembler();
    return this.sent.map((p) => r.push(p)).filter((m): m is RpcMessage => m !== undefined);
  }
}

test('a reply waits behind the message in flight, and a newer reply drops it', async () => {
  const q = new FakeQueue(1);
  const server = new RpcServer(q);
  const link = server.addLink(3, 1n, 2n, 40, 41);
  await link.notify(0x5610_0008, new Uint8Array(300)); // two packets: only one fits
  assert.ok(link.busy);
  await link.reply(0x5600_0017, 7, new Uint8Array(4));
  await link.reply(0x5600_0024, 8, new Uint8Array(8));
  assert.equal(link.stats.repliesDropped, 1);
  q.room = 10;
  await link.onTxReady();
  const m = q.messages();
  assert.deepEqual(
    m.map((x) => [x.type, x.msgId, x.seq]),
    [
      [RpcType.NOTIFICATION, 0x5610_0008, 0],
      [RpcType.REPLY, 0x5600_0024, 8],
    ],
  );
});

test('notifications queue up to 256, the oldest dropped, numbered by the RM in send order', async () => {
  const q = new FakeQueue(0);
  const server = new RpcServer(q);
  const link = server.addLink(3, 1n, 2n, 40, 41);
  for (let i = 0; i < MAX_PENDING_NOTIFICATIONS + 10; i++) await link.notify(0x5610_0080, new Uint8Array([i & 0xff, i >> 8]));
  // The first one is in flight; 256 wait; 9 of the oldest waiting were dropped.
  assert.equal(link.pendingNotifications, MAX_PENDING_NOTIFICATIONS);
  assert.equal(link.stats.notificationsDropped, 9);
  q.room = 1000;
  await link.onTxReady();
  const m = q.messages();
  assert.equal(m.length, 257);
  assert.deepEqual([...m[0]!.payload], [0, 0]);
  assert.deepEqual([...m[1]!.payload], [10, 0]);
  assert.deepEqual(
    m.map((x) => x.seq),
    m.map((_, i) => i),
  );
});

test('the server answers unknown IDs UNIMPLEMENTED, handler errors with their code, and ignores non-requests', async () => {
  const q = new FakeQueue(100);
  const server = new RpcServer(q);
  server.handle(0x5600_0024, () => new Uint8Array([3, 0, 0, 0]));
  server.handle(0x5600_0017, () => {
    throw new RmError(RmErr.VM_STATE);
  });
  server.handle(0x5600_0015, () => {
    throw new TypeError('a bug');
  });
  const faults: unknown[] = [];
  server.onFault = (e) => faults.push(e);
  const link = server.addLink(3, 1n, 2n, 40, 41);
  const feed = (type: 1 | 2 | 3, id: number, seq: number) => q.inbox.push(...fragmentMessage(type, id, seq, new Uint8Array(0)));
  feed(RpcType.REQUEST, 0x5600_0024, 1);
  feed(RpcType.REQUEST, 0x5600_0017, 2);
  feed(RpcType.REQUEST, 0x5600_0099, 3);
  feed(RpcType.NOTIFICATION, 0x5600_0024, 4);
  feed(RpcType.REPLY, 0x5600_0024, 5);
  feed(RpcType.REQUEST, 0x5600_0015, 6);
  await server.drain(link);
  const hex = (m: RpcMessage) => `${m.seq}:${Buffer.from(m.payload).toString('hex')}`;
  assert.deepEqual(q.messages().map(hex), ['1:0000000003000000', '2:14000000', '3:ffffffff', '6:03000000']);
  assert.equal(faults.length, 1);
  assert.deepEqual(server.stats, { requests: 4, unimplemented: 1, errors: 2, ignored: 2, faults: 1 });
});

// The RPC transport's wire codec (spec §14): header bytes, fragmentation at the boundaries and the
// receiver's drop rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RPC_MAX_CONTENT,
  RPC_MAX_FRAGMENTS,
  RPC_MAX_MESSAGE,
  Reassembler,
  RpcType,
  fragmentMessage,
  fragmentsFor,
  readRpcHeader,
} from '../../../firmware/rm';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const payload = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

test('the header is 0x21, type | fragments << 2, LE16 seq, LE32 msg_id', () => {
  const [p] = fragmentMessage(RpcType.REQUEST, 0x5600_0017, 0x1234, new Uint8Array([0x80, 0, 0, 0]));
  // 0: api 0x21 | 1: REQUEST (1), 0 fragments | 2-3: seq 0x1234 | 4-7: VM_GET_STATE | 8-11: vmid 0x80, res 0
  assert.equal(hex(p!), '21' + '01' + '3412' + '17000056' + '80000000');
  assert.deepEqual(readRpcHeader(p!), { type: RpcType.REQUEST, fragments: 0, seq: 0x1234, msgId: 0x5600_0017 });
});

test('fragmentation at 0, 1, 232, 233 and 14616 bytes', () => {
  const cases: [number, number][] = [
    [0, 0],
    [1, 0],
    [RPC_MAX_CONTENT, 0],
    [RPC_MAX_CONTENT + 1, 1],
    [RPC_MAX_MESSAGE, RPC_MAX_FRAGMENTS],
  ];
  for (const [len, frags] of cases) {
    assert.equal(fragmentsFor(len), frags, `fragments for ${len}`);
    const data = payload(len);
    const pkts = fragmentMessage(RpcType.REPLY, 0x5100_0012, 77, data);
    assert.equal(pkts.length, frags + 1);
    pkts.forEach((p, i) => {
      const h = readRpcHeader(p);
      assert.ok(typeof h !== 'string');
      // The first packet carries the real type; the rest are continuations repeating id, seq, count.
      assert.deepEqual(h, { type: i === 0 ? RpcType.REPLY : RpcType.CONTINUATION, fragments: frags, seq: 77, msgId: 0x5100_0012 });
      assert.ok(p.length <= 240);
    });
    // An empty payload is one header-only packet.
    if (len === 0) assert.equal(pkts[0]!.length, 8);
    const r = new Reassembler();
    let out;
    for (const p of pkts) out = r.push(p);
    assert.ok(out, `reassembled ${len}`);
    assert.equal(out.type, RpcType.REPLY);
    assert.deepEqual(out.payload, data);
  }
  assert.throws(() => fragmentMessage(RpcType.REQUEST, 1, 1, new Uint8Array(RPC_MAX_MESSAGE + 1)), RangeError);
});

test('the receiver drops what the RM drops and keeps working', () => {
  const r = new Reassembler();
  const good = fragmentMessage(RpcType.REQUEST, 0x5600_0024, 5, new Uint8Array(0))[0]!;
  // Short packet, wrong version, wrong header words, a fragment count above 62.
  assert.equal(r.push(new Uint8Array(7)), undefined);
  const badVersion = good.slice();
  badVersion[0] = 0x22;
  assert.equal(r.push(badVersion), undefined);
  const badWords = good.slice();
  badWords[0] = 0x31;
  assert.equal(r.push(badWords), undefined);
  const tooMany = good.slice();
  tooMany[1] = (63 << 2) | 1;
  assert.equal(r.push(tooMany), undefined);
  // A continuation with nothing pending.
  const cont = good.slice();
  cont[1] = 0;
  assert.equal(r.push(cont), undefined);
  assert.deepEqual(
    Object.fromEntries(r.drops),
    { short: 1, version: 1, 'header-words': 1, fragments: 1, 'orphan-continuation': 1 },
  );
  // A multi-fragment message: a continuation with another seq, id or count is dropped, a new
  // request discards the partial one.
  const big = fragmentMessage(RpcType.REQUEST, 0x5100_0012, 9, payload(500));
  assert.equal(r.push(big[0]!), undefined);
  const wrongSeq = big[1]!.slice();
  wrongSeq[2] = 10;
  assert.equal(r.push(wrongSeq), undefined);
  const wrongCount = big[1]!.slice();
  wrongCount[1] = 1 << 2;
  assert.equal(r.push(wrongCount), undefined);
  assert.ok(r.pending);
  const m = r.push(good);
  assert.equal(m?.msgId, 0x5600_0024);
  assert.ok(!r.pending);
  assert.equal(r.drops.get('mismatched-continuation'), 2);
  assert.equal(r.drops.get('superseded'), 1);
  // A lying count: a first packet that says 2 continuations, followed by 1, then a new message.
  const liar = fragmentMessage(RpcType.REQUEST, 0x5100_0013, 1, payload(700));
  r.push(liar[0]!);
  r.push(liar[1]!);
  assert.equal(r.push(good)?.seq, 5);
  // Oversized packets never reach the header decoder.
  assert.equal(r.push(new Uint8Array(241).fill(0x21)), undefined);
  assert.equal(r.drops.get('oversize'), 1);
});

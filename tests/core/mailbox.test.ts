// The mailbox framework: TX queue ordering under random TX-done timing (fast-check), -EAGAIN retry,
// tx_block with timeout, ENOBUFS, polled controllers, bind/request/free, DT channel lookup with deferral.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { E, Errno, ProbeDefer, type MailboxImpl, type MboxChan, type MboxChanOps } from '../../core/index';
import { bootFake } from './helpers/kernel';
import { addDevice } from './helpers/board';

interface Msg {
  id: number;
}

test('TX order, each message exactly once, under random TX-done timing and busy hardware (fast-check)', async () => {
  const { m, k } = await bootFake();
  const mbox = k.mailbox;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          gapUs: fc.integer({ min: 0, max: 50 }),
          busy: fc.boolean(),
          doneUs: fc.integer({ min: 0, max: 80 }),
          early: fc.boolean(),
        }),
        { minLength: 1, maxLength: 40 },
      ),
      async (plan) => {
        const wire: number[] = [];
        const done: number[] = [];
        let busyLeft = 0;
        let chan!: MboxChan<Msg>;
        const ops: MboxChanOps<Msg> = {
          sendData(c, data) {
            const step = plan[data.id]!;
            // The hardware refuses the first attempt of a "busy" message; a later TX interrupt retries.
            if (step.busy && busyLeft === data.id) {
              busyLeft = -1;
              k.clock.after(step.doneUs * 1000 + 1000, () => mbox.chanTxDone(c, 0));
              return -E.EAGAIN;
            }
            busyLeft = data.id + 1;
            wire.push(data.id);
            // Sometimes the controller reports TX-done from inside send_data (the framework copes).
            if (step.early) mbox.chanTxDone(c, 0);
            else k.clock.after(step.doneUs * 1000, () => mbox.chanTxDone(c, 0));
            return 0;
          },
        };
        const ctrl = mbox.registerController<Msg>({ name: 'fuzz', ops, numChans: 1, txdoneIrq: true });
        chan = ctrl.chans[0]!;
        await mbox.bindClient(chan, { txDone: (d, r) => done.push(r === 0 ? d.id : -1) });
        const sends: Promise<number>[] = [];
        for (let i = 0; i < plan.length; i++) {
          if (plan[i]!.gapUs) await m.advance(plan[i]!.gapUs * 1000);
          if (chan.pending >= 20) await m.advance(200_000);
          sends.push(mbox.send(chan, { id: i }));
        }
        await m.advance(10_000_000);
        await Promise.all(sends);
        const want = plan.map((_, i) => i);
        assert.deepEqual(wire, want);
        assert.deepEqual(done, want);
        assert.equal(chan.pending, 0);
        await mbox.unregisterController(ctrl);
      },
    ),
    { seed: 0x5eed, numRuns: 60 },
  );
  await k.shutdown();
});

function instantCtrl(mbox: MailboxImpl, opts: { ack?: boolean; poll?: () => boolean } = {}) {
  const sent: string[] = [];
  const ctrl = mbox.registerController<string>({
    name: 'ctrl',
    numChans: 2,
    txdoneIrq: !opts.ack && !opts.poll,
    txdonePoll: !!opts.poll,
    txpollPeriodMs: 1,
    ops: {
      sendData(_c, d) {
        sent.push(d);
        return 0;
      },
      ...(opts.poll ? { lastTxDone: () => opts.poll!() } : {}),
    },
  });
  return { ctrl, sent };
}

test('tx_block: send resolves after TX-done; times out with ETIME on virtual time', async () => {
  const { m, k } = await bootFake();
  const mbox = k.mailbox;
  const { ctrl, sent } = instantCtrl(mbox);
  const chan = ctrl.chans[0]!;
  const txDone: [string, number][] = [];
  await mbox.bindClient(chan, { txBlock: true, txTimeoutMs: 5, txDone: (d, r) => txDone.push([d, r]) });
  let resolved = false;
  const p = mbox.send(chan, 'a').then(() => (resolved = true));
  await m.settle();
  assert.deepEqual(sent, ['a']);
  assert.equal(resolved, false);
  mbox.chanTxDone(chan, 0);
  await p;
  const late = mbox.send(chan, 'b').catch((e: unknown) => e);
  await m.advance(6_000_000);
  assert.ok(Errno.is(await late, 'ETIME'));
  assert.deepEqual(txDone, [
    ['a', 0],
    ['b', -E.ETIME],
  ]);
  await k.shutdown();
});

test('the TX ring holds 20 messages; the 21st is ENOBUFS; no client is EINVAL', async () => {
  const { k } = await bootFake();
  const mbox = k.mailbox;
  const ctrl = mbox.registerController<number>({ name: 'stuck', numChans: 1, txdoneIrq: true, ops: { sendData: () => -E.EAGAIN } });
  const chan = ctrl.chans[0]!;
  await assert.rejects(mbox.send(chan, 1), (e: unknown) => Errno.is(e, 'EINVAL'));
  await mbox.bindClient(chan, {});
  for (let i = 0; i < 20; i++) await mbox.send(chan, i);
  await assert.rejects(mbox.send(chan, 20), (e: unknown) => Errno.is(e, 'ENOBUFS'));
  assert.match(k.dmesg(), /try increasing MBOX_TX_QUEUE_LEN/);
  await k.shutdown();
});

test('polled controllers: the framework asks last_tx_done until it says yes', async () => {
  const { m, k } = await bootFake();
  const mbox = k.mailbox;
  let gone = false;
  const { ctrl } = instantCtrl(mbox, { poll: () => gone });
  const chan = ctrl.chans[0]!;
  const done: string[] = [];
  await mbox.bindClient(chan, { txDone: (d) => done.push(d) });
  await mbox.send(chan, 'x');
  await mbox.send(chan, 'y');
  await m.advance(5_000_000);
  assert.deepEqual(done, []);
  gone = true;
  await m.advance(5_000_000);
  assert.deepEqual(done, ['x', 'y']);
  // The controller cannot report TX-done by interrupt, so that call is refused (and logged).
  mbox.chanTxDone(chan, 0);
  assert.match(k.dmesg(), /controller can't run the TX ticker/);
  await k.shutdown();
});

test('knows_txdone: the client acknowledges; rx data reaches the rx callback', async () => {
  const { k } = await bootFake();
  const mbox = k.mailbox;
  const { ctrl } = instantCtrl(mbox, { poll: () => false });
  const chan = ctrl.chans[1]!;
  const done: string[] = [];
  const rx: string[] = [];
  await mbox.bindClient(chan, { knowsTxdone: true, txDone: (d) => done.push(d), rxCallback: (d) => rx.push(d) });
  await mbox.send(chan, 'q');
  mbox.clientTxDone(chan, 0);
  assert.deepEqual(done, ['q']);
  mbox.chanReceived(chan, 'reply');
  assert.deepEqual(rx, ['reply']);
  await k.shutdown();
});

test('bind: EBUSY for a bound channel; startup failure frees the channel; free runs shutdown', async () => {
  const { k } = await bootFake();
  const mbox = k.mailbox;
  const events: string[] = [];
  let failStartup = true;
  const ctrl = mbox.registerController<number>({
    name: 'life',
    numChans: 1,
    txdoneIrq: true,
    ops: {
      sendData: () => 0,
      startup: () => {
        events.push('startup');
        if (failStartup) throw new Errno('EIO', 'no hardware');
      },
      shutdown: () => void events.push('shutdown'),
    },
  });
  const chan = ctrl.chans[0]!;
  await assert.rejects(mbox.bindClient(chan, {}), (e: unknown) => Errno.is(e, 'EIO'));
  assert.equal(chan.client, undefined);
  failStartup = false;
  await mbox.bindClient(chan, {});
  await assert.rejects(mbox.bindClient(chan, {}), (e: unknown) => Errno.is(e, 'EBUSY'));
  await mbox.freeChannel(chan);
  assert.deepEqual(events, ['startup', 'shutdown', 'startup', 'shutdown']);
  assert.throws(() => mbox.registerController({ name: 'bad', numChans: 0, ops: { sendData: () => 0 } }), (e: unknown) => Errno.is(e, 'EINVAL'));
  await k.shutdown();
});

test('DT lookup: mboxes/#mbox-cells, deferral before the controller registers, by name', async () => {
  const { k } = await bootFake();
  const mbox = k.mailbox;
  const tree = k.tree;
  const ctrlNode = addDevice(tree, 'mbox@100', ['test,mbox']);
  ctrlNode.setU32('#mbox-cells', 1);
  ctrlNode.setU32('phandle', 0x40);
  const consumer = addDevice(tree, 'client', ['test,client']);
  consumer.setU32('mboxes', [0x40, 1, 0x40, 0]);
  consumer.setStringList('mbox-names', ['tx', 'rx']);
  const early = await mbox.requestChannel({}, consumer, 0);
  assert.ok(early instanceof ProbeDefer);
  const ctrl = mbox.registerController<number>({ name: 'dt', node: ctrlNode, numChans: 2, txdoneIrq: true, ops: { sendData: () => 0 } });
  const tx = await mbox.requestChannel({}, consumer, 0);
  assert.equal(tx, ctrl.chans[1]);
  const rx = await mbox.requestChannelByName({}, consumer, 'rx');
  assert.equal(rx, ctrl.chans[0]);
  consumer.setU32('mboxes', [0x40, 7]);
  await assert.rejects(mbox.requestChannel({}, consumer, 0), (e: unknown) => Errno.is(e, 'EINVAL'));
  await k.shutdown();
});

// The RM driver on the fake machine with a fake RM behind a modelled msgq pair: probe from the DT node,
// fragmentation both ways, concurrent calls matched by sequence, RM errors as RmError/errno, per-call
// timeouts on virtual time, notifications as streams, and every kind of bad input logged and dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom, take, toArray } from 'rxjs';
import { E, Errno } from '../../core/index';
import { GunyahRm, RM_MSG, RM_NOTIF, RmError, rmErrorToErrno, type GunyahRmRegistry } from '../../drivers/virt/index';
import { setupRm as setup } from './helpers/fake-rm-kernel';

test('probe: the RM node binds, the link is registered; a wrong API version refuses to probe', async () => {
  const { k, ghrm } = await setup();
  assert.ok(ghrm);
  const dev = k.devices().find((d) => d.compatible[0] === 'gunyah-resource-manager')!;
  assert.equal(dev.state, 'bound');
  assert.match(k.dmesg(), /gh_rsc_mgr .*: Gunyah API v1, RM link on msgq tx 0x1111000000000010 rx 0x1111000000000011/);
  await k.shutdown();
  assert.equal(k.get<GunyahRmRegistry>(GunyahRm).get(), undefined);
  const bad = await setup(2);
  assert.equal(bad.ghrm, undefined);
  assert.match(bad.k.dmesg(), /gh_rsc_mgr .*probe failed with error -19 \(ENODEV\): .*unsupported hypervisor API version 2/);
  await bad.k.shutdown();
});

test('calls: replies parsed, VMID cached, fragmentation both ways, errors mapped', async () => {
  const { m, k, rm, ghrm } = await setup();
  rm.behaviour = (req) => {
    switch (req.msgId) {
      case RM_MSG.VM_GET_VMID:
        return { data: Uint8Array.of(3, 0, 0, 0) };
      case RM_MSG.VM_ALLOC_VMID:
        return req.payload[0] === 0 ? { data: Uint8Array.of(0x80, 0, 0, 0) } : { err: 0x2 };
      case RM_MSG.MEM_LEND:
        // Echo the request length back as the handle, and a long tail to make a 3-fragment reply.
        return { data: new Uint8Array(4 + 500).fill(7).map((v, i) => (i < 4 ? [req.payload.length & 0xff, req.payload.length >> 8, 0, 0][i]! : v)) };
      default:
        return { err: 0xffffffff };
    }
  };
  const r = ghrm!;
  const vmid = Promise.all([r.getVmid(), r.vm.allocVmid()]);
  await m.settle();
  assert.deepEqual(await vmid, [3, 0x80]);
  const again = r.getVmid();
  await m.settle();
  assert.equal(await again, 3);
  assert.equal(rm.requests.filter((q) => q.msgId === RM_MSG.VM_GET_VMID).length, 1);
  // A 5-fragment request (ACL + 60 SGL entries) and a 3-fragment reply.
  const sgl = Array.from({ length: 60 }, (_, i) => ({ ipa: 0x8000_0000n + BigInt(i) * 0x1000n, size: 0x1000n }));
  const lend = r.mem.lend({ memType: 0, label: 9, acl: [{ vmid: 0x80, perms: 6 }], sgl });
  await m.settle();
  const req = rm.requests.find((q) => q.msgId === RM_MSG.MEM_LEND)!;
  assert.equal(req.payload.length, 8 + 8 + 4 + 60 * 16 + 4);
  assert.equal(req.fragments, Math.ceil(req.payload.length / 232) - 1);
  assert.equal(await lend, req.payload.length);
  // RM errors.
  const fail = r.vm.allocVmid(5).catch((e: unknown) => e);
  const unimpl = r.vm.hostGetType().catch((e: unknown) => e);
  await m.settle();
  const e1 = (await fail) as RmError;
  assert.ok(e1 instanceof RmError);
  assert.equal(e1.codeName, 'GH_RM_ERROR_NORESOURCE');
  assert.equal(e1.toErrno().errno, E.ENODEV);
  assert.equal(((await unimpl) as RmError).toErrno().errno, E.EOPNOTSUPP);
  assert.equal(rmErrorToErrno(0x14), E.EBADMSG);
  // Bad arguments never reach the RM.
  await assert.rejects(r.rpc.call(0), (e: unknown) => Errno.is(e, 'EINVAL'));
  await assert.rejects(r.rpc.call(RM_MSG.MEM_LEND, new Uint8Array(62 * 232 + 1)), (e: unknown) => Errno.is(e, 'E2BIG'));
  await assert.rejects(r.vm.consoleWrite(0, new Uint8Array(229)), (e: unknown) => Errno.is(e, 'EINVAL'));
  await k.shutdown();
});

test('concurrent calls go to the RM one at a time (it buffers one reply per client); each gets its own reply', async () => {
  const { m, k, rm, ghrm } = await setup();
  rm.holdReplies = true;
  rm.behaviour = (req) => ({ data: Uint8Array.of(req.seq & 0xff, 0, 0, 0) });
  const calls = [0, 1, 2, 3].map(() => ghrm!.vm.getOwner());
  const seqs: number[] = [];
  for (let i = 0; i < 4; i++) {
    await m.settle();
    assert.equal(rm.held.length, 1, `request ${i}: only one request reaches the RM before its reply`);
    seqs.push(rm.held[0]!.seq);
    rm.releaseHeld([0]);
  }
  await m.settle();
  assert.equal(new Set(seqs).size, 4, 'each call has its own sequence number');
  assert.deepEqual(await Promise.all(calls), seqs.map((s) => s & 0xff));
  await k.shutdown();
});

test('a hung RM: the call fails with ETIMEDOUT on virtual time; a late reply is dropped and logged', async () => {
  const { m, k, rm, ghrm } = await setup();
  rm.behaviour = () => 'hang';
  const p = ghrm!.vm.getOwner().catch((e: unknown) => e);
  await m.advance(50_000_000);
  assert.equal(ghrm!.rpc.inFlight, 1);
  await m.advance(60_000_000);
  assert.ok(Errno.is(await p, 'ETIMEDOUT'));
  assert.match(k.dmesg(), /RM call 0x56000015 \(seq \d+\) timed out/);
  const seq = rm.requests[0]!.seq;
  rm.send(2, seq, RM_MSG.VM_GET_OWNER, Uint8Array.of(0, 0, 0, 0, 3, 0, 0, 0));
  await m.settle();
  assert.match(k.dmesg(), /dropped RM message: reply with unknown sequence/);
  assert.equal(ghrm!.rpc.stats.timeouts, 1);
  await k.shutdown();
});

test('notifications: streams by message ID, multi-fragment payloads', async () => {
  const { m, k, rm, ghrm } = await setup();
  const status = firstValueFrom(ghrm!.notifications(RM_NOTIF.VM_STATUS).pipe(take(2), toArray()));
  const all: number[] = [];
  ghrm!.rpc.notifications$.subscribe((n) => all.push(n.msgId));
  rm.notify(RM_NOTIF.VM_STATUS, Uint8Array.of(0x80, 0, 0, 0, 3, 0, 0, 0));
  rm.notify(RM_NOTIF.VM_CONSOLE_CHARS, new Uint8Array(600).fill(0x41));
  rm.notify(RM_NOTIF.VM_STATUS, Uint8Array.of(0x80, 0, 0, 0, 9, 0, 0, 0));
  await m.settle();
  const got = await status;
  assert.deepEqual(got.map((b) => b[4]), [3, 9]);
  assert.deepEqual(all, [RM_NOTIF.VM_STATUS, RM_NOTIF.VM_CONSOLE_CHARS, RM_NOTIF.VM_STATUS]);
  await k.shutdown();
});

test('bad input from the RM is logged and dropped; an interrupted reply fails its call with EIO', async () => {
  const { m, k, rm, ghrm } = await setup();
  const r = ghrm!;
  rm.raw(Uint8Array.of(0x21, 2, 0)); // shorter than a header
  rm.raw(Uint8Array.of(0x31, 2, 0, 0, 1, 0, 0, 0x56)); // wrong api byte
  rm.raw(Uint8Array.of(0x21, 0, 0, 0, 1, 0, 0, 0x56)); // continuation with nothing in progress
  rm.raw(Uint8Array.of(0x21, 1, 0, 0, 1, 0, 0, 0x56)); // a request from the RM
  await m.settle();
  const log = k.dmesg();
  assert.match(log, /shorter than a header/);
  assert.match(log, /api byte 0x31/);
  assert.match(log, /continuation .* with no message in progress/);
  assert.match(log, /type 1 \(a request/);
  // A reply whose continuation never comes: a notification interrupts it and the call gets EIO.
  rm.holdReplies = true;
  rm.behaviour = () => ({ data: new Uint8Array(300) });
  const p = r.vm.getOwner().catch((e: unknown) => e);
  await m.settle();
  const h = rm.held[0]!;
  const first = new Uint8Array(240);
  const dv = new DataView(first.buffer);
  dv.setUint8(0, 0x21);
  dv.setUint8(1, 2 | (1 << 2));
  dv.setUint16(2, h.seq, true);
  dv.setUint32(4, h.msgId, true);
  rm.raw(first);
  rm.notify(RM_NOTIF.VM_EXITED, Uint8Array.of(0x80, 0, 0, 0, 0, 0, 0, 0));
  await m.settle();
  assert.ok(Errno.is(await p, 'EIO'));
  assert.match(k.dmesg(), /reassembly of msg 0x56000015 aborted: a new notification arrived/);
  // A reply without an error word.
  rm.holdReplies = false;
  rm.behaviour = () => 'hang';
  const q = r.vm.getOwner().catch((e: unknown) => e);
  await m.settle();
  const seq = rm.requests[rm.requests.length - 1]!.seq;
  const short = new Uint8Array(10);
  new DataView(short.buffer).setUint8(0, 0x21);
  new DataView(short.buffer).setUint8(1, 2);
  new DataView(short.buffer).setUint16(2, seq, true);
  new DataView(short.buffer).setUint32(4, RM_MSG.VM_GET_OWNER, true);
  rm.raw(short);
  await m.settle();
  assert.ok(Errno.is(await q, 'EBADMSG'));
  // A reply too short for its payload (VM_GET_OWNER wants a u32 after the error word).
  rm.behaviour = () => ({ data: Uint8Array.of(1) });
  const trunc = r.vm.getOwner().catch((e: unknown) => e);
  await m.settle();
  assert.ok(Errno.is(await trunc, 'EBADMSG'));
  assert.ok(r.rpc.stats.dropped >= 6);
  await k.shutdown();
});

test('the RM going away fails waiting calls with ENODEV', async () => {
  const { m, k, rm, ghrm } = await setup();
  rm.behaviour = () => 'hang';
  const p = ghrm!.vm.getOwner().catch((e: unknown) => e);
  await m.settle();
  const done = k.shutdown();
  await m.settle();
  await done;
  assert.ok(Errno.is(await p, 'ENODEV'));
  await assert.rejects(ghrm!.vm.getOwner(), (e: unknown) => Errno.is(e, 'ENODEV'));
});

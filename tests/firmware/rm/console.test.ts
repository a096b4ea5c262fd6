// The RM console (spec §22) between a VM and its owner: open on both sides, writes delivered as
// VM_CONSOLE_CHARS in packet-sized chunks, dropped while the other side is closed, and refused to
// strangers and closed writers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONSOLE_CHUNK, ExitCode, RmErr, RmMsg, RmNotif } from '../../../firmware/rm';
import { GuestRmClient, type Notification } from './rm-client';
import { expectOk, prepareSvm, runPrimary, SVM_IPA_BASE, svmEntryPa, type SvmSpec } from './harness';
import { consoleReq, exitReq, stopReq, vmidReq } from './requests';

const svm: SvmSpec = { name: 'gamma', hostBase: 0x6000_0000n, size: 0x100_0000n };
const enc = (s: string) => new TextEncoder().encode(s);
const chars = (n: Notification) => ({ from: n.payload[0]! | (n.payload[1]! << 8), bytes: n.payload.subarray(4, 4 + (n.payload[2]! | (n.payload[3]! << 8))) });

test('console round trip between the primary VM and its VM', async () => {
  const big = Uint8Array.from({ length: 600 }, (_, i) => 0x20 + (i % 90));
  let vmid = -1;
  let guestGot = '';
  let guestErrors: number[] = [];
  await runPrimary(
    async (c) => {
      ({ vmid } = await prepareSvm(c, svm));
      // Writing before opening our side: DENIED.
      assert.equal((await c.call(RmMsg.VM_CONSOLE_WRITE, consoleReq(vmid, enc('x')))).err, RmErr.DENIED);
      // A VM without a console: ARGUMENT_INVALID.
      assert.equal((await c.call(RmMsg.VM_CONSOLE_OPEN, vmidReq(0x99))).err, RmErr.ARGUMENT_INVALID);
      expectOk(await c.call(RmMsg.VM_CONSOLE_OPEN, vmidReq(vmid)), 'open');
      expectOk(await c.call(RmMsg.VM_START, vmidReq(vmid)), 'start');
      // The guest writes 600 bytes in one request: they arrive in order, in chunks of at most 228.
      const got: Notification[] = [];
      let total = 0;
      while (total < big.length) {
        const n = await c.waitNotification((x) => x.id === RmNotif.VM_CONSOLE_CHARS);
        got.push(n);
        total += chars(n).bytes.length;
      }
      assert.deepEqual(got.map((n) => chars(n).bytes.length), [CONSOLE_CHUNK, CONSOLE_CHUNK, 600 - 2 * CONSOLE_CHUNK]);
      assert.ok(got.every((n) => chars(n).from === vmid));
      assert.deepEqual(Buffer.concat(got.map((n) => chars(n).bytes)), Buffer.from(big));
      // Owner to guest.
      expectOk(await c.call(RmMsg.VM_CONSOLE_WRITE, consoleReq(vmid, enc('ping'))), 'write ping');
      const pong = await c.waitNotification((x) => x.id === RmNotif.VM_CONSOLE_CHARS);
      assert.equal(new TextDecoder().decode(chars(pong).bytes), 'pong');
      expectOk(await c.call(RmMsg.VM_CONSOLE_FLUSH, vmidReq(vmid)), 'flush');
      // Closed on our side: the guest's next write is dropped (it still gets OK). A graceful
      // VM_STOP (VM_SHUTDOWN to the guest) tells it when to write.
      expectOk(await c.call(RmMsg.VM_CONSOLE_CLOSE, vmidReq(vmid)), 'close');
      assert.equal((await c.call(RmMsg.VM_CONSOLE_FLUSH, vmidReq(vmid))).err, RmErr.DENIED, 'flush on a closed side');
      expectOk(await c.call(RmMsg.VM_STOP, stopReq(vmid, false, 0)), 'graceful stop');
      await c.waitNotification((x) => x.id === RmNotif.VM_EXITED);
      await c.poll();
      const late = c.notifications.filter((n) => n.id === RmNotif.VM_CONSOLE_CHARS);
      assert.deepEqual(late.map((n) => new TextDecoder().decode(chars(n).bytes)), [], 'the write made while closed was dropped');
    },
    {
      registerEntries: (p) =>
        p.machine.registerEntry(svmEntryPa(svm), async (cpu) => {
          const me = await GuestRmClient.open(cpu, cpu.x[0]!, SVM_IPA_BASE + 0x2_0000n);
          expectOk(await me.call(RmMsg.VM_CONSOLE_OPEN, vmidReq(0)), 'guest open');
          expectOk(await me.call(RmMsg.VM_CONSOLE_WRITE, consoleReq(0, big)), 'guest write');
          const ping = await me.waitNotification((x) => x.id === RmNotif.VM_CONSOLE_CHARS);
          assert.equal(chars(ping).from, 0, 'the owner writes as 0');
          guestGot = new TextDecoder().decode(chars(ping).bytes);
          expectOk(await me.call(RmMsg.VM_CONSOLE_WRITE, consoleReq(0, enc('pong'))), 'guest pong');
          // Not the owner of VM 3's console, and the primary VM has no console owner but the RM.
          guestErrors = [(await me.call(RmMsg.VM_CONSOLE_WRITE, consoleReq(3, enc('x')))).err];
          await me.waitNotification((x) => x.id === RmNotif.VM_SHUTDOWN);
          guestErrors.push((await me.call(RmMsg.VM_CONSOLE_WRITE, consoleReq(0, enc('dropped')))).err);
          await me.call(RmMsg.VM_EXIT, exitReq(0, ExitCode.NORMAL));
        }),
    },
  );
  assert.equal(guestGot, 'ping');
  assert.deepEqual(guestErrors, [RmErr.DENIED, RmErr.OK]);
});

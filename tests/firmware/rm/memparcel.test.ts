// Memparcels between the primary VM and a secondary VM on the real hypervisor: lend, share and
// donate, accept with and without an SGL, release and reclaim, with the stage-2 access of both VMs
// checked at each step (an access stage 2 does not allow throws a GuestAbort in the guest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestAbort, type GuestCpu } from '../../../firmware/hypervisor';
import { AcceptFlag, ExitCode, RmErr, RmMsg, RmNotif, TransType, VmState } from '../../../firmware/rm';
import { GuestRmClient } from './rm-client';
import { expectOk, prepareSvm, runPrimary, SVM_IPA_BASE, svmEntryPa, type SvmSpec } from './harness';
import { acceptReq, consoleReq, createReq, exitReq, handleFlagsReq, notifyReq, u32At, u64At, vmidReq } from './requests';

const svm: SvmSpec = { name: 'beta', hostBase: 0x6000_0000n, size: 0x100_0000n };
const LENT = 0x6200_0000n;
const SHARED = 0x6200_1000n;
const DONATED = 0x6200_2000n;
const LENT2 = 0x6200_3000n;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function readStr(cpu: GuestCpu, ipa: bigint, n: number): string {
  const b = new Uint8Array(n);
  cpu.read(ipa, b);
  return dec(b);
}

function aborts(f: () => void): boolean {
  try {
    f();
    return false;
  } catch (e) {
    if (e instanceof GuestAbort) return true;
    throw e;
  }
}

/** MEM_SHARED payload: handle, types, owner, label, tag, ACL, region sizes. */
function sharedInfo(p: Uint8Array) {
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const nAcl = v.getUint16(20, true);
  const sizesAt = 24 + nAcl * 4;
  const nSizes = v.getUint16(sizesAt, true);
  return {
    handle: v.getUint32(0, true),
    transType: v.getUint8(5),
    owner: v.getUint16(8, true),
    label: v.getUint32(12, true),
    tag: v.getUint32(16, true),
    acl: Array.from({ length: nAcl }, (_, i) => ({ vmid: v.getUint16(24 + i * 4, true), rights: v.getUint8(26 + i * 4) })),
    sizes: Array.from({ length: nSizes }, (_, i) => v.getBigUint64(sizesAt + 4 + i * 8, true)),
  };
}

test('lend, share and donate between two VMs with stage-2 access checked on both sides', async () => {
  const log: string[] = [];
  let svmVmid = -1;
  await runPrimary(
    async (c, cpu) => {
      const { vmid, handle: image } = await prepareSvm(c, svm);
      svmVmid = vmid;
      expectOk(await c.call(RmMsg.VM_CONSOLE_OPEN, vmidReq(vmid)), 'console open');
      expectOk(await c.call(RmMsg.VM_START, vmidReq(vmid)), 'start');

      // LEND: the owner loses the page while it is lent.
      cpu.write(LENT, enc('lent!'));
      const lend = await c.call(RmMsg.MEM_LEND, createReq({ label: 7, acl: [{ vmid, rights: 6 }], sgl: [{ ipa: LENT, size: 0x1000n }] }));
      expectOk(lend, 'lend');
      const h = u32At(lend.data);
      assert.ok(aborts(() => cpu.read32(LENT)), 'the owner cannot read a lent page');
      expectOk(await c.call(RmMsg.MEM_NOTIFY, notifyReq(h, 1, 0x99, [vmid])), 'notify shared');
      const acc = await c.waitNotification((n) => n.id === RmNotif.MEM_ACCEPTED);
      assert.equal(u32At(acc.payload), h);
      assert.equal(u32At(acc.payload, 8), 0x99, 'mem_info_tag');
      // Reclaim while the borrower has it: MEM_INUSE, nothing changes.
      assert.equal((await c.call(RmMsg.MEM_RECLAIM, handleFlagsReq(h))).err, RmErr.MEM_INUSE);
      assert.ok(aborts(() => cpu.read32(LENT)));
      expectOk(await c.call(RmMsg.VM_CONSOLE_WRITE, consoleReq(vmid, enc('release'))), 'tell the guest');
      await c.waitNotification((n) => n.id === RmNotif.MEM_RELEASED && u32At(n.payload) === h);
      expectOk(await c.call(RmMsg.MEM_RECLAIM, handleFlagsReq(h)), 'reclaim');
      assert.equal(readStr(cpu, LENT, 5), 'back!', 'the borrower wrote, the owner reads it after reclaim');

      // SHARE: both keep access; the borrower only as the ACL says (read-only here).
      cpu.write(SHARED, enc('share'));
      const share = await c.call(RmMsg.MEM_SHARE, createReq({ label: 8, acl: [{ vmid: 3, rights: 6 }, { vmid, rights: 4 }], sgl: [{ ipa: SHARED, size: 0x1000n }] }));
      expectOk(share, 'share');
      const hs = u32At(share.data);
      assert.equal(readStr(cpu, SHARED, 5), 'share', 'the owner keeps access to shared memory');
      expectOk(await c.call(RmMsg.MEM_NOTIFY, notifyReq(hs, 1, 0, [vmid])), 'notify shared');
      await c.waitNotification((n) => n.id === RmNotif.MEM_ACCEPTED && u32At(n.payload) === hs);
      cpu.write(SHARED, enc('SHARE'));
      expectOk(await c.call(RmMsg.VM_CONSOLE_WRITE, consoleReq(vmid, enc('check'))), 'tell the guest');
      await c.waitNotification((n) => n.id === RmNotif.MEM_RELEASED && u32At(n.payload) === hs);
      expectOk(await c.call(RmMsg.MEM_RECLAIM, handleFlagsReq(hs)), 'reclaim share');

      // DONATE: the page becomes the borrower's for good.
      const donate = await c.call(RmMsg.MEM_DONATE, createReq({ acl: [{ vmid, rights: 7 }], sgl: [{ ipa: DONATED, size: 0x1000n }] }));
      expectOk(donate, 'donate');
      const hd = u32At(donate.data);
      expectOk(await c.call(RmMsg.MEM_NOTIFY, notifyReq(hd, 1, 0, [vmid])), 'notify donate');
      await c.waitNotification((n) => n.id === RmNotif.VM_CONSOLE_CHARS && dec(n.payload.subarray(4)) === 'donated');
      assert.equal((await c.call(RmMsg.MEM_RECLAIM, handleFlagsReq(hd))).err, RmErr.HANDLE_INVALID, 'an accepted donation is gone');
      assert.ok(aborts(() => cpu.read32(DONATED)));

      // A VM that exits gives back what it borrowed: lend, accept, exit, reset, reclaim.
      cpu.write(LENT2, enc('again'));
      const lend2 = await c.call(RmMsg.MEM_LEND, createReq({ label: 9, acl: [{ vmid, rights: 6 }], sgl: [{ ipa: LENT2, size: 0x1000n }] }));
      const h2 = u32At(lend2.data);
      expectOk(await c.call(RmMsg.MEM_NOTIFY, notifyReq(h2, 1, 0, [vmid])), 'notify lend2');
      await c.waitNotification((n) => n.id === RmNotif.VM_EXITED);
      assert.equal((await c.call(RmMsg.MEM_RECLAIM, handleFlagsReq(h2))).err, RmErr.MEM_INUSE, 'still accepted by the exited VM');
      expectOk(await c.call(RmMsg.VM_RESET, vmidReq(vmid)), 'reset');
      await c.waitNotification((n) => n.id === RmNotif.VM_STATUS && n.payload[4] === VmState.RESET);
      expectOk(await c.call(RmMsg.MEM_RECLAIM, handleFlagsReq(h2)), 'reclaim after reset');
      assert.equal(readStr(cpu, LENT2, 5), 'again');
      expectOk(await c.call(RmMsg.MEM_RECLAIM, handleFlagsReq(image)), 'reclaim image');
      expectOk(await c.call(RmMsg.VM_DEALLOCATE, vmidReq(vmid)), 'deallocate');
    },
    {
      registerEntries: (p) =>
        p.machine.registerEntry(svmEntryPa(svm), async (cpu) => {
          const me = await GuestRmClient.open(cpu, cpu.x[0]!, SVM_IPA_BASE + 0x2_0000n);
          expectOk(await me.call(RmMsg.VM_CONSOLE_OPEN, vmidReq(0)), 'guest console open');
          const chars = (s: string) => me.waitNotification((n) => n.id === RmNotif.VM_CONSOLE_CHARS && dec(n.payload.subarray(4)) === s);

          // The lent page, accepted without an SGL: the RM picks the IPA.
          const lent = sharedInfo((await me.waitNotification((n) => n.id === RmNotif.MEM_SHARED)).payload);
          assert.deepEqual([lent.transType, lent.owner, lent.label, lent.tag, lent.sizes], [TransType.LEND, 3, 7, 0x99, [0x1000n]]);
          const acc = await me.call(RmMsg.MEM_ACCEPT, acceptReq({ handle: lent.handle, transType: TransType.LEND, flags: AcceptFlag.DONE }));
          expectOk(acc, 'accept');
          assert.equal(acc.data[0], 1, 'one IPA range');
          const x = u64At(acc.data, 4);
          assert.equal(u64At(acc.data, 12), 0x1000n);
          assert.equal(readStr(cpu, x, 5), 'lent!');
          cpu.write(x, enc('back!'));
          expectOk(await me.call(RmMsg.MEM_NOTIFY, notifyReq(lent.handle, 4, 0x99, [])), 'notify accepted');
          await chars('release');
          expectOk(await me.call(RmMsg.MEM_RELEASE, handleFlagsReq(lent.handle)), 'release');
          assert.ok(aborts(() => cpu.read32(x)), 'released memory is gone');
          assert.equal((await me.call(RmMsg.MEM_RELEASE, handleFlagsReq(lent.handle))).err, RmErr.MEM_RELEASED);
          expectOk(await me.call(RmMsg.MEM_NOTIFY, notifyReq(lent.handle, 2, 0x99, [])), 'notify released');

          // The shared page, accepted at an IPA of our choosing, read-only.
          const sh = sharedInfo((await me.waitNotification((n) => n.id === RmNotif.MEM_SHARED)).payload);
          assert.deepEqual(sh.acl, [{ vmid: 3, rights: 6 }, { vmid: svmVmid, rights: 4 }]);
          const at = 0x9000_0000n;
          expectOk(await me.call(RmMsg.MEM_ACCEPT, acceptReq({ handle: sh.handle, transType: TransType.SHARE, flags: AcceptFlag.DONE, sgl: [{ ipa: at, size: 0x1000n }] })), 'accept share');
          expectOk(await me.call(RmMsg.MEM_NOTIFY, notifyReq(sh.handle, 4, 0, [])), 'notify accepted');
          await chars('check');
          assert.equal(readStr(cpu, at, 5), 'SHARE', 'the owner\'s later write is visible');
          assert.ok(aborts(() => cpu.write32(at, 0)), 'read-only for the borrower');
          expectOk(await me.call(RmMsg.MEM_RELEASE, handleFlagsReq(sh.handle)), 'release share');
          expectOk(await me.call(RmMsg.MEM_NOTIFY, notifyReq(sh.handle, 2, 0, [])), 'notify released');

          // The donation: ours after accept, even after the owner reclaims nothing.
          const dn = sharedInfo((await me.waitNotification((n) => n.id === RmNotif.MEM_SHARED)).payload);
          assert.equal(dn.transType, TransType.DONATE);
          const da = await me.call(RmMsg.MEM_ACCEPT, acceptReq({ handle: dn.handle, transType: TransType.DONATE, flags: AcceptFlag.DONE }));
          expectOk(da, 'accept donation');
          const d = u64At(da.data, 4);
          cpu.write(d, enc('mine'));
          assert.equal(readStr(cpu, d, 4), 'mine');
          expectOk(await me.call(RmMsg.VM_CONSOLE_WRITE, consoleReq(0, enc('donated'))), 'tell the owner');

          // Accept another loan, then exit with it.
          const l2 = sharedInfo((await me.waitNotification((n) => n.id === RmNotif.MEM_SHARED)).payload);
          expectOk(await me.call(RmMsg.MEM_ACCEPT, acceptReq({ handle: l2.handle, transType: TransType.LEND, flags: AcceptFlag.DONE })), 'accept lend2');
          await me.call(RmMsg.VM_EXIT, exitReq(0, ExitCode.NORMAL));
        }),
    },
  );
  void log;
});

// A secondary VM's whole life on the real hypervisor: allocate, configure, init, start, its own
// console output and VM_EXIT, reset and deallocation, with the notifications in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitCode, ExitType, RmErr, RmMsg, RmNotif, VmState } from '../../../firmware/rm';
import { GuestRmClient, type Notification } from './rm-client';
import { expectOk, prepareSvm, runPrimary, SVM_IPA_BASE, svmEntryPa, type SvmSpec } from './harness';
import { consoleReq, exitReq, handleFlagsReq, u16At, u32At, vmidReq } from './requests';

const svm: SvmSpec = { name: 'alpha', hostBase: 0x6000_0000n, size: 0x100_0000n };

function describe(n: Notification): string {
  const v = new DataView(n.payload.buffer, n.payload.byteOffset, n.payload.byteLength);
  if (n.id === RmNotif.VM_STATUS) return `STATUS vm${v.getUint16(0, true)} ${v.getUint8(4)}`;
  if (n.id === RmNotif.VM_EXITED) return `EXITED vm${v.getUint16(0, true)} type ${v.getUint16(2, true)} reason ${v.getUint32(8, true).toString(16)}`;
  if (n.id === RmNotif.MEM_RELEASED) return `MEM_RELEASED handle ${v.getUint32(0, true)} by vm${v.getUint16(4, true)}`;
  if (n.id === RmNotif.VM_CONSOLE_CHARS) return `CHARS from ${v.getUint16(0, true)} "${new TextDecoder().decode(n.payload.subarray(4, 4 + v.getUint16(2, true)))}"`;
  return `0x${n.id.toString(16)}`;
}

test('a secondary VM runs from VM_ALLOCATE to VM_DEALLOCATE with VM_STATUS and VM_EXITED in order', async () => {
  const seen: string[] = [];
  let svmVmid = -1;
  let handle = -1;
  await runPrimary(
    async (c) => {
      const prepared = await prepareSvm(c, svm);
      const vmid = prepared.vmid;
      svmVmid = vmid;
      handle = prepared.handle;
      expectOk(await c.call(RmMsg.VM_CONSOLE_OPEN, vmidReq(vmid)), 'CONSOLE_OPEN');
      const st = await c.call(RmMsg.VM_GET_STATE, vmidReq(vmid));
      assert.equal(u32At(st.data) & 0xff, VmState.READY);
      expectOk(await c.call(RmMsg.VM_START, vmidReq(vmid)), 'VM_START');
      const exited = await c.waitNotification((n) => n.id === RmNotif.VM_EXITED);
      await c.poll();
      // Everything that arrived, in order (the EXITED notification was taken out first).
      const rest = c.notifications.splice(0);
      seen.push(...[...rest.filter((n) => n.seq < exited.seq), exited, ...rest.filter((n) => n.seq > exited.seq)].map(describe));
      expectOk(await c.call(RmMsg.VM_RESET, vmidReq(vmid)), 'VM_RESET');
      const reset = await c.waitNotification((n) => n.id === RmNotif.VM_STATUS && n.payload[4] === VmState.RESET);
      void reset;
      await c.poll();
      seen.push(...c.notifications.splice(0).map(describe), 'STATUS vm' + vmid + ' ' + VmState.RESET);
      expectOk(await c.call(RmMsg.MEM_RECLAIM, handleFlagsReq(handle)), 'MEM_RECLAIM');
      expectOk(await c.call(RmMsg.VM_DEALLOCATE, vmidReq(vmid)), 'VM_DEALLOCATE');
      const gone = await c.call(RmMsg.VM_GET_STATE, vmidReq(vmid));
      assert.equal(gone.err, RmErr.NORESOURCE);
    },
    {
      registerEntries: (p) =>
        p.machine.registerEntry(svmEntryPa(svm), async (cpu) => {
          const me = await GuestRmClient.open(cpu, cpu.x[0]!, SVM_IPA_BASE + 0x2_0000n);
          const id = await me.call(RmMsg.VM_GET_VMID);
          assert.equal(u16At(id.data), svmVmid);
          expectOk(await me.call(RmMsg.VM_CONSOLE_OPEN, vmidReq(0)), 'guest CONSOLE_OPEN');
          expectOk(await me.call(RmMsg.VM_CONSOLE_WRITE, consoleReq(0, new TextEncoder().encode('hello'))), 'guest CONSOLE_WRITE');
          await me.call(RmMsg.VM_EXIT, exitReq(1, ExitCode.NORMAL));
        }),
    },
  );
  const v = svmVmid;
  assert.deepEqual(seen, [
    `STATUS vm${v} ${VmState.INIT}`,
    `STATUS vm${v} ${VmState.READY}`,
    `STATUS vm${v} ${VmState.RUNNING}`,
    `CHARS from ${v} "hello"`,
    `STATUS vm${v} ${VmState.EXITED}`,
    `EXITED vm${v} type ${ExitType.VM_EXIT} reason 1`,
    `STATUS vm${v} ${VmState.RESETTING}`,
    // The reset's memparcel stage releases what the VM accepted and tells the owner.
    `MEM_RELEASED handle ${handle} by vm${v}`,
    `STATUS vm${v} ${VmState.RESET}`,
  ]);
});

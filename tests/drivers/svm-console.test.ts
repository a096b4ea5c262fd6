// End to end on the real platform: the primary kernel starts a secondary VM through the RM, the
// secondary VM runs this kernel too, and what its program writes to its console (/dev/ttyGH0) arrives
// on the primary's /dev/ttyGH<vmid> through the RM console service; the VM's exit hangs that tty up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { O } from '../../core/index';
import { GhConsoleToken, type GhConsoleClient } from '../../drivers/tty/index';
import { RM_NOTIF } from '../../drivers/virt/index';
import { runPrimary, startSecondary } from '../../bench/kernel-platform';

test('a secondary VM running this kernel writes its console; the primary reads it on ttyGH<vmid>', async () => {
  const message = 'hello from the secondary VM\n'.repeat(20); // 560 bytes: three console writes
  const { result } = await runPrimary(async (k, rm, _cpu, p) => {
    assert.ok(rm);
    const consoles = k.get<GhConsoleClient>(GhConsoleToken).console()!;
    let svmDmesg = '';
    let vmid = 0;
    const got: string[] = [];
    let gotBytes = 0;
    const all = new Promise<void>((resolve) => {
      vmid = -1;
      void startSecondary(k, rm, p, 'console-writer', async (svm) => {
        // Wait for the owner to open this console (writes to an unopened side are dropped by the RM).
        await svm.clock.sleep(2_000_000);
        const proc = svm.spawn('writer');
        const fd = await proc.open('/dev/ttyGH0', O.WRONLY);
        await proc.writeBytes(fd, new TextEncoder().encode(message));
        svmDmesg = svm.dmesg();
      }).then(async (id) => {
        vmid = id;
        const tty = consoles.addVm(id);
        tty.read$.subscribe((b) => {
          got.push(new TextDecoder().decode(b));
          gotBytes += b.length;
          if (gotBytes >= message.length) resolve();
        });
        const reader = k.spawn('console-reader');
        await reader.open(`/dev/ttyGH${id}`, O.RDONLY);
      });
    });
    await all;
    // Stop the VM: VM_EXITED reaches the console driver, which hangs the tty up.
    const exited = new Promise<void>((resolve) => rm.notifications(RM_NOTIF.VM_EXITED).subscribe(() => resolve()));
    await rm.vm.stop(vmid);
    await exited;
    await k.clock.sleep(1_000_000);
    return { text: got.join(''), vmid, svmDmesg, hungUp: consoles.tty(vmid) === undefined, dev: k.vfs.listDev() };
  });
  assert.ok(result.vmid >= 0x80);
  assert.equal(result.text, message);
  assert.match(result.svmDmesg, /gh_rsc_mgr .*RM link on msgq/);
  assert.equal(result.hungUp, true);
  assert.ok(!result.dev.includes(`/dev/ttyGH${result.vmid}`));
});

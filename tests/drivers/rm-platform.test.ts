// The primary VM's kernel on the real platform (hypervisor + RM): it boots from the DT the platform
// wrote and the RM patched, the RM driver binds the RM-RPC node, RPC calls go to the real RM emulator,
// and the console ttys appear. The kernel's own work runs as guest code on the primary VM's vCPU 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GuestCpu } from '../../firmware/hypervisor/index';
import { bootKernel, Errno, type Kernel } from '../../core/index';
import { runOnPrimary } from '../../tools/vmm/index';
import { GunyahRm, RmError, rscMgrModule, type GhRm, type GunyahRmRegistry } from '../../drivers/virt/index';
import { gunyahConsoleModule } from '../../drivers/tty/index';
import { boardTree } from '../firmware/rm/harness';

/** Boot the board; run `work` on the booted kernel (RM driver and consoles, as guest code) and return what it returned. */
async function bootPrimary(work: (k: Kernel, rm: GhRm, cpu: GuestCpu) => Promise<Record<string, unknown>>, cpus = 2) {
  const { kernel, result: results, platform } = await runOnPrimary(
    boardTree({ cpus }),
    (k, cpu) => {
      const rm = k.get<GunyahRmRegistry>(GunyahRm).get();
      if (!rm) throw new Error(`no RM link:\n${k.dmesg()}`);
      return work(k, rm, cpu);
    },
    {
      platform: { hypervisor: { capIds: 'random' }, bootargs: 'console=ttyGH0' },
      smp: true,
      bootKernel: (cpu, o) => bootKernel(cpu, cpu.x[0]!, { ...o, drivers: [rscMgrModule, gunyahConsoleModule] }),
    },
  );
  return { kernel, results, platform };
}

test('the primary kernel on the real hypervisor and RM: RM node bound, RPC calls answered, consoles', async () => {
  const { kernel, results, platform } = await bootPrimary(async (_k, rm) => {
    const vmid = await rm.getVmid();
    const hostType = await rm.vm.hostGetType();
    const state = await rm.vm.getState();
    const newVm = await rm.vm.allocVmid(0);
    const newState = await rm.vm.getState(newVm);
    await rm.vm.deallocVmid(newVm);
    let badErr: unknown;
    try {
      await rm.vm.start(0x99);
    } catch (e) {
      badErr = e;
    }
    const rmRes = await rm.vm.getHypResources(0xff);
    return { vmid, hostType, state, newVm, newState, badErr, rmRes };
  });
  const dmesg = kernel.dmesg();
  if (process.env.SHOW_DMESG) console.log(dmesg);
  const rmDev = kernel.devices().find((d) => d.compatible.includes('gunyah-resource-manager'))!;
  assert.equal(rmDev.state, 'bound', dmesg);
  assert.equal(rmDev.driver, 'gh_rsc_mgr');
  assert.match(dmesg, /gh_rsc_mgr .*: Gunyah API v1, RM link on msgq/);
  assert.match(dmesg, /smp: Brought up 1 node, 2 CPUs/);
  assert.equal(results['vmid'], 3);
  assert.equal(results['hostType'], 0x01000164);
  assert.deepEqual(results['state'], { vmStatus: 3, osStatus: 0, appStatus: 0 }); // RUNNING
  assert.equal(results['newVm'], 0x80);
  assert.equal((results['newState'] as { vmStatus: number }).vmStatus, 5); // LOAD
  const bad = results['badErr'] as RmError;
  assert.ok(bad instanceof RmError, String(bad));
  assert.equal(bad.codeName, 'GH_RM_ERROR_VMID_INVALID');
  assert.equal(bad.toErrno().errno, new Errno('EINVAL').errno);
  const rmRes = results['rmRes'] as { type: number }[];
  assert.ok(rmRes.some((r) => r.type === 4), 'the RM vCPU cap is listed');
  // The console ttys: this VM's own (ttyGH0) and the loop-back port of VMID 3.
  assert.deepEqual(kernel.vfs.listDev().filter((d) => d.startsWith('/dev/ttyGH')), ['/dev/ttyGH0', '/dev/ttyGH3']);
  assert.doesNotMatch(dmesg, /dropped RM message|failed/);
  assert.deepEqual(platform.hv.checkInvariants(), []);
});

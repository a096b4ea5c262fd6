// The VM fd's lifetime follows Linux's rules: every vCPU fd holds the VM too; closing the last fd
// stops a running VM, resets it through the RM, reclaims its memory into the owner and frees its
// VMID (the next VM gets it again); a VM never started just gives its VMID back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filter, firstValueFrom } from 'rxjs';
import { VmState } from '../../../firmware/rm';
import { GunyahUser } from '../../../tools/vmm/gunyah-user';
import { withPrimary } from '../../tools/vmm/helpers/primary';
import { handVm, RAM_SIZE } from './helpers';

test('closing the last fd stops the VM, reclaims its memory into the owner and frees its VMID', async () => {
  const { result, platform } = await withPrimary(async ({ proc, mgr, k, platform }) => {
    const g = new GunyahUser(proc);
    const rm = platform.rm()!;
    const freeBefore = k.mm.pages.freePages;
    // hello-lite with `stay` semantics: mmio-loop never exits by itself.
    const h = await handVm(g, { guest: 'mmio-loop' });
    const v = h.vcpus[0]!;
    await g.start(h.vm);
    await g.vcpuRun(v.fd); // runs until its first MMIO exit: the VM is live
    const running = rm.vms.get(h.vmid)?.state;
    // The guest's RAM is lent: the primary cannot touch it while the VM lives.
    let touch = 'ok';
    try {
      proc.cpu.read8(h.mem);
    } catch (e) {
      touch = (e as Error).name;
    }
    const freed = firstValueFrom(mgr.events$.pipe(filter((e) => e.vmid === h.vmid && e.kind === 'freed')));
    await proc.close(h.vm);
    // The vCPU fd still holds the VM: nothing happens yet.
    await k.clock.sleep(5e6);
    const stillThere = rm.vms.get(h.vmid)?.state;
    proc.munmap(v.page.addr, 4096n);
    await proc.close(v.fd);
    await freed;
    const gone = rm.vms.get(h.vmid);
    // The memory came back: the primary reads and writes it again; unmapping returns it to the allocator.
    proc.cpu.write32(h.mem, 0x1234_5678);
    const readBack = proc.cpu.read32(h.mem);
    proc.munmap(h.mem, RAM_SIZE);
    await proc.close(h.dev);
    const freeAfter = k.mm.pages.freePages;
    // The VMID is free again: the next VM gets it.
    const dev = await g.openDev();
    const vm2 = await g.createVm(dev);
    const vmid2 = await g.vmid(vm2);
    // A VM never started just gives its VMID back.
    const freed2 = firstValueFrom(mgr.events$.pipe(filter((e) => e.vmid === vmid2 && e.kind === 'freed')));
    await proc.close(vm2);
    await freed2;
    return { vmid: h.vmid, running, touch, stillThere, gone, readBack, freeDelta: freeAfter - freeBefore, vmid2, live: mgr.liveVms, rmVms: [...rm.vms.all()].map((x) => x.vmid) };
  });
  assert.equal(result.running, VmState.RUNNING);
  assert.equal(result.touch, 'GuestAbort', 'lent memory is unmapped from the primary');
  assert.equal(result.stillThere, VmState.RUNNING, 'a vCPU fd keeps the VM alive');
  assert.equal(result.gone, undefined, 'the RM deallocated the VM');
  assert.equal(result.readBack, 0x1234_5678);
  assert.ok(Math.abs(result.freeDelta) <= 2, `pages back in the allocator (delta ${result.freeDelta})`);
  assert.equal(result.vmid2, result.vmid, 'the VMID is reused');
  assert.equal(result.live, 0);
  assert.deepEqual(result.rmVms.sort((a, b) => a - b), [3, 255]);
  assert.deepEqual(platform.hv.checkInvariants(), []);
});

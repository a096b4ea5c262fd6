// GH_VM_SET_BOOT_CONTEXT end to end. The open-source RM leaves VM_SET_CONTEXT (0x56000031)
// unhandled, so on the default platform START fails as Linux v17 would against it (EOPNOTSUPP from
// RM UNIMPLEMENTED) and the VM is torn down cleanly; with the RM's setBootContext extension the
// boot vCPU starts at the PC it was given, with the X registers it was given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GH_VCPU_EXIT, GH_VM_BOOT_CONTEXT_REG } from '../../../drivers/virt';
import { parseImage, entryOffset } from '../../../firmware/hypervisor';
import { PROBE_REPORT, PROBE_TAG } from '../../../examples/guests/lib/probe-abi';
import { builtinImage } from '../../../tools/image/builtin-images';
import { GunyahUser } from '../../../tools/vmm/gunyah-user';
import { withPrimary } from '../../tools/vmm/helpers/primary';
import { errno, handVm, RAM_IPA } from './helpers';

const X = 0;
const PC = 1;

async function altEntry(): Promise<bigint> {
  const { entries } = parseImage(await builtinImage('probe'));
  const i = entries.findIndex((e) => e.name === 'alt');
  assert.ok(i > 0, 'the probe image has an "alt" entry');
  return RAM_IPA + BigInt(entryOffset(i));
}

test('boot context: PC and X registers reach the boot vCPU (RM extension on)', async () => {
  const pc = await altEntry();
  const { result, platform } = await withPrimary(
    async ({ proc }) => {
      const g = new GunyahUser(proc);
      const h = await handVm(g, { guest: 'probe' });
      await g.setBootContext(h.vm, GH_VM_BOOT_CONTEXT_REG(PC, 0), pc);
      await g.setBootContext(h.vm, GH_VM_BOOT_CONTEXT_REG(X, 1), 0x1111n);
      await g.setBootContext(h.vm, GH_VM_BOOT_CONTEXT_REG(X, 3), 0xdead_beefn);
      await g.start(h.vm);
      const v = h.vcpus[0]!;
      const reports = new Map<number, number>();
      for (;;) {
        await g.vcpuRun(v.fd);
        if (v.page.exitReason !== GH_VCPU_EXIT.MMIO) break;
        if (v.page.mmioAddr === PROBE_REPORT) reports.set(Number(v.page.mmioData >> 32n), Number(v.page.mmioData & 0xffff_ffffn));
      }
      await proc.close(h.vm);
      return Object.fromEntries(reports);
    },
    { rmExtensions: { setBootContext: true } },
  );
  assert.equal(result[PROBE_TAG.ENTRY], 1, 'the vCPU started at the "alt" entry');
  assert.equal(result[PROBE_TAG.X1], 0x1111);
  assert.equal(result[PROBE_TAG.X2], 0, 'a register not set stays 0');
  assert.equal(result[PROBE_TAG.X3], 0xdead_beef);
  assert.deepEqual(platform.hv.checkInvariants(), []);
});

test('boot context against the open-source RM behaviour: START fails with EOPNOTSUPP and nothing leaks', async () => {
  const { result, platform } = await withPrimary(async ({ proc, k, mgr }) => {
    const g = new GunyahUser(proc);
    const h = await handVm(g, { guest: 'probe' });
    await g.setBootContext(h.vm, GH_VM_BOOT_CONTEXT_REG(X, 1), 1n);
    const start = await errno(g.start(h.vm));
    const again = await errno(g.start(h.vm));
    // The vCPU fd and its run page mapping hold the VM too (as in Linux): all must go.
    proc.munmap(h.vcpus[0]!.page.addr, 4096n);
    await proc.close(h.vcpus[0]!.fd);
    await proc.close(h.vm);
    for (let i = 0; i < 100 && mgr.liveVms > 0; i++) await k.clock.sleep(1e6);
    return { start, again, live: mgr.liveVms, pinned: k.mm.pages.pinnedFreedPages };
  });
  assert.deepEqual(result, { start: 'EOPNOTSUPP', again: 'ENODEV', live: 0, pinned: 0 });
  assert.deepEqual(platform.hv.checkInvariants(), []);
  assert.deepEqual([...platform.rm()!.vms.all()].map((v) => v.vmid).sort((a, b) => a - b), [3, 255]);
});

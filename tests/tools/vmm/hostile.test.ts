// Bad guests do not take down the primary VM or other VMs: each runs beside a well-behaved VM, which
// still says hello; the bad one exits with the right status (or is stopped by its owner), and once
// both are torn down everything they held is back (the hypervisor's invariant checker, no VM left in
// the VM manager or the RM, no pinned memory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desc, runVm } from './helpers/run-vm';
import { withPrimary } from './helpers/primary';

interface Case {
  guest: string;
  stopAfterNs?: number;
  check: (r: Awaited<ReturnType<typeof runVm>>, rm: { requests: number; unimplemented: number; errors: number; ignored: number }) => void;
}

const cases: Case[] = [
  {
    guest: 'rm-garbage',
    check: (r, rpc) => {
      assert.equal(r.exit.kind, 'status');
      assert.match(r.text, /survived its garbage/);
      assert.ok(rpc.unimplemented >= 1, 'the unknown message ID was answered UNIMPLEMENTED');
      assert.ok(rpc.errors >= 1, 'the malformed requests were answered with errors');
      assert.equal(r.rmExit, 'exit type 1', 'PLATFORM_OFF');
    },
  },
  {
    guest: 'fault',
    check: (r) => {
      assert.equal(r.exit.kind === 'status' && r.exit.exitTypeName, 'SOFTWARE_ERROR');
    },
  },
  {
    guest: 'poweroff-midboot',
    check: (r) => {
      assert.equal(r.exit.kind === 'status' && r.exit.exitTypeName, 'PLATFORM_OFF');
    },
  },
  {
    guest: 'hvc-loop',
    stopAfterNs: 30e6,
    check: (r) => {
      assert.equal(r.exit.kind, 'stopped');
      assert.equal(r.rmExit, 'exit type 7', 'VM_STOP_FORCED');
    },
  },
  {
    guest: 'mmio-loop',
    stopAfterNs: 30e6,
    check: (r) => {
      assert.equal(r.exit.kind, 'stopped');
      assert.equal(r.rmExit, 'exit type 7', 'VM_STOP_FORCED');
      assert.ok(r.vmm.stats.mmioExits > 100, `${r.vmm.stats.mmioExits} MMIO exits`);
    },
  },
];


for (const c of cases) {
  test(`a ${c.guest} guest does not take down its neighbours, and its resources come back`, async () => {
    const { result, platform } = await withPrimary(async ({ k, mgr }) => {
      const pages = k.mm.pages.freePages;
      const [bad, good] = await Promise.all([
        runVm(k, mgr, desc({ name: c.guest, image: `builtin:${c.guest}`, vcpus: 2 }), c.stopAfterNs !== undefined ? { stopAfterNs: c.stopAfterNs } : {}),
        runVm(k, mgr, desc({ name: 'witness' })),
      ]);
      return { bad, good, live: mgr.liveVms, pinned: k.mm.pages.pinnedFreedPages, pagesBack: k.mm.pages.freePages - pages };
    });
    const rm = platform.rm()!;
    c.check(result.bad, rm.rpc.stats);
    assert.deepEqual(rm.stats.faults, [], 'the RM hit none of its internal assertions');
    assert.match(result.good.text, new RegExp(`hello from vm ${result.good.vmid}`));
    assert.equal(result.good.exit.kind === 'status' && result.good.exit.exitTypeName, 'PLATFORM_OFF');
    assert.equal(result.live, 0, 'the VM manager has no VM left');
    assert.equal(result.pinned, 0, 'no page is held after the teardown');
    assert.deepEqual(platform.hv.checkInvariants(), []);
    assert.deepEqual([...rm.vms.all()].map((v) => v.vmid).sort((a, b) => a - b), [3, 255], 'the RM only has itself and the primary VM');
  });
}

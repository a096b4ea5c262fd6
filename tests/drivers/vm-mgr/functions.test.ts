// The irqfd and ioeventfd functions end to end: a write to an eventfd rings a doorbell the guest
// takes as an interrupt (edge, and level with GH_IRQFD_LEVEL), nothing is injected before the VM
// starts, removing the irqfd or closing its eventfd detaches it; guest MMIO writes matching an
// ioeventfd (with and without DATAMATCH) signal its eventfd without an exit, others still exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EFD_NONBLOCK } from '../../../core';
import { GH_FN_IRQFD, GH_VCPU_EXIT, gh_fn_irqfd_arg } from '../../../drivers/virt';
import { PROBE_IOEVENT, PROBE_REPORT, PROBE_TAG } from '../../../examples/guests/lib/probe-abi';
import { GunyahUser } from '../../../tools/vmm/gunyah-user';
import { withPrimary } from '../../tools/vmm/helpers/primary';
import { guestDt, handVm } from './helpers';

const EDGE_LABEL = 10;
const LEVEL_LABEL = 11;
const EDGE_SPI = 20;
const LEVEL_SPI = 21;

function dtWithDoorbells() {
  const t = guestDt({ bootargs: 'probe.irqs=4 probe.ioevent' });
  const vd = t.findNode('/gunyah-vm-config/vdevices')!;
  for (const [label, spi, flags] of [
    [EDGE_LABEL, EDGE_SPI, 1],
    [LEVEL_LABEL, LEVEL_SPI, 4],
  ] as const) {
    const db = vd.addChild(`bell-${label}`);
    db.setString('vdevice-type', 'doorbell');
    db.setString('generate', `/hypervisor/bell-${label}`);
    db.setU32('label', label);
    db.setEmpty('peer-default');
    // GH_IRQFD_LEVEL masks the doorbell from the sender's side: the RM grants that with source-can-clear.
    if (flags === 4) db.setEmpty('source-can-clear');
    db.setU32('interrupts', [0, spi, flags]);
  }
  return t;
}

interface Report {
  tag: number;
  value: number;
}

test('irqfd (edge and level) and ioeventfd (with and without datamatch) round trips', async () => {
  const { result, platform } = await withPrimary(async ({ proc, k, mgr }) => {
    const g = new GunyahUser(proc);
    const h = await handVm(g, { guest: 'probe', dt: dtWithDoorbells() });
    const v = h.vcpus[0]!;
    const edge = proc.eventfd(0, EFD_NONBLOCK);
    const level = proc.eventfd(0, EFD_NONBLOCK);
    const hit5 = proc.eventfd(0, EFD_NONBLOCK);
    const hitAny = proc.eventfd(0, EFD_NONBLOCK);
    await g.addIrqfd(h.vm, edge, EDGE_LABEL, false);
    await g.addIrqfd(h.vm, level, LEVEL_LABEL, true);
    await g.addIoeventfd(h.vm, { eventFd: hit5, addr: PROBE_IOEVENT, len: 4, datamatch: 5n });
    await g.addIoeventfd(h.vm, { eventFd: hitAny, addr: PROBE_IOEVENT + 8n, len: 1 });
    // Before the VM runs there is no doorbell: the signal is dropped ("premature injection").
    await g.writeEventfd(edge);

    const reports: Report[] = [];
    const unclaimed: { addr: bigint; data: bigint; len: number }[] = [];
    let exit = -1;
    // GH_VCPU_RUN before GH_VM_START is ENODEV (the vCPU has no resource yet), so start first.
    await g.start(h.vm);
    const loop = (async () => {
      for (;;) {
        await g.vcpuRun(v.fd);
        if (v.page.exitReason !== GH_VCPU_EXIT.MMIO) {
          exit = v.page.exitReason;
          return;
        }
        const data = v.page.mmioData;
        if (v.page.mmioAddr === PROBE_REPORT) reports.push({ tag: Number(data >> 32n), value: Number(data & 0xffff_ffffn) });
        else unclaimed.push({ addr: v.page.mmioAddr, data: BigInt.asUintN(v.page.mmioLen * 8, data), len: v.page.mmioLen });
      }
    })();
    const until = async (pred: () => boolean) => {
      for (let i = 0; i < 1000 && !pred(); i++) await k.clock.sleep(100_000);
      if (!pred()) throw new Error(`timed out; reports ${JSON.stringify(reports)}`);
    };
    await until(() => reports.some((r) => r.tag === PROBE_TAG.X3));
    await k.clock.sleep(5e6);
    const irqsBeforeSignal = reports.filter((r) => r.tag === PROBE_TAG.IRQ).length;
    const irqs = () => reports.filter((r) => r.tag === PROBE_TAG.IRQ);
    for (const [i, fd] of [edge, level, edge, level].entries()) {
      await g.writeEventfd(fd);
      await until(() => irqs().length === i + 1);
    }
    await until(() => exit >= 0);
    await loop;
    const vm = mgr.vm(h.vmid)!;
    const fnsBefore = vm.functionCount;
    await g.removeFunction(h.vm, GH_FN_IRQFD, gh_fn_irqfd_arg.encode({ fd: edge, label: EDGE_LABEL, flags: 0, padding: 0 }));
    const fnsAfterRemove = vm.functionCount;
    // Closing the eventfd detaches its irqfd.
    await proc.close(level);
    await k.clock.sleep(1e6);
    const fnsAfterClose = vm.functionCount;
    return {
      irqsBeforeSignal,
      irqs: irqs().map((r) => ({ intid: r.value >> 16, n: r.value & 0xffff })),
      unclaimed,
      hit5: await g.readEventfd(hit5),
      hitAny: await g.readEventfd(hitAny),
      exit,
      fnsBefore,
      fnsAfterRemove,
      fnsAfterClose,
      irqfdWarnings: k.dmesg().split('\n').filter((l) => l.includes('gh_irqfd')),
    };
  });
  assert.deepEqual(result.irqfdWarnings.filter((l) => !l.includes('premature')), [], 'the level irqfd got its doorbell masks');
  assert.equal(result.irqsBeforeSignal, 0, 'nothing was injected before the VM started');
  assert.deepEqual(result.irqs, [
    { intid: 32 + EDGE_SPI, n: 1 },
    { intid: 32 + LEVEL_SPI, n: 2 },
    { intid: 32 + EDGE_SPI, n: 3 },
    { intid: 32 + LEVEL_SPI, n: 4 },
  ]);
  assert.equal(result.hit5, 2n, 'two writes of 5 matched the DATAMATCH ioeventfd');
  assert.equal(result.hitAny, 1n, 'the 1-byte write matched the any-value ioeventfd');
  assert.deepEqual(result.unclaimed, [{ addr: PROBE_IOEVENT, data: 6n, len: 4 }], 'only the unmatched write exited to userspace');
  assert.equal(result.exit, GH_VCPU_EXIT.STATUS);
  assert.equal(result.fnsBefore - result.fnsAfterRemove, 1, 'REMOVE_FUNCTION took the edge irqfd');
  assert.equal(result.fnsAfterRemove - result.fnsAfterClose, 1, 'closing the eventfd took the level irqfd');
  assert.deepEqual(platform.hv.checkInvariants(), []);
});

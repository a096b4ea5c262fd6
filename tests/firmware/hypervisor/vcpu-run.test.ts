// Proxy scheduling: vcpu_run runs a vCPU in the caller's place and returns its exits (MMIO, WFI,
// power-off, fault, timeslice end), resuming with the VMM's data; vcpu_run_check; wake-up VIRQ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GhError, gicEnable, gicInit, Hvc, hypercall, Rights, VcpuRunState, WakeupFrom, type GuestCpu } from '../../../firmware/hypervisor/index';
import { buildVm, clearPending, create, err, isPending, ok, RAM_BASE, runRoot, setEdge } from './harness';

const WAKEUP_VIRQ = 70;
const DB_VIRQ = 45;
const run = (cpu: GuestCpu, vcpu: bigint, resume = 0n) => hypercall(cpu, Hvc.VCPU_RUN, vcpu, resume, 0, 0, 0);
const tuple = (x: { error: number; x: readonly bigint[] }) => [x.error, Number(x.x[1]), x.x[2], x.x[3], x.x[4]];

test('MMIO exits round-trip through vcpu_run and the guest resumes with the VMM read value', async () => {
  const guestSaw: bigint[] = [];
  await runRoot(async (cpu, env, rg) => {
    const db = await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, db, 0);
    const vm = await buildVm(cpu, env, rg.machine, {
      vmid: 20,
      pa: RAM_BASE + 0x1000_0000,
      size: 0x10_0000,
      ipaBase: 0x8000_0000,
      entry: 0x8000_0000,
      proxy: true,
      noPowerOn: true,
      code: async (g) => {
        const self = g.x[1]!;
        g.setIrqVector(() => g.gicEndOfInterrupt(g.gicAcknowledge()));
        const v = await g.mmioRead(0x0900_0000n, 4);
        guestSaw.push(v);
        await g.mmioWrite(0x0900_0004n, 4, v + 1n);
        guestSaw.push(await g.mmioRead(0x0900_0010n, 2));
        // RAM through mmioRead/Write is a plain access, no exit.
        await g.mmioWrite(0x8000_2000n, 8, 0x1122_3344_5566_7788n);
        guestSaw.push(g.read64(0x8000_2000n));
        // Enable the doorbell's SPI in the vGIC (default addresses) and sleep until it fires.
        await g.mmioWrite(0x0800_0000n, 4, 0x13n);
        await g.mmioWrite(0x0800_0104n, 4, 1n << BigInt(DB_VIRQ - 32));
        g.setIrqMasked(false);
        await g.wfi();
        guestSaw.push(1n);
        await hypercall(g, Hvc.VCPU_POWEROFF, self, 1);
        guestSaw.push(99n); // never reached: power-off does not return
      },
    });
    const t = vm.vcpus[0]!;
    const selfCap = (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, env.cspace_capid, t, vm.cspace, Rights.thread.POWER, 0))[1]!;
    await ok(cpu, Hvc.DOORBELL_BIND_VIRQ, db, vm.vic, DB_VIRQ, 0);
    await ok(cpu, Hvc.VCPU_BIND_VIRQ, t, env.vic_capid, WAKEUP_VIRQ, 1, 0);
    await setEdge(cpu, env, WAKEUP_VIRQ, true);
    await ok(cpu, Hvc.VCPU_REGISTER_WRITE, t, 0, 1, selfCap, 0);
    // Powered off: vcpu_run and vcpu_run_check report it without running.
    assert.deepEqual(tuple(await run(cpu, t)), [GhError.OK, VcpuRunState.POWERED_OFF, 0n, 0n, 0n]);
    assert.deepEqual(tuple(await hypercall(cpu, Hvc.VCPU_RUN_CHECK, t, 0)), [GhError.OK, VcpuRunState.POWERED_OFF, 0n, 0n, 0n]);
    await ok(cpu, Hvc.VCPU_POWERON, t, 0x8000_0000, 0, 0);
    assert.equal(await isPending(cpu, env, WAKEUP_VIRQ), true, 'power-on raises the wake-up VIRQ');
    await clearPending(cpu, env, WAKEUP_VIRQ);
    assert.equal(await err(cpu, Hvc.VCPU_RUN_CHECK, t, 0), GhError.BUSY, 'runnable');
    // Run: the first load exits.
    assert.deepEqual(tuple(await run(cpu, t)), [GhError.OK, VcpuRunState.ADDRSPACE_VMMIO_READ, 0x0900_0000n, 4n, 0n]);
    assert.deepEqual(tuple(await hypercall(cpu, Hvc.VCPU_RUN_CHECK, t, 0)), [GhError.OK, VcpuRunState.ADDRSPACE_VMMIO_READ, 0x0900_0000n, 4n, 0n]);
    // Resume with the value; the store exits with the guest's data.
    assert.deepEqual(tuple(await run(cpu, t, 0xdead_beefn)), [GhError.OK, VcpuRunState.ADDRSPACE_VMMIO_WRITE, 0x0900_0004n, 4n, 0xdead_bef0n]);
    assert.deepEqual(tuple(await run(cpu, t)), [GhError.OK, VcpuRunState.ADDRSPACE_VMMIO_READ, 0x0900_0010n, 2n, 0n]);
    // A 16-bit load gets 16 bits of the resume value.
    assert.deepEqual(tuple(await run(cpu, t, 0x1_2345n)), [GhError.OK, VcpuRunState.EXPECTS_WAKEUP, 0n, BigInt(WakeupFrom.WFI), 0n]);
    assert.deepEqual(guestSaw, [0xdead_beefn, 0x2345n, 0x1122_3344_5566_7788n]);
    // Still asleep: vcpu_run returns at once.
    assert.deepEqual(tuple(await run(cpu, t)), [GhError.OK, VcpuRunState.EXPECTS_WAKEUP, 0n, BigInt(WakeupFrom.WFI), 0n]);
    assert.equal(await isPending(cpu, env, WAKEUP_VIRQ), false);
    // Ring the guest's doorbell: its interrupt wakes it, which raises our wake-up VIRQ.
    await ok(cpu, Hvc.DOORBELL_SEND, db, 1, 0);
    assert.equal(await isPending(cpu, env, WAKEUP_VIRQ), true);
    assert.deepEqual(tuple(await run(cpu, t)), [GhError.OK, VcpuRunState.POWERED_OFF, 0n, 0n, 0n]);
    assert.deepEqual(guestSaw.slice(3), [1n]);
    // Someone else's vCPU (not proxy-scheduled) cannot be run; neither can the caller itself.
    assert.equal(await err(cpu, Hvc.VCPU_RUN, env.vcpu_capid, 0, 0, 0, 0), GhError.BUSY);
    // Rights: Affinity and YieldTo.
    const weak = (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, env.cspace_capid, t, env.cspace_capid, Rights.thread.AFFINITY, 0))[1]!;
    assert.equal(await err(cpu, Hvc.VCPU_RUN, weak, 0, 0, 0, 0), GhError.CSPACE_INSUFFICIENT_RIGHTS);
  });
});

test('timeslice end returns READY; a fault returns FAULT and raises the halt VIRQ; kill exits', async () => {
  let spun = 0;
  const HALT_VIRQ = 71;
  await runRoot(async (cpu, env, rg) => {
    const mk = (vmid: number, pa: number, code: (g: GuestCpu) => Promise<void>) =>
      buildVm(cpu, env, rg.machine, { vmid, pa, size: 0x10_0000, ipaBase: 0x8000_0000, entry: 0x8000_0000, proxy: true, code });
    const busy = await mk(21, RAM_BASE + 0x1200_0000, async (g) => {
      for (let i = 0; i < 40; i++) {
        await g.spin(1_000_000);
        spun++;
      }
      throw new Error('guest bug');
    });
    const t = busy.vcpus[0]!;
    await ok(cpu, Hvc.VCPU_BIND_VIRQ, t, env.vic_capid, HALT_VIRQ, 0, 0);
    await setEdge(cpu, env, HALT_VIRQ, true);
    const t0 = cpu.counter();
    // The caller's 5 ms timeslice ends: READY, with the guest part way through.
    assert.deepEqual(tuple(await run(cpu, t)), [GhError.OK, VcpuRunState.READY, 0n, 0n, 0n]);
    assert.ok(spun > 0 && spun < 40, `spun ${spun}`);
    const elapsedNs = Number(cpu.counter() - t0) * 16;
    assert.ok(elapsedNs >= 1_000_000 && elapsedNs <= 6_000_000, `ran for ${elapsedNs} ns of the caller's time`);
    let x = await run(cpu, t);
    while (Number(x.x[1]) === VcpuRunState.READY) x = await run(cpu, t);
    assert.deepEqual(tuple(x), [GhError.OK, VcpuRunState.FAULT, 0n, 0n, 0n]);
    assert.equal(spun, 40);
    assert.equal(await isPending(cpu, env, HALT_VIRQ), true, 'halt VIRQ');
    assert.deepEqual(tuple(await hypercall(cpu, Hvc.VCPU_RUN_CHECK, t, 0)), [GhError.OK, VcpuRunState.FAULT, 0n, 0n, 0n]);
    assert.equal(await err(cpu, Hvc.VCPU_POWERON, t, 0x8000_0000, 0, 0), GhError.BUSY, 'a faulted vCPU is not powered off');
    // Kill: a proxy vCPU must be run to exit; then POWERED_OFF with the exited flag, and power-on fails.
    const idle = await mk(22, RAM_BASE + 0x1300_0000, async () => {});
    const u = idle.vcpus[0]!;
    assert.deepEqual(tuple(await run(cpu, u)), [GhError.OK, VcpuRunState.EXPECTS_WAKEUP, 0n, BigInt(WakeupFrom.WFI), 0n]);
    await ok(cpu, Hvc.VCPU_KILL, u, 0);
    assert.equal(await err(cpu, Hvc.VCPU_KILL, u, 0), GhError.OBJECT_STATE);
    assert.equal(await err(cpu, Hvc.VCPU_RUN_CHECK, u, 0), GhError.BUSY, 'killed, not yet exited');
    assert.deepEqual(tuple(await run(cpu, u)), [GhError.OK, VcpuRunState.POWERED_OFF, 1n, 0n, 0n]);
    assert.deepEqual(tuple(await hypercall(cpu, Hvc.VCPU_RUN_CHECK, u, 0)), [GhError.OK, VcpuRunState.POWERED_OFF, 1n, 0n, 0n]);
    assert.equal(await err(cpu, Hvc.VCPU_POWERON, u, 0x8000_0000, 0, 0), GhError.FAILURE);
  });
});

test('an interrupt for the caller ends vcpu_run with READY at the next preemption point', async () => {
  const taken: number[] = [];
  let returnedAt = 0;
  await runRoot(async (cpu, env, rg) => {
    const vm = await buildVm(cpu, env, rg.machine, {
      vmid: 23,
      pa: RAM_BASE + 0x1400_0000,
      size: 0x10_0000,
      ipaBase: 0x8000_0000,
      entry: 0x8000_0000,
      proxy: true,
      code: async (g) => {
        for (;;) await g.spin(1_000_000);
      },
    });
    const frames = { gicdBase: env.gicd_base, gicrBase: env.gicr_base, gicrStride: env.gicr_stride };
    await gicInit(cpu, frames);
    await gicEnable(cpu, frames, 99, false);
    const line = rg.hv.createVirqLine(255, 99);
    cpu.setIrqVector(() => {
      const id = cpu.gicAcknowledge();
      taken.push(id);
      line.deassert();
      cpu.gicEndOfInterrupt(id);
    });
    cpu.setIrqMasked(false);
    const start = rg.machine.now;
    rg.machine.at(start + 1_000_000, () => line.assert());
    const x = await run(cpu, vm.vcpus[0]!);
    returnedAt = rg.machine.now - start;
    assert.equal(Number(x.x[1]), VcpuRunState.READY);
  });
  assert.deepEqual(taken, [99]);
  assert.ok(returnedAt >= 1_000_000 && returnedAt < 1_300_000, `returned after ${returnedAt} ns, not at the 5 ms timeslice end`);
});

// The virtual GICv3: the registers Linux's driver reads, routing, SGIs, the virtual timer, level
// re-pending at EOI, priorities and masking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GhError, GIC_PIDR2, gicEnable, gicInit, Hvc, hypercall, Psci, smccc, type GicFrames, type GuestCpu } from '../../../firmware/hypervisor/index';
import { buildVm, create, ok, RAM_BASE, runRoot, signal } from './harness';

test('distributor and redistributor identification registers', async () => {
  await runRoot(async (cpu, env) => {
    const d = env.gicd_base;
    const r = env.gicr_base;
    assert.equal(await cpu.mmioRead(d + 0xffe8n, 4), BigInt(GIC_PIDR2));
    assert.equal(await cpu.mmioRead(r + 0xffe8n, 4), BigInt(GIC_PIDR2));
    const typer = await cpu.mmioRead(d + 0x4n, 4);
    assert.equal(typer & 0x1fn, 31n, 'ITLinesNumber');
    assert.equal((typer >> 19n) & 0x1fn, 9n, 'IDbits');
    assert.equal(await cpu.mmioRead(d + 0x8n, 4), 0x4700_0070n, 'IIDR: Qualcomm, product G');
    // GICR_TYPER: affinity 0, processor 0, Last (the root VIC has one vCPU).
    assert.equal(await cpu.mmioRead(r + 0x8n, 8), 1n << 4n);
    // WAKER starts awake (as Gunyah's vGIC does); writes round-trip.
    assert.equal(await cpu.mmioRead(r + 0x14n, 4), 0n);
    await cpu.mmioWrite(r + 0x14n, 4, 2n);
    assert.equal(await cpu.mmioRead(r + 0x14n, 4), 6n, 'ProcessorSleep and ChildrenAsleep');
    // CTLR keeps only the group enables; ARE and DS read as one.
    await cpu.mmioWrite(d, 4, 0xffff_ffffn);
    assert.equal(await cpu.mmioRead(d, 4), 0x53n);
    // Priorities keep five bits; SGIs are always edge.
    await cpu.mmioWrite(d + 0x400n + 40n, 1, 0xffn);
    assert.equal(await cpu.mmioRead(d + 0x400n + 40n, 1), 0xf8n);
    assert.equal(await cpu.mmioRead(r + 0x10000n + 0xc00n, 4), 0xaaaa_aaaan);
    // Beyond the SPIs the VIC has: RAZ/WI.
    await cpu.mmioWrite(d + 0x100n + 4n * 31n, 4, 0xffff_ffffn);
    assert.equal(await cpu.mmioRead(d + 0x100n + 4n * 31n, 4), 0x0fff_ffffn, 'INTIDs 992..1019 exist, 1020..1023 are special');
  });
});

test('SGIs between vCPUs and the virtual timer PPI', async () => {
  const log: string[] = [];
  await runRoot(async (cpu, env, rg) => {
    const frames: GicFrames = { gicdBase: env.gicd_base, gicrBase: env.gicr_base, gicrStride: env.gicr_stride };
    const pa = RAM_BASE + 0x1000_0000;
    rg.machine.registerEntry(pa + 0x1000, async (g: GuestCpu) => {
      let wake = signal();
      g.setIrqVector(() => {
        const id = g.gicAcknowledge();
        log.push(`cpu1 irq ${id}`);
        if (id === 27) g.setTimer(undefined); // deassert the level timer before EOI
        g.gicEndOfInterrupt(id);
        wake.fire();
      });
      await gicInit(g, frames);
      await gicEnable(g, frames, 3, true);
      await gicEnable(g, frames, 27, false);
      g.setIrqMasked(false);
      g.gicSendSgi(5, [0]);
      await wake.promise;
      wake = signal();
      const t0 = g.counter();
      g.setTimer(t0 + 6250n); // 100 µs at 62.5 MHz
      await wake.promise;
      log.push(`timer after ${Number(g.counter() - t0) * 16} ns`);
    });
    await buildVm(cpu, env, rg.machine, {
      vmid: 50,
      pa,
      size: 0x10_0000,
      ipaBase: 0x8000_0000,
      entry: 0x8000_0000,
      vcpus: 2,
      psci: true,
      code: async (g) => {
        g.setIrqVector(() => {
          const id = g.gicAcknowledge();
          log.push(`cpu0 irq ${id}`);
          g.gicEndOfInterrupt(id);
          if (id === 5) g.gicSendSgi(3, [1]);
        });
        await gicInit(g, frames);
        await gicEnable(g, frames, 5, true);
        g.setIrqMasked(false);
        await smccc(g, Psci.CPU_ON_64, 1, 0x8000_1000, 0);
      },
    });
  });
  assert.equal(log.length, 4, log.join('; '));
  assert.deepEqual(log.slice(0, 3), ['cpu0 irq 5', 'cpu1 irq 3', 'cpu1 irq 27']);
  const ns = Number(/timer after (\d+) ns/.exec(log[3]!)![1]);
  assert.ok(ns >= 100_000 && ns < 110_000, `timer fired after ${ns} ns`);
});

test('a level interrupt re-pends at EOI while its source asserts; routing; priorities', async () => {
  await runRoot(async (cpu, env) => {
    const frames: GicFrames = { gicdBase: env.gicd_base, gicrBase: env.gicr_base, gicrStride: env.gicr_stride };
    const db = await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, db, 0);
    await ok(cpu, Hvc.DOORBELL_BIND_VIRQ, db, env.vic_capid, 40, 0);
    let deliveries = 0;
    cpu.setIrqVector(() => {
      const id = cpu.gicAcknowledge();
      assert.equal(id, 40);
      deliveries++;
      if (deliveries === 3) {
        // Clear the flags from the handler: a hypercall in a vector completes in place.
        const saved = cpu.x.slice(0, 3);
        cpu.x[0] = db;
        cpu.x[1] = ~0n & 0xffff_ffff_ffff_ffffn;
        cpu.x[2] = 0n;
        void cpu.hvc(0x6000 + Hvc.DOORBELL_RECEIVE);
        assert.equal(cpu.x[0], 0n);
        cpu.x.set(saved);
      }
      cpu.gicEndOfInterrupt(id);
    });
    await gicInit(cpu, frames);
    await gicEnable(cpu, frames, 40, false);
    cpu.setIrqMasked(false);
    await ok(cpu, Hvc.DOORBELL_SEND, db, 1, 0);
    while (deliveries < 3) await cpu.spin(1000);
    await cpu.spin(100_000);
    assert.equal(deliveries, 3, 'delivered until the source deasserted');
    cpu.setIrqMasked(true);
    // Routed to a vCPU the VIC does not have: never delivered.
    await cpu.mmioWrite(env.gicd_base + 0x6000n + 40n * 8n, 8, 1n);
    await ok(cpu, Hvc.DOORBELL_SEND, db, 1, 0);
    assert.equal(cpu.gicAcknowledge(), 1023);
    await cpu.mmioWrite(env.gicd_base + 0x6000n + 40n * 8n, 8, 0n);
    assert.equal(cpu.gicAcknowledge(), 40, 'routed back');
    cpu.gicEndOfInterrupt(40);
    await ok(cpu, Hvc.DOORBELL_RECEIVE, db, 1, 0);
    // Priorities: software-pend two SPIs; the higher priority (lower value) comes first, and a
    // lower one cannot be acknowledged while the higher is active.
    await gicEnable(cpu, frames, 50, true);
    await gicEnable(cpu, frames, 51, true);
    await cpu.mmioWrite(env.gicd_base + 0x400n + 51n, 1, 0x80n);
    await cpu.mmioWrite(env.gicd_base + 0x204n, 4, (1n << 18n) | (1n << 19n));
    assert.equal(cpu.gicAcknowledge(), 51);
    assert.equal(cpu.gicAcknowledge(), 1023, 'running priority 0x80 blocks 0xa0');
    const active = await cpu.mmioRead(env.gicd_base + 0x304n, 4);
    assert.equal(active & (3n << 18n), 1n << 19n, 'ISACTIVER shows 51 active');
    cpu.gicEndOfInterrupt(51);
    assert.equal(cpu.gicAcknowledge(), 50);
    cpu.gicEndOfInterrupt(50);
    assert.equal(cpu.gicAcknowledge(), 1023);
    // A disabled interrupt stays pending but is not delivered.
    await cpu.mmioWrite(env.gicd_base + 0x184n, 4, 1n << 18n);
    await cpu.mmioWrite(env.gicd_base + 0x204n, 4, 1n << 18n);
    assert.equal(cpu.gicAcknowledge(), 1023);
    assert.equal((await cpu.mmioRead(env.gicd_base + 0x204n, 4)) & (1n << 18n), 1n << 18n);
    assert.equal((await hypercall(cpu, Hvc.DOORBELL_SEND, db, 0, 0)).error, GhError.OK);
  });
});

test('reprogramming the timer or sending SGIs in a loop costs no events', async () => {
  let pending = -1;
  let sgis = 0;
  await runRoot(async (cpu, env, rg) => {
    const frames: GicFrames = { gicdBase: env.gicd_base, gicrBase: env.gicr_base, gicrStride: env.gicr_stride };
    cpu.setIrqVector(() => {
      const id = cpu.gicAcknowledge();
      if (id === 7) sgis++;
      cpu.gicEndOfInterrupt(id);
    });
    await gicInit(cpu, frames);
    await gicEnable(cpu, frames, 7, true);
    const now = cpu.counter();
    for (let i = 0; i < 100_000; i++) cpu.setTimer(now + 1_000_000n - BigInt(i));
    for (let i = 0; i < 100_000; i++) cpu.gicSendSgi(7, [0]);
    pending = rg.machine.pendingEvents;
    cpu.setTimer(undefined);
    cpu.setIrqMasked(false);
    await cpu.spin(10_000);
  });
  assert.ok(pending >= 0 && pending < 10, `${pending} events queued`);
  assert.equal(sgis, 1, 'sends before delivery coalesce into one pending SGI');
});

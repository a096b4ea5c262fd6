// The host-side API: in-hypervisor device handlers on the trapping vCPU's time, host interrupt
// lines, and powered-on vCPUs outliving their caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gicEnable, gicInit, GhError, Hvc, hypercall, HypervisorError, ObjectType, VcpuRunState, type GicFrames, type VirqLine } from '../../../firmware/hypervisor/index';
import { buildVm, ok, RAM_BASE, runRoot, signal } from './harness';

test('a device handler claims guest MMIO, runs on the vCPU time, and raises a host interrupt line', async () => {
  const seen: string[] = [];
  const irqs: number[] = [];
  let line: VirqLine | undefined;
  const attached = signal();
  const r = await runRoot(async (cpu, env, rg) => {
    const frames: GicFrames = { gicdBase: env.gicd_base, gicrBase: env.gicr_base, gicrStride: env.gicr_stride };
    await buildVm(cpu, env, rg.machine, {
      vmid: 80,
      pa: RAM_BASE + 0x1000_0000,
      size: 0x10_0000,
      ipaBase: 0x8000_0000,
      entry: 0x8000_0000,
      code: async (g) => {
        await attached.promise;
        g.setIrqVector(() => {
          const id = g.gicAcknowledge();
          irqs.push(id);
          line!.deassert();
          g.gicEndOfInterrupt(id);
        });
        await gicInit(g, frames);
        await gicEnable(g, frames, 90, false);
        g.setIrqMasked(false);
        const t0 = g.counter();
        await g.mmioWrite(0x0900_0000n, 4, 0x41n);
        const v = await g.mmioRead(0x0900_0018n, 2);
        seen.push(`read ${v} after ${Number(g.counter() - t0) * 16} ns`);
        await g.spin(10_000);
      },
    });
    line = rg.hv.createVirqLine(80, 90);
    rg.hv.attachDeviceHandler(80, 0x0900_0000n, 0x1000n, {
      read: (off, size, a) => {
        seen.push(`dev read ${off.toString(16)}/${size} by vcpu ${a.vcpuIndex}`);
        a.charge(5_000);
        return 0xbeefn;
      },
      write: (off, size, val) => {
        seen.push(`dev write ${off.toString(16)}/${size}=${val.toString(16)}`);
        line!.assert();
      },
    });
    assert.throws(() => rg.hv.attachDeviceHandler(80, 0x0900_0800n, 0x1000n, { read: () => 0n, write: () => {} }), (e: unknown) => e instanceof HypervisorError && e.code === GhError.BUSY);
    assert.throws(() => rg.hv.attachDeviceHandler(99, 0n, 0x1000n, { read: () => 0n, write: () => {} }), HypervisorError);
    attached.fire();
    await cpu.spin(1000);
  });
  assert.deepEqual(seen.slice(0, 2), ['dev write 0/4=41', 'dev read 18/2 by vcpu 0']);
  const ns = Number(/after (\d+) ns/.exec(seen[2]!)![1]);
  assert.ok(ns >= 5_000 && ns < 10_000, `the handler's charge counts: ${ns} ns`);
  assert.deepEqual(irqs, [90]);
  assert.deepEqual(r.hv.checkInvariants(), []);
});

test('a powered-on vCPU keeps running after its caps are deleted; powered off it is destroyed', async () => {
  let ticks = 0;
  let off = false;
  const threads = (rg: { hv: { objects: Set<{ type: number; vmid?: number }> } }) => [...rg.hv.objects].filter((o) => o.type === ObjectType.THREAD && o.vmid === 81).length;
  const r = await runRoot(async (cpu, env, rg) => {
    const vm = await buildVm(cpu, env, rg.machine, {
      vmid: 81,
      pa: RAM_BASE + 0x1000_0000,
      size: 0x10_0000,
      ipaBase: 0x8000_0000,
      entry: 0x8000_0000,
      noPowerOn: true,
      code: async (g) => {
        const self = g.x[1]!;
        for (let i = 0; i < 20; i++) {
          await g.spin(100_000);
          ticks++;
        }
        off = true;
        g.x[0] = self;
        g.x[1] = 1n;
        await g.hvc(0x6000 + Hvc.VCPU_POWEROFF);
      },
    });
    const self = (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, env.cspace_capid, vm.vcpus[0]!, vm.cspace, 1, 0))[1]!;
    await ok(cpu, Hvc.VCPU_REGISTER_WRITE, vm.vcpus[0]!, 0, 1, self, 0);
    await ok(cpu, Hvc.VCPU_POWERON, vm.vcpus[0]!, 0x8000_0000, 0, 0);
    await ok(cpu, Hvc.CSPACE_DELETE_CAP_FROM, env.cspace_capid, vm.vcpus[0]!, 0);
    while (!off) await cpu.spin(100_000);
    await cpu.spin(100_000);
    assert.equal(threads(rg as never), 1, 'off, still named by its own cspace');
    await ok(cpu, Hvc.CSPACE_DELETE_CAP_FROM, vm.cspace, self, 0);
    assert.equal(threads(rg as never), 0, 'no caps, no scheduler reference: destroyed');
  });
  assert.equal(ticks, 20);
  assert.deepEqual(r.hv.checkInvariants(), []);
});

test('entry resolution: the ROM table, then image decoders; no code or an unmapped PC faults', async () => {
  const ran: string[] = [];
  const pa = RAM_BASE + 0x1000_0000;
  await runRoot(async (cpu, env, rg) => {
    // A toy image format: the magic "GIMG" at the entry's physical address.
    rg.machine.addImageDecoder((p, mem) => (mem.load(p, 4) === 0x474d_4947 ? async () => void ran.push(`image at 0x${p.toString(16)}`) : undefined));
    const vm = await buildVm(cpu, env, rg.machine, { vmid: 82, pa, size: 0x10_0000, ipaBase: 0x8000_0000, entry: 0x8000_0000, vcpus: 3, noPowerOn: true, code: async () => void ran.push('rom') });
    rg.machine.mem.store(pa + 0x2000, 4, 0x474d_4947);
    await ok(cpu, Hvc.VCPU_POWERON, vm.vcpus[0]!, 0x8000_0000, 0, 0);
    await ok(cpu, Hvc.VCPU_POWERON, vm.vcpus[1]!, 0x8000_2000, 0, 0);
    await ok(cpu, Hvc.VCPU_POWERON, vm.vcpus[2]!, 0x8000_4000, 0, 0);
    // Poll until each has run (vcpu_run_check is BUSY while runnable).
    const state = async (t: bigint) => {
      for (;;) {
        const x = await hypercall(cpu, Hvc.VCPU_RUN_CHECK, t, 0);
        if (x.error !== GhError.BUSY) return Number(x.x[1]);
        await cpu.spin(1_000_000);
      }
    };
    assert.equal(await state(vm.vcpus[2]!), VcpuRunState.FAULT, 'no code at the PC');
    // Unmapped PC.
    const vm2 = await buildVm(cpu, env, rg.machine, { vmid: 83, pa: pa + 0x10_0000, size: 0x10_0000, ipaBase: 0x8000_0000, entry: 0x8000_0000, noPowerOn: true, code: async () => {} });
    await ok(cpu, Hvc.VCPU_POWERON, vm2.vcpus[0]!, 0x7000_0000, 0, 0);
    assert.equal(await state(vm2.vcpus[0]!), VcpuRunState.FAULT, 'unmapped PC');
  });
  assert.deepEqual(ran.sort(), ['image at 0x50002000', 'rom']);
});

// PSCI over the HVC conduit for vCPUs in a VPM group: CPU_ON brings up a second vCPU of a guest
// program, CPU_OFF and AFFINITY_INFO, SYSTEM_OFF / SYSTEM_RESET2 through the halt path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gicEnable, gicInit, GhError, Hvc, hypercall, Psci, PsciRet, smccc, VcpuRunState, VpmState, type GuestCpu } from '../../../firmware/hypervisor/index';
import { buildVm, ok, RAM_BASE, runRoot } from './harness';

const signed = (v: bigint): number => Number(BigInt.asIntN(64, v));

test('CPU_ON brings up a second vCPU; CPU_OFF, AFFINITY_INFO, FEATURES; SYSTEM_OFF halts the VM', async () => {
  const log: string[] = [];
  const pa = RAM_BASE + 0x1000_0000;
  await runRoot(async (cpu, env, rg) => {
    rg.machine.registerEntry(pa + 0x1000, async (g: GuestCpu) => {
      log.push(`cpu${g.index} up ctx=${g.x[0]} mpidr=${g.mpidr}`);
      await g.spin(1_000_000);
      await smccc(g, Psci.CPU_OFF);
      log.push('not reached');
    });
    const vm = await buildVm(cpu, env, rg.machine, {
      vmid: 30,
      pa,
      size: 0x10_0000,
      ipaBase: 0x8000_0000,
      entry: 0x8000_0000,
      vcpus: 2,
      psci: true,
      noPowerOn: true,
      code: async (g) => {
        const call = async (fid: number, ...a: (bigint | number)[]) => signed((await smccc(g, fid, ...a))[0]!);
        log.push(`version ${(await call(Psci.VERSION)).toString(16)}`);
        log.push(`features cpu_on=${await call(Psci.FEATURES, Psci.CPU_ON_64)} migrate=${await call(Psci.FEATURES, Psci.MIGRATE_64)} smccc=${await call(Psci.FEATURES, 0x8000_0000)}`);
        log.push(`affinity1=${await call(Psci.AFFINITY_INFO_64, 1, 0)}`);
        log.push(`on1=${await call(Psci.CPU_ON_64, 1, 0x8000_1000, 0x42)}`);
        log.push(`on1again=${await call(Psci.CPU_ON_64, 1, 0x8000_1000, 0x42)}`);
        log.push(`on9=${await call(Psci.CPU_ON_64, 9, 0x8000_1000, 0)}`);
        // Wait for cpu1 to switch itself off.
        while ((await call(Psci.AFFINITY_INFO_64, 1, 0)) !== 1) await g.spin(10_000);
        log.push('cpu1 off');
        log.push(`off-last=${await call(Psci.CPU_OFF)}`);
        log.push(`migrate=${await call(Psci.MIGRATE_INFO_TYPE)}`);
        await call(Psci.SYSTEM_OFF);
        log.push('not reached');
      },
    });
    // The RM binds each vCPU's halt VIRQ to itself.
    await ok(cpu, Hvc.VCPU_BIND_VIRQ, vm.vcpus[0]!, env.vic_capid, 72, 0, 0);
    const frames = { gicdBase: env.gicd_base, gicrBase: env.gicr_base, gicrStride: env.gicr_stride };
    await gicInit(cpu, frames);
    await gicEnable(cpu, frames, 72, true);
    assert.equal((await hypercall(cpu, Hvc.VPM_GROUP_GET_STATE, vm.vpm!, 0)).x[1], BigInt(VpmState.CPUS_SUSPENDED));
    await ok(cpu, Hvc.VCPU_POWERON, vm.vcpus[0]!, 0x8000_0000, 0, 0);
    assert.equal((await hypercall(cpu, Hvc.VPM_GROUP_GET_STATE, vm.vpm!, 0)).x[1], BigInt(VpmState.RUNNING));
    // IRQs are masked here: WFI still returns once the halt VIRQ is pending.
    await cpu.wfi();
    // Masked: no vector ran, but the interrupt is there to acknowledge.
    assert.equal(cpu.gicAcknowledge(), 72);
    cpu.gicEndOfInterrupt(72);
    assert.equal(cpu.gicAcknowledge(), 1023, 'edge: taken once');
    const chk = await hypercall(cpu, Hvc.VCPU_RUN_CHECK, vm.vcpus[0]!, 0);
    assert.deepEqual([chk.error, Number(chk.x[1])], [GhError.OK, VcpuRunState.POWERED_OFF]);
  });
  assert.deepEqual(log, [
    'version 10001',
    `features cpu_on=${PsciRet.SUCCESS} migrate=${PsciRet.NOT_SUPPORTED} smccc=${PsciRet.SUCCESS}`,
    'affinity1=1',
    // cpu1 starts on the other physical CPU at the same virtual time as cpu0 resumes.
    'cpu1 up ctx=66 mpidr=1',
    'on1=0',
    `on1again=${PsciRet.ALREADY_ON}`,
    `on9=${PsciRet.INVALID_PARAMETERS}`,
    'cpu1 off',
    `off-last=${PsciRet.DENIED}`,
    `migrate=${PsciRet.NOT_SUPPORTED}`,
  ]);
});

test('SYSTEM_RESET2 is reported by vcpu_run_check as PSCI_SYSTEM_RESET with type and cookie', async () => {
  await runRoot(async (cpu, env, rg) => {
    const vm = await buildVm(cpu, env, rg.machine, {
      vmid: 31,
      pa: RAM_BASE + 0x1100_0000,
      size: 0x10_0000,
      ipaBase: 0x8000_0000,
      entry: 0x8000_0000,
      psci: true,
      code: async (g) => {
        assert.equal(signed((await smccc(g, Psci.SYSTEM_RESET2_64, 5, 0))[0]!), PsciRet.INVALID_PARAMETERS, 'undefined architectural type');
        await smccc(g, Psci.SYSTEM_RESET2_64, 0x8000_0001, 0xc00c1e);
      },
    });
    while ((await hypercall(cpu, Hvc.VCPU_RUN_CHECK, vm.vcpus[0]!, 0)).error === GhError.BUSY) await cpu.spin(50_000);
    const chk = await hypercall(cpu, Hvc.VCPU_RUN_CHECK, vm.vcpus[0]!, 0);
    assert.deepEqual([chk.error, Number(chk.x[1]), chk.x[2], chk.x[3]], [GhError.OK, VcpuRunState.PSCI_SYSTEM_RESET, (1n << 62n) | 0x8000_0001n, 0xc00c1en]);
  });
});

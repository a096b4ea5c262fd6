// The kernel on the real hypervisor (firmware/hypervisor): booted from a DTB in a VM's RAM, probing the
// vGIC and arch timer, bringing up a second vCPU with PSCI CPU_ON, taking timer interrupts on virtual
// time, and shutting down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootOnHypervisor, onMachine } from './helpers/hyp-vm';

test('boots in a VM of the real hypervisor: devices probed, both vCPUs online, dmesg', async () => {
  const { rig, kernel } = await bootOnHypervisor({ ncpus: 2 });
  const dmesg = kernel.dmesg();
  assert.deepEqual(
    kernel.devices().map((d) => [d.name, d.driver, d.state]),
    [
      ['psci', undefined, 'unbound'],
      ['8000000.interrupt-controller', 'gic-v3', 'bound'],
      ['timer', 'arch_timer', 'bound'],
    ],
  );
  assert.match(dmesg, /Machine model: gunyah-ts test VM/);
  assert.match(dmesg, /Kernel command line: console=hvc0/);
  assert.match(dmesg, /psci: PSCIv1\.1 detected in firmware\./);
  assert.match(dmesg, /GICv3: CPU0: found redistributor 0/);
  assert.match(dmesg, /GICv3: CPU1: found redistributor 1/);
  assert.match(dmesg, /CPU1: Booted secondary processor 0x0000000001/);
  assert.match(dmesg, /smp: Brought up 1 node, 2 CPUs/);
  assert.deepEqual(kernel.cpus.online().map((p) => p.index), [0, 1]);
  assert.doesNotMatch(dmesg, /spurious|failed|panic/i);
  // Memory: the DTB and the kernel image are reserved, the rest is the page allocator's.
  const names = kernel.mm.layout.reserved.map((r) => r.name);
  assert.deepEqual(names, ['DTB', 'kernel image']);
  // A timer 3 ms of virtual time from now fires through the vGIC's PPI 27.
  const fired = await onMachine(rig, async () => {
    const t0 = kernel.clock.now();
    await kernel.clock.sleep(3_000_000);
    return kernel.clock.now() - t0;
  });
  assert.ok(fired >= 3_000_000 && fired < 3_100_000, `slept ${fired} ns`);
  await onMachine(rig, () => kernel.shutdown());
  assert.match(kernel.dmesg(), /reboot: kernel halted/);
  assert.deepEqual(rig.hv.checkInvariants(), []);
});

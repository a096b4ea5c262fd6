// The guest kernel in a VM: boots the same kernel as the primary VM (core/ with the RM driver and the
// Gunyah console from the DT the RM generated), brings its other vCPUs up with PSCI CPU_ON, writes
// "hello from vm N" to its console (ttyGH0, the RM console), and powers the VM off with PSCI
// SYSTEM_OFF. The bootargs may say `hello.stay` to keep running instead (the VMM stops it).
import { bootKernel, secondaryEntry, type Cpu } from '../../core';
import { gunyahConsoleModule } from '../../drivers/tty';
import { rscMgrModule } from '../../drivers/virt';
import type { GuestCpu, GuestImage } from '../../firmware/hypervisor';

export async function main(cpu: GuestCpu, image: GuestImage): Promise<void> {
  const k = await bootKernel(cpu as Cpu, cpu.x[0]!, {
    name: 'guest',
    validator: false,
    drivers: [rscMgrModule, gunyahConsoleModule],
    secondaryEntry: image.entry('secondary'),
    kernelImage: { base: image.base, size: image.size },
  });
  const vmid = k.tree.findNode('/hypervisor/qcom,gunyah-vm')?.u32('qcom,vmid') ?? 0;
  const init = k.spawn('init');
  const tty = await init.open('/dev/ttyGH0');
  const enc = new TextEncoder();
  await init.writeBytes(tty, enc.encode(`hello from vm ${vmid}\n`));
  await init.writeBytes(tty, enc.encode(`${k.cpus.online().length} CPUs online\n`));
  const args = k.tree.findNode('/chosen')?.string('bootargs') ?? '';
  if (args.split(/\s+/).includes('hello.stay')) return;
  await init.close(tty);
  if (!k.psci) throw new Error('no PSCI');
  await k.psci.systemOff();
}

/** PSCI CPU_ON target of the other vCPUs. */
export function secondary(cpu: GuestCpu): Promise<void> {
  return secondaryEntry(cpu as Cpu);
}

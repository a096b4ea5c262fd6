// Hostile: powers the VM off in the middle of booting its kernel. The boot vCPU starts the guest
// kernel (RM link, console); meanwhile vCPU 1, started at once with PSCI CPU_ON, calls SYSTEM_OFF.
import { bootKernel, type Cpu } from '../../core';
import { gunyahConsoleModule } from '../../drivers/tty';
import { rscMgrModule } from '../../drivers/virt';
import type { GuestCpu, GuestImage } from '../../firmware/hypervisor';
import { cpuOn, systemOff } from './lib/baremetal';

export async function main(cpu: GuestCpu, image: GuestImage): Promise<void> {
  const r = await cpuOn(cpu, 1n, image.entry('off'), 0n);
  if (r !== 0) throw new Error(`CPU_ON failed: ${r}`);
  await bootKernel(cpu as Cpu, cpu.x[0]!, { name: 'doomed', validator: false, drivers: [rscMgrModule, gunyahConsoleModule], kernelImage: { base: image.base, size: image.size } });
  // Not reached when the power-off wins, which it does: the kernel's boot waits on the RM.
  await new Promise<never>(() => {});
}

export async function off(cpu: GuestCpu): Promise<void> {
  await cpu.spin(20_000);
  await systemOff(cpu);
}

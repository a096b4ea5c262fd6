// The lightest guest: no kernel. Reads its DT, opens its RM console with a minimal RM client, writes
// "hello from vm N" and powers the VM off with PSCI SYSTEM_OFF. What the scale benchmarks boot.
import type { GuestCpu, GuestImage } from '../../firmware/hypervisor';
import { bootInfo, enableInterrupts, scratchPage, systemOff } from './lib/baremetal';
import { RmLite } from './lib/rm-lite';

export async function main(cpu: GuestCpu, image: GuestImage): Promise<void> {
  const info = bootInfo(cpu, cpu.x[0]!);
  if (!info.rm) throw new Error('no RM link in the DT');
  const rm = new RmLite(cpu, info.rm, scratchPage(image));
  await enableInterrupts(cpu, info.gic, [{ intid: info.rm.rxIntid, edge: true }], (intid) => {
    if (intid === info.rm!.rxIntid) rm.onRxIrq();
  });
  const open = await rm.consoleOpen();
  if (open !== 0) throw new Error(`CONSOLE_OPEN failed: RM error ${open}`);
  await rm.consoleWrite(`hello from vm ${info.vmid}\n`);
  await systemOff(cpu);
}

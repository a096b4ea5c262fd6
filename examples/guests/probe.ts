// A bare-metal guest that reports what it sees by MMIO writes to REPORT (a VMMIO address nobody
// claims, so each write is an exit its VMM reads from the vcpu_run page): its entry registers, the
// doorbell interrupts it takes, and, asked by its bootargs, writes for ioeventfds.
//   bootargs: probe.irqs=N      take N doorbell interrupts, reporting each (tag 2)
//             probe.ioevent     write 5, 6, 5 (4 bytes) to IOEVENT and 1 (1 byte) to IOEVENT + 8
//             probe.stay        do not power off at the end
import type { GuestCpu, GuestImage } from '../../firmware/hypervisor';
import { bootInfo, enableInterrupts, systemOff } from './lib/baremetal';
import { PROBE_IOEVENT as IOEVENT, PROBE_REPORT as REPORT, PROBE_TAG as TAG } from './lib/probe-abi';

async function report(cpu: GuestCpu, tag: number, value: bigint | number): Promise<void> {
  await cpu.mmioWrite(REPORT, 8, (BigInt(tag) << 32n) | (BigInt(value) & 0xffff_ffffn));
}

async function run(cpu: GuestCpu, entry: number): Promise<void> {
  const regs = [cpu.x[0]!, cpu.x[1]!, cpu.x[2]!, cpu.x[3]!];
  await report(cpu, TAG.ENTRY, entry);
  for (let i = 0; i < 4; i++) await report(cpu, TAG.X0 + i, regs[i]!);
  // x0 is the DT only for the boot entry; the alternate entry reports and stops.
  if (entry !== 0) return systemOff(cpu);
  const info = bootInfo(cpu, regs[0]!);
  const args = (info.tree.findNode('/chosen')?.string('bootargs') ?? '').split(/\s+/);
  const irqsArg = args.find((a) => a.startsWith('probe.irqs='));
  if (irqsArg) {
    const want = Number(irqsArg.split('=')[1]);
    const bells = [...info.tree.walk()].filter((n) => n.strings('compatible')?.includes('qcom,gunyah-doorbell'));
    const lines = bells.map((n) => ({ intid: info.intid(n), edge: (n.u32s('interrupts')?.[2] ?? 4) === 1 }));
    const seen: number[] = [];
    await enableInterrupts(cpu, info.gic, lines, (intid) => void seen.push(intid));
    let got = 0;
    while (got < want) {
      while (seen.length === 0) await cpu.wfi();
      const intid = seen.shift()!;
      got++;
      await report(cpu, TAG.IRQ, (intid << 16) | got);
    }
  }
  if (args.includes('probe.ioevent')) {
    await cpu.mmioWrite(IOEVENT, 4, 5n);
    await cpu.mmioWrite(IOEVENT, 4, 6n);
    await cpu.mmioWrite(IOEVENT, 4, 5n);
    await cpu.mmioWrite(IOEVENT + 8n, 1, 1n);
  }
  await report(cpu, TAG.DONE, 0);
  if (args.includes('probe.stay')) return;
  await systemOff(cpu);
}

export function main(cpu: GuestCpu, _image: GuestImage): Promise<void> {
  return run(cpu, 0);
}

/** A second entry, for a boot context whose PC points here. */
export function alt(cpu: GuestCpu): Promise<void> {
  return run(cpu, 1);
}

// The RM's platform on a real GuestCpu: memory through stage 2, the virtual timer for sleeps, and
// its vGIC (distributor and redistributor programmed through their MMIO frames, the CPU interface
// through system registers) with an IRQ vector that only acknowledges and queues work.
import { GIC_SPURIOUS, VTIMER_PPI, gicEnable, gicInit, type GicFrames, type GuestCpu } from '../../hypervisor';
import { Hypercalls } from './hypercalls';
import { cpuHvcPort } from './hvc-port';
import type { RmPlatform } from './rm-platform';

export class CpuPlatform implements RmPlatform {
  readonly hyp: Hypercalls;
  private readonly sleepers: (() => void)[] = [];
  private irqSink: ((intid: number) => void) | undefined;

  constructor(
    private readonly cpu: GuestCpu,
    private readonly gic: GicFrames,
  ) {
    this.hyp = new Hypercalls(cpuHvcPort(cpu));
  }

  /** Bring up the GIC, the timer interrupt and the IRQ vector; interrupts go to `sink`. */
  async init(sink: (intid: number) => void): Promise<void> {
    this.irqSink = sink;
    const cpu = this.cpu;
    await gicInit(cpu, this.gic);
    await gicEnable(cpu, this.gic, VTIMER_PPI, false);
    cpu.setIrqVector(() => {
      for (;;) {
        const intid = cpu.gicAcknowledge();
        if (intid === GIC_SPURIOUS) break;
        if (intid === VTIMER_PPI) {
          cpu.setTimer(undefined);
          for (const w of this.sleepers.splice(0)) w();
        } else this.irqSink?.(intid);
        cpu.gicEndOfInterrupt(intid);
      }
    });
    cpu.setIrqMasked(false);
  }

  read(ipa: bigint, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.cpu.read(ipa, out);
    return out;
  }

  write(ipa: bigint, data: Uint8Array): void {
    this.cpu.write(ipa, data);
  }

  sleep(ns: number): Promise<void> {
    const cpu = this.cpu;
    const ticks = BigInt(Math.max(1, Math.ceil((ns * cpu.counterFrequency) / 1e9)));
    return new Promise<void>((resolve) => {
      this.sleepers.push(resolve);
      cpu.setTimer(cpu.counter() + ticks);
    });
  }

  async enableVirq(virq: number, edge: boolean): Promise<void> {
    await gicEnable(this.cpu, this.gic, virq, edge);
  }

  async disableVirq(virq: number): Promise<void> {
    // GICD_ICENABLER<n>: write-one-to-clear.
    await this.cpu.mmioWrite(this.gic.gicdBase + 0x180n + BigInt(Math.floor(virq / 32) * 4), 4, 1n << BigInt(virq % 32));
  }

  now(): number {
    return Number((this.cpu.counter() * 1_000_000_000n) / BigInt(this.cpu.counterFrequency));
  }
}

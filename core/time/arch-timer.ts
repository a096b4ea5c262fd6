// The arm,armv8-timer driver: the virtual timer PPI (interrupt index 2, INTID 27 on a GIC) becomes the
// kernel clock's event device on the boot CPU and is enabled on every CPU as it comes online.
import { inject, injectable } from 'inversify';
import { Printk, type PrintkImpl } from '../printk/printk';
import { Cpus, type CpusImpl } from '../kernel/cpus';
import { IrqCore, type IrqCoreImpl } from '../irq/irq-core';
import { IRQ_HANDLED } from '../irq/irq-types';
import { ProbeDefer, type Driver, type ProbeResult } from '../bus/driver';
import type { PlatformDevice } from '../bus/platform-device';
import { Clock, type ClockImpl } from './clock';

/** Interrupt order of the arm,armv8-timer binding: secure phys, non-secure phys, virtual, hyp phys, hyp virt. */
export const ARCH_TIMER_VIRT_IRQ_INDEX = 2;

@injectable()
export class ArchTimerDriver implements Driver {
  readonly name = 'arch_timer';
  readonly ofMatchTable = [{ compatible: 'arm,armv8-timer' }, { compatible: 'arm,armv7-timer' }];

  constructor(
    @inject(IrqCore) private readonly irq: IrqCoreImpl,
    @inject(Cpus) private readonly cpus: CpusImpl,
    @inject(Clock) private readonly clock: ClockImpl,
    @inject(Printk) private readonly printk: PrintkImpl,
  ) {}

  async probe(dev: PlatformDevice): Promise<ProbeResult> {
    if (this.clock.eventDevice) return; // one clock-event device per kernel; a second node is ignored
    const virq = dev.getIrq(ARCH_TIMER_VIRT_IRQ_INDEX);
    if (virq instanceof ProbeDefer) return virq;
    const boot = this.cpus.boot.cpu;
    const freq = boot.counterFrequency;
    const dtFreq = dev.node.u32('clock-frequency');
    if (dtFreq !== undefined && dtFreq !== freq) {
      this.printk.warn(`arch_timer: DT clock-frequency ${dtFreq} differs from CNTFRQ_EL0 ${freq}; using CNTFRQ_EL0`);
    }
    await this.irq.requestIrq(
      virq,
      (ctx) => {
        // Level interrupt: disabling the timer drops the line before the EOI.
        ctx.cpu.setTimer(undefined);
        if (ctx.cpu === boot) this.clock.runExpired();
        return IRQ_HANDLED;
      },
      { name: 'arch_timer', devId: this },
    );
    dev.devmAdd(`irq ${virq} (arch_timer)`, () => this.irq.freeIrq(virq, this));
    const teardown = await this.cpus.setup({
      name: 'clockevents/arm/arch_timer:starting',
      startup: (pc) => this.irq.enablePercpuIrq(virq, pc.cpu),
      teardown: (pc) => {
        pc.cpu.setTimer(undefined);
        return this.irq.disablePercpuIrq(virq, pc.cpu);
      },
    });
    dev.devmAdd('cpuhp clockevents/arm/arch_timer:starting', teardown);
    this.clock.setEventDevice({ name: 'arch_sys_timer', program: (cval) => boot.setTimer(cval) });
    dev.devmAdd('clockevent arch_sys_timer', () => this.clock.setEventDevice(undefined));
    this.printk.info(`arch_timer: cp15 timer(s) running at ${(freq / 1e6).toFixed(2)}MHz (virt).`);
  }
}

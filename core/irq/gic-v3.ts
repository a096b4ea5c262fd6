// The arm,gic-v3 driver: programs the vGIC's distributor and redistributor frames over MMIO, registers
// the GIC irq domain (3-cell <type irq flags> specifiers), and is the root IRQ handler every CPU's vector
// calls (acknowledge, dispatch, EOI).
import { inject, injectable } from 'inversify';
import type { Cpu } from '../arch/cpu';
import { mpidrAffinity } from '../arch/cpu';
import type { DtNode } from '../../dt/index';
import { Errno } from '../errno';
import { OfError } from '../of/of-base';
import { Printk, type PrintkImpl } from '../printk/printk';
import { Cpus, type CpusImpl, type PerCpu } from '../kernel/cpus';
import type { Driver, ProbeResult } from '../bus/driver';
import type { PlatformDevice } from '../bus/platform-device';
import { IoMem } from '../bus/iomem';
import { IrqCore, type IrqCoreImpl } from './irq-core';
import type { IrqDomain } from './irq-domain';
import { IRQ_TYPE, IRQ_TYPE_SENSE_MASK, isLevel, type IrqChip, type IrqData, type IrqFwspec, type IrqType } from './irq-types';
import {
  GIC_DEFAULT_PRIORITY,
  GIC_EPPI,
  GIC_ESPI,
  GIC_PPI,
  GIC_SPI,
  GICD,
  GICD_CTLR_ARE_NS,
  GICD_CTLR_ENABLE_G1,
  GICD_CTLR_ENABLE_G1A,
  GICD_CTLR_RWP,
  GICR,
  GICR_SGI,
  GICR_SGI_BASE,
  GICR_STRIDE_V3,
  GICR_STRIDE_V4,
  GICR_TYPER_LAST,
  GICR_TYPER_VLPIS,
  GICR_WAKER_CHILDREN_ASLEEP,
  GICR_WAKER_PROCESSOR_SLEEP,
  INTID,
  gicdEspiLines,
  gicdLines,
} from './gic-v3-regs';

/** Polls of a "write pending" / "children asleep" bit before giving up with a warning. */
const POLL_LIMIT = 1000;
/** Interrupts acknowledged per vector entry before returning (bounds a storm). */
const MAX_IRQS_PER_ENTRY = 64;

/** GICR_TYPER.Affinity_Value layout of an MPIDR: Aff3.Aff2.Aff1.Aff0. */
function typerAffinity(mpidr: bigint): bigint {
  const a = mpidrAffinity(mpidr);
  return (((a >> 32n) & 0xffn) << 24n) | (a & 0xff_ffffn);
}

/** GICD_IROUTER value routing to one CPU (Interrupt_Routing_Mode 0). */
function irouterValue(mpidr: bigint): bigint {
  return mpidrAffinity(mpidr);
}

export class GicV3 implements IrqChip {
  readonly name = 'GICv3';
  domain: IrqDomain | undefined;
  lines = 0;
  espiLines = 0;
  private readonly rdists = new Map<number, IoMem>();
  /** SPIs whose group, priority and route have been programmed. */
  private readonly configured = new Set<number>();

  constructor(
    readonly node: DtNode,
    private readonly dist: IoMem,
    private readonly redistRegions: IoMem[],
    private readonly strideOverride: bigint | undefined,
    private readonly irq: IrqCoreImpl,
    private readonly cpus: CpusImpl,
    private readonly printk: PrintkImpl,
  ) {}

  // ---- distributor ----

  private async waitRwp(): Promise<void> {
    for (let i = 0; i < POLL_LIMIT; i++) if (((await this.dist.readl(GICD.CTLR)) & GICD_CTLR_RWP) === 0) return;
    this.printk.warn('GICv3: distributor RWP timeout');
  }

  /** gic_dist_init: disable, reset every SPI to disabled/inactive/group 1, then enable with affinity routing. */
  async initDistributor(): Promise<void> {
    const typer = await this.dist.readl(GICD.TYPER);
    this.lines = gicdLines(typer);
    this.espiLines = gicdEspiLines(typer);
    await this.dist.writel(GICD.CTLR, 0);
    await this.waitRwp();
    for (let i = 32; i < this.lines; i += 32) {
      const w = (i / 32) * 4;
      await this.dist.writel(GICD.ICENABLER + w, 0xffffffff);
      await this.dist.writel(GICD.ICACTIVER + w, 0xffffffff);
      await this.dist.writel(GICD.IGROUPR + w, 0xffffffff);
    }
    for (let i = 0; i < this.espiLines; i += 32) {
      const w = (i / 32) * 4;
      await this.dist.writel(GICD.ICENABLERnE + w, 0xffffffff);
      await this.dist.writel(GICD.ICACTIVERnE + w, 0xffffffff);
      await this.dist.writel(GICD.IGROUPRnE + w, 0xffffffff);
    }
    await this.waitRwp();
    await this.dist.writel(GICD.CTLR, GICD_CTLR_ARE_NS | GICD_CTLR_ENABLE_G1A | GICD_CTLR_ENABLE_G1);
    await this.waitRwp();
  }

  // ---- redistributors ----

  /** Find `cpu`'s redistributor by GICR_TYPER affinity (gic_populate_rdist). */
  private async findRdist(cpu: Cpu): Promise<IoMem> {
    const want = typerAffinity(cpu.mpidr);
    for (const region of this.redistRegions) {
      const r = region.on(cpu);
      for (let off = 0n; off + GICR_STRIDE_V3 <= r.size; ) {
        const typer = await r.readq(off + BigInt(GICR.TYPER));
        const stride = this.strideOverride ?? (typer & GICR_TYPER_VLPIS ? GICR_STRIDE_V4 : GICR_STRIDE_V3);
        if (typer >> 32n === want) return r.slice(off, stride > r.size - off ? r.size - off : stride);
        if (typer & GICR_TYPER_LAST) break;
        off += stride;
      }
    }
    throw new Errno('ENODEV', `GICv3: no redistributor for CPU${cpu.index} (MPIDR 0x${cpu.mpidr.toString(16)})`);
  }

  /** gic_cpu_init for one CPU: wake its redistributor, group 1 for SGIs/PPIs, PPIs off, SGIs on. */
  async initCpu(pc: PerCpu): Promise<void> {
    const rd = await this.findRdist(pc.cpu);
    this.rdists.set(pc.index, rd);
    const waker = await rd.readl(GICR.WAKER);
    await rd.writel(GICR.WAKER, waker & ~GICR_WAKER_PROCESSOR_SLEEP);
    let asleep = true;
    for (let i = 0; i < POLL_LIMIT && asleep; i++) asleep = ((await rd.readl(GICR.WAKER)) & GICR_WAKER_CHILDREN_ASLEEP) !== 0;
    if (asleep) this.printk.warn(`GICv3: CPU${pc.index}: redistributor failed to wake`);
    const sgi = GICR_SGI_BASE;
    await rd.writel(sgi + GICR_SGI.IGROUPR0, 0xffffffff);
    await rd.writel(sgi + GICR_SGI.ICACTIVER0, 0xffffffff);
    await rd.writel(sgi + GICR_SGI.ICENABLER0, 0xffff0000);
    await rd.writel(sgi + GICR_SGI.ISENABLER0, 0x0000ffff);
    const pri = GIC_DEFAULT_PRIORITY * 0x01010101;
    for (let i = 0; i < 32; i += 4) await rd.writel(sgi + GICR_SGI.IPRIORITYR + i, pri >>> 0);
    this.printk.info(`GICv3: CPU${pc.index}: found redistributor ${pc.index} region 0:0x${rd.base.toString(16).padStart(16, '0')}`);
  }

  private rdistFor(cpu: Cpu): IoMem {
    const rd = this.rdists.get(cpu.index);
    if (!rd) throw new Errno('ENODEV', `GICv3: CPU${cpu.index}'s redistributor is not initialised`);
    return rd.on(cpu);
  }

  // ---- irq_chip ----

  /** Which enable/config bank an INTID lives in. */
  private bank(hwirq: number): 'private' | 'spi' | 'espi' {
    if (hwirq < INTID.PPI_END) return 'private';
    if (hwirq < INTID.SPI_END) return 'spi';
    if (hwirq >= INTID.ESPI_BASE && hwirq < INTID.ESPI_END) return 'espi';
    throw new Errno('EINVAL', `GICv3: INTID ${hwirq} is not an SGI, PPI, SPI or extended SPI`);
  }

  private async pokeEnable(d: IrqData, cpu: Cpu, enable: boolean): Promise<void> {
    const bit = 1 << d.hwirq % 32;
    switch (this.bank(d.hwirq)) {
      case 'private':
        await this.rdistFor(cpu).writel(GICR_SGI_BASE + (enable ? GICR_SGI.ISENABLER0 : GICR_SGI.ICENABLER0), bit >>> 0);
        return;
      case 'spi':
        await this.dist.on(cpu).writel((enable ? GICD.ISENABLER : GICD.ICENABLER) + Math.floor(d.hwirq / 32) * 4, bit >>> 0);
        if (!enable) await this.waitRwp();
        return;
      case 'espi': {
        const n = d.hwirq - INTID.ESPI_BASE;
        await this.dist.on(cpu).writel((enable ? GICD.ISENABLERnE : GICD.ICENABLERnE) + Math.floor(n / 32) * 4, bit >>> 0);
        if (!enable) await this.waitRwp();
        return;
      }
    }
  }

  mask(d: IrqData, cpu: Cpu): Promise<void> {
    return this.pokeEnable(d, cpu, false);
  }

  async unmask(d: IrqData, cpu: Cpu): Promise<void> {
    await this.configure(d, cpu);
    await this.pokeEnable(d, cpu, true);
  }

  /** First use of a shared interrupt: group 1, default priority, routed to the boot CPU. */
  private async configure(d: IrqData, cpu: Cpu): Promise<void> {
    const bank = this.bank(d.hwirq);
    if (bank === 'private' || this.configured.has(d.hwirq)) return;
    this.configured.add(d.hwirq);
    const n = bank === 'spi' ? d.hwirq : d.hwirq - INTID.ESPI_BASE;
    const dist = this.dist.on(cpu);
    await dist.writeb((bank === 'spi' ? GICD.IPRIORITYR : GICD.IPRIORITYRnE) + n, GIC_DEFAULT_PRIORITY);
    const router = bank === 'spi' ? GICD.IROUTER + d.hwirq * 8 : GICD.IROUTERnE + n * 8;
    await dist.writeq(router, irouterValue(this.cpus.boot.cpu.mpidr));
  }

  /**
   * ICFGR: two bits per INTID, bit 1 set = edge (gic_set_type). SPIs take only level-high or rising
   * edge; a PPI's polarity is not configurable, so any level type is level and any edge type edge.
   */
  async setType(d: IrqData, type: IrqType, cpu: Cpu): Promise<void> {
    const sense = type & IRQ_TYPE_SENSE_MASK;
    if (d.hwirq < INTID.SGI_END) {
      if (sense !== IRQ_TYPE.EDGE_RISING) throw new Errno('EINVAL', `GICv3: SGI ${d.hwirq} is always edge`);
      return;
    }
    if (this.bank(d.hwirq) !== 'private' && sense !== IRQ_TYPE.LEVEL_HIGH && sense !== IRQ_TYPE.EDGE_RISING) {
      throw new Errno('EINVAL', `GICv3: INTID ${d.hwirq}: trigger type ${sense} (SPIs are level-high or rising-edge)`);
    }
    await this.configure(d, cpu);
    const bank = this.bank(d.hwirq);
    let io: IoMem;
    let reg: number;
    if (bank === 'private') {
      io = this.rdistFor(cpu);
      reg = GICR_SGI_BASE + GICR_SGI.ICFGR0 + Math.floor(d.hwirq / 16) * 4;
    } else if (bank === 'spi') {
      io = this.dist.on(cpu);
      reg = GICD.ICFGR + Math.floor(d.hwirq / 16) * 4;
    } else {
      io = this.dist.on(cpu);
      reg = GICD.ICFGRnE + Math.floor((d.hwirq - INTID.ESPI_BASE) / 16) * 4;
    }
    const shift = (d.hwirq % 16) * 2 + 1;
    const old = await io.readl(reg);
    const edge = (sense & IRQ_TYPE.EDGE_BOTH) !== 0 && !isLevel(sense);
    const val = edge ? old | (1 << shift) : old & ~(1 << shift);
    if (val !== old) await io.writel(reg, val >>> 0);
  }

  async setAffinity(d: IrqData, cpuIndex: number, cpu: Cpu): Promise<void> {
    const bank = this.bank(d.hwirq);
    if (bank === 'private') throw new Errno('EINVAL', `GICv3: INTID ${d.hwirq} is per-CPU`);
    const target = this.cpus.get(cpuIndex);
    if (!target) throw new Errno('EINVAL', `GICv3: no CPU${cpuIndex}`);
    const router = bank === 'spi' ? GICD.IROUTER + d.hwirq * 8 : GICD.IROUTERnE + (d.hwirq - INTID.ESPI_BASE) * 8;
    await this.dist.on(cpu).writeq(router, irouterValue(target.cpu.mpidr));
  }

  // ---- domain translation and the root handler ----

  /** gic_irq_domain_translate for <type irq flags> (a 4th PPI-partition cell is ignored). */
  xlate(args: readonly number[], node: DtNode): IrqFwspec {
    if (args.length < 3) throw new OfError(node.path, 'interrupts', `GICv3 specifier needs 3 cells, got ${args.length}`);
    const [kind, n, flags] = args as [number, number, number];
    const type = flags & IRQ_TYPE_SENSE_MASK;
    const check = (max: number, what: string) => {
      if (n >= max) throw new OfError(node.path, 'interrupts', `${what} ${n} out of range (0..${max - 1})`);
    };
    switch (kind) {
      case GIC_SPI:
        check(INTID.SPI_END - 32, 'SPI');
        return { hwirq: n + 32, type, percpu: false };
      case GIC_PPI:
        check(16, 'PPI');
        return { hwirq: n + 16, type, percpu: true };
      case GIC_ESPI:
        check(1024, 'extended SPI');
        return { hwirq: n + INTID.ESPI_BASE, type, percpu: false };
      case GIC_EPPI:
        check(64, 'extended PPI');
        return { hwirq: n + INTID.EPPI_BASE, type, percpu: true };
      default:
        throw new OfError(node.path, 'interrupts', `unknown GIC interrupt type ${kind}`);
    }
  }

  /**
   * gic_handle_irq: acknowledge, dispatch and end interrupts until none is pending. An interrupt whose
   * flow must mask it first gets its EOI once the mask landed (it stays active meanwhile, which also
   * holds off further interrupts of its priority on this CPU, as the running priority would).
   */
  handleIrq(cpu: Cpu): void {
    for (let n = 0; n < MAX_IRQS_PER_ENTRY; n++) {
      const intid = cpu.gicAcknowledge();
      if (intid >= 1020 && intid <= 1023) return;
      let later: Promise<void> | undefined;
      try {
        if (intid < INTID.SGI_END) this.irq.handleIpi(intid, cpu);
        else if (this.domain) later = this.irq.handleDomainIrq(this.domain, intid, cpu);
      } finally {
        if (later) void later.finally(() => cpu.gicEndOfInterrupt(intid));
        else cpu.gicEndOfInterrupt(intid);
      }
    }
  }
}

@injectable()
export class GicV3Driver implements Driver {
  readonly name = 'gic-v3';
  readonly ofMatchTable = [{ compatible: 'arm,gic-v3' }];

  constructor(
    @inject(IrqCore) private readonly irq: IrqCoreImpl,
    @inject(Cpus) private readonly cpus: CpusImpl,
    @inject(Printk) private readonly printk: PrintkImpl,
  ) {}

  async probe(dev: PlatformDevice): Promise<ProbeResult> {
    if (this.irq.hasRootHandler) throw new Errno('EBUSY', 'a root interrupt controller is already registered');
    const nRegions = dev.node.u32('#redistributor-regions') ?? 1;
    const dist = dev.ioremap(0);
    const regions: IoMem[] = [];
    for (let i = 0; i < nRegions; i++) regions.push(dev.ioremap(1 + i));
    const strideProp = dev.node.u64('redistributor-stride');
    const gic = new GicV3(dev.node, dist, regions, strideProp && strideProp > 0n ? strideProp : undefined, this.irq, this.cpus, this.printk);
    await gic.initDistributor();
    this.printk.info(`GICv3: ${gic.lines - 32} SPIs implemented, ${gic.espiLines} extended SPIs`);
    const teardownCpuhp = await this.cpus.setup({ name: 'irqchip/arm/gicv3:starting', startup: (pc) => gic.initCpu(pc) });
    dev.devmAdd('cpuhp irqchip/arm/gicv3:starting', teardownCpuhp);
    gic.domain = this.irq.addDomain('GICv3', dev.node, { xlate: (args, node) => gic.xlate(args, node) }, gic);
    dev.devmAdd('irq domain GICv3', () => this.irq.removeDomain(gic.domain!));
    this.irq.setRootHandler((cpu) => gic.handleIrq(cpu));
    dev.devmAdd('root irq handler', () => this.irq.setRootHandler(undefined));
    dev.setDrvdata(gic);
  }
}

// The delivery state of one virtual interrupt (Gunyah's vgic_delivery_state, simplified to what a
// GICv3 guest can observe): enable, edge latch, level inputs, active, priority, trigger, route.
import type { VirqSource } from './virq-source';

export const GIC_SGI_NUM = 16;
export const GIC_PPI_BASE = 16;
export const GIC_SPI_BASE = 32;
/** Shared VIRQs per VIC (GIC_SPI_NUM). */
export const GIC_SPI_NUM = 988;
/** INTIDs 1020..1023 are special; 1023 = none pending. */
export const GIC_SPURIOUS = 1023;
/** The virtual timer's PPI. */
export const VTIMER_PPI = 27;

/** vCPUs per VIC (PLATFORM_MAX_CORES on the QEMU platform). */
export const PLATFORM_MAX_CORES = 8;

/** GICD_CTLR bits in the single-security-state view (DS = 1) the vGIC presents. */
export const GicdCtlr = { ENABLE_GRP0: 1 << 0, ENABLE_GRP1: 1 << 1, ARE: 1 << 4, DS: 1 << 6 } as const;

export class IrqState {
  enabled = false;
  /**
   * Latched edge (or software-pended edge IRQ). Every source assertion sets it, whatever the
   * configuration: for a level-configured VIRQ it means "asserted since the guest last acknowledged
   * it" (Gunyah's dstate edge bit), cleared at acknowledge and passed to checkPending as `reasserted`.
   */
  edge = false;
  /** A level source currently asserts the line (rechecked with the source on ack and EOI). */
  level = false;
  /** Software-pended (ISPENDR) level interrupt. */
  swPend = false;
  active = false;
  priority = 0;
  /** Group 1 (Linux puts everything in group 1; IGROUPR is writable). */
  group1 = true;
  source: VirqSource | null = null;
  /** The vCPU index an SPI is routed to (GICD_IROUTER Aff fields through the MPIDR mapping). */
  route = 0;
  /** GICD_IROUTER as written (reads back). */
  irouter = 0n;

  constructor(
    readonly intid: number,
    /** Edge-triggered (ICFGR bit 1 set). SGIs are always edge. */
    public cfgEdge: boolean,
  ) {}

  /** Pending: the edge latch, or for level interrupts the software latch or a still-asserted source. */
  get pending(): boolean {
    if (this.cfgEdge) return this.edge;
    return this.swPend || (this.level && (this.source === null || this.source.checkPending(this.edge)));
  }
}

// One vCPU's view of the vGIC: its SGI/PPI states (the redistributor) and the GICv3 CPU interface
// (ICC_IAR1 acknowledge, ICC_EOIR1 end of interrupt with EOImode 0, running priority, PSTATE.I).
import type { Vcpu } from '../vm/vcpu';
import { GIC_PPI_BASE, GIC_SGI_NUM, GIC_SPI_BASE, GIC_SPURIOUS, GicdCtlr, IrqState } from './irq-state';

/** Idle running priority: nothing active. */
const IDLE_PRIORITY = 0x100;

export class GicCpu {
  /** SGIs 0..15 (always edge) and PPIs 16..31 (level by default). */
  readonly priv: IrqState[] = [];
  /** Tracked interrupts routed to this vCPU that are pending (enabled or not). */
  private readonly pending = new Set<IrqState>();
  /** Acknowledged interrupts not yet ended, in acknowledge order (for priority drop). */
  private readonly activeStack: IrqState[] = [];
  /** PSTATE.I: IRQs masked. Reset state is masked, as on hardware (spec §10 power-on). */
  masked = true;
  /** GICR_WAKER.ProcessorSleep: initially clear, as in Gunyah's vGIC (no effect on delivery). */
  sleep = false;
  /** A deliverable interrupt exists (ignoring PSTATE.I). */
  line = false;

  constructor(private readonly vcpu: Vcpu) {
    for (let i = 0; i < GIC_SPI_BASE; i++) {
      const s = new IrqState(i, i < GIC_SGI_NUM);
      this.priv.push(s);
    }
  }

  /** Reset the private states (vCPU activation). */
  reset(): void {
    for (const s of this.priv) {
      s.enabled = false;
      s.edge = s.level = s.swPend = s.active = false;
      s.priority = 0;
      s.cfgEdge = s.intid < GIC_SGI_NUM;
    }
    this.pending.clear();
    this.activeStack.length = 0;
    this.line = false;
  }

  /** Whether an IRQ exception would be taken now (line up and PSTATE.I clear). */
  get irqReady(): boolean {
    return this.line && !this.masked;
  }

  private get runningPriority(): number {
    let p = IDLE_PRIORITY;
    for (const s of this.activeStack) if (s.priority < p) p = s.priority;
    return p;
  }

  private groupEnabled(s: IrqState): boolean {
    const vic = this.vcpu.vic;
    if (!vic) return false;
    return (vic.gicdCtlr & (s.group1 ? GicdCtlr.ENABLE_GRP1 : GicdCtlr.ENABLE_GRP0)) !== 0;
  }

  private candidate(): IrqState | undefined {
    const rp = this.runningPriority;
    let best: IrqState | undefined;
    for (const s of this.pending) {
      if (!s.enabled || s.active || s.priority >= rp || !this.groupEnabled(s)) continue;
      if (!best || s.priority < best.priority || (s.priority === best.priority && s.intid < best.intid)) best = s;
    }
    return best;
  }

  /** Re-evaluate the interrupt line; a rising line wakes the vCPU. */
  refresh(): void {
    const was = this.line;
    this.line = this.candidate() !== undefined;
    if (this.line && !was) this.vcpu.irqLineRaised();
  }

  /** `s` (routed here) changed: track its pending state and re-evaluate. */
  track(s: IrqState): void {
    if (s.pending) this.pending.add(s);
    else this.pending.delete(s);
    this.refresh();
  }

  untrack(s: IrqState): void {
    this.pending.delete(s);
    this.refresh();
  }

  /** ICC_IAR1_EL1: acknowledge the highest-priority deliverable interrupt, 1023 when none. */
  acknowledge(): number {
    for (;;) {
      const s = this.candidate();
      if (!s) {
        this.line = false;
        return GIC_SPURIOUS;
      }
      if (!s.cfgEdge && !s.swPend && s.level && s.source && !s.source.checkPending(s.edge)) {
        // The level source deasserted before the interrupt was taken.
        s.level = false;
        this.pending.delete(s);
        continue;
      }
      s.active = true;
      // Acknowledge consumes the edge latch in both configurations: for a level VIRQ it ends the
      // "reasserted since the last acknowledge" window (Gunyah clears the dstate edge bit when the
      // VIRQ is listed pending in an LR), so EOI asks the source about its level alone.
      s.edge = false;
      if (!s.cfgEdge) s.swPend = false;
      if (!s.pending) this.pending.delete(s);
      this.activeStack.push(s);
      this.line = this.candidate() !== undefined;
      return s.intid;
    }
  }

  /** ICC_EOIR1_EL1 with EOImode 0: drop priority and deactivate; a still-asserted level re-pends. */
  endOfInterrupt(intid: number): void {
    const i = this.activeStack.findIndex((s) => s.intid === intid);
    if (i < 0) return;
    const s = this.activeStack[i]!;
    this.activeStack.splice(i, 1);
    this.deactivate(s);
  }

  /** Clear the active state of `s` (EOI, or ICACTIVER from the distributor). */
  deactivate(s: IrqState): void {
    s.active = false;
    const k = this.activeStack.indexOf(s);
    if (k >= 0) this.activeStack.splice(k, 1);
    // vgic_do_deactivate: a latched level is re-checked with the source, `reasserted` = the edge
    // bit (a level doorbell sent again while the guest handled it re-pends even though its flags
    // were auto-acknowledged; one that was not, and whose flags & enable is now 0, does not).
    if (!s.cfgEdge && s.level && s.source) s.level = s.source.checkPending(s.edge);
    const vic = this.vcpu.vic;
    if (s.intid >= GIC_SPI_BASE && vic) vic.changed(s);
    else this.track(s);
    this.refresh();
  }

  /** Make an interrupt active from the distributor (ISACTIVER). */
  activate(s: IrqState): void {
    if (s.active) return;
    s.active = true;
    this.activeStack.push(s);
    this.refresh();
  }

  /** Number of acknowledged-but-not-ended interrupts (tests, invariants). */
  get activeCount(): number {
    return this.activeStack.length;
  }

  isPpi(intid: number): boolean {
    return intid >= GIC_PPI_BASE && intid < GIC_SPI_BASE;
  }
}

// struct irq_desc: the state of one Linux interrupt number (virq).
import type { IrqDomain } from './irq-domain';
import type { IrqAction, IrqData, IrqType } from './irq-types';

/** Linux's spurious-interrupt detector window (kernel/irq/spurious.c): 99,900 unhandled of 100,000. */
export const UNHANDLED_WINDOW = 100_000;
export const UNHANDLED_LIMIT = 99_900;

export class IrqDesc implements IrqData {
  readonly actions: IrqAction[] = [];
  /** disable_irq nesting; 0 = enabled. Starts disabled until the first request enables it. */
  depth = 1;
  /** Interrupts taken, per CPU index. */
  readonly counts: number[] = [];
  /** Interrupts no handler claimed, in the current detector window. */
  unhandled = 0;
  windowCount = 0;
  /** Masked by the oneshot flow until its thread finishes. */
  oneshotMasked = false;
  threadRunning: Promise<void> | undefined = undefined;
  threadPending = false;
  /** Disabled by the spurious detector ("nobody cared"). */
  spuriousDisabled = false;

  constructor(
    readonly virq: number,
    readonly hwirq: number,
    readonly domain: IrqDomain,
    public type: IrqType,
    readonly percpu: boolean,
  ) {}

  get name(): string {
    return this.actions.map((a) => a.name).join(', ');
  }

  get total(): number {
    return this.counts.reduce((a, b) => a + (b ?? 0), 0);
  }
}

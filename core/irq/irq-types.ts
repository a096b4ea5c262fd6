// IRQ subsystem types (include/linux/irq.h, interrupt.h shapes): trigger types, handler return values,
// request flags, the irq_chip ops a controller driver provides and the per-interrupt descriptor.
import type { Cpu } from '../arch/cpu';
import type { DtNode } from '../../dt/index';

/** IRQ_TYPE_* (also the low nibble of a GIC DT specifier's flags cell). */
export const IRQ_TYPE = {
  NONE: 0,
  EDGE_RISING: 1,
  EDGE_FALLING: 2,
  EDGE_BOTH: 3,
  LEVEL_HIGH: 4,
  LEVEL_LOW: 8,
} as const;
export type IrqType = number;
export const IRQ_TYPE_SENSE_MASK = 0xf;
export const isLevel = (t: IrqType): boolean => (t & (IRQ_TYPE.LEVEL_HIGH | IRQ_TYPE.LEVEL_LOW)) !== 0;

/** irqreturn_t. */
export const IRQ_NONE = 0;
export const IRQ_HANDLED = 1;
export const IRQ_WAKE_THREAD = 2;
export type IrqReturn = typeof IRQ_NONE | typeof IRQ_HANDLED | typeof IRQ_WAKE_THREAD;

/** request_irq flags (the subset with meaning here; values as in interrupt.h). */
export const IRQF = {
  SHARED: 0x80,
  ONESHOT: 0x2000,
  NO_AUTOEN: 0x80000,
} as const;

/** Where a handler runs: the vCPU that took the interrupt. */
export interface IrqContext {
  readonly virq: number;
  readonly hwirq: number;
  readonly cpu: Cpu;
}

/** Hard handler: runs inside the IRQ vector, synchronously; must not wait. */
export type IrqHandler = (ctx: IrqContext) => IrqReturn;
/** Threaded handler: runs after the vector returns, may call the hypervisor and wait. */
export type IrqThreadFn = (ctx: IrqContext) => Promise<number | void> | number | void;

/** What a chip op is told about an interrupt. */
export interface IrqData {
  readonly virq: number;
  readonly hwirq: number;
  readonly percpu: boolean;
}

/** struct irq_chip: per-interrupt control of one controller. `cpu` names the CPU for per-CPU interrupts. */
export interface IrqChip {
  readonly name: string;
  mask(d: IrqData, cpu: Cpu): Promise<void>;
  unmask(d: IrqData, cpu: Cpu): Promise<void>;
  setType?(d: IrqData, type: IrqType, cpu: Cpu): Promise<void>;
  /** Route a shared interrupt to one CPU (index within the VM). */
  setAffinity?(d: IrqData, cpuIndex: number, cpu: Cpu): Promise<void>;
}

/** A translated DT specifier. */
export interface IrqFwspec {
  hwirq: number;
  type: IrqType;
  /** Banked per CPU (a GIC PPI/SGI): enabled on each CPU separately. */
  percpu: boolean;
}

/** struct irq_domain_ops: translate a controller's DT specifier cells. Throws OfError on a bad one. */
export interface IrqDomainOps {
  xlate(args: readonly number[], node: DtNode): IrqFwspec;
}

export interface IrqAction {
  readonly name: string;
  readonly flags: number;
  readonly handler: IrqHandler | undefined;
  readonly thread: IrqThreadFn | undefined;
  readonly devId: unknown;
  /** Set when the hard handler asked for the thread and it has not run since. */
  threadWake: boolean;
}

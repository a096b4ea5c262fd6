// struct irq_domain: one interrupt controller's hwirq space, its chip, and the hwirq -> virq mappings.
import type { DtNode } from '../../dt/index';
import type { IrqChip, IrqDomainOps } from './irq-types';

export class IrqDomain {
  /** hwirq -> virq. */
  readonly mappings = new Map<number, number>();

  constructor(
    readonly name: string,
    /** The controller's DT node (what `interrupt-parent` phandles resolve to), if it has one. */
    readonly node: DtNode | undefined,
    readonly ops: IrqDomainOps,
    readonly chip: IrqChip,
  ) {}

  findMapping(hwirq: number): number | undefined {
    return this.mappings.get(hwirq);
  }
}

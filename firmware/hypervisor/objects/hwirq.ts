// Hardware IRQs handed to the root VM at boot: bound to a VIC SPI they forward the platform's line.
import { GhError } from '../abi/errors';
import { ObjectType } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import { SimpleVirqSource } from '../irq/virq-source';
import type { Vic } from '../irq/vic';
import { KObject } from './kobject';
import type { Partition } from './partition';

export class Hwirq extends KObject {
  readonly type = ObjectType.HWIRQ;
  readonly source = new SimpleVirqSource('hwirq');

  constructor(
    hv: Hypervisor,
    partition: Partition,
    /** The platform's interrupt number. */
    readonly irq: number,
  ) {
    super(hv, partition);
  }

  bind(vic: Vic, virq: number): number {
    return vic.bindShared(this.source, virq);
  }

  unbind(): number {
    if (!this.source.bound) return GhError.VIRQ_NOT_BOUND;
    this.source.vic!.unbind(this.source);
    return GhError.OK;
  }

  /** Drive the platform line (host side): a forwarded SPI is level-sensitive. */
  setLevel(level: boolean): void {
    this.source.asserted = level;
    if (level) this.hv.virqAssert(this.source, false);
    else this.hv.virqClear(this.source);
  }

  protected override onDeactivate(): void {
    this.source.vic?.unbind(this.source);
  }
}

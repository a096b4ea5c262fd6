// A source of a virtual interrupt (msgqueue TX/RX, doorbell, vCPU halt/wakeup, VPM group, HW IRQ,
// timer): where it is bound and how to tell whether its level is still asserted.
import type { Vic } from './vic';

export type VirqTrigger =
  | 'msgqueue-tx'
  | 'msgqueue-rx'
  | 'doorbell'
  | 'vcpu-halt'
  | 'vcpu-run-wakeup'
  | 'vpm-group'
  | 'hwirq'
  | 'timer'
  | 'host';

export abstract class VirqSource {
  vic: Vic | null = null;
  virq = 0;
  /** For private (PPI) sources: the vCPU index within the VIC. */
  vcpuIndex = -1;

  constructor(readonly trigger: VirqTrigger) {}

  get bound(): boolean {
    return this.vic !== null;
  }

  /**
   * Whether a level-triggered interrupt from this source is still asserted (virq_check_pending):
   * asked when the guest acknowledges or ends it. Edge-only sources say false. `reasserted` is true
   * when the source has been asserted since the guest last acknowledged the VIRQ (Gunyah passes
   * the delivery state's edge bit, which virq_assert sets and listing the VIRQ clears:
   * hyp/interfaces/virq/virq.ev, hyp/vm/vgic/src/deliver.c vgic_do_deactivate).
   */
  abstract checkPending(reasserted: boolean): boolean;
}

/** A source whose level is a plain boolean the owner sets. */
export class SimpleVirqSource extends VirqSource {
  asserted = false;
  checkPending(): boolean {
    return this.asserted;
  }
}

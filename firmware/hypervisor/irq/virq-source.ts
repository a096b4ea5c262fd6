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
   * asked when the guest acknowledges or ends it. Edge-only sources say false.
   */
  abstract checkPending(): boolean;
}

/** A source whose level is a plain boolean the owner sets. */
export class SimpleVirqSource extends VirqSource {
  asserted = false;
  checkPending(): boolean {
    return this.asserted;
  }
}

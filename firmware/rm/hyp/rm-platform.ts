// What the RM program needs from the vCPU it runs on, besides hypercalls: its own memory, a sleep
// on the virtual timer, and its interrupt controller. The real implementation drives a GuestCpu;
// tests may supply their own.
import type { Hypercalls } from './hypercalls';

export interface RmPlatform {
  readonly hyp: Hypercalls;
  /** Read from the RM's own address space (its RAM, or a memparcel it mapped). */
  read(ipa: bigint, length: number): Uint8Array;
  write(ipa: bigint, data: Uint8Array): void;
  /** Let `ns` of virtual time pass (the RM's vCPU idles meanwhile). */
  sleep(ns: number): Promise<void>;
  /** Configure (edge or level), route to this vCPU and enable an SPI in the RM's vGIC distributor. */
  enableVirq(virq: number, edge: boolean): Promise<void>;
  disableVirq(virq: number): Promise<void>;
  /** Virtual time in ns (for logs and benchmarks). */
  now(): number;
}

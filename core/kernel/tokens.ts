// Container tokens the kernel binds at boot (services have theirs next to their interfaces).
import type { ContainerModule } from 'inversify';
import type { MemoryLayout } from '../mm/memblock';
import type { NodeValidator } from '../bus/driver';
import type { ConsoleSink } from '../printk/printk';

/** The vCPU the kernel booted on (a `Cpu`). */
export const BootCpu = Symbol('BootCpu');

/** The kernel object itself. */
export const KernelToken = Symbol('Kernel');

export const BootOptions = Symbol('BootOptions');
export interface BootOptions {
  /** Name used in dmesg and by the kernel registry (default `kernel<N>`). */
  name?: string;
  /** Driver modules (drivers/ contributes `Driver` bindings and services through these). */
  drivers?: readonly ContainerModule[];
  /**
   * The PC of the secondary-CPU entry (the address the VM's image maps to `secondaryEntry`). Without it,
   * secondary CPUs are not started.
   */
  secondaryEntry?: bigint;
  /** The kernel image's region in guest RAM, kept out of the page allocator. */
  kernelImage?: { base: bigint; size: bigint };
  /**
   * Validates each node against its DT binding before probe. Default: the schemas of bindings/
   * (`loadBindings()`); `false` turns validation off.
   */
  validator?: NodeValidator | false;
  /** A sink for console output (printk records below console_loglevel). */
  console?: ConsoleSink;
  /** Log buffer size in bytes. */
  logBufLen?: number;
  /** Virtual ns to wait for a secondary CPU to come online (default 1 s, as Linux's __cpu_up). */
  cpuUpTimeoutNs?: number;
}

export type { MemoryLayout };

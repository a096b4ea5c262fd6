// Why a kernel refused to boot: a typed error carrying the log up to that point.

export class KernelBootError extends Error {
  constructor(
    message: string,
    /** The kernel log at the time of the failure. */
    readonly dmesg: string,
    options?: { cause?: unknown },
  ) {
    super(`Kernel panic - not syncing: ${message}`, options);
    this.name = 'KernelBootError';
  }
}

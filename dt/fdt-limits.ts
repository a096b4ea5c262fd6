// Limits a blob reader enforces before it trusts a length: documented defaults, overridable per call.

export interface FdtLimits {
  /** Largest `totalsize` accepted, in bytes. Default 64 MiB (Linux caps a DTB at a few MiB). */
  maxTotalSize: number;
  /** Deepest node nesting accepted (the root is depth 0). Default 64, Linux's FDT_MAX_DEPTH. */
  maxDepth: number;
  /** Largest single property value, in bytes. Default 16 MiB. */
  maxPropertySize: number;
}

export const DEFAULT_FDT_LIMITS: Readonly<FdtLimits> = Object.freeze({
  maxTotalSize: 64 * 1024 * 1024,
  maxDepth: 64,
  maxPropertySize: 16 * 1024 * 1024,
});

/** Defaults overridden by `partial`; sizes are capped at 2 GiB - 1 (offsets are 31-bit inside the reader). */
export function resolveLimits(partial?: Partial<FdtLimits>): FdtLimits {
  const l = { ...DEFAULT_FDT_LIMITS, ...partial };
  l.maxTotalSize = Math.min(l.maxTotalSize, 0x7fffffff);
  l.maxPropertySize = Math.min(l.maxPropertySize, 0x7fffffff);
  return l;
}

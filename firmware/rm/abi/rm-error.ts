// RM reply error codes (rm_error_t, spec §14), the typed error that carries one, and the mapping
// from hypervisor error codes that RM applies when a hypercall made on a client's behalf fails.

/** `rm_error_t` values (RM `include/rm_types.h`). */
export const RmErr = {
  OK: 0x0,
  NOMEM: 0x1,
  NORESOURCE: 0x2,
  DENIED: 0x3,
  MSG_INVALID: 0x4,
  BUSY: 0x5,
  ARGUMENT_INVALID: 0x6,
  HANDLE_INVALID: 0x7,
  VALIDATE_FAILED: 0x8,
  MAP_FAILED: 0x9,
  MEM_INVALID: 0xa,
  MEM_INUSE: 0xb,
  MEM_RELEASED: 0xc,
  VMID_INVALID: 0xd,
  LOOKUP_FAILED: 0xe,
  IRQ_INVALID: 0xf,
  IRQ_INUSE: 0x10,
  IRQ_RELEASED: 0x11,
  IN_USE: 0x12,
  IRQ_NOT_MAPPED: 0x13,
  VM_STATE: 0x14,
  /** Unhandled message IDs get this (a u32 on the wire). */
  UNIMPLEMENTED: 0xffff_ffff,
} as const;
export type RmErrCode = (typeof RmErr)[keyof typeof RmErr];

const names = new Map<number, string>(Object.entries(RmErr).map(([k, v]) => [v, k]));

/** `RM_ERROR_<NAME>` (or `RM_OK`) for a code; unknown codes print in hex. */
export function rmErrorName(code: number): string {
  if (code === RmErr.OK) return 'RM_OK';
  const n = names.get(code >>> 0);
  return n ? `RM_ERROR_${n}` : `RM_ERROR_0x${(code >>> 0).toString(16)}`;
}

/** A request that failed with an RM error code; handlers throw it, the dispatcher turns it into the reply. */
export class RmError extends Error {
  readonly code: number;
  readonly errorName: string;
  constructor(code: number, message?: string) {
    const name = rmErrorName(code);
    super(message ? `${name}: ${message}` : name);
    this.name = 'RmError';
    this.code = code >>> 0;
    this.errorName = name;
  }
}

/**
 * The RM's translation of a hypervisor error_t into an rm_error_t (spec §14; RM's
 * `rm_error_from_hyp`): NOMEM, NORESOURCES, DENIED, BUSY, ARGUMENT_INVALID and UNIMPLEMENTED keep
 * their meaning, every ADDR_* error is MEM_INVALID, anything else is DENIED.
 */
export function rmErrorFromHyp(hypErr: number): number {
  switch (hypErr) {
    case 0:
      return RmErr.OK;
    case 10: // NOMEM
      return RmErr.NOMEM;
    case 11: // NORESOURCES
      return RmErr.NORESOURCE;
    case 30: // DENIED
      return RmErr.DENIED;
    case 31: // BUSY
      return RmErr.BUSY;
    case 1: // ARGUMENT_INVALID
      return RmErr.ARGUMENT_INVALID;
    case -1: // UNIMPLEMENTED
      return RmErr.UNIMPLEMENTED;
    case 20: // ADDR_OVERFLOW
    case 21: // ADDR_UNDERFLOW
    case 22: // ADDR_INVALID
      return RmErr.MEM_INVALID;
    default:
      return RmErr.DENIED;
  }
}

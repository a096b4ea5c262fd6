// Hypervisor error codes (GH_ERROR_*, Gunyah's error_t) and the typed error the host API throws.

/** Values of Gunyah's `error_t` as returned in x0 (spec §4). */
export const GhError = {
  OK: 0,
  UNIMPLEMENTED: -1,
  RETRY: -2,
  ARGUMENT_INVALID: 1,
  ARGUMENT_SIZE: 2,
  ARGUMENT_ALIGNMENT: 3,
  NOMEM: 10,
  NORESOURCES: 11,
  ADDR_OVERFLOW: 20,
  ADDR_UNDERFLOW: 21,
  ADDR_INVALID: 22,
  DENIED: 30,
  BUSY: 31,
  IDLE: 32,
  OBJECT_STATE: 33,
  OBJECT_CONFIG: 34,
  OBJECT_CONFIGURED: 35,
  FAILURE: 36,
  VIRQ_BOUND: 40,
  VIRQ_NOT_BOUND: 41,
  CSPACE_CAP_NULL: 50,
  CSPACE_CAP_REVOKED: 51,
  CSPACE_WRONG_OBJECT_TYPE: 52,
  CSPACE_INSUFFICIENT_RIGHTS: 53,
  CSPACE_FULL: 54,
  MSGQUEUE_EMPTY: 60,
  MSGQUEUE_FULL: 61,
  MEMDB_EMPTY: 110,
  MEMDB_NOT_OWNER: 111,
  MEMEXTENT_MAPPINGS_FULL: 120,
  MEMEXTENT_TYPE: 121,
  EXISTING_MAPPING: 200,
} as const;
export type GhErrorCode = (typeof GhError)[keyof typeof GhError];

const names = new Map<number, string>(Object.entries(GhError).map(([k, v]) => [v, `GH_ERROR_${k}`]));

/** `GH_ERROR_<NAME>` for a code, or `GH_ERROR_<n>` for one the spec does not define. */
export function ghErrorName(code: number): string {
  return names.get(code) ?? `GH_ERROR_${code}`;
}

/** A hypercall or host-API failure with its GH_ERROR_* code. Hypercalls return codes; the host API throws this. */
export class HypervisorError extends Error {
  readonly code: number;
  readonly errorName: string;
  constructor(code: number, message?: string) {
    const name = ghErrorName(code);
    super(message ? `${name}: ${message}` : name);
    this.name = 'HypervisorError';
    this.code = code;
    this.errorName = name;
  }
}

/** x0 as the guest sees it: a signed error code read from a 64-bit register. */
export function errorFromRegister(x0: bigint): number {
  return Number(BigInt.asIntN(64, x0));
}

// Gunyah hypervisor error codes (error_t, spec/hypervisor-and-rm.md §4), the HypervisorError that
// carries them, and the errno each maps to at the ioctl boundary (spec/linux-drivers.md §1.4, the
// v10-v14 column: our /dev/gunyah profile is the gh_ v14 one).
import { E, Errno } from '../errno';

export const GH_ERROR = {
  OK: 0,
  UNIMPLEMENTED: -1,
  RETRY: -2,
  ARG_INVAL: 1,
  ARG_SIZE: 2,
  ARG_ALIGN: 3,
  NOMEM: 10,
  NORESOURCES: 11,
  ADDR_OVFL: 20,
  ADDR_UNFL: 21,
  ADDR_INVAL: 22,
  DENIED: 30,
  BUSY: 31,
  IDLE: 32,
  OBJECT_STATE: 33,
  OBJECT_CONFIG: 34,
  OBJECT_CONFIGURED: 35,
  FAILURE: 36,
  IRQ_BOUND: 40,
  IRQ_UNBOUND: 41,
  CSPACE_CAP_NULL: 50,
  CSPACE_CAP_REVOKED: 51,
  CSPACE_WRONG_OBJ_TYPE: 52,
  CSPACE_INSUF_RIGHTS: 53,
  CSPACE_FULL: 54,
  MSGQUEUE_EMPTY: 60,
  MSGQUEUE_FULL: 61,
  MEMDB_EMPTY: 110,
  MEMDB_NOT_OWNER: 111,
  MEMEXTENT_MAPPINGS_FULL: 120,
  MEMEXTENT_TYPE: 121,
  EXISTING_MAPPING: 200,
} as const;

export type GhErrorName = keyof typeof GH_ERROR;

const names = new Map<number, GhErrorName>();
for (const [k, v] of Object.entries(GH_ERROR) as [GhErrorName, number][]) names.set(v, k);

/** `GH_ERROR_<NAME>` for a code, `GH_ERROR_<code>` for one the hypervisor API does not define. */
export function ghErrorName(code: number): string {
  const n = names.get(code);
  return n ? `GH_ERROR_${n}` : `GH_ERROR_${code}`;
}

/** A hypercall that returned a non-OK error_t in x0. */
export class HypervisorError extends Error {
  readonly code: number;
  readonly codeName: string;

  constructor(
    code: number,
    readonly call: string,
  ) {
    const codeName = ghErrorName(code);
    super(`${call}: ${codeName} (${code})`);
    this.name = 'HypervisorError';
    this.code = code;
    this.codeName = codeName;
  }

  /** The errno the gh_ v14 driver reports for this error (`gh_error_remap`). */
  toErrno(): Errno {
    return new Errno(hypErrorToErrno(this.code), this.message);
  }
}

/**
 * gh_error_remap as of v10-v14 (spec/linux-drivers.md §1.4). RETRY maps to EOPNOTSUPP in that
 * profile (v15 changed it to EAGAIN); anything the table does not name is EINVAL, its default.
 */
export function hypErrorToErrno(code: number): number {
  switch (code) {
    case GH_ERROR.OK:
      return 0;
    case GH_ERROR.UNIMPLEMENTED:
    case GH_ERROR.RETRY:
      return E.EOPNOTSUPP;
    case GH_ERROR.NOMEM:
      return E.ENOMEM;
    case GH_ERROR.DENIED:
    case GH_ERROR.CSPACE_CAP_NULL:
    case GH_ERROR.CSPACE_CAP_REVOKED:
    case GH_ERROR.CSPACE_WRONG_OBJ_TYPE:
    case GH_ERROR.CSPACE_INSUF_RIGHTS:
    case GH_ERROR.CSPACE_FULL:
      return E.EACCES;
    case GH_ERROR.BUSY:
    case GH_ERROR.IDLE:
      return E.EBUSY;
    case GH_ERROR.IRQ_BOUND:
    case GH_ERROR.IRQ_UNBOUND:
    case GH_ERROR.MSGQUEUE_EMPTY:
    case GH_ERROR.MSGQUEUE_FULL:
      return E.EIO;
    default:
      // ARG_*, ADDR_* and every other code.
      return E.EINVAL;
  }
}

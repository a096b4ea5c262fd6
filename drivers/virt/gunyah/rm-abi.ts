// The RM RPC wire facts as the Linux side sees them (spec/linux-drivers.md §4, hypervisor-and-rm.md
// §14-15): header layout and limits, message and notification IDs, RM error codes, and the errno each
// maps to (gh_rm_error_remap).
import { E, Errno } from '../../../core/index';

/** Byte 0: API version 1 (bits 3:0) with 2 header words (bits 7:4). */
export const RM_RPC_API = 0x21;
export const RM_RPC_HDR_SIZE = 8;
/** One msgq message carries at most this (GH_MSGQ_MAX_MSG_SIZE). */
export const RM_RPC_MSG_SIZE = 240;
export const RM_RPC_PAYLOAD_PER_FRAG = RM_RPC_MSG_SIZE - RM_RPC_HDR_SIZE; // 232
/** Continuation fragments a message may have (6-bit field; the RM accepts up to 62). */
export const RM_RPC_MAX_FRAGMENTS = 62;
/** Linux refuses requests above 62 x 232 bytes (E2BIG), one fragment short of the RM's limit. */
export const RM_RPC_MAX_REQUEST = RM_RPC_MAX_FRAGMENTS * RM_RPC_PAYLOAD_PER_FRAG;
/** The largest message the RM can send (63 fragments), what reassembly accepts. */
export const RM_RPC_MAX_MESSAGE = (RM_RPC_MAX_FRAGMENTS + 1) * RM_RPC_PAYLOAD_PER_FRAG;

export const RM_RPC_TYPE = { CONTINUATION: 0, REQUEST: 1, REPLY: 2, NOTIFICATION: 3 } as const;

/** Request message IDs (0x51... memory, 0x56... VMs). */
export const RM_MSG = {
  MEM_DONATE: 0x5100_0010,
  MEM_ACCEPT: 0x5100_0011,
  MEM_LEND: 0x5100_0012,
  MEM_SHARE: 0x5100_0013,
  MEM_RELEASE: 0x5100_0014,
  MEM_RECLAIM: 0x5100_0015,
  MEM_NOTIFY: 0x5100_0017,
  MEM_APPEND: 0x5100_0018,
  MEM_QCOM_LOOKUP_SGL: 0x5100_001a,
  FW_MILESTONE: 0x5100_0020,
  FW_SET_VM_FIRMWARE: 0x5100_0021,
  VM_ALLOC_VMID: 0x5600_0001,
  VM_DEALLOC_VMID: 0x5600_0002,
  VM_START: 0x5600_0004,
  VM_STOP: 0x5600_0005,
  VM_RESET: 0x5600_0006,
  VM_CONFIG_IMAGE: 0x5600_0009,
  VM_AUTH_IMAGE: 0x5600_000a,
  VM_INIT: 0x5600_000b,
  VM_GET_ID: 0x5600_0010,
  VM_LOOKUP_URI: 0x5600_0011,
  VM_LOOKUP_GUID: 0x5600_0012,
  VM_LOOKUP_NAME: 0x5600_0013,
  VM_GET_OWNER: 0x5600_0015,
  VM_GET_STATE: 0x5600_0017,
  VM_GET_CRASH_MSG: 0x5600_0019,
  VM_GET_HYP_RESOURCES: 0x5600_0020,
  VM_GET_HYP_CAPIDS: 0x5600_0021,
  VM_GET_HYP_IRQS: 0x5600_0022,
  VM_GET_VMID: 0x5600_0024,
  VM_GET_PEERS: 0x5600_0025,
  VM_SET_TIME_BASE: 0x5600_0030,
  VM_SET_BOOT_CONTEXT: 0x5600_0031,
  VM_SET_FIRMWARE_MEM: 0x5600_0032,
  VM_SET_DEMAND_PAGING: 0x5600_0033,
  VM_SET_ADDRESS_LAYOUT: 0x5600_0034,
  VM_IRQ_ACCEPT: 0x5600_0050,
  VM_IRQ_LEND: 0x5600_0051,
  VM_IRQ_RELEASE: 0x5600_0052,
  VM_IRQ_RECLAIM: 0x5600_0053,
  VM_IRQ_NOTIFY: 0x5600_0054,
  VM_IRQ_UNMAP: 0x5600_0055,
  VM_SET_STATUS: 0x5600_0080,
  VM_CONSOLE_OPEN: 0x5600_0081,
  VM_CONSOLE_CLOSE: 0x5600_0082,
  VM_CONSOLE_WRITE: 0x5600_0083,
  VM_CONSOLE_FLUSH: 0x5600_0084,
  VM_EXIT: 0x5600_0085,
  VM_SET_CRASH_MSG: 0x5600_0086,
  VM_HOST_GET_TYPE: 0x5600_00a0,
  IPA_RESERVE: 0x5600_00b0,
  IPA_UNRESERVE: 0x5600_00b1,
} as const;

/** Notification IDs (bit 20 set). */
export const RM_NOTIF = {
  MEM_SHARED: 0x5110_0011,
  MEM_RELEASED: 0x5110_0012,
  MEM_ACCEPTED: 0x5110_0013,
  MEM_RECALL: 0x5110_0014,
  VM_EXITED: 0x5610_0001,
  VM_SHUTDOWN: 0x5610_0002,
  VM_STATUS: 0x5610_0008,
  VM_IRQ_LENT: 0x5610_0011,
  VM_IRQ_RELEASED: 0x5610_0012,
  VM_IRQ_ACCEPTED: 0x5610_0013,
  VM_CONSOLE_CHARS: 0x5610_0080,
} as const;

/** rm_error_t. */
export const RM_ERROR = {
  OK: 0x0,
  NOMEM: 0x1,
  NORESOURCE: 0x2,
  DENIED: 0x3,
  INVALID: 0x4,
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
  UNIMPLEMENTED: 0xffff_ffff,
} as const;

const rmErrorNames = new Map<number, string>(Object.entries(RM_ERROR).map(([k, v]) => [v, k]));

export function rmErrorName(code: number): string {
  return `GH_RM_ERROR_${rmErrorNames.get(code >>> 0) ?? `0x${(code >>> 0).toString(16)}`}`;
}

/** gh_rm_error_remap (spec/linux-drivers.md §4.3); codes Linux does not name are EBADMSG. */
export function rmErrorToErrno(code: number): number {
  switch (code >>> 0) {
    case RM_ERROR.OK:
      return 0;
    case RM_ERROR.UNIMPLEMENTED:
      return E.EOPNOTSUPP;
    case RM_ERROR.NOMEM:
      return E.ENOMEM;
    case RM_ERROR.NORESOURCE:
      return E.ENODEV;
    case RM_ERROR.DENIED:
      return E.EPERM;
    case RM_ERROR.BUSY:
      return E.EBUSY;
    case RM_ERROR.INVALID:
    case RM_ERROR.ARGUMENT_INVALID:
    case RM_ERROR.HANDLE_INVALID:
    case RM_ERROR.VALIDATE_FAILED:
    case RM_ERROR.MAP_FAILED:
    case RM_ERROR.MEM_INVALID:
    case RM_ERROR.MEM_INUSE:
    case RM_ERROR.MEM_RELEASED:
    case RM_ERROR.VMID_INVALID:
    case RM_ERROR.LOOKUP_FAILED:
    case RM_ERROR.IRQ_INVALID:
    case RM_ERROR.IRQ_INUSE:
    case RM_ERROR.IRQ_RELEASED:
      return E.EINVAL;
    default:
      return E.EBADMSG;
  }
}

/** An RM reply with a non-zero error code. */
export class RmError extends Error {
  readonly code: number;
  readonly codeName: string;

  constructor(
    code: number,
    readonly msgId: number,
  ) {
    const codeName = rmErrorName(code);
    super(`RM call 0x${msgId.toString(16)}: ${codeName}`);
    this.name = 'RmError';
    this.code = code >>> 0;
    this.codeName = codeName;
  }

  toErrno(): Errno {
    return new Errno(rmErrorToErrno(this.code), this.message);
  }
}

/** The 8-byte header. */
export interface RmRpcHeader {
  api: number;
  type: number;
  /** Continuation fragments that follow (bits 7:2 of byte 1). */
  fragments: number;
  seq: number;
  msgId: number;
}

export function encodeRmHeader(into: Uint8Array, h: Omit<RmRpcHeader, 'api'>): void {
  const dv = new DataView(into.buffer, into.byteOffset, RM_RPC_HDR_SIZE);
  dv.setUint8(0, RM_RPC_API);
  dv.setUint8(1, (h.type & 3) | ((h.fragments & 0x3f) << 2));
  dv.setUint16(2, h.seq & 0xffff, true);
  dv.setUint32(4, h.msgId >>> 0, true);
}

/** The header of a received message, undefined when it is shorter than a header. */
export function decodeRmHeader(b: Uint8Array): RmRpcHeader | undefined {
  if (b.length < RM_RPC_HDR_SIZE) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, RM_RPC_HDR_SIZE);
  const t = dv.getUint8(1);
  return { api: dv.getUint8(0), type: t & 3, fragments: t >>> 2, seq: dv.getUint16(2, true), msgId: dv.getUint32(4, true) };
}

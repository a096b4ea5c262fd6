// The stub-VM device protocol (placement C): the hypervisor forwards a guest's accesses to a device
// window as request messages on a message queue whose receiver is the stub VM; the stub VM answers
// on a second queue whose receiver is the hypervisor. The stub raises the guest's device interrupt
// with a doorbell. Messages are little-endian: a 24-byte header, then payload bytes.
//   header: u32 op, u32 seq, u32 offset (or payload length), u32 size, u64 value

export const StubOp = {
  /** Request: a load of `size` bytes at `offset`; reply value = the loaded value. */
  READ: 1,
  /** Request: a store of `value`; reply acknowledges. */
  WRITE: 2,
  /** Request: host bytes for the character backend (payload); reply value = bytes accepted. */
  INPUT: 3,
  /** Stub to hypervisor, unsolicited: bytes the device sent to its character backend (payload). */
  OUTPUT: 4,
} as const;

/** The emulators a stub program carries (StubInfo.deviceKind). */
export const StubDeviceKind = { VIRTIO_CONSOLE: 1, PL011: 2 } as const;

export const STUB_HEADER = 24;
/** Message size of both queues (msgqueue max_msg_size must stay below 1024). */
export const STUB_MSG_SIZE = 512;
export const STUB_MAX_PAYLOAD = STUB_MSG_SIZE - STUB_HEADER;
/** Depth of both queues. */
export const STUB_QUEUE_DEPTH = 64;
/**
 * An access not answered within this much virtual time fails (the stub is considered hung). Long:
 * a stub that is alive but waits for a physical CPU behind busy VMs must not be declared dead (a
 * stub VM that is gone is noticed at once).
 */
export const STUB_REPLY_TIMEOUT_NS = 1_000_000_000;

export interface StubMessage {
  op: number;
  seq: number;
  offset: number;
  size: number;
  value: bigint;
  payload: Uint8Array;
}

export function encodeStubMessage(m: { op: number; seq: number; offset: number; size: number; value: bigint; payload?: Uint8Array }): Uint8Array {
  const n = m.payload?.length ?? 0;
  if (n > STUB_MAX_PAYLOAD) throw new RangeError(`stub message payload of ${n} bytes (at most ${STUB_MAX_PAYLOAD})`);
  const b = new Uint8Array(STUB_HEADER + n);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, m.op, true);
  dv.setUint32(4, m.seq >>> 0, true);
  dv.setUint32(8, m.offset >>> 0, true);
  dv.setUint32(12, m.size >>> 0, true);
  dv.setBigUint64(16, BigInt.asUintN(64, m.value), true);
  if (m.payload) b.set(m.payload, STUB_HEADER);
  return b;
}

/** Decode; undefined for a message too short to carry a header. */
export function decodeStubMessage(b: Uint8Array): StubMessage | undefined {
  if (b.length < STUB_HEADER) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  return { op: dv.getUint32(0, true), seq: dv.getUint32(4, true), offset: dv.getUint32(8, true), size: dv.getUint32(12, true), value: dv.getBigUint64(16, true), payload: b.subarray(STUB_HEADER) };
}

/**
 * Where the stub program finds its link: a block the launcher writes into the stub VM's RAM at
 * RAM top - STUB_INFO_BELOW before the stub runs.
 *   u32 magic, u32 device kind, u64 request queue cap (receive), u64 reply queue cap (send),
 *   u64 doorbell cap (send: the guest's device interrupt), u32 request INTID, u32 reserved,
 *   u64 guest RAM GPA, u64 guest RAM size, u64 IPA where the guest RAM is mapped in the stub
 */
export const STUB_INFO_MAGIC = 0x5354_4231;
export const STUB_INFO_BELOW = 0x2_0000n;
export const STUB_INFO_SIZE = 64;

export interface StubInfo {
  deviceKind: number;
  requestCap: bigint;
  replyCap: bigint;
  doorbellCap: bigint;
  requestIntid: number;
  guestRamGpa: bigint;
  guestRamSize: bigint;
  guestRamWindow: bigint;
}

export function encodeStubInfo(i: StubInfo): Uint8Array {
  const b = new Uint8Array(STUB_INFO_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, STUB_INFO_MAGIC, true);
  dv.setUint32(4, i.deviceKind, true);
  dv.setBigUint64(8, i.requestCap, true);
  dv.setBigUint64(16, i.replyCap, true);
  dv.setBigUint64(24, i.doorbellCap, true);
  dv.setUint32(32, i.requestIntid, true);
  dv.setBigUint64(40, i.guestRamGpa, true);
  dv.setBigUint64(48, i.guestRamSize, true);
  dv.setBigUint64(56, i.guestRamWindow, true);
  return b;
}

export function decodeStubInfo(b: Uint8Array): StubInfo | undefined {
  if (b.length < STUB_INFO_SIZE) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  if (dv.getUint32(0, true) !== STUB_INFO_MAGIC) return undefined;
  return {
    deviceKind: dv.getUint32(4, true),
    requestCap: dv.getBigUint64(8, true),
    replyCap: dv.getBigUint64(16, true),
    doorbellCap: dv.getBigUint64(24, true),
    requestIntid: dv.getUint32(32, true),
    guestRamGpa: dv.getBigUint64(40, true),
    guestRamSize: dv.getBigUint64(48, true),
    guestRamWindow: dv.getBigUint64(56, true),
  };
}

// Payload encoders for the notifications the RM sends (spec §15; RM's rm_notify_* structs).
import { PayloadWriter } from '../wire/payload-writer';

/** NOTIFY_VM_STATUS: u16 vmid, u16 res, u8 vm_state, u8 os_state, u16 app_status (8 bytes). */
export function vmStatusPayload(vmid: number, vmState: number, osState: number, appStatus: number): Uint8Array {
  return new PayloadWriter(8).u16(vmid).u16(0).u8(vmState).u8(osState).u16(appStatus).finish();
}

/**
 * NOTIFY_VM_EXITED: u16 vmid, u16 exit_type, u32 reason size, then the reason words: word 0 =
 * exit_flags | exit_code << 16, then the extra words (PSCI SYSTEM_RESET2: type, cookie lo, hi).
 */
export function vmExitedPayload(vmid: number, exitType: number, exitFlags: number, exitCode: number, extra: readonly number[] = []): Uint8Array {
  const w = new PayloadWriter(12 + extra.length * 4).u16(vmid).u16(exitType).u32(4 * (1 + extra.length));
  w.u32(((exitFlags & 0xffff) | ((exitCode & 0xffff) << 16)) >>> 0);
  for (const e of extra) w.u32(e);
  return w.finish();
}

/** NOTIFY_VM_SHUTDOWN: u32 stop_reason. */
export function vmShutdownPayload(stopReason: number): Uint8Array {
  return new PayloadWriter(4).u32(stopReason).finish();
}

/** NOTIFY_VM_CONSOLE_CHARS: u16 from (0 = the owner side), u16 num_bytes, the bytes. */
export function consoleCharsPayload(from: number, bytes: Uint8Array): Uint8Array {
  return new PayloadWriter(4 + bytes.length).u16(from).u16(bytes.length).bytes(bytes).finish();
}

/** NOTIFY_MEM_RELEASED / NOTIFY_MEM_ACCEPTED: u32 handle, u16 vmid, u16 res, u32 mem_info_tag. */
export function memOwnerPayload(handle: number, vmid: number, memInfoTag: number): Uint8Array {
  return new PayloadWriter(12).u32(handle).u16(vmid).u16(0).u32(memInfoTag).finish();
}

/** NOTIFY_MEM_RECALL: u32 handle, u32 mem_info_tag. */
export function memRecallPayload(handle: number, memInfoTag: number): Uint8Array {
  return new PayloadWriter(8).u32(handle).u32(memInfoTag).finish();
}

export interface MemSharedInfo {
  handle: number;
  memType: number;
  transType: number;
  sanitized: boolean;
  owner: number;
  label: number;
  memInfoTag: number;
  acl: readonly { vmid: number; rights: number }[];
  regionSizes: readonly bigint[];
  attrs: readonly { attr: number; vmid: number }[];
}

/**
 * NOTIFY_MEM_SHARED: u32 handle, u8 mem_type, u8 trans_type, u8 flags (bit0 sanitized), u8 res,
 * u16 owner, u16 res, u32 label, u32 mem_info_tag, ACL list, list of u64 region sizes, attr list.
 */
export function memSharedPayload(m: MemSharedInfo): Uint8Array {
  const w = new PayloadWriter(64).u32(m.handle).u8(m.memType).u8(m.transType).u8(m.sanitized ? 1 : 0).u8(0);
  w.u16(m.owner).u16(0).u32(m.label).u32(m.memInfoTag);
  w.listHeader(m.acl.length);
  for (const a of m.acl) w.u16(a.vmid).u8(a.rights).u8(0);
  w.listHeader(m.regionSizes.length);
  for (const s of m.regionSizes) w.u64(s);
  w.listHeader(m.attrs.length);
  for (const a of m.attrs) w.u16(a.attr).u16(a.vmid);
  return w.finish();
}

/** NOTIFY_VM_IRQ_LENT: u16 owner, u16 res, u32 virq handle, u32 label. */
export function irqLentPayload(owner: number, handle: number, label: number): Uint8Array {
  return new PayloadWriter(12).u16(owner).u16(0).u32(handle).u32(label).finish();
}

/** NOTIFY_VM_IRQ_RELEASED / _ACCEPTED: u32 virq handle. */
export function irqHandlePayload(handle: number): Uint8Array {
  return new PayloadWriter(4).u32(handle).finish();
}

// RM RPC message and notification IDs (spec §15; RM `include/*_message.h`, `memparcel_msg.h`).
// Requests are 0x51xxxxxx (memory, firmware) and 0x56xxxxxx (VMs); notifications set bit 20.

export const RmMsg = {
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
  VM_ALLOCATE: 0x5600_0001,
  VM_DEALLOCATE: 0x5600_0002,
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
  /** Defined in RM's headers but handled by no module: UNIMPLEMENTED. */
  VM_GET_HYP_CAPIDS: 0x5600_0021,
  /** Defined in RM's headers but handled by no module: UNIMPLEMENTED. */
  VM_GET_HYP_IRQS: 0x5600_0022,
  VM_GET_VMID: 0x5600_0024,
  VM_GET_PEERS: 0x5600_0025,
  VM_SET_TIME_BASE: 0x5600_0030,
  /** VM_SET_CONTEXT in RM (Linux v17: VM_SET_BOOT_CONTEXT); unhandled by the open-source RM (UNIMPLEMENTED); served only with the setBootContext extension (vm/boot-context.ts). */
  VM_SET_CONTEXT: 0x5600_0031,
  VM_SET_FIRMWARE_MEM: 0x5600_0032,
  /** Linux v15+ only; absent from the open-source RM: UNIMPLEMENTED. */
  VM_SET_DEMAND_PAGING: 0x5600_0033,
  /** Linux v15+ only; absent from the open-source RM: UNIMPLEMENTED. */
  VM_SET_ADDRESS_LAYOUT: 0x5600_0034,
  VM_IRQ_ACCEPT: 0x5600_0050,
  VM_IRQ_LEND: 0x5600_0051,
  VM_IRQ_RELEASE: 0x5600_0052,
  VM_IRQ_RECLAIM: 0x5600_0053,
  VM_IRQ_NOTIFY: 0x5600_0054,
  /** Defined in irq_message.h; the RM followed here logs it and leaves it unhandled: UNIMPLEMENTED. */
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
  /** vm_ipa.c logs it and leaves it unhandled (Linux: "No ipa_unreserve API is supported"): UNIMPLEMENTED. */
  IPA_UNRESERVE: 0x5600_00b1,
} as const;
export type RmMsgId = (typeof RmMsg)[keyof typeof RmMsg];

export const RmNotif = {
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
export type RmNotifId = (typeof RmNotif)[keyof typeof RmNotif];

const msgNames = new Map<number, string>([
  ...Object.entries(RmMsg).map(([k, v]) => [v, k] as [number, string]),
  ...Object.entries(RmNotif).map(([k, v]) => [v, `NOTIFY_${k}`] as [number, string]),
]);

/** The RM's name for a message or notification ID, or its hex value. */
export function rmMessageName(id: number): string {
  return msgNames.get(id >>> 0) ?? `0x${(id >>> 0).toString(16).padStart(8, '0')}`;
}

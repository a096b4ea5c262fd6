// VM_GET_HYP_RESOURCES entries (spec §19; RM's vm_resource_msg.h): 44 bytes each, little-endian.
import type { PayloadWriter } from '../wire/payload-writer';

export const RESOURCE_ENTRY_SIZE = 44;

export const ResourceType = {
  DOORBELL_SRC: 0,
  DOORBELL: 1,
  MSG_QUEUE_SEND: 2,
  MSG_QUEUE_RECV: 3,
  VIRTUAL_CPU: 4,
  VIRTUAL_PM: 5,
  VIRTIO_MMIO: 6,
  VRTC: 7,
  WATCHDOG: 8,
} as const;

export interface ResourceEntry {
  type: number;
  partnerVmid: number;
  handle: number;
  label: number;
  cap: bigint;
  virqHandle: number;
  virq: number;
  base: bigint;
  size: bigint;
}

/**
 * u8 type, u8 res, u16 partner_vmid, u32 resource_handle, u32 label, u32 capid_lo, u32 capid_hi,
 * u32 virq_handle, u32 virq_number, u32 base_lo, u32 base_hi, u32 size_lo, u32 size_hi.
 */
export function writeResourceEntry(w: PayloadWriter, e: ResourceEntry): void {
  w.u8(e.type).u8(0).u16(e.partnerVmid).u32(e.handle).u32(e.label);
  w.u32(Number(e.cap & 0xffff_ffffn)).u32(Number((e.cap >> 32n) & 0xffff_ffffn));
  w.u32(e.virqHandle).u32(e.virq);
  w.u32(Number(e.base & 0xffff_ffffn)).u32(Number((e.base >> 32n) & 0xffff_ffffn));
  w.u32(Number(e.size & 0xffff_ffffn)).u32(Number((e.size >> 32n) & 0xffff_ffffn));
}

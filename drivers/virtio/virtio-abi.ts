// Wire facts of virtio 1.2 (the uapi headers, as Linux's include/uapi/linux/virtio_*.h): the
// virtio-mmio register layout (§4.2.2, virtio_mmio.h), device status bits (§2.1), reserved feature
// bits (§6), the split virtqueue layout and flags (§2.7, virtio_ring.h) and the console device (§5.3).
// The guest driver here and the device emulators in tools/devices both use this one copy.

/** virtio-mmio register offsets (version 2, "modern"; all little-endian, 32-bit accesses). */
export const VirtioMmio = {
  /** R: 0x74726976, "virt" in little-endian. */
  MAGIC_VALUE: 0x000,
  /** R: 2 (1 was the legacy page-based layout). */
  VERSION: 0x004,
  /** R: virtio device ID (0 = placeholder: the driver must ignore the device). */
  DEVICE_ID: 0x008,
  VENDOR_ID: 0x00c,
  /** R: 32 device feature bits, word DEVICE_FEATURES_SEL. */
  DEVICE_FEATURES: 0x010,
  DEVICE_FEATURES_SEL: 0x014,
  /** W: 32 driver feature bits, word DRIVER_FEATURES_SEL. */
  DRIVER_FEATURES: 0x020,
  DRIVER_FEATURES_SEL: 0x024,
  /** Legacy only (GuestPageSize, QueueAlign, QueuePFN): not part of version 2. */
  LEGACY_GUEST_PAGE_SIZE: 0x028,
  QUEUE_SEL: 0x030,
  /** R: QueueSizeMax (formerly QueueNumMax); 0 = no such queue. */
  QUEUE_NUM_MAX: 0x034,
  /** W: QueueSize (formerly QueueNum). */
  QUEUE_NUM: 0x038,
  LEGACY_QUEUE_ALIGN: 0x03c,
  LEGACY_QUEUE_PFN: 0x040,
  /** RW: the selected queue is live (1) or stopped (0). */
  QUEUE_READY: 0x044,
  /** W: available-buffer notification; the value is the queue index (no NOTIFICATION_DATA). */
  QUEUE_NOTIFY: 0x050,
  /** R: bit 0 used buffer, bit 1 configuration change. */
  INTERRUPT_STATUS: 0x060,
  INTERRUPT_ACK: 0x064,
  /** RW: device status; writing 0 resets the device. */
  STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080,
  QUEUE_DESC_HIGH: 0x084,
  /** The Driver Area (the available ring of a split queue). */
  QUEUE_AVAIL_LOW: 0x090,
  QUEUE_AVAIL_HIGH: 0x094,
  /** The Device Area (the used ring). */
  QUEUE_USED_LOW: 0x0a0,
  QUEUE_USED_HIGH: 0x0a4,
  /** Shared memory regions (1.2): none here, so length and base read as all ones. */
  SHM_SEL: 0x0ac,
  SHM_LEN_LOW: 0x0b0,
  SHM_LEN_HIGH: 0x0b4,
  SHM_BASE_LOW: 0x0b8,
  SHM_BASE_HIGH: 0x0bc,
  /** RW with VIRTIO_F_RING_RESET (1.2): reset the selected queue. */
  QUEUE_RESET: 0x0c0,
  /** R: changes whenever the configuration space may have been seen half-updated. */
  CONFIG_GENERATION: 0x0fc,
  /** Device-specific configuration space (byte-addressed). */
  CONFIG: 0x100,
} as const;

/** "virt" read as a little-endian 32-bit word. */
export const VIRTIO_MMIO_MAGIC = 0x7472_6976;
export const VIRTIO_MMIO_VERSION = 2;
/** A virtio-mmio window is conventionally 0x200 bytes (QEMU virt's slots). */
export const VIRTIO_MMIO_WINDOW = 0x200;

/** InterruptStatus bits (VIRTIO_MMIO_INT_VRING, VIRTIO_MMIO_INT_CONFIG). */
export const VIRTIO_MMIO_INT_VRING = 1;
export const VIRTIO_MMIO_INT_CONFIG = 2;

/** Device status bits (§2.1). */
export const VirtioStatus = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 0x40,
  FAILED: 0x80,
} as const;

/** Reserved (transport-independent) feature bit numbers (§6). */
export const VirtioFeature = {
  /** VIRTIO_RING_F_INDIRECT_DESC: descriptors may point at indirect tables. */
  RING_INDIRECT_DESC: 28,
  /** VIRTIO_RING_F_EVENT_IDX: used_event / avail_event suppression. */
  RING_EVENT_IDX: 29,
  /** VIRTIO_F_VERSION_1: compliant with 1.x (a modern device requires it). */
  VERSION_1: 32,
  /** VIRTIO_F_ACCESS_PLATFORM: addresses go through the platform's DMA translation. */
  ACCESS_PLATFORM: 33,
  RING_PACKED: 34,
  IN_ORDER: 35,
  ORDER_PLATFORM: 36,
  SR_IOV: 37,
  /** VIRTIO_F_NOTIFICATION_DATA: the Gunyah hypervisor forbids it for virtio-mmio (spec §12). */
  NOTIFICATION_DATA: 38,
  NOTIF_CONFIG_DATA: 39,
  /** VIRTIO_F_RING_RESET: per-queue reset through QueueReset. */
  RING_RESET: 40,
} as const;

export const bit = (n: number): bigint => 1n << BigInt(n);

/** Split virtqueue descriptor flags (struct virtq_desc.flags). */
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** virtq_avail.flags: the driver does not want used-buffer notifications. */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** virtq_used.flags: the device does not want available-buffer notifications. */
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** Size of one descriptor: le64 addr, le32 len, le16 flags, le16 next. */
export const VIRTQ_DESC_SIZE = 16;
/** Largest split queue (Queue Size is a power of 2, at most 32768: §2.7). */
export const VIRTQ_MAX_SIZE = 32768;

/** Byte sizes of the three areas of a split queue of `n` entries (§2.7, the Size column). */
export function splitQueueSizes(n: number): { desc: number; avail: number; used: number } {
  return { desc: 16 * n, avail: 6 + 2 * n, used: 6 + 8 * n };
}

/** Alignment of the three areas (§2.7, the Alignment column). */
export const VIRTQ_DESC_ALIGN = 16;
export const VIRTQ_AVAIL_ALIGN = 2;
export const VIRTQ_USED_ALIGN = 4;

/**
 * vring_need_event: with EVENT_IDX, whether moving an index from `old` to `next` crosses `event`
 * (all 16-bit, wrapping).
 */
export function vringNeedEvent(event: number, next: number, old: number): boolean {
  return ((next - event - 1) & 0xffff) < ((next - old) & 0xffff);
}

/** Device IDs (§5). */
export const VirtioDeviceId = {
  NET: 1,
  BLOCK: 2,
  CONSOLE: 3,
  ENTROPY: 4,
} as const;

/** virtio-console (§5.3): queues of port 0 and feature bits. No multiport here. */
export const VIRTIO_CONSOLE_RX = 0;
export const VIRTIO_CONSOLE_TX = 1;
export const VirtioConsoleFeature = {
  SIZE: 0,
  MULTIPORT: 1,
  EMERG_WRITE: 2,
} as const;
/** struct virtio_console_config: le16 cols, le16 rows, le32 max_nr_ports, le32 emerg_wr. */
export const VirtioConsoleConfig = {
  COLS: 0,
  ROWS: 2,
  MAX_NR_PORTS: 4,
  EMERG_WR: 8,
  SIZE: 12,
} as const;

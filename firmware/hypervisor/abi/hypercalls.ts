// Hypercall numbers (N in `hvc #0x6000+N` and SMCCC function ID 0xC6008000|N), from the hypervisor's
// .hvc files at quic/gunyah-hypervisor 36ca3a2 (spec §3; the code wins over the API doc, §29).

export const Hvc = {
  HYPERVISOR_IDENTIFY: 0x00,
  PARTITION_CREATE_PARTITION: 0x01,
  PARTITION_CREATE_CSPACE: 0x02,
  PARTITION_CREATE_ADDRSPACE: 0x03,
  PARTITION_CREATE_MEMEXTENT: 0x04,
  PARTITION_CREATE_THREAD: 0x05,
  PARTITION_CREATE_DOORBELL: 0x06,
  PARTITION_CREATE_MSGQUEUE: 0x07,
  PARTITION_CREATE_WATCHDOG: 0x09,
  PARTITION_CREATE_VIC: 0x0a,
  PARTITION_CREATE_VPM_GROUP: 0x0b,
  OBJECT_ACTIVATE: 0x0c,
  OBJECT_ACTIVATE_FROM: 0x0d,
  OBJECT_RESET: 0x0e,
  OBJECT_RESET_FROM: 0x0f,
  DOORBELL_BIND_VIRQ: 0x10,
  DOORBELL_UNBIND_VIRQ: 0x11,
  DOORBELL_SEND: 0x12,
  DOORBELL_RECEIVE: 0x13,
  DOORBELL_RESET: 0x14,
  DOORBELL_MASK: 0x15,
  MSGQUEUE_BIND_SEND_VIRQ: 0x17,
  MSGQUEUE_BIND_RECEIVE_VIRQ: 0x18,
  MSGQUEUE_UNBIND_SEND_VIRQ: 0x19,
  MSGQUEUE_UNBIND_RECEIVE_VIRQ: 0x1a,
  MSGQUEUE_SEND: 0x1b,
  MSGQUEUE_RECEIVE: 0x1c,
  MSGQUEUE_FLUSH: 0x1d,
  MSGQUEUE_CONFIGURE_SEND: 0x1f,
  MSGQUEUE_CONFIGURE_RECEIVE: 0x20,
  MSGQUEUE_CONFIGURE: 0x21,
  CSPACE_DELETE_CAP_FROM: 0x22,
  CSPACE_COPY_CAP_FROM: 0x23,
  CSPACE_REVOKE_CAP_FROM: 0x24,
  CSPACE_CONFIGURE: 0x25,
  HWIRQ_BIND_VIRQ: 0x26,
  HWIRQ_UNBIND_VIRQ: 0x27,
  VIC_CONFIGURE: 0x28,
  VIC_ATTACH_VCPU: 0x29,
  ADDRSPACE_ATTACH_THREAD: 0x2a,
  ADDRSPACE_MAP: 0x2b,
  ADDRSPACE_UNMAP: 0x2c,
  ADDRSPACE_UPDATE_ACCESS: 0x2d,
  ADDRSPACE_CONFIGURE: 0x2e,
  ADDRSPACE_ATTACH_VDMA: 0x2f,
  MEMEXTENT_MODIFY: 0x30,
  MEMEXTENT_CONFIGURE: 0x31,
  MEMEXTENT_CONFIGURE_DERIVE: 0x32,
  VCPU_CONFIGURE: 0x34,
  VCPU_POWERON: 0x38,
  VCPU_POWEROFF: 0x39,
  VCPU_KILL: 0x3a,
  SCHEDULER_YIELD: 0x3b,
  VPM_GROUP_ATTACH_VCPU: 0x3c,
  VCPU_SET_AFFINITY: 0x3d,
  CSPACE_ATTACH_THREAD: 0x3e,
  TRACE_UPDATE_CLASS_FLAGS: 0x3f,
  VPM_GROUP_BIND_VIRQ: 0x43,
  VPM_GROUP_UNBIND_VIRQ: 0x44,
  VPM_GROUP_GET_STATE: 0x45,
  VCPU_SET_PRIORITY: 0x46,
  VCPU_SET_TIMESLICE: 0x47,
  PARTITION_CREATE_VIRTIO_MMIO: 0x48,
  VIC_BIND_MSI_SOURCE: 0x56,
  PRNG_GET_ENTROPY: 0x57,
  CSPACE_REVOKE_CAPS_FROM: 0x59,
  ADDRSPACE_LOOKUP: 0x5a,
  ADDRSPACE_CONFIGURE_INFO_AREA: 0x5b,
  VCPU_BIND_VIRQ: 0x5c,
  VCPU_UNBIND_VIRQ: 0x5d,
  VIRTIO_INPUT_CONFIGURE: 0x5e,
  VIRTIO_INPUT_SET_DATA: 0x5f,
  ADDRSPACE_CONFIGURE_VMMIO: 0x60,
  MEMEXTENT_DONATE: 0x61,
  ADDRSPACE_ATTACH_VDEVICE: 0x62,
  VCPU_REGISTER_WRITE: 0x64,
  VCPU_RUN: 0x65,
  VPM_GROUP_CONFIGURE: 0x66,
  VGIC_SET_MPIDR_MAPPING: 0x67,
  VCPU_RUN_CHECK: 0x68,
} as const;
export type HvcNumber = (typeof Hvc)[keyof typeof Hvc];

/** Highest defined hypercall number: native immediates above 0x6000 + this are not Gunyah calls. */
export const HVC_MAX = 0x68;
/** First native hypercall immediate. */
export const HVC_IMM_BASE = 0x6000;

const hvcNames = new Map<number, string>(Object.entries(Hvc).map(([k, v]) => [v, k.toLowerCase()]));
/** The hypercall's name as in the hypervisor sources (`msgqueue_send`), or `hvc_0x..` for a gap. */
export function hvcName(n: number): string {
  return hvcNames.get(n) ?? `hvc_0x${n.toString(16)}`;
}

/** SMCCC function IDs (Arm DEN0028) used by the dispatcher. */
export const Smccc = {
  /** Fast, SMC64, owner VENDOR_HYP (6), class HYPERCALL (bits 15:14 = 0b10): OR the hypercall number. */
  GUNYAH_HVC_BASE: 0xc6008000,
  /** Vendor-hyp service calls: fast SMC32, owner 6, class 0b11 (bits 15:14), function 0x3F0n. */
  VENDOR_HYP_CALL_COUNT: 0x8600ff00,
  VENDOR_HYP_CALL_UID: 0x8600ff01,
  VENDOR_HYP_REVISION: 0x8600ff03,
  /** Arm architecture calls (owner 0). */
  VERSION: 0x80000000,
  ARCH_FEATURES: 0x80000001,
  ARCH_SOC_ID: 0x80000002,
  ARCH_WORKAROUND_1: 0x80008000,
  ARCH_WORKAROUND_2: 0x80007fff,
  /** Standard hypervisor service calls (owner 5). */
  STD_HYP_CALL_UID: 0x8500ff01,
  STD_HYP_REVISION: 0x8500ff03,
  /** SMCCC v1.3 (0x10003), as the hypervisor reports it. */
  VERSION_1_3: 0x10003,
  NOT_SUPPORTED: -1,
  /** "Unknown function" in a 64-bit register. */
  UNKNOWN_FUNCTION: -1,
} as const;

/** Gunyah's vendor-hyp UID (c1d58fcd-a453-5fdb-9265-ce36673d5f14) as SMCCC returns it in w0..w3. */
export const GUNYAH_UID: readonly [number, number, number, number] = [0xcd8fd5c1, 0xdb5f53a4, 0x36ce6592, 0x145f3d67];

/** hyp_api_info: API version 1, little-endian, 64-bit, variant QUALCOMM (0x51, the code's default). */
export const HYP_API_INFO = (0x51n << 56n) | (1n << 15n) | 1n;
/** api_flags0 bits (spec §2). */
export const ApiFlags0 = {
  PARTITION_CSPACE: 1 << 0,
  DOORBELL: 1 << 1,
  MSGQUEUE: 1 << 2,
  VIC: 1 << 3,
  VPM: 1 << 4,
  VCPU: 1 << 5,
  MEMEXTENT: 1 << 6,
  TRACE_CTRL: 1 << 7,
  WATCHDOG: 1 << 8,
  VIRTIO_MMIO: 1 << 9,
  PRNG: 1 << 10,
  VCPU_RUN: 1 << 11,
  /** Scheduler variant in bits 31:28; FPRR is 1. */
  SCHEDULER_FPRR: 1 << 28,
} as const;
/** What this emulator builds, like the QEMU featureset: no watchdog, no virtio-mmio. */
export const API_FLAGS0 =
  ApiFlags0.PARTITION_CSPACE | ApiFlags0.DOORBELL | ApiFlags0.MSGQUEUE | ApiFlags0.VIC | ApiFlags0.VPM |
  ApiFlags0.VCPU | ApiFlags0.MEMEXTENT | ApiFlags0.TRACE_CTRL | ApiFlags0.PRNG | ApiFlags0.VCPU_RUN |
  ApiFlags0.SCHEDULER_FPRR;

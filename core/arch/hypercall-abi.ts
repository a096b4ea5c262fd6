// Gunyah hypercall numbers (spec/hypervisor-and-rm.md §3, from hyp/**/*.hvc) and the invoker every typed
// wrapper goes through: SMCCC function ID 0xC6008000|N (fast, SMC64, owner VENDOR_HYP, class HYPERCALL),
// arguments in x1.., error_t in x0, results in x1.. (spec/linux-drivers.md §1.1).
import { SmcccConduit } from './smccc';
import { HypervisorError } from './hyp-error';

/** A capability ID (opaque 64-bit value, meaningful only in its cspace). */
export type CapId = bigint;
/** An intermediate physical address (the VM's physical address space). */
export type Ipa = bigint;

export const HYPERCALL = {
  hypervisor_identify: 0x00,
  partition_create_partition: 0x01,
  partition_create_cspace: 0x02,
  partition_create_addrspace: 0x03,
  partition_create_memextent: 0x04,
  partition_create_thread: 0x05,
  partition_create_doorbell: 0x06,
  partition_create_msgqueue: 0x07,
  partition_create_watchdog: 0x09,
  partition_create_vic: 0x0a,
  partition_create_vpm_group: 0x0b,
  object_activate: 0x0c,
  object_activate_from: 0x0d,
  object_reset: 0x0e,
  object_reset_from: 0x0f,
  doorbell_bind_virq: 0x10,
  doorbell_unbind_virq: 0x11,
  doorbell_send: 0x12,
  doorbell_receive: 0x13,
  doorbell_reset: 0x14,
  doorbell_mask: 0x15,
  msgqueue_bind_send_virq: 0x17,
  msgqueue_bind_receive_virq: 0x18,
  msgqueue_unbind_send_virq: 0x19,
  msgqueue_unbind_receive_virq: 0x1a,
  msgqueue_send: 0x1b,
  msgqueue_receive: 0x1c,
  msgqueue_flush: 0x1d,
  msgqueue_configure_send: 0x1f,
  msgqueue_configure_receive: 0x20,
  msgqueue_configure: 0x21,
  cspace_delete_cap_from: 0x22,
  cspace_copy_cap_from: 0x23,
  cspace_revoke_cap_from: 0x24,
  cspace_configure: 0x25,
  hwirq_bind_virq: 0x26,
  hwirq_unbind_virq: 0x27,
  vic_configure: 0x28,
  vic_attach_vcpu: 0x29,
  addrspace_attach_thread: 0x2a,
  addrspace_map: 0x2b,
  addrspace_unmap: 0x2c,
  addrspace_update_access: 0x2d,
  addrspace_configure: 0x2e,
  addrspace_attach_vdma: 0x2f,
  memextent_modify: 0x30,
  memextent_configure: 0x31,
  memextent_configure_derive: 0x32,
  vcpu_configure: 0x34,
  vcpu_poweron: 0x38,
  vcpu_poweroff: 0x39,
  vcpu_kill: 0x3a,
  scheduler_yield: 0x3b,
  vpm_group_attach_vcpu: 0x3c,
  vcpu_set_affinity: 0x3d,
  cspace_attach_thread: 0x3e,
  trace_update_class_flags: 0x3f,
  watchdog_attach_vcpu: 0x40,
  watchdog_bind_virq: 0x41,
  watchdog_unbind_virq: 0x42,
  vpm_group_bind_virq: 0x43,
  vpm_group_unbind_virq: 0x44,
  vpm_group_get_state: 0x45,
  vcpu_set_priority: 0x46,
  vcpu_set_timeslice: 0x47,
  partition_create_virtio_mmio: 0x48,
  virtio_mmio_configure: 0x49,
  // Numbers 0x4a..0x4d follow hyp/interfaces/virtio_mmio/virtio_mmio.hvc (backend pair first); the RM's
  // generated wrappers name them the other way round, the hypervisor's definition wins.
  virtio_mmio_backend_bind_virq: 0x4a,
  virtio_mmio_backend_unbind_virq: 0x4b,
  virtio_mmio_frontend_bind_virq: 0x4c,
  virtio_mmio_frontend_unbind_virq: 0x4d,
  virtio_mmio_backend_assert_virq: 0x4e,
  virtio_mmio_backend_set_dev_features: 0x4f,
  virtio_mmio_backend_set_queue_num_max: 0x50,
  virtio_mmio_backend_get_drv_features: 0x51,
  virtio_mmio_backend_get_queue_info: 0x52,
  virtio_mmio_backend_get_notification: 0x53,
  virtio_mmio_backend_acknowledge_reset: 0x54,
  virtio_mmio_backend_update_status: 0x55,
  vic_bind_msi_source: 0x56,
  prng_get_entropy: 0x57,
  watchdog_configure: 0x58,
  cspace_revoke_caps_from: 0x59,
  addrspace_lookup: 0x5a,
  addrspace_configure_info_area: 0x5b,
  vcpu_bind_virq: 0x5c,
  vcpu_unbind_virq: 0x5d,
  virtio_input_configure: 0x5e,
  virtio_input_set_data: 0x5f,
  addrspace_configure_vmmio: 0x60,
  // The code's number; the API document says 0x33 (spec §29).
  memextent_donate: 0x61,
  addrspace_attach_vdevice: 0x62,
  watchdog_manage: 0x63,
  vcpu_register_write: 0x64,
  vcpu_run: 0x65,
  vpm_group_configure: 0x66,
  vgic_set_mpidr_mapping: 0x67,
  vcpu_run_check: 0x68,
} as const;
// The vRTC calls (partition_create_vrtc, vrtc_*) are `vendor_hyp_call`s without a fixed number in
// hyp/interfaces/vrtc/vrtc.hvc; a kernel has no portable way to reach them, so there is no wrapper.

export type HypercallName = keyof typeof HYPERCALL;

/** SMCCC function ID of Gunyah hypercall N. */
export function hypercallFid(n: number): number {
  return (0xc6008000 | n) >>> 0;
}

/** What a hypercall returned: the signed error_t and x1..x7. */
export interface RawResult {
  error: number;
  out: bigint[];
}

export class HypercallInvoker {
  constructor(readonly conduit: SmcccConduit) {}

  /** Call and return the error code as data (for calls whose failures are expected outcomes). */
  async raw(name: HypercallName, args: readonly bigint[] = []): Promise<RawResult> {
    const x = await this.conduit.call(hypercallFid(HYPERCALL[name]), args);
    return { error: Number(BigInt.asIntN(64, x[0]!)), out: x.slice(1) };
  }

  /** Call and throw HypervisorError unless the call returned OK; returns x1..x7. */
  async checked(name: HypercallName, args: readonly bigint[] = []): Promise<bigint[]> {
    const r = await this.raw(name, args);
    if (r.error !== 0) throw new HypervisorError(r.error, name);
    return r.out;
  }
}

/** A C bool from a result register. */
export const bool = (v: bigint | undefined): boolean => (v ?? 0n) !== 0n;
/** A boolean as a register. */
export const reg = (b: boolean): bigint => (b ? 1n : 0n);

// Typed wrappers: the virtio-mmio backend and virtio-input (spec §3, §12; argument lists from
// hyp/interfaces/virtio_mmio/virtio_mmio.hvc and hyp/vm/virtio_input/virtio_input.hvc).
import { HypercallInvoker, type CapId, type Ipa } from './hypercall-abi';

export interface VirtioQueueInfo {
  queueNum: number;
  queueReady: boolean;
  queueDesc: bigint;
  queueDriver: bigint;
  queueDevice: bigint;
}

export class HypVirtioCalls {
  constructor(private readonly h: HypercallInvoker) {}

  configure(vio: CapId, memextent: CapId, vqsNum: number, flags: bigint, deviceType: number): Promise<unknown> {
    return this.h.checked('virtio_mmio_configure', [vio, memextent, BigInt(vqsNum), flags, BigInt(deviceType)]);
  }

  backendBindVirq(vio: CapId, vic: CapId, virq: bigint): Promise<unknown> {
    return this.h.checked('virtio_mmio_backend_bind_virq', [vio, vic, virq]);
  }

  backendUnbindVirq(vio: CapId): Promise<unknown> {
    return this.h.checked('virtio_mmio_backend_unbind_virq', [vio]);
  }

  frontendBindVirq(vio: CapId, vic: CapId, virq: bigint): Promise<unknown> {
    return this.h.checked('virtio_mmio_frontend_bind_virq', [vio, vic, virq]);
  }

  frontendUnbindVirq(vio: CapId): Promise<unknown> {
    return this.h.checked('virtio_mmio_frontend_unbind_virq', [vio]);
  }

  backendAssertVirq(vio: CapId, interruptStatus: number): Promise<unknown> {
    return this.h.checked('virtio_mmio_backend_assert_virq', [vio, BigInt(interruptStatus >>> 0)]);
  }

  backendSetDevFeatures(vio: CapId, sel: number, features: number): Promise<unknown> {
    return this.h.checked('virtio_mmio_backend_set_dev_features', [vio, BigInt(sel >>> 0), BigInt(features >>> 0)]);
  }

  backendSetQueueNumMax(vio: CapId, sel: number, queueNumMax: number): Promise<unknown> {
    return this.h.checked('virtio_mmio_backend_set_queue_num_max', [vio, BigInt(sel >>> 0), BigInt(queueNumMax >>> 0)]);
  }

  async backendGetDrvFeatures(vio: CapId, sel: number): Promise<number> {
    const [f] = await this.h.checked('virtio_mmio_backend_get_drv_features', [vio, BigInt(sel >>> 0)]);
    return Number(f! & 0xffffffffn);
  }

  async backendGetQueueInfo(vio: CapId, sel: number): Promise<VirtioQueueInfo> {
    const o = await this.h.checked('virtio_mmio_backend_get_queue_info', [vio, BigInt(sel >>> 0)]);
    return {
      queueNum: Number(o[0]! & 0xffffffffn),
      queueReady: (o[1]! & 0xffffffffn) !== 0n,
      queueDesc: o[2]!,
      queueDriver: o[3]!,
      queueDevice: o[4]!,
    };
  }

  /** vqs bitmap and the notify reason (bit0 NEW_BUFFER, 1 RESET_RQST, 3 DRIVER_OK, 4 FAILED). */
  async backendGetNotification(vio: CapId): Promise<{ vqsBitmap: bigint; reason: bigint }> {
    const o = await this.h.checked('virtio_mmio_backend_get_notification', [vio]);
    return { vqsBitmap: o[0]!, reason: o[1]! };
  }

  backendAcknowledgeReset(vio: CapId): Promise<unknown> {
    return this.h.checked('virtio_mmio_backend_acknowledge_reset', [vio]);
  }

  backendUpdateStatus(vio: CapId, value: number): Promise<unknown> {
    return this.h.checked('virtio_mmio_backend_update_status', [vio, BigInt(value >>> 0)]);
  }

  inputConfigure(vio: CapId, devids: bigint, propbits: number, numEvtypes: number, numAbsaxes: number): Promise<unknown> {
    return this.h.checked('virtio_input_configure', [vio, devids, BigInt(propbits >>> 0), BigInt(numEvtypes), BigInt(numAbsaxes)]);
  }

  inputSetData(vio: CapId, sel: number, subsel: number, size: number, data: Ipa): Promise<unknown> {
    return this.h.checked('virtio_input_set_data', [vio, BigInt(sel), BigInt(subsel), BigInt(size), data]);
  }
}

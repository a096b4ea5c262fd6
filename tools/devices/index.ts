// tools/devices: device emulators that run unchanged in every placement (native app in the
// hypervisor, VMM in the primary VM, stub VM), the interface they are written against, and the
// placement hosts.
export * from './device';
export * from './guest-memory';
export {
  VirtioMmio,
  VIRTIO_MMIO_MAGIC,
  VIRTIO_MMIO_VERSION,
  VIRTIO_MMIO_WINDOW,
  VIRTIO_MMIO_INT_VRING,
  VIRTIO_MMIO_INT_CONFIG,
  VirtioStatus,
  VirtioFeature,
  VirtioDeviceId,
  VirtioConsoleFeature,
  VirtioConsoleConfig,
  VIRTIO_CONSOLE_RX,
  VIRTIO_CONSOLE_TX,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_USED_F_NO_NOTIFY,
  VIRTQ_MAX_SIZE,
  bit,
  vringNeedEvent,
} from '../../drivers/virtio/index';
export * from './virtio/virtqueue';
export * from './virtio/virtio-device';
export * from './virtio/virtio-mmio';
export * from './virtio/virtio-console';
export * from './native/native-app-entry';
export * from './pl011/pl011';
export * from './pl011/pl011-device';
export * from './vmm/vmm-device-host';
export * from './placement/device-factories';
export * from './placement/device-placements';
export * from './placement/stub-launcher';
export * from './stub/stub-vms';
export * from './placement/placement-harness';

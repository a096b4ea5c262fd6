// tools/devices: device emulators that run unchanged in every placement (native app in the
// hypervisor, VMM in the primary VM, stub VM), the interface they are written against, and the
// placement hosts.
export * from './device';
export * from './guest-memory';
export * from './virtio/virtio-abi';
export * from './virtio/virtqueue';
export * from './virtio/virtio-device';
export * from './virtio/virtio-mmio';
export * from './virtio/virtio-console';

// The device emulators alone, with no host dependencies: what a guest program that emulates a device
// (a stub VM) bundles.
export * from '../device';
export * from '../guest-memory';
export * from '../pl011/pl011-device';
export * from '../virtio/virtqueue';
export * from '../virtio/virtio-device';
export * from '../virtio/virtio-mmio';
export * from '../virtio/virtio-console';
export * from '../placement/mmio-bench-abi';

// drivers/virtio: the virtio ABI (uapi facts shared with the device emulators), the virtio bus, the
// split ring, the virtio-mmio transport driver and the virtio console driver.
export * from './virtio-abi';
export * from './virtio';
export * from './virtio-ring';
export * from './virtio-mmio';
export * from './virtio-console';
export * from './virtio.module';

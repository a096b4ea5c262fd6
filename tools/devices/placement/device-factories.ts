// Which device emulator serves a described device: the binding's compatible (and, for virtio-mmio,
// the description's `virtio-device-type`) picks the factory. The same factory is used whatever the
// device's placement.
import type { DeviceDescription, Placement, VmDescription } from '../../vmm/vm-description';
import { StubDeviceKind } from '../../../firmware/hypervisor/index';
import type { DeviceFactory } from '../device';
import { pl011Factory } from '../pl011/pl011-device';
import { VirtioDeviceId } from '../../../drivers/virtio/index';
import { virtioConsoleFactory } from '../virtio/virtio-console';

export class DevicePlacementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DevicePlacementError';
  }
}

/** Which emulator a stub VM runs for a described device (the stub program carries its own copy). */
export function stubDeviceKind(dev: DeviceDescription): number {
  if (dev.compatible.includes('virtio,mmio')) return StubDeviceKind.VIRTIO_CONSOLE;
  if (dev.compatible.includes('arm,pl011')) return StubDeviceKind.PL011;
  throw new DevicePlacementError(`${dev.node.path}: no stub emulator for ${dev.compatible[0] ?? 'a device without compatible'}`);
}

/** The native app image a described device loads (placement "native"): its own, or the bundled one. */
export function nativeAppRef(dev: DeviceDescription): string {
  if (dev.nativeApp) return dev.nativeApp;
  if (dev.compatible.includes('virtio,mmio')) {
    const type = dev.node.u32('virtio-device-type') ?? VirtioDeviceId.CONSOLE;
    if (type === VirtioDeviceId.CONSOLE) return 'builtin:virtio-console-app';
    throw new DevicePlacementError(`${dev.node.path}: no native app for virtio device type ${type}`);
  }
  if (dev.compatible.includes('arm,pl011')) return 'builtin:pl011-app';
  throw new DevicePlacementError(`${dev.node.path}: no native app for ${dev.compatible[0] ?? 'a device without compatible'}`);
}

/** Every native app image a VM description needs (to load before the machine runs). */
export function nativeAppRefs(desc: VmDescription, placement?: Placement): string[] {
  return [...new Set(desc.devices.filter((d) => (placement ?? d.placement) === 'native').map(nativeAppRef))];
}

/** The emulator factory of a described device; DevicePlacementError when there is none. */
export function deviceFactoryFor(dev: DeviceDescription): DeviceFactory {
  if (dev.compatible.includes('virtio,mmio')) {
    const type = dev.node.u32('virtio-device-type') ?? VirtioDeviceId.CONSOLE;
    if (type === VirtioDeviceId.CONSOLE) return virtioConsoleFactory();
    throw new DevicePlacementError(`${dev.node.path}: no emulator for virtio device type ${type}`);
  }
  if (dev.compatible.includes('arm,pl011')) return pl011Factory;
  throw new DevicePlacementError(`${dev.node.path}: no emulator for ${dev.compatible[0] ?? 'a device without compatible'}`);
}

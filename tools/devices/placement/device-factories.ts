// Which device emulator serves a described device: the binding's compatible (and, for virtio-mmio,
// the description's `virtio-device-type`) picks one kind of device, and the kind says what each
// placement runs for it: the emulator factory (VMM), the bundled native-app image (native) and the
// emulator a stub VM selects from its own copy (stub). It is the same emulator in every case.
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

/** An emulated device kind and what each placement runs for it. */
export interface DeviceKind {
  readonly name: string;
  /** A fresh factory of its emulator (placement "vmm"). */
  factory(): DeviceFactory;
  /** The bundled native-app image (placement "native", unless the device names its own). */
  readonly nativeApp: string;
  /** StubDeviceKind: which emulator the stub VM program runs (placement "stub"). */
  readonly stubKind: number;
}

const PL011: DeviceKind = { name: 'pl011', factory: () => pl011Factory, nativeApp: 'builtin:pl011-app', stubKind: StubDeviceKind.PL011 };
const VIRTIO_CONSOLE: DeviceKind = { name: 'virtio-console', factory: () => virtioConsoleFactory(), nativeApp: 'builtin:virtio-console-app', stubKind: StubDeviceKind.VIRTIO_CONSOLE };

/** The kind of a described device; DevicePlacementError when no emulator serves it. */
export function deviceKindOf(dev: DeviceDescription): DeviceKind {
  if (dev.compatible.includes('virtio,mmio')) {
    const type = dev.node.u32('virtio-device-type') ?? VirtioDeviceId.CONSOLE;
    if (type === VirtioDeviceId.CONSOLE) return VIRTIO_CONSOLE;
    throw new DevicePlacementError(`${dev.node.path}: no emulator for virtio device type ${type}`);
  }
  if (dev.compatible.includes('arm,pl011')) return PL011;
  throw new DevicePlacementError(`${dev.node.path}: no emulator for ${dev.compatible[0] ?? 'a device without compatible'}`);
}

/** The native app image a described device loads (placement "native"): its own, or the bundled one. */
export function nativeAppRef(dev: DeviceDescription): string {
  return dev.nativeApp ?? deviceKindOf(dev).nativeApp;
}

/** Every native app image a VM description needs (to load before the machine runs). */
export function nativeAppRefs(desc: VmDescription, placement?: Placement): string[] {
  return [...new Set(desc.devices.filter((d) => (placement ?? d.placement) === 'native').map(nativeAppRef))];
}

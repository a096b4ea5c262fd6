// What the placement hook needs from a stub-VM launcher (placement C): start a stub VM that emulates
// one device of a guest VM, and the handle of the device it serves.
import type { CharSink, DeviceFactory } from '../device';

export interface StubDeviceRequest {
  guestVmid: number;
  name: string;
  base: bigint;
  size: bigint;
  /** The guest INTID the device raises. */
  spi: number;
  factory: DeviceFactory;
  chardev: CharSink;
}

export interface StubDevice {
  /** Host bytes for the device's character backend (delivered to the stub VM). */
  input(bytes: Uint8Array): Promise<number>;
  readonly stats: Record<string, unknown>;
  close(): Promise<void>;
}

export interface StubVmLauncher {
  launch(req: StubDeviceRequest): Promise<StubDevice>;
}

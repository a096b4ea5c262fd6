// What the placement hook needs from a stub-VM launcher (placement C): start a stub VM that emulates
// one device of a guest VM, and the handle of the device it serves.
import type { Process } from '../../../core/index';
import type { CharSink } from '../device';

export interface StubDeviceRequest {
  guestVmid: number;
  name: string;
  base: bigint;
  size: bigint;
  /** The guest INTID the device raises. */
  spi: number;
  /** StubDeviceKind of the emulator the stub runs (the stub program carries its own copy). */
  kind: number;
  chardev: CharSink;
  /** The guest's RAM: its GPA range and where the guest's VMM maps it. */
  guestRam: { gpa: bigint; size: bigint; vmmAddr: bigint };
  /** The guest's VMM process (the stub's VMM shares its address space to grant the RAM). */
  guestProcess: Process;
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

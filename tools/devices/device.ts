// The device emulator interface: what one emulated device implements, and the environment every
// placement (a native app in the hypervisor, the VMM in the primary VM, a stub VM) supplies to it.
// A device is written once against these two interfaces and runs unchanged in every placement.
//
// Handlers are synchronous: an MMIO access is one call that returns the value (or nothing), as a
// register read is on hardware. Work that takes time is modelled with `env.charge` and the virtual
// timer, never by awaiting.

/** Width of one register access in bytes. */
export type AccessSize = 1 | 2 | 4 | 8;

/** Why a guest-memory access was refused. */
export type GuestMemoryFault = 'unmapped' | 'permission' | 'overflow' | 'budget';

/**
 * A guest-memory access outside what the device was granted (or one the placement's budget refused).
 * Devices catch it and turn it into a device error (virtio: DEVICE_NEEDS_RESET); it never escapes as
 * a crash of the emulator's host.
 */
export class GuestMemoryError extends Error {
  constructor(
    readonly gpa: bigint,
    readonly length: number,
    readonly write: boolean,
    readonly fault: GuestMemoryFault,
  ) {
    super(`guest ${write ? 'write' : 'read'} of ${length} bytes at GPA 0x${gpa.toString(16)}: ${fault}`);
    this.name = 'GuestMemoryError';
  }
}

/**
 * The guest pages a device may touch (its DMA view): guest physical addresses, little-endian,
 * bounds- and permission-checked on every access. Every method throws GuestMemoryError on a refusal
 * and then has not changed guest memory.
 */
export interface GuestMemory {
  read(gpa: bigint, into: Uint8Array): void;
  write(gpa: bigint, from: Uint8Array): void;
  read16(gpa: bigint): number;
  read32(gpa: bigint): number;
  read64(gpa: bigint): bigint;
  write16(gpa: bigint, value: number): void;
  write32(gpa: bigint, value: number): void;
}

/** Severity of a device log line (as printk levels). */
export type LogLevel = 'err' | 'warn' | 'info' | 'debug';

/**
 * The byte stream on the far side of a character device (QEMU's "chardev backend"): where a console
 * or UART sends what the guest wrote. Input goes the other way, through `DeviceEmulator.input`.
 */
export interface CharSink {
  write(bytes: Uint8Array): void;
}

/** What a placement gives a device. */
export interface DeviceEnv {
  /** The guest memory the device was granted. */
  readonly mem: GuestMemory;
  /** Drive the device's interrupt line (level: high until set low). */
  setIrq(level: boolean): void;
  /** Virtual time in nanoseconds (the machine's clock as the placement sees it). */
  now(): number;
  /**
   * Arm timer `id` (0..MAX_DEVICE_TIMERS-1) to call `DeviceEmulator.timer(id)` at virtual time
   * `deadlineNs`; re-arming replaces the deadline.
   */
  armTimer(id: number, deadlineNs: number): void;
  cancelTimer(id: number): void;
  /** Account emulation work (ns of virtual time) to whoever pays for this placement. */
  charge(ns: number): void;
  log(level: LogLevel, message: string): void;
  /** The character backend (console output), when the device has one. */
  readonly chardev: CharSink | undefined;
}

/** Timer IDs a device may use. */
export const MAX_DEVICE_TIMERS = 8;

/** One emulated device behind a register window. */
export interface DeviceEmulator {
  /** Short name for logs and stats ("virtio-console"). */
  readonly name: string;
  /** Size of the register window in bytes. */
  readonly windowSize: number;
  /**
   * (Re)start: the device forgets all state and binds to `env`. Called once before the first access
   * and again whenever the placement restarts the emulator.
   */
  init(env: DeviceEnv): void;
  /** A load of `size` bytes at `offset` in the window (aligned, inside it); the little-endian value. */
  read(offset: number, size: AccessSize): bigint;
  /** A store. */
  write(offset: number, size: AccessSize, value: bigint): void;
  /** Timer `id` expired. */
  timer(id: number): void;
  /** Bytes from the host side of the character backend (console input). Returns bytes accepted. */
  input?(bytes: Uint8Array): number;
  /**
   * Stores that only kick the device (virtio's QueueNotify, one per queue): a placement may deliver
   * them after the vCPU has resumed (an ioeventfd) instead of trapping to the emulator.
   */
  readonly kicks?: readonly DeviceKick[];
}

/** A store of `value` (`size` bytes) at `offset` that only kicks the device. */
export interface DeviceKick {
  readonly offset: number;
  readonly size: AccessSize;
  readonly value: bigint;
}

/** A device factory: how a placement gets a fresh instance (to start, and to restart after a fault). */
export type DeviceFactory = () => DeviceEmulator;

/** Whether an access of `size` at `offset` fits a window of `windowSize` bytes and is aligned. */
export function accessInWindow(offset: number, size: number, windowSize: number): boolean {
  return Number.isInteger(offset) && offset >= 0 && offset + size <= windowSize && offset % size === 0 && (size === 1 || size === 2 || size === 4 || size === 8);
}

/** The value a failed read returns, as a bus error reads on most platforms: all ones. */
export function allOnes(size: AccessSize): bigint {
  return (1n << BigInt(size * 8)) - 1n;
}

// A virtio device type as the transport sees it (the part of a device that is the same over MMIO, PCI
// or CCW): its ID, features, queues, configuration space, and what happens on notifications.
import type { DeviceEnv } from '../device';
import type { SplitQueue } from './virtqueue';

/** What the transport offers a device type while it is live. */
export interface VirtioContext {
  readonly env: DeviceEnv;
  /** The queues, indexed as the device type numbers them. */
  readonly queues: readonly SplitQueue[];
  /** Negotiated features (driver's acceptance of the offer). */
  readonly features: bigint;
  /** Buffers went onto `queue`'s used ring: raise a used-buffer notification if the driver wants one. */
  usedBuffers(queue: number): void;
  /** The configuration space changed (bumps ConfigGeneration, raises a config notification). */
  configChanged(): void;
}

/** A virtio device type behind a transport. */
export interface VirtioDeviceType {
  readonly name: string;
  /** Virtio device ID (§5). */
  readonly deviceId: number;
  /** Features offered, device-specific and ring ones (the transport adds VIRTIO_F_VERSION_1). */
  readonly features: bigint;
  /** Maximum size of each queue (power of 2); the number of entries is the number of queues. */
  readonly queueMax: readonly number[];
  /** Bytes of device-specific configuration space. */
  readonly configSize: number;
  readConfig(offset: number, size: number): number;
  writeConfig(offset: number, size: number, value: number): void;
  /** Forget device-specific state (device reset; also at init, which hands over the environment). */
  reset(env: DeviceEnv): void;
  /** DRIVER_OK: the device may use its queues from now on. */
  activate(ctx: VirtioContext): void;
  /** Available-buffer notification for `queue` (only while active). */
  notify(queue: number): void;
  timer?(id: number): void;
  /** Host-side input (console characters). Returns bytes accepted. */
  input?(bytes: Uint8Array): number;
}

/**
 * Modelled cost of device work, charged to whoever runs the emulator: a descriptor chain's fixed
 * handling and copying through guest memory (a 4 GB/s memcpy).
 */
export const CHAIN_COST_NS = 100;
export const BYTE_COST_NS = 0.25;

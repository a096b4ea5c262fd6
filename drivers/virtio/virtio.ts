// The virtio bus (Linux drivers/virtio/virtio.c, in small): what a transport offers a device driver
// (a VirtioDevice), and the VirtioDriver contribution a device-type driver binds.
import type { Cpu, MmImpl, PrintkImpl, ClockImpl } from '../../core/index';
import type { Vring } from './virtio-ring';

/** A virtio device as its driver sees it, whatever the transport. */
export interface VirtioDevice {
  /** "virtio0", "virtio1"... */
  readonly name: string;
  readonly deviceId: number;
  /** Negotiated features. */
  readonly features: bigint;
  hasFeature(bit: number): boolean;
  readonly cpu: Cpu;
  readonly mm: MmImpl;
  readonly printk: PrintkImpl;
  readonly clock: ClockImpl;
  /** Set up queues 0..n-1 (virtio_find_vqs); `callback` runs when a queue has used buffers. */
  findVqs<T>(specs: readonly { name: string; callback?: () => void }[]): Promise<Vring<T>[]>;
  /** Read device-specific configuration (`size` 1, 2 or 4 bytes at `offset`). */
  readConfig(offset: number, size: 1 | 2 | 4): Promise<number>;
  writeConfig(offset: number, size: 1 | 2 | 4, value: number): Promise<void>;
  /** The device failed (needs reset, or stopped answering): the driver should give up on it. */
  readonly broken: boolean;
  /** Re-read the device status; marks the device broken when it is gone or needs a reset. */
  checkAlive(): Promise<boolean>;
  /** Per-driver data. */
  driverData: unknown;
}

/** A virtio device-type driver (struct virtio_driver). */
export const VirtioDriver = Symbol('VirtioDriver');
export interface VirtioDriver {
  readonly name: string;
  /** Device IDs it drives. */
  readonly idTable: readonly number[];
  /** Feature bits it understands (the transport adds VERSION_1 and the ring features it supports). */
  readonly featureTable: readonly number[];
  probe(vdev: VirtioDevice): Promise<void>;
  remove(vdev: VirtioDevice): Promise<void>;
  /** A configuration change notification (or the device turned out broken: check `vdev.broken`). */
  configChanged?(vdev: VirtioDevice): void;
}

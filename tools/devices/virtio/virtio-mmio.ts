// The virtio-mmio transport, version 2 (virtio 1.2 §4.2): the register window in front of a virtio
// device type. Feature negotiation (VERSION_1 required), the device status state machine, queue
// selection and configuration, interrupt status and acknowledge, configuration generation, device and
// queue reset. Guest mistakes (bad queue layouts, malformed descriptor chains, DMA outside the
// grants) put the device in DEVICE_NEEDS_RESET; they never throw out of a register access.
import { accessInWindow, GuestMemoryError, type AccessSize, type DeviceEmulator, type DeviceEnv, type DeviceKick } from '../device';
import {
  bit,
  VIRTIO_MMIO_INT_CONFIG,
  VIRTIO_MMIO_INT_VRING,
  VIRTIO_MMIO_MAGIC,
  VIRTIO_MMIO_VERSION,
  VIRTIO_MMIO_WINDOW,
  VirtioFeature,
  VirtioMmio as R,
  VirtioStatus as S,
} from '../../../drivers/virtio/index';
import type { VirtioContext, VirtioDeviceType } from './virtio-device';
import { SplitQueue, VirtqueueError } from './virtqueue';

/** VendorID: "GYTS" as a little-endian word (any value is allowed; QEMU uses "QEMU"). */
export const GUNYAH_TS_VENDOR_ID = 0x5354_5947;

/** Features a transport always offers on top of the device type's (a modern device). */
const TRANSPORT_FEATURES = bit(VirtioFeature.VERSION_1) | bit(VirtioFeature.RING_RESET);

export interface VirtioMmioStats {
  /** Times the device entered DEVICE_NEEDS_RESET, and why the last time. */
  deviceErrors: number;
  lastError: string | undefined;
  resets: number;
  notifies: number;
}

export class VirtioMmioDevice<T extends VirtioDeviceType = VirtioDeviceType> implements DeviceEmulator, VirtioContext {
  readonly name: string;
  readonly windowSize = VIRTIO_MMIO_WINDOW;
  readonly queues: SplitQueue[];
  private envRef: DeviceEnv | undefined;
  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  features = 0n;
  private queueSel = 0;
  private interruptStatus = 0;
  private irqLevel = false;
  private generation = 0;
  private active = false;
  readonly stats: VirtioMmioStats = { deviceErrors: 0, lastError: undefined, resets: 0, notifies: 0 };

  constructor(readonly type: T) {
    this.name = type.name;
    if (type.configSize > VIRTIO_MMIO_WINDOW - R.CONFIG) throw new RangeError(`${type.name}: configuration space of ${type.configSize} bytes does not fit the window`);
    this.queues = type.queueMax.map((m, i) => new SplitQueue(i, m));
  }

  /** QueueNotify with each queue's index: what an ioeventfd (with DATAMATCH) can take. */
  get kicks(): readonly DeviceKick[] {
    return this.queues.map((_, i) => ({ offset: R.QUEUE_NOTIFY, size: 4, value: BigInt(i) }));
  }

  get env(): DeviceEnv {
    if (!this.envRef) throw new Error(`${this.name}: used before init`);
    return this.envRef;
  }

  /** The features offered to the driver. */
  get offered(): bigint {
    return this.type.features | TRANSPORT_FEATURES;
  }

  get deviceStatus(): number {
    return this.status;
  }

  init(env: DeviceEnv): void {
    this.envRef = env;
    this.reset();
    this.irqLevel = false;
    env.setIrq(false);
  }

  private reset(): void {
    this.status = 0;
    this.deviceFeaturesSel = this.driverFeaturesSel = 0;
    this.driverFeatures = 0n;
    this.features = 0n;
    this.queueSel = 0;
    this.active = false;
    for (const q of this.queues) q.reset();
    this.type.reset(this.env);
    this.setInterrupt(0);
  }

  // ---- registers ----

  read(offset: number, size: AccessSize): bigint {
    if (!accessInWindow(offset, size, this.windowSize)) return 0n;
    if (offset >= R.CONFIG) return BigInt(this.readConfig(offset - R.CONFIG, size));
    // Control registers are 32-bit only (§4.2.2.2); anything else reads as zero.
    if (size !== 4) return 0n;
    return BigInt(this.readReg(offset) >>> 0);
  }

  private readReg(offset: number): number {
    const q = this.queues[this.queueSel];
    switch (offset) {
      case R.MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
      case R.VERSION:
        return VIRTIO_MMIO_VERSION;
      case R.DEVICE_ID:
        return this.type.deviceId;
      case R.VENDOR_ID:
        return GUNYAH_TS_VENDOR_ID;
      case R.DEVICE_FEATURES:
        return this.deviceFeaturesSel > 1 ? 0 : Number((this.offered >> BigInt(32 * this.deviceFeaturesSel)) & 0xffff_ffffn);
      case R.QUEUE_NUM_MAX:
        return q ? q.maxSize : 0;
      case R.QUEUE_READY:
        return q?.ready ? 1 : 0;
      case R.INTERRUPT_STATUS:
        return this.interruptStatus;
      case R.STATUS:
        return this.status;
      case R.SHM_LEN_LOW:
      case R.SHM_LEN_HIGH:
      case R.SHM_BASE_LOW:
      case R.SHM_BASE_HIGH:
        // No shared memory regions: a non-existent region reads as length and base -1.
        return 0xffff_ffff;
      case R.QUEUE_RESET:
        // Resets complete at once, so a queue is never seen mid-reset.
        return 0;
      case R.CONFIG_GENERATION:
        return this.generation;
      default:
        // Write-only and reserved registers read as zero.
        return 0;
    }
  }

  write(offset: number, size: AccessSize, value: bigint): void {
    if (!accessInWindow(offset, size, this.windowSize)) return;
    if (offset >= R.CONFIG) {
      this.type.writeConfig(offset - R.CONFIG, size, Number(BigInt.asUintN(32, value)));
      return;
    }
    if (size !== 4) return;
    this.writeReg(offset, Number(BigInt.asUintN(32, value)));
  }

  private writeReg(offset: number, v: number): void {
    const q = this.queues[this.queueSel];
    // Queue layout registers are frozen while the queue is live (§4.2.2.2).
    const q0 = q && !q.ready ? q : undefined;
    switch (offset) {
      case R.DEVICE_FEATURES_SEL:
        this.deviceFeaturesSel = v;
        return;
      case R.DRIVER_FEATURES_SEL:
        this.driverFeaturesSel = v;
        return;
      case R.DRIVER_FEATURES: {
        // Features are fixed once FEATURES_OK is set.
        if (this.status & S.FEATURES_OK || this.driverFeaturesSel > 1) return;
        const shift = BigInt(32 * this.driverFeaturesSel);
        this.driverFeatures = (this.driverFeatures & ~(0xffff_ffffn << shift)) | (BigInt(v) << shift);
        return;
      }
      case R.QUEUE_SEL:
        this.queueSel = v;
        return;
      case R.QUEUE_NUM:
        if (q0) q0.size = v;
        return;
      case R.QUEUE_DESC_LOW:
        if (q0) q0.descAddr = lo(q0.descAddr, v);
        return;
      case R.QUEUE_DESC_HIGH:
        if (q0) q0.descAddr = hi(q0.descAddr, v);
        return;
      case R.QUEUE_AVAIL_LOW:
        if (q0) q0.availAddr = lo(q0.availAddr, v);
        return;
      case R.QUEUE_AVAIL_HIGH:
        if (q0) q0.availAddr = hi(q0.availAddr, v);
        return;
      case R.QUEUE_USED_LOW:
        if (q0) q0.usedAddr = lo(q0.usedAddr, v);
        return;
      case R.QUEUE_USED_HIGH:
        if (q0) q0.usedAddr = hi(q0.usedAddr, v);
        return;
      case R.QUEUE_READY:
        if (q) this.setQueueReady(q, v === 1);
        return;
      case R.QUEUE_NOTIFY:
        this.queueNotify(v & 0xffff);
        return;
      case R.INTERRUPT_ACK:
        this.setInterrupt(this.interruptStatus & ~v);
        return;
      case R.STATUS:
        this.writeStatus(v & 0xff);
        return;
      case R.QUEUE_RESET:
        if (q && v === 1 && this.features & bit(VirtioFeature.RING_RESET)) q.reset();
        return;
      default:
        // SHMSel, the legacy registers (GuestPageSize, QueueAlign, QueuePFN) and reserved offsets.
        return;
    }
  }

  private setQueueReady(q: SplitQueue, on: boolean): void {
    if (!on) {
      q.ready = false;
      return;
    }
    if (q.ready) return;
    if (!(this.status & S.FEATURES_OK)) {
      this.env.log('warn', `${this.name}: queue ${q.index} enabled before FEATURES_OK; left stopped`);
      return;
    }
    const why = q.checkConfig();
    if (why) {
      this.env.log('warn', `${this.name}: queue ${q.index} not enabled: ${why}`);
      return;
    }
    q.indirect = (this.features & bit(VirtioFeature.RING_INDIRECT_DESC)) !== 0n;
    q.eventIdx = (this.features & bit(VirtioFeature.RING_EVENT_IDX)) !== 0n;
    this.guarded(() => q.enable(this.env.mem));
  }

  private writeStatus(v: number): void {
    if (v === 0) {
      this.stats.resets++;
      this.reset();
      return;
    }
    const before = this.status;
    let next = v | (before & S.DEVICE_NEEDS_RESET);
    if (next & S.FEATURES_OK && !(before & S.FEATURES_OK)) {
      const why = this.refuseFeatures(this.driverFeatures);
      if (why) {
        // The driver re-reads the status and sees FEATURES_OK did not stick (§3.1.1 step 6).
        this.env.log('warn', `${this.name}: features 0x${this.driverFeatures.toString(16)} refused: ${why}`);
        next &= ~S.FEATURES_OK;
      } else this.features = this.driverFeatures;
    }
    if (next & S.DRIVER_OK && !(next & S.FEATURES_OK)) next &= ~S.DRIVER_OK;
    this.status = next;
    if (next & S.DRIVER_OK && !(before & S.DRIVER_OK) && !(next & S.DEVICE_NEEDS_RESET)) this.activate();
    if (next & S.FAILED) this.active = false;
  }

  private refuseFeatures(f: bigint): string | undefined {
    const extra = f & ~this.offered;
    if (extra) return `bits 0x${extra.toString(16)} were not offered`;
    if (!(f & bit(VirtioFeature.VERSION_1))) return 'VIRTIO_F_VERSION_1 is required (no legacy interface)';
    return undefined;
  }

  private activate(): void {
    this.active = true;
    this.guarded(() => {
      this.type.activate(this);
      // Buffers made available before DRIVER_OK (a driver fills its receive queue in probe) count.
      for (const q of this.queues) if (q.ready && this.active) this.type.notify(q.index);
    });
  }

  private queueNotify(index: number): void {
    const q = this.queues[index];
    if (!q || !q.ready || !this.active) return;
    this.stats.notifies++;
    this.guarded(() => this.type.notify(index));
  }

  private readConfig(offset: number, size: number): number {
    if (offset + size > this.type.configSize) return 0;
    return this.type.readConfig(offset, size);
  }

  // ---- VirtioContext ----

  usedBuffers(queue: number): void {
    const q = this.queues[queue];
    if (!q || !this.active) return;
    if (q.shouldNotify(this.env.mem)) this.setInterrupt(this.interruptStatus | VIRTIO_MMIO_INT_VRING);
  }

  configChanged(): void {
    this.generation = (this.generation + 1) >>> 0;
    if (this.status & S.DRIVER_OK) this.setInterrupt(this.interruptStatus | VIRTIO_MMIO_INT_CONFIG);
  }

  // ---- host side ----

  timer(id: number): void {
    if (this.active) this.guarded(() => this.type.timer?.(id));
  }

  input(bytes: Uint8Array): number {
    if (!this.type.input) return 0;
    let n = 0;
    this.guarded(() => {
      n = this.type.input!(bytes);
    });
    return n;
  }

  /** Whether the driver has the device running (DRIVER_OK and no error). */
  get live(): boolean {
    return this.active;
  }

  // ---- errors and interrupts ----

  /** Run device work; a guest-caused failure puts the device into DEVICE_NEEDS_RESET. */
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof VirtqueueError || e instanceof GuestMemoryError)) throw e;
      this.needsReset(e.message);
    }
  }

  /** §2.1.2: the device stops and tells a running driver through a configuration notification. */
  needsReset(reason: string): void {
    this.stats.deviceErrors++;
    this.stats.lastError = reason;
    this.env.log('err', `${this.name}: device error, needs reset: ${reason}`);
    this.active = false;
    for (const q of this.queues) q.ready = false;
    this.status |= S.DEVICE_NEEDS_RESET;
    if (this.status & S.DRIVER_OK) this.configChanged();
  }

  private setInterrupt(status: number): void {
    this.interruptStatus = status;
    const level = status !== 0;
    if (level !== this.irqLevel && this.envRef) {
      this.irqLevel = level;
      this.envRef.setIrq(level);
    }
  }
}

function lo(cur: bigint, v: number): bigint {
  return (cur & 0xffff_ffff_0000_0000n) | BigInt(v >>> 0);
}

function hi(cur: bigint, v: number): bigint {
  return (cur & 0xffff_ffffn) | (BigInt(v >>> 0) << 32n);
}

// The virtio-mmio transport driver (Linux drivers/virtio/virtio_mmio.c, modern devices only): a
// platform driver for `virtio,mmio` nodes that checks MagicValue/Version/DeviceID, resets the device,
// negotiates features with the matching virtio driver (VERSION_1 required), sets up split queues in
// memory from the kernel's page allocator, and takes the device interrupt in a threaded handler
// (MMIO accesses are preemption points, so not in the hard handler).
import { inject, injectable, multiInject } from 'inversify';
import {
  BootCpu,
  Clock,
  Errno,
  IrqCore,
  IRQF,
  IRQ_HANDLED,
  Mm,
  Printk,
  ProbeDefer,
  type ClockImpl,
  type Cpu,
  type Driver,
  type IoMem,
  type IrqCoreImpl,
  type MmImpl,
  type PlatformDevice,
  type PrintkImpl,
  type ProbeResult,
} from '../../core/index';
import {
  bit,
  VIRTIO_MMIO_INT_CONFIG,
  VIRTIO_MMIO_INT_VRING,
  VIRTIO_MMIO_MAGIC,
  VIRTIO_MMIO_VERSION,
  VirtioFeature,
  VirtioMmio as R,
  VirtioStatus as S,
} from './virtio-abi';
import { VirtioDriver, type VirtioDevice } from './virtio';
import { Vring } from './virtio-ring';

/** Largest queue the driver sets up (the device may offer more). */
export const VIRTIO_MMIO_QUEUE_CAP = 256;
/** What an MMIO read of a device that is gone returns (a bus error reads as all ones). */
const GONE = 0xffff_ffff;

/** Transport features the driver side supports (the ring here has EVENT_IDX, no indirect tables). */
const TRANSPORT_FEATURES = [VirtioFeature.VERSION_1, VirtioFeature.RING_EVENT_IDX];

class MmioVirtioDevice implements VirtioDevice {
  features = 0n;
  broken = false;
  driverData: unknown;
  driver: VirtioDriver | undefined;
  vqs: Vring<unknown>[] = [];
  /** Masks the device's interrupt line (set once the interrupt is requested). */
  quiesceIrq: (() => Promise<void>) | undefined;

  constructor(
    readonly name: string,
    readonly deviceId: number,
    readonly io: IoMem,
    readonly cpu: Cpu,
    readonly mm: MmImpl,
    readonly printk: PrintkImpl,
    readonly clock: ClockImpl,
  ) {}

  hasFeature(b: number): boolean {
    return (this.features & bit(b)) !== 0n;
  }

  async status(): Promise<number> {
    return this.io.readl(R.STATUS);
  }

  async addStatus(s: number): Promise<void> {
    await this.io.writel(R.STATUS, (await this.status()) | s);
  }

  async deviceFeatures(): Promise<bigint> {
    await this.io.writel(R.DEVICE_FEATURES_SEL, 1);
    const hi = await this.io.readl(R.DEVICE_FEATURES);
    await this.io.writel(R.DEVICE_FEATURES_SEL, 0);
    const lo = await this.io.readl(R.DEVICE_FEATURES);
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  async writeDriverFeatures(f: bigint): Promise<void> {
    await this.io.writel(R.DRIVER_FEATURES_SEL, 1);
    await this.io.writel(R.DRIVER_FEATURES, Number(f >> 32n));
    await this.io.writel(R.DRIVER_FEATURES_SEL, 0);
    await this.io.writel(R.DRIVER_FEATURES, Number(f & 0xffff_ffffn));
  }

  async findVqs<T>(specs: readonly { name: string; callback?: () => void }[]): Promise<Vring<T>[]> {
    const out: Vring<T>[] = [];
    try {
      for (const [i, spec] of specs.entries()) out.push(await this.setupVq<T>(i, spec.callback));
    } catch (e) {
      await this.delVqs(out);
      throw e;
    }
    this.vqs = out as Vring<unknown>[];
    return out;
  }

  private async setupVq<T>(i: number, callback: (() => void) | undefined): Promise<Vring<T>> {
    const io = this.io;
    await io.writel(R.QUEUE_SEL, i);
    if ((await io.readl(R.QUEUE_READY)) !== 0) throw new Errno('ENOENT', `${this.name}: queue ${i} is already in use`);
    const max = await io.readl(R.QUEUE_NUM_MAX);
    if (max === 0 || max === GONE) throw new Errno('ENOENT', `${this.name}: queue ${i} is not available`);
    let num = Math.min(max, VIRTIO_MMIO_QUEUE_CAP);
    while (num & (num - 1)) num &= num - 1;
    const vq = new Vring<T>(this.cpu, this.mm, i, num, {
      eventIdx: this.hasFeature(VirtioFeature.RING_EVENT_IDX),
      notify: () => io.writel(R.QUEUE_NOTIFY, i),
      ...(callback ? { callback } : {}),
    });
    try {
      await io.writel(R.QUEUE_NUM, num);
      await io.writel(R.QUEUE_DESC_LOW, Number(vq.desc & 0xffff_ffffn));
      await io.writel(R.QUEUE_DESC_HIGH, Number(vq.desc >> 32n));
      await io.writel(R.QUEUE_AVAIL_LOW, Number(vq.avail & 0xffff_ffffn));
      await io.writel(R.QUEUE_AVAIL_HIGH, Number(vq.avail >> 32n));
      await io.writel(R.QUEUE_USED_LOW, Number(vq.used & 0xffff_ffffn));
      await io.writel(R.QUEUE_USED_HIGH, Number(vq.used >> 32n));
      await io.writel(R.QUEUE_READY, 1);
      if ((await io.readl(R.QUEUE_READY)) !== 1) throw new Errno('EIO', `${this.name}: the device did not accept queue ${i}`);
    } catch (e) {
      vq.free();
      throw e;
    }
    return vq;
  }

  /** Stop the queues (QueueReady 0, read back) and free their memory. */
  async delVqs(vqs: Vring<unknown>[] = this.vqs): Promise<void> {
    for (const vq of vqs) {
      try {
        await this.io.writel(R.QUEUE_SEL, vq.index);
        await this.io.writel(R.QUEUE_READY, 0);
        await this.io.readl(R.QUEUE_READY);
      } finally {
        vq.free();
      }
    }
    if (vqs === this.vqs) this.vqs = [];
  }

  async readConfig(offset: number, size: 1 | 2 | 4): Promise<number> {
    return Number(await this.io.read(R.CONFIG + offset, size));
  }

  async writeConfig(offset: number, size: 1 | 2 | 4, value: number): Promise<void> {
    await this.io.write(R.CONFIG + offset, size, value);
  }

  async checkAlive(): Promise<boolean> {
    if (this.broken) return false;
    const st = await this.status();
    if (st === GONE || st & S.DEVICE_NEEDS_RESET) this.markBroken(st === GONE ? 'the device stopped answering (status reads all ones)' : 'the device needs a reset');
    return !this.broken;
  }

  markBroken(why: string): void {
    if (this.broken) return;
    this.broken = true;
    for (const vq of this.vqs) vq.broken = true;
    this.printk.err(`virtio-mmio ${this.name}: ${why}; giving up on it`);
    // A device that stopped answering cannot take its interrupt status back (the acknowledge is
    // lost too), so a level line it left high would fire for ever: mask it, as a driver does on a
    // surprise removal, so the rest of the kernel keeps running.
    void this.quiesceIrq?.().catch(() => undefined);
    this.driver?.configChanged?.(this);
  }

  /** vm_interrupt, as a thread: read and acknowledge the status, then config and queue work. */
  async interrupt(): Promise<number> {
    const st = await this.io.readl(R.INTERRUPT_STATUS);
    if (st === GONE) {
      this.markBroken('interrupt status reads all ones');
      return IRQ_HANDLED;
    }
    if (st & (VIRTIO_MMIO_INT_CONFIG | VIRTIO_MMIO_INT_VRING)) await this.io.writel(R.INTERRUPT_ACK, st & (VIRTIO_MMIO_INT_CONFIG | VIRTIO_MMIO_INT_VRING));
    if (st & VIRTIO_MMIO_INT_CONFIG) {
      if (await this.checkAlive()) this.driver?.configChanged?.(this);
    }
    if (st & VIRTIO_MMIO_INT_VRING) for (const vq of this.vqs) vq.interrupt();
    return IRQ_HANDLED;
  }
}

@injectable()
export class VirtioMmioDriver implements Driver {
  readonly name = 'virtio-mmio';
  readonly ofMatchTable = [{ compatible: 'virtio,mmio' }];
  private nextIndex = 0;

  constructor(
    @multiInject(VirtioDriver) private readonly drivers: VirtioDriver[],
    @inject(BootCpu) private readonly cpu: Cpu,
    @inject(Mm) private readonly mm: MmImpl,
    @inject(Printk) private readonly printk: PrintkImpl,
    @inject(Clock) private readonly clock: ClockImpl,
    @inject(IrqCore) private readonly irq: IrqCoreImpl,
  ) {}

  async probe(dev: PlatformDevice): Promise<ProbeResult> {
    const res = dev.resource(0);
    if (res.size < BigInt(R.CONFIG)) throw new Errno('EINVAL', `${dev.name}: register window of ${res.size} bytes is too small`);
    const virq = dev.getIrq(0);
    if (virq instanceof ProbeDefer) return virq;
    const io = dev.ioremap(0);
    const magic = await io.readl(R.MAGIC_VALUE);
    if (magic !== VIRTIO_MMIO_MAGIC) throw new Errno('ENODEV', `${dev.name}: wrong magic value 0x${(magic >>> 0).toString(16)}`);
    const version = await io.readl(R.VERSION);
    if (version !== VIRTIO_MMIO_VERSION) throw new Errno('ENXIO', `${dev.name}: version ${version} not supported${version === 1 ? ' (legacy)' : ''}`);
    const id = await io.readl(R.DEVICE_ID);
    // Device ID 0 is a placeholder slot: ignored without complaint (§4.2.3.1.1).
    if (id === 0) throw new Errno('ENODEV', `${dev.name}: placeholder (device ID 0)`);
    const drv = this.drivers.find((d) => d.idTable.includes(id));
    const vdev = new MmioVirtioDevice(`virtio${this.nextIndex++}`, id, io, this.cpu, this.mm, this.printk, this.clock);
    dev.setDrvdata(vdev);
    await io.writel(R.STATUS, 0);
    await vdev.addStatus(S.ACKNOWLEDGE);
    if (!drv) {
      this.printk.info(`virtio-mmio ${dev.name}: ${vdev.name}: no driver for device ID ${id}`);
      throw new Errno('ENODEV', `${dev.name}: no virtio driver for device ID ${id}`);
    }
    vdev.driver = drv;
    await vdev.addStatus(S.DRIVER);
    let probed = false;
    try {
      const offered = await vdev.deviceFeatures();
      if (!(offered & bit(VirtioFeature.VERSION_1))) throw new Errno('ENODEV', `${dev.name}: device does not offer VIRTIO_F_VERSION_1`);
      let wanted = 0n;
      for (const b of [...drv.featureTable, ...TRANSPORT_FEATURES]) wanted |= bit(b);
      vdev.features = offered & wanted;
      await vdev.writeDriverFeatures(vdev.features);
      await vdev.addStatus(S.FEATURES_OK);
      if (!((await vdev.status()) & S.FEATURES_OK)) throw new Errno('ENODEV', `${dev.name}: device refused features 0x${vdev.features.toString(16)}`);
      await dev.devmRequestIrq(virq, undefined, () => vdev.interrupt(), { name: vdev.name, flags: IRQF.ONESHOT, devId: vdev });
      vdev.quiesceIrq = () => this.irq.disableIrqNosync(virq);
      await drv.probe(vdev);
      probed = true;
      await vdev.addStatus(S.DRIVER_OK);
    } catch (e) {
      if (probed) await drv.remove(vdev).catch(() => undefined);
      await vdev.addStatus(S.FAILED).catch(() => undefined);
      await vdev.delVqs().catch(() => undefined);
      throw e;
    }
    this.printk.info(`virtio-mmio ${dev.name}: ${vdev.name}: device ${id} (${drv.name}), features 0x${vdev.features.toString(16)}`);
  }

  async remove(dev: PlatformDevice): Promise<void> {
    const vdev = dev.getDrvdata<MmioVirtioDevice>();
    if (!vdev) return;
    // The driver lets go of its buffers; a reset stops the device touching the rings; then they go.
    // (The interrupt is released after this, by devres.)
    try {
      await vdev.driver?.remove(vdev);
    } finally {
      await vdev.io.writel(R.STATUS, 0);
      await vdev.delVqs();
    }
  }
}

// The virtio console driver (Linux drivers/char/virtio_console.c, single port, no MULTIPORT): each
// device becomes a tty /dev/hvcN. Receive buffers from kmalloc are kept posted on receiveq 0 and their
// contents go to the tty's line discipline; tty output goes out on transmitq 1 in page-sized buffers
// that are reclaimed when the device has used them. A device that breaks (DEVICE_NEEDS_RESET, or
// registers reading all ones) hangs the tty up: readers see EOF, writers EIO, nobody waits forever.
import { inject, injectable } from 'inversify';
import { Printk, TtyCore, type PrintkImpl, type Tty, type TtyCoreImpl, type TtyDriver, type TimerHandle } from '../../core/index';
import { PAGE_SIZE } from '../../core/index';
import { VIRTIO_CONSOLE_RX, VIRTIO_CONSOLE_TX, VirtioConsoleConfig, VirtioConsoleFeature, VirtioDeviceId } from './virtio-abi';
import type { VirtioDevice, VirtioDriver } from './virtio';
import type { Vring } from './virtio-ring';

/** Receive buffers kept posted (each a page). */
export const VIRTCONS_RX_BUFS = 32;
/** Largest piece of output per transmit buffer. */
export const VIRTCONS_TX_CHUNK = PAGE_SIZE;
/** Ports (devices) per kernel: /dev/hvc0../dev/hvc7. */
export const VIRTCONS_MAX_PORTS = 8;
/** Virtual time after which a transmit queue that stays full makes the driver check the device. */
export const VIRTCONS_TX_STALL_NS = 20_000_000;

/** One console port: a device, its two queues and its tty. */
export class VirtioConsolePort {
  tty: Tty | undefined;
  dead = false;
  private stallTimer: TimerHandle | undefined;
  /** Bytes handed to the device / received from it. */
  txBytes = 0;
  rxBytes = 0;

  constructor(
    readonly vdev: VirtioDevice,
    readonly index: number,
    readonly rx: Vring<bigint>,
    readonly tx: Vring<bigint>,
  ) {}

  /** Post every receive buffer the queue can take (up to VIRTCONS_RX_BUFS). */
  async fillRx(): Promise<void> {
    const { rx, vdev } = this;
    for (let i = 0; i < VIRTCONS_RX_BUFS && rx.numFree > 0; i++) {
      const buf = vdev.mm.kmalloc.alloc(PAGE_SIZE);
      rx.add([], [{ addr: buf, len: PAGE_SIZE }], buf);
    }
    await rx.kick();
  }

  /** receiveq callback: hand what arrived to the tty and re-post the buffers. */
  rxInterrupt(): void {
    const { rx, vdev } = this;
    let again = false;
    for (let u = rx.getBuf(); u; u = rx.getBuf()) {
      const n = Math.min(u.len, PAGE_SIZE);
      if (n > 0 && this.tty) {
        const data = new Uint8Array(n);
        vdev.cpu.read(u.token, data);
        this.rxBytes += n;
        this.tty.receive(data);
      }
      if (this.dead) vdev.mm.kmalloc.free(u.token);
      else again = rx.add([], [{ addr: u.token, len: PAGE_SIZE }], u.token) || again;
    }
    if (again) this.kickLater(rx);
  }

  /** transmitq callback: free what the device has sent and let writers go on. */
  txInterrupt(): void {
    this.reclaimTx();
    this.tty?.wakeup();
  }

  private reclaimTx(): void {
    for (let u = this.tx.getBuf(); u; u = this.tx.getBuf()) this.vdev.mm.kmalloc.free(u.token);
    if (this.tx.numFree > 0 && this.stallTimer) {
      this.vdev.clock.cancel(this.stallTimer);
      this.stallTimer = undefined;
    }
  }

  writeRoom(): number {
    if (this.dead) return 0;
    this.reclaimTx();
    if (this.tx.numFree > 0) return VIRTCONS_TX_CHUNK;
    this.watchStall();
    return 0;
  }

  async write(data: Uint8Array): Promise<number> {
    if (this.dead) return -5; // EIO
    this.reclaimTx();
    const n = Math.min(data.length, VIRTCONS_TX_CHUNK);
    const buf = this.vdev.mm.kmalloc.alloc(n);
    this.vdev.cpu.write(buf, data.subarray(0, n));
    if (!this.tx.add([{ addr: buf, len: n }], [], buf)) {
      this.vdev.mm.kmalloc.free(buf);
      this.watchStall();
      return 0;
    }
    this.txBytes += n;
    await this.tx.kick();
    return n;
  }

  /** The transmit queue is full: if it stays full, ask the device whether it is still there. */
  private watchStall(): void {
    if (this.stallTimer || this.dead) return;
    const clock = this.vdev.clock;
    this.stallTimer = clock.after(VIRTCONS_TX_STALL_NS, () => {
      this.stallTimer = undefined;
      void this.vdev.checkAlive().then(
        (alive) => {
          if (!alive) this.hangup('device gone');
          else if (this.tx.numFree === 0) this.watchStall();
        },
        () => this.hangup('device check failed'),
      );
    });
  }

  private kickLater(vq: Vring<bigint>): void {
    void vq.kick().catch((e: unknown) => this.hangup(`kick failed: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** The device is unusable: the tty hangs up. */
  hangup(why: string): void {
    if (this.dead) return;
    this.dead = true;
    this.vdev.printk.err(`virtio_console ${this.vdev.name}: hvc${this.index}: ${why}; hanging up`);
    if (this.stallTimer) this.vdev.clock.cancel(this.stallTimer);
    this.stallTimer = undefined;
    this.tty?.hangup();
  }

  /** Buffers still held by the device (teardown after reset). */
  freeBuffers(): void {
    for (const vq of [this.rx, this.tx]) for (const b of vq.detachUnused()) this.vdev.mm.kmalloc.free(b);
  }
}

@injectable()
export class VirtioConsoleDriver implements VirtioDriver {
  readonly name = 'virtio_console';
  readonly idTable = [VirtioDeviceId.CONSOLE];
  readonly featureTable = [VirtioConsoleFeature.SIZE];
  private readonly ports: (VirtioConsolePort | undefined)[] = new Array(VIRTCONS_MAX_PORTS).fill(undefined);
  private registered = false;
  readonly ttyDriver: TtyDriver;

  constructor(
    @inject(TtyCore) private readonly ttys: TtyCoreImpl,
    @inject(Printk) private readonly printk: PrintkImpl,
  ) {
    const portOf = (t: Tty): VirtioConsolePort => t.driverData as VirtioConsolePort;
    this.ttyDriver = {
      name: 'hvc',
      numPorts: VIRTCONS_MAX_PORTS,
      ops: {
        writeRoom: (t) => portOf(t).writeRoom(),
        write: (t, data) => portOf(t).write(data),
      },
    };
  }

  /** The port of a device, by tty index. */
  port(index: number): VirtioConsolePort | undefined {
    return this.ports[index];
  }

  async probe(vdev: VirtioDevice): Promise<void> {
    const index = this.ports.indexOf(undefined);
    if (index < 0) throw new Error(`virtio_console: more than ${VIRTCONS_MAX_PORTS} consoles`);
    let port: VirtioConsolePort | undefined;
    const [rx, tx] = await vdev.findVqs<bigint>([
      { name: 'input', callback: () => port?.rxInterrupt() },
      { name: 'output', callback: () => port?.txInterrupt() },
    ]);
    port = new VirtioConsolePort(vdev, index, rx!, tx!);
    void VIRTIO_CONSOLE_RX;
    void VIRTIO_CONSOLE_TX;
    vdev.driverData = port;
    this.ports[index] = port;
    try {
      if (!this.registered) {
        this.ttys.registerDriver(this.ttyDriver);
        this.registered = true;
      }
      const tty = this.ttys.registerDevice(this.ttyDriver, index);
      tty.driverData = port;
      port.tty = tty;
      if (vdev.hasFeature(VirtioConsoleFeature.SIZE)) {
        tty.winsize.ws_col = await vdev.readConfig(VirtioConsoleConfig.COLS, 2);
        tty.winsize.ws_row = await vdev.readConfig(VirtioConsoleConfig.ROWS, 2);
      }
      await port.fillRx();
    } catch (e) {
      await this.remove(vdev);
      throw e;
    }
    this.printk.info(`virtio_console ${vdev.name}: hvc${index}`);
  }

  async remove(vdev: VirtioDevice): Promise<void> {
    const port = vdev.driverData as VirtioConsolePort | undefined;
    if (!port) return;
    port.dead = true;
    if (port.tty) this.ttys.unregisterDevice(port.tty);
    port.freeBuffers();
    this.ports[port.index] = undefined;
    vdev.driverData = undefined;
  }

  configChanged(vdev: VirtioDevice): void {
    const port = vdev.driverData as VirtioConsolePort | undefined;
    if (!port) return;
    if (vdev.broken) {
      port.hangup('device broken');
      return;
    }
    if (vdev.hasFeature(VirtioConsoleFeature.SIZE) && port.tty) {
      const tty = port.tty;
      void Promise.all([vdev.readConfig(VirtioConsoleConfig.COLS, 2), vdev.readConfig(VirtioConsoleConfig.ROWS, 2)]).then(([c, r]) => {
        tty.winsize.ws_col = c;
        tty.winsize.ws_row = r;
      });
    }
  }
}

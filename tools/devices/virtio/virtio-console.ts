// The virtio console device (virtio 1.2 §5.3), single port: receiveq 0 carries host input to the
// guest, transmitq 1 guest output to the host's character backend. No multiport (no control queues).
// Offers the console size (F_SIZE) and emergency write (F_EMERG_WRITE). Host input the guest has no
// buffers for yet waits in a bounded buffer; what does not fit is refused (the caller sees how much
// was accepted).
import { bit, VIRTIO_CONSOLE_RX, VIRTIO_CONSOLE_TX, VirtioConsoleConfig as C, VirtioConsoleFeature, VirtioDeviceId, VirtioFeature } from '../../../drivers/virtio/index';
import { BYTE_COST_NS, CHAIN_COST_NS, type VirtioContext, type VirtioDeviceType } from './virtio-device';
import { SplitQueue } from './virtqueue';
import { VirtioMmioDevice } from './virtio-mmio';
import type { DeviceEnv, DeviceFactory } from '../device';

export interface VirtioConsoleOptions {
  /** Queue size maximum of both queues (default 256). */
  queueSize?: number;
  /** Console size reported with F_SIZE (default 80x24). */
  cols?: number;
  rows?: number;
  /** Host input kept while the guest has no receive buffers (default 64 KiB). */
  inputBuffer?: number;
}

export interface VirtioConsoleStats {
  /** Bytes the guest transmitted (to the character backend). */
  txBytes: number;
  /** Bytes delivered into guest receive buffers. */
  rxBytes: number;
  /** Host input refused because the buffer was full. */
  inputRefused: number;
  /** Characters written through emerg_wr. */
  emergBytes: number;
}

/** Transmit chains handled per notification before yielding (bounds one MMIO write's work). */
export const TX_BATCH = 64;

export class VirtioConsole implements VirtioDeviceType {
  readonly name = 'virtio-console';
  readonly deviceId = VirtioDeviceId.CONSOLE;
  readonly features = bit(VirtioConsoleFeature.SIZE) | bit(VirtioConsoleFeature.EMERG_WRITE) | bit(VirtioFeature.RING_INDIRECT_DESC) | bit(VirtioFeature.RING_EVENT_IDX);
  readonly queueMax: readonly number[];
  readonly configSize = C.SIZE;
  readonly stats: VirtioConsoleStats = { txBytes: 0, rxBytes: 0, inputRefused: 0, emergBytes: 0 };
  private ctx: VirtioContext | undefined;
  private env: DeviceEnv | undefined;
  private readonly cols: number;
  private readonly rows: number;
  private readonly capacity: number;
  /** Pending host input, oldest first. */
  private pendingIn: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(opts: VirtioConsoleOptions = {}) {
    const qs = opts.queueSize ?? 256;
    this.queueMax = [qs, qs];
    this.cols = opts.cols ?? 80;
    this.rows = opts.rows ?? 24;
    this.capacity = opts.inputBuffer ?? 64 * 1024;
  }

  readConfig(offset: number, size: number): number {
    const b = new Uint8Array(C.SIZE);
    const d = new DataView(b.buffer);
    d.setUint16(C.COLS, this.cols, true);
    d.setUint16(C.ROWS, this.rows, true);
    // max_nr_ports is only valid with MULTIPORT, emerg_wr is write-only: both read as zero.
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + b[offset + i]!;
    return v;
  }

  writeConfig(offset: number, _size: number, value: number): void {
    // emerg_wr: the low byte goes out at once, even on an unconfigured device (§5.3.5.1).
    if (offset !== C.EMERG_WR) return;
    this.stats.emergBytes++;
    this.emit(Uint8Array.of(value & 0xff));
  }

  reset(env: DeviceEnv): void {
    this.ctx = undefined;
    this.env = env;
  }

  activate(ctx: VirtioContext): void {
    this.ctx = ctx;
  }

  notify(queue: number): void {
    if (queue === VIRTIO_CONSOLE_TX) this.transmit();
    else if (queue === VIRTIO_CONSOLE_RX) this.deliver();
  }

  input(bytes: Uint8Array): number {
    const take = Math.min(bytes.length, this.capacity - this.pendingBytes);
    if (take < bytes.length) this.stats.inputRefused += bytes.length - take;
    if (take > 0) {
      this.pendingIn.push(bytes.slice(0, take));
      this.pendingBytes += take;
      if (this.ctx) this.deliver();
    }
    return take;
  }

  /** Host input waiting for guest buffers. */
  get pendingInput(): number {
    return this.pendingBytes;
  }

  private emit(bytes: Uint8Array): void {
    this.env?.chardev?.write(bytes);
  }

  /** Take the guest's output off the transmit queue. */
  private transmit(): void {
    const ctx = this.ctx!;
    const q = ctx.queues[VIRTIO_CONSOLE_TX]!;
    const mem = ctx.env.mem;
    let n = 0;
    for (let c = q.pop(mem); c; c = n < TX_BATCH ? q.pop(mem) : undefined) {
      const data = SplitQueue.gather(mem, c);
      ctx.env.charge(CHAIN_COST_NS + data.length * BYTE_COST_NS);
      q.push(mem, c.head, 0);
      this.stats.txBytes += data.length;
      if (data.length) this.emit(data);
      n++;
    }
    if (n) ctx.usedBuffers(VIRTIO_CONSOLE_TX);
    // More than one batch: finish on a timer so a single register write stays bounded.
    if (n === TX_BATCH && q.pending(mem) > 0) ctx.env.armTimer(0, ctx.env.now());
  }

  timer(id: number): void {
    if (id === 0 && this.ctx) this.transmit();
  }

  /** Move pending host input into the guest's receive buffers. */
  private deliver(): void {
    const ctx = this.ctx;
    if (!ctx || this.pendingBytes === 0) return;
    const q = ctx.queues[VIRTIO_CONSOLE_RX]!;
    if (!q.ready) return;
    const mem = ctx.env.mem;
    let used = false;
    while (this.pendingBytes > 0) {
      const c = q.pop(mem);
      if (!c) break;
      const room = Math.min(c.writableBytes, this.pendingBytes);
      const data = this.takeInput(room);
      const n = SplitQueue.scatter(mem, c, data);
      ctx.env.charge(CHAIN_COST_NS + n * BYTE_COST_NS);
      q.push(mem, c.head, n);
      this.stats.rxBytes += n;
      used = true;
    }
    if (used) ctx.usedBuffers(VIRTIO_CONSOLE_RX);
  }

  private takeInput(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const head = this.pendingIn[0]!;
      const k = Math.min(head.length, n - off);
      out.set(head.subarray(0, k), off);
      off += k;
      if (k === head.length) this.pendingIn.shift();
      else this.pendingIn[0] = head.subarray(k);
    }
    this.pendingBytes -= n;
    return out;
  }
}

/** A virtio-console behind a virtio-mmio window: the device a placement runs. */
export function virtioConsoleMmio(opts: VirtioConsoleOptions = {}): VirtioMmioDevice<VirtioConsole> {
  return new VirtioMmioDevice(new VirtioConsole(opts));
}

/** The factory placements use. */
export const virtioConsoleFactory =
  (opts: VirtioConsoleOptions = {}): DeviceFactory =>
  () =>
    virtioConsoleMmio(opts);

// Test helpers for device emulators: a host-side DeviceEnv over a byte array of "guest memory", and a
// minimal split-virtqueue driver that lays out rings and posts buffers the way a guest would.
import {
  arrayBacking,
  GrantedMemory,
  VirtioMmio as R,
  VirtioStatus as S,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  type AccessSize,
  type DeviceEmulator,
  type DeviceEnv,
  type Grant,
  type LogLevel,
} from '../../../tools/devices/index';

export const MEM_BASE = 0x8000_0000;
export const MEM_SIZE = 0x10_0000;

export class TestEnv implements DeviceEnv {
  readonly bytes = new Uint8Array(MEM_SIZE);
  readonly mem: GrantedMemory;
  irq = false;
  irqEdges = 0;
  time = 0;
  charged = 0;
  readonly timers = new Map<number, number>();
  readonly logs: { level: LogLevel; message: string }[] = [];
  readonly out: number[] = [];
  readonly chardev = { write: (b: Uint8Array) => this.out.push(...b) };

  constructor(grants: Grant[] = [{ gpa: BigInt(MEM_BASE), size: BigInt(MEM_SIZE), writable: true }]) {
    this.mem = new GrantedMemory(grants, arrayBacking(this.bytes, MEM_BASE));
  }
  setIrq(level: boolean): void {
    if (level && !this.irq) this.irqEdges++;
    this.irq = level;
  }
  now(): number {
    return this.time;
  }
  armTimer(id: number, deadlineNs: number): void {
    this.timers.set(id, deadlineNs);
  }
  cancelTimer(id: number): void {
    this.timers.delete(id);
  }
  charge(ns: number): void {
    this.charged += ns;
  }
  log(level: LogLevel, message: string): void {
    this.logs.push({ level, message });
  }
  /** Fire due timers on `dev`. */
  runTimers(dev: DeviceEmulator): void {
    for (let guard = 0; guard < 1000 && this.timers.size > 0; guard++) {
      const [id, t] = [...this.timers.entries()].sort((a, b) => a[1] - b[1])[0]!;
      this.timers.delete(id);
      this.time = Math.max(this.time, t);
      dev.timer(id);
    }
  }
  get outText(): string {
    return String.fromCharCode(...this.out);
  }
  view(): DataView {
    return new DataView(this.bytes.buffer);
  }
}

/** Register access helpers (32-bit, as the spec requires for control registers). */
export const rd = (d: DeviceEmulator, off: number, size: AccessSize = 4): number => Number(d.read(off, size));
export const wr = (d: DeviceEmulator, off: number, v: number | bigint, size: AccessSize = 4): void => d.write(off, size, BigInt(v));

export interface DescSpec {
  addr: number;
  len: number;
  write?: boolean;
  /** Raw flags/next override (hostile chains). */
  flags?: number;
  next?: number;
}

/** A guest-side split queue laid out in TestEnv memory. */
export class TestQueue {
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  availIdx = 0;
  usedSeen = 0;
  private nextDesc = 0;

  constructor(
    readonly env: TestEnv,
    readonly index: number,
    readonly size: number,
    at: number,
  ) {
    this.desc = at;
    this.avail = at + 16 * size;
    this.used = Math.ceil((this.avail + 6 + 2 * size) / 4) * 4;
  }

  private o(gpa: number): number {
    return gpa - MEM_BASE;
  }

  /** Program the queue registers and set QueueReady. */
  setup(dev: DeviceEmulator): void {
    wr(dev, R.QUEUE_SEL, this.index);
    wr(dev, R.QUEUE_NUM, this.size);
    wr(dev, R.QUEUE_DESC_LOW, this.desc);
    wr(dev, R.QUEUE_DESC_HIGH, 0);
    wr(dev, R.QUEUE_AVAIL_LOW, this.avail);
    wr(dev, R.QUEUE_AVAIL_HIGH, 0);
    wr(dev, R.QUEUE_USED_LOW, this.used);
    wr(dev, R.QUEUE_USED_HIGH, 0);
    wr(dev, R.QUEUE_READY, 1);
  }

  writeDesc(i: number, d: DescSpec, next: number | undefined): void {
    const v = this.env.view();
    const at = this.o(this.desc + 16 * i);
    v.setBigUint64(at, BigInt(d.addr), true);
    v.setUint32(at + 8, d.len, true);
    const flags = d.flags ?? ((d.write ? VIRTQ_DESC_F_WRITE : 0) | (next !== undefined ? VIRTQ_DESC_F_NEXT : 0));
    v.setUint16(at + 12, flags, true);
    v.setUint16(at + 14, d.next ?? next ?? 0, true);
  }

  /** Put a chain in the descriptor table (consecutive slots, wrapping) and make it available. */
  post(chain: DescSpec[]): number {
    const head = this.nextDesc;
    chain.forEach((d, k) => {
      const i = (head + k) % this.size;
      this.writeDesc(i, d, k + 1 < chain.length ? (head + k + 1) % this.size : undefined);
    });
    this.nextDesc = (head + chain.length) % this.size;
    this.makeAvailable(head);
    return head;
  }

  /** A chain whose single descriptor points at an indirect table at `table`. */
  postIndirect(table: number, chain: DescSpec[]): number {
    const v = this.env.view();
    chain.forEach((d, k) => {
      const at = this.o(table + 16 * k);
      v.setBigUint64(at, BigInt(d.addr), true);
      v.setUint32(at + 8, d.len, true);
      v.setUint16(at + 12, d.flags ?? ((d.write ? VIRTQ_DESC_F_WRITE : 0) | (k + 1 < chain.length ? VIRTQ_DESC_F_NEXT : 0)), true);
      v.setUint16(at + 14, d.next ?? (k + 1 < chain.length ? k + 1 : 0), true);
    });
    return this.post([{ addr: table, len: 16 * chain.length, flags: VIRTQ_DESC_F_INDIRECT }]);
  }

  makeAvailable(head: number): void {
    const v = this.env.view();
    v.setUint16(this.o(this.avail + 4 + 2 * (this.availIdx % this.size)), head, true);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    v.setUint16(this.o(this.avail + 2), this.availIdx, true);
  }

  /** Force both rings' indices (to test wrap-around) before the queue goes live. */
  startAt(idx: number): void {
    const v = this.env.view();
    this.availIdx = this.usedSeen = idx & 0xffff;
    v.setUint16(this.o(this.avail + 2), this.availIdx, true);
    v.setUint16(this.o(this.used + 2), this.usedSeen, true);
  }

  set availFlags(f: number) {
    this.env.view().setUint16(this.o(this.avail), f, true);
  }

  set usedEvent(idx: number) {
    this.env.view().setUint16(this.o(this.avail + 4 + 2 * this.size), idx, true);
  }

  get availEvent(): number {
    return this.env.view().getUint16(this.o(this.used + 4 + 8 * this.size), true);
  }

  get usedIdx(): number {
    return this.env.view().getUint16(this.o(this.used + 2), true);
  }

  /** Completions since the last call: [id, len]. */
  takeUsed(): [number, number][] {
    const v = this.env.view();
    const out: [number, number][] = [];
    while (this.usedSeen !== this.usedIdx) {
      const at = this.o(this.used + 4 + 8 * (this.usedSeen % this.size));
      out.push([v.getUint32(at, true), v.getUint32(at + 4, true)]);
      this.usedSeen = (this.usedSeen + 1) & 0xffff;
    }
    return out;
  }
}

/** Reset, negotiate `features` (VERSION_1 included by the caller) and reach FEATURES_OK. */
export function negotiate(dev: DeviceEmulator, features: bigint): number {
  wr(dev, R.STATUS, 0);
  wr(dev, R.STATUS, S.ACKNOWLEDGE);
  wr(dev, R.STATUS, S.ACKNOWLEDGE | S.DRIVER);
  wr(dev, R.DRIVER_FEATURES_SEL, 0);
  wr(dev, R.DRIVER_FEATURES, Number(features & 0xffff_ffffn));
  wr(dev, R.DRIVER_FEATURES_SEL, 1);
  wr(dev, R.DRIVER_FEATURES, Number(features >> 32n));
  wr(dev, R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
  return rd(dev, R.STATUS);
}

export function driverOk(dev: DeviceEmulator): void {
  wr(dev, R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
}

export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

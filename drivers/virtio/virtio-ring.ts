// The driver side of a split virtqueue (Linux drivers/virtio/virtio_ring.c, split layout only): ring
// memory from the kernel's page allocator, a free list of descriptors, adding scatter-gather buffers,
// kicking with notification suppression (used.flags or EVENT_IDX's avail_event), collecting used
// buffers, and callback suppression (avail.flags or used_event).
import type { Cpu, MmImpl } from '../../core/index';
import { Errno } from '../../core/index';
import {
  splitQueueSizes,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_ALIGN,
  VIRTQ_USED_F_NO_NOTIFY,
  vringNeedEvent,
} from './virtio-abi';

/** One piece of a buffer (guest physical address and length). */
export interface Sg {
  readonly addr: bigint;
  readonly len: number;
}

/** A used buffer: the token it was added with and how many bytes the device wrote. */
export interface UsedBuf<T> {
  readonly token: T;
  readonly len: number;
}

export interface VringOptions {
  /** EVENT_IDX was negotiated. */
  eventIdx: boolean;
  /** Writes QueueNotify for this queue. */
  notify: () => Promise<void>;
  /** Used buffers arrived (from the device interrupt). */
  callback?: () => void;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

export class Vring<T = unknown> {
  readonly desc: bigint;
  readonly avail: bigint;
  readonly used: bigint;
  /** Bytes of ring memory (one allocation). */
  readonly bytes: number;
  private freeHead = 0;
  numFree: number;
  /** avail idx as the driver has published it (shadow). */
  private availIdx = 0;
  /** Used entries consumed so far. */
  private lastUsed = 0;
  /** avail idx at the last kick decision (EVENT_IDX). */
  private kicked = 0;
  private readonly tokens: (T | undefined)[];
  private readonly chainLen: Uint16Array;
  private readonly next: Uint16Array;
  /** Set when the device was found broken: no more adds or kicks. */
  broken = false;
  private cbDisabled = false;

  constructor(
    private readonly cpu: Cpu,
    private readonly mm: MmImpl,
    readonly index: number,
    readonly num: number,
    private readonly opts: VringOptions,
  ) {
    if (num < 1 || num > 32768 || (num & (num - 1)) !== 0) throw new Errno('EINVAL', `virtqueue ${index}: size ${num} is not a power of 2 up to 32768`);
    const s = splitQueueSizes(num);
    // One zeroed, physically contiguous block: descriptors, then the avail ring, then the used ring.
    const usedOff = align(s.desc + s.avail + 2, VIRTQ_USED_ALIGN);
    this.bytes = usedOff + s.used + 2;
    this.desc = mm.pages.allocExact(this.bytes, { zero: true });
    this.avail = this.desc + BigInt(s.desc);
    this.used = this.desc + BigInt(usedOff);
    this.tokens = new Array<T | undefined>(num);
    this.chainLen = new Uint16Array(num);
    this.next = new Uint16Array(num);
    for (let i = 0; i < num; i++) this.next[i] = (i + 1) % num;
    this.numFree = num;
  }

  /** Give the ring memory back (after the device stopped using the queue). */
  free(): void {
    this.mm.pages.freeRange(this.desc, Math.ceil(this.bytes / 4096));
  }

  /**
   * virtqueue_add_sgs: `out` device-readable then `inn` device-writable pieces as one chain. Returns
   * false when there are not enough free descriptors (the caller waits for used buffers).
   */
  add(out: readonly Sg[], inn: readonly Sg[], token: T): boolean {
    if (this.broken) throw new Errno('EIO', `virtqueue ${this.index} is broken`);
    const n = out.length + inn.length;
    if (n === 0) throw new Errno('EINVAL', 'empty buffer');
    if (n > this.numFree) return false;
    const head = this.freeHead;
    let i = head;
    let last = head;
    const cpu = this.cpu;
    for (let k = 0; k < n; k++) {
      const sg = k < out.length ? out[k]! : inn[k - out.length]!;
      const at = this.desc + BigInt(16 * i);
      cpu.write64(at, sg.addr);
      cpu.write32(at + 8n, sg.len);
      const flags = (k < out.length ? 0 : VIRTQ_DESC_F_WRITE) | (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
      cpu.write16(at + 12n, flags);
      cpu.write16(at + 14n, this.next[i]!);
      last = i;
      i = this.next[i]!;
    }
    this.freeHead = i;
    this.numFree -= n;
    this.tokens[head] = token;
    this.chainLen[head] = n;
    void last;
    // Publish: ring entry first, then the index (the device reads idx, then the entry).
    cpu.write16(this.avail + 4n + BigInt(2 * (this.availIdx % this.num)), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    cpu.write16(this.avail + 2n, this.availIdx);
    return true;
  }

  /** virtqueue_kick_prepare: whether the device wants to hear about what was added since the last kick. */
  kickPrepare(): boolean {
    const old = this.kicked;
    const now = this.availIdx;
    this.kicked = now;
    if (old === now) return false;
    if (this.opts.eventIdx) {
      const availEvent = this.cpu.read16(this.used + 4n + BigInt(8 * this.num));
      return vringNeedEvent(availEvent, now, old);
    }
    return (this.cpu.read16(this.used) & VIRTQ_USED_F_NO_NOTIFY) === 0;
  }

  /** virtqueue_kick. */
  async kick(): Promise<void> {
    if (this.broken) return;
    if (this.kickPrepare()) await this.opts.notify();
  }

  /** Whether used buffers are waiting. */
  hasUsed(): boolean {
    return !this.broken && this.cpu.read16(this.used + 2n) !== this.lastUsed;
  }

  /** virtqueue_get_buf: the next used buffer, its descriptors back on the free list. */
  getBuf(): UsedBuf<T> | undefined {
    if (!this.hasUsed()) return undefined;
    const cpu = this.cpu;
    const at = this.used + 4n + BigInt(8 * (this.lastUsed % this.num));
    const id = cpu.read32(at);
    const len = cpu.read32(at + 4n);
    if (id >= this.num || this.tokens[id] === undefined) {
      // The device returned something we never gave it: stop trusting the queue (BAD_RING).
      this.broken = true;
      throw new Errno('EIO', `virtqueue ${this.index}: device used id ${id}, which is not in use`);
    }
    this.lastUsed = (this.lastUsed + 1) & 0xffff;
    const token = this.tokens[id]!;
    this.tokens[id] = undefined;
    // Walk the chain back onto the free list.
    let i = id;
    for (let k = 1; k < this.chainLen[id]!; k++) i = this.next[i]!;
    this.next[i] = this.freeHead;
    this.freeHead = id;
    this.numFree += this.chainLen[id]!;
    if (this.opts.eventIdx && !this.cbDisabled) cpu.write16(this.avail + 4n + BigInt(2 * this.num), this.lastUsed);
    return { token, len };
  }

  /** virtqueue_disable_cb: ask the device not to interrupt for this queue. */
  disableCb(): void {
    this.cbDisabled = true;
    if (!this.opts.eventIdx) this.cpu.write16(this.avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
  }

  /** virtqueue_enable_cb: interrupts again; true when nothing arrived meanwhile (else poll again). */
  enableCb(): boolean {
    this.cbDisabled = false;
    if (this.opts.eventIdx) this.cpu.write16(this.avail + 4n + BigInt(2 * this.num), this.lastUsed);
    else this.cpu.write16(this.avail, 0);
    return !this.hasUsed();
  }

  /** vring_interrupt: run the callback if used buffers are there. */
  interrupt(): void {
    if (this.hasUsed()) this.opts.callback?.();
  }

  /** Tokens still owned by the device (for teardown). */
  detachUnused(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.num; i++) {
      const t = this.tokens[i];
      if (t !== undefined) out.push(t);
      this.tokens[i] = undefined;
    }
    return out;
  }
}

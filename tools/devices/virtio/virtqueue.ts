// The device side of a split virtqueue (virtio 1.2 §2.7): descriptor chains (direct and indirect)
// taken from the available ring, completions put on the used ring, and notification suppression
// (flags, or EVENT_IDX). Everything the guest wrote is untrusted: a malformed chain is a
// VirtqueueError (the transport turns it into DEVICE_NEEDS_RESET), never a crash or a hang, and no
// allocation is sized by a guest value before it was checked against the queue size.
import type { GuestMemory } from '../device';
import {
  VIRTQ_AVAIL_ALIGN,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_ALIGN,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_DESC_SIZE,
  VIRTQ_MAX_SIZE,
  VIRTQ_USED_ALIGN,
  vringNeedEvent,
} from '../../../drivers/virtio/index';

/** A guest-built structure the device cannot accept. */
export class VirtqueueError extends Error {
  constructor(
    readonly queue: number,
    message: string,
  ) {
    super(`virtqueue ${queue}: ${message}`);
    this.name = 'VirtqueueError';
  }
}

/** One buffer of a chain. */
export interface Segment {
  readonly addr: bigint;
  readonly len: number;
}

/** A descriptor chain popped from the available ring. */
export interface DescChain {
  /** Head descriptor index: the id the used ring reports. */
  readonly head: number;
  /** Device-readable buffers, in order. */
  readonly readable: Segment[];
  /** Device-writable buffers, in order (all after the readable ones). */
  readonly writable: Segment[];
  readonly readableBytes: number;
  readonly writableBytes: number;
}

/** Largest total length of a chain (the spec forbids chains over 2^32 bytes). */
const MAX_CHAIN_BYTES = 2 ** 32;

export class SplitQueue {
  /** Queue Size the driver chose (0 until set). */
  size = 0;
  ready = false;
  descAddr = 0n;
  availAddr = 0n;
  usedAddr = 0n;
  /** Next available-ring index to consume (free-running 16-bit). */
  lastAvail = 0;
  /** Next used-ring index to produce (free-running 16-bit). */
  usedIdx = 0;
  /** Negotiated ring features. */
  indirect = false;
  eventIdx = false;
  /** used idx at the last notification decision (for EVENT_IDX). */
  private signalledUsed = 0;
  private readonly desc = new Uint8Array(VIRTQ_DESC_SIZE);
  private readonly descView = new DataView(this.desc.buffer);

  constructor(
    readonly index: number,
    readonly maxSize: number,
  ) {
    if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > VIRTQ_MAX_SIZE || (maxSize & (maxSize - 1)) !== 0) {
      throw new RangeError(`queue size maximum ${maxSize} must be a power of 2 up to ${VIRTQ_MAX_SIZE}`);
    }
  }

  /** Forget everything (device or queue reset). */
  reset(): void {
    this.size = 0;
    this.ready = false;
    this.descAddr = this.availAddr = this.usedAddr = 0n;
    this.lastAvail = this.usedIdx = this.signalledUsed = 0;
    this.indirect = this.eventIdx = false;
  }

  /**
   * Whether the configuration the driver wrote can go live (QueueReady = 1): a power-of-2 size up
   * to the maximum and the areas aligned as §2.7 requires. Returns the reason when it cannot.
   */
  checkConfig(): string | undefined {
    const n = this.size;
    if (n === 0 || n > this.maxSize || (n & (n - 1)) !== 0) return `queue size ${n} (must be a power of 2, 1..${this.maxSize})`;
    if (this.descAddr % BigInt(VIRTQ_DESC_ALIGN) !== 0n) return `descriptor area 0x${this.descAddr.toString(16)} is not ${VIRTQ_DESC_ALIGN}-byte aligned`;
    if (this.availAddr % BigInt(VIRTQ_AVAIL_ALIGN) !== 0n) return `driver area 0x${this.availAddr.toString(16)} is not ${VIRTQ_AVAIL_ALIGN}-byte aligned`;
    if (this.usedAddr % BigInt(VIRTQ_USED_ALIGN) !== 0n) return `device area 0x${this.usedAddr.toString(16)} is not ${VIRTQ_USED_ALIGN}-byte aligned`;
    return undefined;
  }

  /** Go live: the rings start where the driver's freshly zeroed memory says (idx 0). */
  enable(mem: GuestMemory): void {
    this.ready = true;
    this.lastAvail = mem.read16(this.availAddr + 2n);
    this.usedIdx = mem.read16(this.usedAddr + 2n);
    this.signalledUsed = this.usedIdx;
  }

  private availIdx(mem: GuestMemory): number {
    return mem.read16(this.availAddr + 2n);
  }

  /** Entries the driver made available that the device has not taken yet. */
  pending(mem: GuestMemory): number {
    const n = (this.availIdx(mem) - this.lastAvail) & 0xffff;
    if (n > this.size) throw new VirtqueueError(this.index, `available index moved ${n} entries ahead of the device (queue size ${this.size})`);
    return n;
  }

  /** Take the next available chain, or undefined when the ring is empty. */
  pop(mem: GuestMemory): DescChain | undefined {
    if (!this.ready) return undefined;
    if (this.pending(mem) === 0) return undefined;
    const slot = this.lastAvail % this.size;
    const head = mem.read16(this.availAddr + 4n + BigInt(2 * slot));
    const chain = this.walk(mem, head);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    // Ask to be notified again once the driver goes past what we have consumed.
    if (this.eventIdx) mem.write16(this.usedAddr + 4n + BigInt(8 * this.size), this.lastAvail);
    return chain;
  }

  private readDesc(mem: GuestMemory, at: bigint): { addr: bigint; len: number; flags: number; next: number } {
    mem.read(at, this.desc);
    const d = this.descView;
    return { addr: d.getBigUint64(0, true), len: d.getUint32(8, true), flags: d.getUint16(12, true), next: d.getUint16(14, true) };
  }

  /** Follow a chain from `head`, with every rule of §2.7.5 checked. */
  private walk(mem: GuestMemory, head: number): DescChain {
    const q = this.index;
    if (head >= this.size) throw new VirtqueueError(q, `head descriptor ${head} is outside the table of ${this.size}`);
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    let rBytes = 0;
    let wBytes = 0;
    let table = this.descAddr;
    let tableLen = this.size;
    let inIndirect = false;
    let i = head;
    // A chain visits at most Queue Size descriptors (direct and indirect together): that bounds loops.
    for (let visited = 0; ; visited++) {
      if (visited >= this.size + (inIndirect ? tableLen : 0)) throw new VirtqueueError(q, `descriptor chain from ${head} is longer than the queue (a loop?)`);
      const d = this.readDesc(mem, table + BigInt(i * VIRTQ_DESC_SIZE));
      if (d.flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.indirect) throw new VirtqueueError(q, `descriptor ${i} is indirect but VIRTIO_F_INDIRECT_DESC was not negotiated`);
        if (inIndirect) throw new VirtqueueError(q, `indirect descriptor ${i} inside an indirect table`);
        if (d.flags & VIRTQ_DESC_F_NEXT) throw new VirtqueueError(q, `descriptor ${i} sets both INDIRECT and NEXT`);
        if (d.len === 0 || d.len % VIRTQ_DESC_SIZE !== 0) throw new VirtqueueError(q, `indirect table of ${d.len} bytes is not a whole number of descriptors`);
        const n = d.len / VIRTQ_DESC_SIZE;
        if (n > this.size) throw new VirtqueueError(q, `indirect table of ${n} descriptors exceeds the queue size ${this.size}`);
        table = d.addr;
        tableLen = n;
        inIndirect = true;
        i = 0;
        continue;
      }
      if (d.flags & VIRTQ_DESC_F_WRITE) {
        writable.push({ addr: d.addr, len: d.len });
        wBytes += d.len;
      } else {
        if (writable.length > 0) throw new VirtqueueError(q, `device-readable descriptor ${i} follows a device-writable one`);
        readable.push({ addr: d.addr, len: d.len });
        rBytes += d.len;
      }
      if (rBytes + wBytes > MAX_CHAIN_BYTES) throw new VirtqueueError(q, `descriptor chain from ${head} is longer than 2^32 bytes`);
      if (!(d.flags & VIRTQ_DESC_F_NEXT)) break;
      if (d.next >= tableLen) throw new VirtqueueError(q, `descriptor ${i} links to ${d.next}, outside its table of ${tableLen}`);
      i = d.next;
    }
    return { head, readable, writable, readableBytes: rBytes, writableBytes: wBytes };
  }

  /** Return a chain to the driver: `written` bytes went into its writable buffers. */
  push(mem: GuestMemory, head: number, written: number): void {
    const slot = this.usedIdx % this.size;
    const at = this.usedAddr + 4n + BigInt(8 * slot);
    mem.write32(at, head);
    mem.write32(at + 4n, written);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    mem.write16(this.usedAddr + 2n, this.usedIdx);
  }

  /**
   * After one or more pushes: whether the driver wants a used-buffer notification (EVENT_IDX's
   * used_event, else the NO_INTERRUPT flag).
   */
  shouldNotify(mem: GuestMemory): boolean {
    const old = this.signalledUsed;
    const next = this.usedIdx;
    this.signalledUsed = next;
    if (old === next) return false;
    if (this.eventIdx) {
      const usedEvent = mem.read16(this.availAddr + 4n + BigInt(2 * this.size));
      return vringNeedEvent(usedEvent, next, old);
    }
    return (mem.read16(this.availAddr) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /** Copy the readable part of a chain (at most `limit` bytes) into one buffer. */
  static gather(mem: GuestMemory, chain: DescChain, limit = chain.readableBytes): Uint8Array {
    const out = new Uint8Array(Math.min(limit, chain.readableBytes));
    let off = 0;
    for (const s of chain.readable) {
      if (off >= out.length) break;
      const n = Math.min(s.len, out.length - off);
      mem.read(s.addr, out.subarray(off, off + n));
      off += n;
    }
    return out;
  }

  /** Copy `data` into the writable part of a chain; returns the bytes written. */
  static scatter(mem: GuestMemory, chain: DescChain, data: Uint8Array): number {
    let off = 0;
    for (const s of chain.writable) {
      if (off >= data.length) break;
      const n = Math.min(s.len, data.length - off);
      mem.write(s.addr, data.subarray(off, off + n));
      off += n;
    }
    return off;
  }
}

// Message queues: a ring of `depth` slots of `maxSize` bytes with not-full / not-empty thresholds
// and TX/RX VIRQ sources, data copied from and to the caller's memory (spec §7; hyp/ipc/msgqueue).
import { GhError } from '../abi/errors';
import { ObjectType } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import { VirqSource } from '../irq/virq-source';
import { KObject } from '../objects/kobject';
import type { Partition } from '../objects/partition';
import type { Vcpu } from '../vm/vcpu';

/** Depth must be below this (MSGQUEUE_MAX_QUEUE_DEPTH = 256). */
export const MSGQUEUE_MAX_QUEUE_DEPTH = 256;
/** Message size must be below this (MSGQUEUE_MAX_MAX_MSG_SIZE = 1024). */
export const MSGQUEUE_MAX_MAX_MSG_SIZE = 1024;
/** count_t -1: leave the threshold (or delay) unchanged. */
export const THRESHOLD_UNCHANGED = 0xffff_ffff;
/** count_t -2: not-empty threshold = queue depth. */
export const THRESHOLD_MAXIMUM = 0xffff_fffe;
export const DELAY_UNCHANGED = 0xffff_ffff;

class MsgqSource extends VirqSource {
  constructor(
    trigger: 'msgqueue-tx' | 'msgqueue-rx',
    private readonly check: () => boolean,
  ) {
    super(trigger);
  }
  checkPending(): boolean {
    return this.check();
  }
}

export class Msgqueue extends KObject {
  readonly type = ObjectType.MSGQUEUE;
  depth = 0;
  maxSize = 0;
  private buf: Uint8Array | null = null;
  private sizes: Uint16Array | null = null;
  private head = 0;
  private tail = 0;
  count = 0;
  notFullThd = 0;
  notEmptyThd = 0;
  readonly sendSource = new MsgqSource('msgqueue-tx', () => this.count <= this.notFullThd);
  readonly rcvSource = new MsgqSource('msgqueue-rx', () => this.count >= this.notEmptyThd);

  constructor(hv: Hypervisor, partition: Partition) {
    super(hv, partition);
  }

  configure(maxSize: number, depth: number): number {
    if (depth !== 0 && maxSize !== 0 && depth < MSGQUEUE_MAX_QUEUE_DEPTH && maxSize < MSGQUEUE_MAX_MAX_MSG_SIZE) {
      this.maxSize = maxSize;
      this.depth = depth;
      return GhError.OK;
    }
    return GhError.ARGUMENT_INVALID;
  }

  protected override onActivate(): number {
    if (this.depth === 0 || this.maxSize === 0) return GhError.OBJECT_CONFIG;
    // Each slot holds a message and its 8-byte length, allocated from the partition.
    if (!this.chargeHeap((this.maxSize + 8) * this.depth)) return GhError.NOMEM;
    this.buf = new Uint8Array(this.maxSize * this.depth);
    this.sizes = new Uint16Array(this.depth);
    this.count = this.head = this.tail = 0;
    this.notFullThd = this.depth - 1;
    this.notEmptyThd = 1;
    return GhError.OK;
  }

  protected override onDeactivate(): void {
    this.buf = null;
    this.sizes = null;
    this.sendSource.vic?.unbind(this.sendSource);
    this.rcvSource.vic?.unbind(this.rcvSource);
  }

  /** not_full after the last send. */
  notFull = true;
  /** Size of the last received message. */
  lastSize = 0;

  /**
   * msgqueue_send. Unlike the snapshot's code (which drops a failed copy's error and reports OK
   * without queuing), a zero-length or oversized message is ARGUMENT_SIZE and an unreadable buffer
   * ADDR_INVALID, as the API documentation promises; nothing is queued in either case.
   */
  send(v: Vcpu, size: number, addr: number, push: boolean): number {
    if (this.count === this.depth) {
      this.notFull = false;
      return GhError.MSGQUEUE_FULL;
    }
    this.notFull = true;
    if (size === 0 || size > this.maxSize) return GhError.ARGUMENT_SIZE;
    const err = this.hv.copyFromGuest(v, addr, this.buf!, this.tail * this.maxSize, size);
    if (err !== GhError.OK) return err;
    this.sizes![this.tail] = size;
    this.count++;
    this.tail = this.tail + 1 === this.depth ? 0 : this.tail + 1;
    // Crossing up to the not-empty threshold (or a push) wakes the receiver.
    if (push || this.count === this.notEmptyThd) {
      this.hv.virqAssert(this.rcvSource, false);
      const host = this.onReceivable;
      if (host) this.hv.defer(host);
    }
    this.notFull = this.count !== this.depth;
    return GhError.OK;
  }

  /**
   * msgqueue_receive. A message larger than the buffer is ARGUMENT_SIZE (the copy-out check of
   * useraccess_copy_to_guest_va) and stays queued, as does one whose buffer is not writable.
   */
  receive(v: Vcpu, addr: number, bufSize: number): number {
    if (this.count === 0) return GhError.MSGQUEUE_EMPTY;
    const size = this.sizes![this.head]!;
    if (size > bufSize) return GhError.ARGUMENT_SIZE;
    const err = this.hv.copyToGuest(v, addr, this.buf!, this.head * this.maxSize, size);
    if (err !== GhError.OK) return err;
    this.lastSize = size;
    this.count--;
    this.head = this.head + 1 === this.depth ? 0 : this.head + 1;
    // Falling to the not-full threshold wakes the sender.
    if (this.count === this.notFullThd) this.hv.virqAssert(this.sendSource, false);
    return GhError.OK;
  }

  /**
   * A hypervisor-side receiver (a device link to a stub VM): told, as an event, when a send
   * crosses the not-empty threshold, instead of a VIRQ.
   */
  onReceivable: (() => void) | undefined;

  /** A send from the hypervisor itself (no guest buffer): same rules as `send`. */
  sendHost(bytes: Uint8Array, push: boolean): number {
    if (this.count === this.depth) return GhError.MSGQUEUE_FULL;
    if (bytes.length === 0 || bytes.length > this.maxSize) return GhError.ARGUMENT_SIZE;
    this.buf!.set(bytes, this.tail * this.maxSize);
    this.sizes![this.tail] = bytes.length;
    this.count++;
    this.tail = this.tail + 1 === this.depth ? 0 : this.tail + 1;
    if (push || this.count === this.notEmptyThd) this.hv.virqAssert(this.rcvSource, false);
    return GhError.OK;
  }

  /** A receive by the hypervisor itself: the oldest message, or undefined when empty. */
  receiveHost(): Uint8Array | undefined {
    if (this.count === 0) return undefined;
    const size = this.sizes![this.head]!;
    const out = this.buf!.slice(this.head * this.maxSize, this.head * this.maxSize + size);
    this.count--;
    this.head = this.head + 1 === this.depth ? 0 : this.head + 1;
    if (this.count === this.notFullThd) this.hv.virqAssert(this.sendSource, false);
    return out;
  }

  flush(): void {
    if (this.count !== 0) {
      this.hv.virqAssert(this.sendSource, false);
      this.hv.virqClear(this.rcvSource);
    }
    this.buf!.fill(0);
    this.count = this.head = this.tail = 0;
  }

  configureSend(thd: number, delay: number): number {
    if (delay !== DELAY_UNCHANGED) return GhError.UNIMPLEMENTED;
    if (thd >= this.depth && thd !== THRESHOLD_UNCHANGED) return GhError.ARGUMENT_INVALID;
    if (thd !== THRESHOLD_UNCHANGED) {
      this.notFullThd = thd;
      if (this.count <= thd) this.hv.virqAssert(this.sendSource, false);
      else this.hv.virqClear(this.sendSource);
    }
    return GhError.OK;
  }

  configureReceive(thd: number, delay: number): number {
    if (delay !== DELAY_UNCHANGED) return GhError.UNIMPLEMENTED;
    if (thd === 0 || (thd > this.depth && thd !== THRESHOLD_MAXIMUM && thd !== THRESHOLD_UNCHANGED)) return GhError.ARGUMENT_INVALID;
    if (thd === THRESHOLD_MAXIMUM) {
      // As the code does: set to the depth without re-evaluating the VIRQ.
      this.notEmptyThd = this.depth;
    } else if (thd !== THRESHOLD_UNCHANGED) {
      this.notEmptyThd = thd;
      if (this.count >= thd) this.hv.virqAssert(this.rcvSource, false);
      else this.hv.virqClear(this.rcvSource);
    }
    return GhError.OK;
  }
}

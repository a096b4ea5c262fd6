// Doorbells: 64 flag bits with enable and auto-acknowledge masks and one VIRQ source that is
// asserted while flags & enable is non-zero (spec §8; hyp/ipc/doorbell).
import { GhError } from '../abi/errors';
import { ObjectType } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import { VirqSource } from '../irq/virq-source';
import { KObject } from '../objects/kobject';
import type { Partition } from '../objects/partition';

const ALL = 0xffff_ffff_ffff_ffffn;

class DoorbellSource extends VirqSource {
  constructor(private readonly db: Doorbell) {
    super('doorbell');
  }
  checkPending(): boolean {
    return (this.db.flags & this.db.enableMask) !== 0n;
  }
}

export class Doorbell extends KObject {
  readonly type = ObjectType.DOORBELL;
  flags = 0n;
  enableMask = ALL;
  ackMask = 0n;
  readonly source = new DoorbellSource(this);

  constructor(hv: Hypervisor, partition: Partition) {
    super(hv, partition);
  }

  protected override onDeactivate(): void {
    this.source.vic?.unbind(this.source);
  }

  /** doorbell_send: returns the old flags. */
  send(newFlags: bigint): bigint {
    const old = this.flags;
    this.flags |= newFlags;
    // Level assert while enabled flags are set; otherwise only an edge-configured VIRQ fires.
    const edgeOnly = (this.flags & this.enableMask) === 0n;
    this.hv.virqAssert(this.source, edgeOnly);
    if (!edgeOnly) this.flags &= ~this.ackMask & ALL;
    return old;
  }

  /** doorbell_receive: returns the old flags and clears `clear`; ARGUMENT_INVALID for clear = 0. */
  receive(clear: bigint): { err: number; old: bigint } {
    if (clear === 0n) return { err: GhError.ARGUMENT_INVALID, old: 0n };
    const old = this.flags;
    this.flags &= ~clear & ALL;
    return { err: GhError.OK, old };
  }

  reset(): void {
    this.hv.virqClear(this.source);
    this.flags = 0n;
    this.ackMask = 0n;
    this.enableMask = ALL;
  }

  mask(enable: bigint, ack: bigint): void {
    const was = (this.flags & this.enableMask) !== 0n;
    const now = (this.flags & enable) !== 0n;
    this.enableMask = enable;
    this.ackMask = ack;
    if (was && !now) this.hv.virqClear(this.source);
    else if (!was && now) {
      this.hv.virqAssert(this.source, false);
      this.flags &= ~this.ackMask & ALL;
    } else if (was && now) this.flags &= ~this.ackMask & ALL;
  }
}

// Doorbells: 64 flag bits with enable and auto-acknowledge masks and one VIRQ source that is
// asserted while flags & enable is non-zero (spec §8; hyp/ipc/doorbell). The 64-bit words are
// kept as 32-bit halves so a send or receive never builds a bigint.
import { GhError } from '../abi/errors';
import { ObjectType } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import { VirqSource } from '../irq/virq-source';
import { KObject } from '../objects/kobject';
import type { Partition } from '../objects/partition';

class DoorbellSource extends VirqSource {
  constructor(private readonly db: Doorbell) {
    super('doorbell');
  }
  /**
   * doorbell_handle_virq_check_pending (hyp/ipc/doorbell/src/doorbell.c): an assertion the guest has
   * not acknowledged yet stays pending whatever the flags say now (send auto-acknowledges the
   * ack_mask bits right after a level assert, so the flags alone would lose it); otherwise the level
   * holds while flags & enable_mask is non-zero.
   */
  checkPending(reasserted: boolean): boolean {
    return reasserted || this.db.asserted();
  }
}

export class Doorbell extends KObject {
  readonly type = ObjectType.DOORBELL;
  flagsLo = 0;
  flagsHi = 0;
  enableLo = 0xffff_ffff;
  enableHi = 0xffff_ffff;
  ackLo = 0;
  ackHi = 0;
  /** The flags before the last send / receive (their return value). */
  oldLo = 0;
  oldHi = 0;
  readonly source = new DoorbellSource(this);

  constructor(hv: Hypervisor, partition: Partition) {
    super(hv, partition);
  }

  get flags(): bigint {
    return (BigInt(this.flagsHi) << 32n) | BigInt(this.flagsLo);
  }

  asserted(): boolean {
    return (this.flagsLo & this.enableLo) !== 0 || (this.flagsHi & this.enableHi) !== 0;
  }

  protected override onDeactivate(): void {
    this.source.vic?.unbind(this.source);
  }

  private autoAck(): void {
    this.flagsLo = (this.flagsLo & ~this.ackLo) >>> 0;
    this.flagsHi = (this.flagsHi & ~this.ackHi) >>> 0;
  }

  /** doorbell_send: flags |= new; the old flags are left in oldLo/oldHi. */
  send(lo: number, hi: number): void {
    this.oldLo = this.flagsLo;
    this.oldHi = this.flagsHi;
    this.flagsLo = (this.flagsLo | lo) >>> 0;
    this.flagsHi = (this.flagsHi | hi) >>> 0;
    // Level assert while enabled flags are set; otherwise only an edge-configured VIRQ fires.
    const level = this.asserted();
    this.hv.virqAssert(this.source, !level);
    if (level) this.autoAck();
  }

  /** doorbell_receive: clear `clear`, old flags in oldLo/oldHi; ARGUMENT_INVALID for clear = 0. */
  receive(lo: number, hi: number): number {
    if (lo === 0 && hi === 0) return GhError.ARGUMENT_INVALID;
    this.oldLo = this.flagsLo;
    this.oldHi = this.flagsHi;
    this.flagsLo = (this.flagsLo & ~lo) >>> 0;
    this.flagsHi = (this.flagsHi & ~hi) >>> 0;
    return GhError.OK;
  }

  reset(): void {
    this.hv.virqClear(this.source);
    this.flagsLo = this.flagsHi = 0;
    this.ackLo = this.ackHi = 0;
    this.enableLo = this.enableHi = 0xffff_ffff;
  }

  mask(enLo: number, enHi: number, ackLo: number, ackHi: number): void {
    const was = this.asserted();
    this.enableLo = enLo;
    this.enableHi = enHi;
    this.ackLo = ackLo;
    this.ackHi = ackHi;
    const now = this.asserted();
    if (was && !now) this.hv.virqClear(this.source);
    else if (!was && now) {
      this.hv.virqAssert(this.source, false);
      this.autoAck();
    } else if (was && now) this.autoAck();
  }
}

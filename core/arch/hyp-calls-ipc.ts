// Typed wrappers: doorbells and message queues (spec §7, §8). Queue full/empty are expected outcomes
// and come back as data; every other failure throws HypervisorError.
import { GH_ERROR, HypervisorError } from './hyp-error';
import { HypercallInvoker, bool, type CapId, type Ipa } from './hypercall-abi';
import { RES1 } from './hyp-calls-object';

/** msgqueue_send flags bit 0: deliver now, ignoring the not-empty threshold. */
export const GH_MSGQ_TX_PUSH = 1n;

/** The Virtual IRQ Info argument: VIRQ number (23:0) and, for private VIRQs, target vCPU (31:24). */
export function virqInfo(virq: number, vcpuIndex = 0): bigint {
  return BigInt(((vcpuIndex & 0xff) << 24) | (virq & 0xffffff)) & 0xffffffffn;
}

export type MsgqSendResult = { ok: true; notFull: boolean } | { ok: false; error: number };
export type MsgqReceiveResult = { ok: true; size: number; notEmpty: boolean } | { ok: false; error: number };

export class HypIpcCalls {
  constructor(private readonly h: HypercallInvoker) {}

  // ---- doorbell ----

  doorbellBindVirq(db: CapId, vic: CapId, virq: bigint): Promise<unknown> {
    return this.h.checked('doorbell_bind_virq', [db, vic, virq]);
  }

  doorbellUnbindVirq(db: CapId): Promise<unknown> {
    return this.h.checked('doorbell_unbind_virq', [db]);
  }

  /** Returns the flags before the OR. */
  async doorbellSend(db: CapId, newFlags: bigint): Promise<bigint> {
    const [old] = await this.h.checked('doorbell_send', [db, newFlags]);
    return old!;
  }

  /** Returns the flags before clearing `clear` (0 is ARG_INVAL). */
  async doorbellReceive(db: CapId, clear: bigint): Promise<bigint> {
    const [old] = await this.h.checked('doorbell_receive', [db, clear]);
    return old!;
  }

  doorbellReset(db: CapId): Promise<unknown> {
    return this.h.checked('doorbell_reset', [db]);
  }

  doorbellMask(db: CapId, enableMask: bigint, ackMask: bigint): Promise<unknown> {
    return this.h.checked('doorbell_mask', [db, enableMask, ackMask]);
  }

  // ---- message queues ----

  msgqueueBindSendVirq(mq: CapId, vic: CapId, virq: bigint): Promise<unknown> {
    return this.h.checked('msgqueue_bind_send_virq', [mq, vic, virq]);
  }

  msgqueueBindReceiveVirq(mq: CapId, vic: CapId, virq: bigint): Promise<unknown> {
    return this.h.checked('msgqueue_bind_receive_virq', [mq, vic, virq]);
  }

  msgqueueUnbindSendVirq(mq: CapId): Promise<unknown> {
    return this.h.checked('msgqueue_unbind_send_virq', [mq]);
  }

  msgqueueUnbindReceiveVirq(mq: CapId): Promise<unknown> {
    return this.h.checked('msgqueue_unbind_receive_virq', [mq]);
  }

  /** Send `size` bytes at guest address `buf`. MSGQUEUE_FULL comes back as `{ ok: false }`. */
  async msgqueueSend(mq: CapId, size: number, buf: Ipa, flags: bigint): Promise<MsgqSendResult> {
    const r = await this.h.raw('msgqueue_send', [mq, BigInt(size), buf, flags]);
    if (r.error === GH_ERROR.OK) return { ok: true, notFull: bool(r.out[0]) };
    if (r.error === GH_ERROR.MSGQUEUE_FULL) return { ok: false, error: r.error };
    throw new HypervisorError(r.error, 'msgqueue_send');
  }

  /** Receive into `bufSize` bytes at `buf`. MSGQUEUE_EMPTY comes back as `{ ok: false }`. */
  async msgqueueReceive(mq: CapId, buf: Ipa, bufSize: number): Promise<MsgqReceiveResult> {
    const r = await this.h.raw('msgqueue_receive', [mq, buf, BigInt(bufSize)]);
    if (r.error === GH_ERROR.OK) return { ok: true, size: Number(r.out[0]!), notEmpty: bool(r.out[1]) };
    if (r.error === GH_ERROR.MSGQUEUE_EMPTY) return { ok: false, error: r.error };
    throw new HypervisorError(r.error, 'msgqueue_receive');
  }

  msgqueueFlush(mq: CapId): Promise<unknown> {
    return this.h.checked('msgqueue_flush', [mq]);
  }

  /** `notFullThreshold` -1 leaves it unchanged; the delay must be -1 (anything else is UNIMPLEMENTED). */
  msgqueueConfigureSend(mq: CapId, notFullThreshold: number, notFullDelay = -1): Promise<unknown> {
    return this.h.checked('msgqueue_configure_send', [mq, BigInt(notFullThreshold), BigInt(notFullDelay), RES1]);
  }

  /** `notEmptyThreshold` -1 unchanged, -2 = depth; the delay must be -1. */
  msgqueueConfigureReceive(mq: CapId, notEmptyThreshold: number, notEmptyDelay = -1): Promise<unknown> {
    return this.h.checked('msgqueue_configure_receive', [mq, BigInt(notEmptyThreshold), BigInt(notEmptyDelay), RES1]);
  }

  /** create_info: bits 15:0 queue depth, 31:16 max message size. */
  msgqueueConfigure(mq: CapId, depth: number, maxMsgSize: number): Promise<unknown> {
    const info = (BigInt(maxMsgSize & 0xffff) << 16n) | BigInt(depth & 0xffff);
    return this.h.checked('msgqueue_configure', [mq, info]);
  }
}

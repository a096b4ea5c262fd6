// The RM RPC client (gh_rm_call and the RX path of rsc_mgr.c): requests fragmented into 240-byte msgq
// messages (PUSH on the last), 16-bit sequence numbers, replies matched by sequence and message ID and
// reassembled from continuation fragments, notifications as rxjs streams, and a timeout per call on the
// virtual clock. Malformed, unmatched or out-of-order input is logged and dropped, never thrown.
import { Observable, Subject, filter, map, share } from 'rxjs';
import { Errno, type ClockImpl, type MailboxImpl, type MboxChan, type MboxClient, type PrintkImpl } from '../../../core/index';
import type { GhMsgqData } from '../../mailbox/index';
import {
  RM_RPC_API,
  RM_RPC_HDR_SIZE,
  RM_RPC_MAX_FRAGMENTS,
  RM_RPC_MAX_MESSAGE,
  RM_RPC_MAX_REQUEST,
  RM_RPC_MSG_SIZE,
  RM_RPC_PAYLOAD_PER_FRAG,
  RM_RPC_TYPE,
  RmError,
  decodeRmHeader,
  encodeRmHeader,
} from './rm-abi';

/** Default wait for a reply: long for an RM, short enough that a hung one fails a call, not the kernel. */
export const RM_DEFAULT_TIMEOUT_NS = 5e9;

export interface RmNotification {
  msgId: number;
  payload: Uint8Array;
}

export interface RmRpcStats {
  calls: number;
  replies: number;
  notifications: number;
  /** Messages dropped: malformed, unmatched, or aborted reassemblies. */
  dropped: number;
  timeouts: number;
}

interface Pending {
  msgId: number;
  resolve(payload: Uint8Array): void;
  reject(e: Error): void;
}

interface Assembly {
  type: number;
  seq: number;
  msgId: number;
  fragments: number;
  received: number;
  parts: Uint8Array[];
  size: number;
  /** A reply nobody waits for: its continuations are swallowed quietly. */
  discard: boolean;
}

export interface GhRmServices {
  readonly mailbox: MailboxImpl;
  readonly clock: ClockImpl;
  readonly printk: PrintkImpl;
}

export class GhRmRpc {
  private chan: MboxChan<GhMsgqData> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextSeq = 1;
  private active: Assembly | undefined;
  private sendLock: Promise<unknown> = Promise.resolve();
  /** Settles when the call in progress has its reply (or failed): the next one may go. */
  private callLock: Promise<void> = Promise.resolve();
  private readonly notif = new Subject<RmNotification>();
  private closed = false;
  readonly stats: RmRpcStats = { calls: 0, replies: 0, notifications: 0, dropped: 0, timeouts: 0 };
  /** Every notification, hot and shared; completes when the RM link goes away. */
  readonly notifications$: Observable<RmNotification> = this.notif.pipe(share());

  /** The mailbox client to bind the RM's msgq channel with. */
  readonly client: MboxClient<GhMsgqData> = {
    name: 'gh_rsc_mgr',
    txBlock: true,
    rxCallback: (d) => this.onRx(d.data.subarray(0, d.length)),
  };

  constructor(
    private readonly s: GhRmServices,
    readonly name = 'gh_rsc_mgr',
    readonly timeoutNs = RM_DEFAULT_TIMEOUT_NS,
  ) {}

  attach(chan: MboxChan<GhMsgqData>): void {
    this.chan = chan;
  }

  /** Notifications with one message ID, payload only. */
  on(msgId: number): Observable<Uint8Array> {
    return this.notifications$.pipe(
      filter((n) => n.msgId === msgId),
      map((n) => n.payload),
    );
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * gh_rm_call: send `payload` as message `msgId` and resolve with the reply's data (after its error
   * word). RmError for an RM error code; Errno EINVAL (message ID 0), E2BIG (too long), ETIMEDOUT (no
   * reply in time), ENODEV (link gone), EBADMSG (malformed reply), EIO (reassembly aborted).
   */
  async call(msgId: number, payload: Uint8Array = new Uint8Array(0), opts: { timeoutNs?: number } = {}): Promise<Uint8Array> {
    if (msgId === 0 || !Number.isInteger(msgId) || msgId < 0 || msgId > 0xffffffff) throw new Errno('EINVAL', `RM message ID ${msgId}`);
    if (payload.length > RM_RPC_MAX_REQUEST) throw new Errno('E2BIG', `RM request of ${payload.length} bytes (max ${RM_RPC_MAX_REQUEST})`);
    if (this.closed || !this.chan) throw new Errno('ENODEV', `${this.name}: no RM link`);
    // The RM buffers one unsent reply per client and drops it for the next (spec §14: a VM waits for
    // a reply before its next request). With the VM's RX queue full of notifications, a second
    // request in flight would lose the first one's reply, so calls go to the RM one at a time.
    const prev = this.callLock;
    let release!: () => void;
    this.callLock = new Promise<void>((r) => (release = r));
    try {
      await prev;
      return await this.callOne(msgId, payload, opts);
    } finally {
      release();
    }
  }

  private async callOne(msgId: number, payload: Uint8Array, opts: { timeoutNs?: number }): Promise<Uint8Array> {
    if (this.closed || !this.chan) throw new Errno('ENODEV', `${this.name}: no RM link`);
    const seq = this.allocSeq();
    this.stats.calls++;
    const reply = new Promise<Uint8Array>((resolve, reject) => this.pending.set(seq, { msgId, resolve, reject }));
    const sent = this.sendLocked(() => this.sendFragments(RM_RPC_TYPE.REQUEST, seq, msgId, payload));
    sent.catch((e: unknown) => this.fail(seq, e instanceof Error ? e : new Error(String(e))));
    try {
      return await this.s.clock.withTimeout(reply, opts.timeoutNs ?? this.timeoutNs);
    } catch (e) {
      if (Errno.is(e, 'ETIMEDOUT')) {
        this.stats.timeouts++;
        this.s.printk.err(`${this.name}: RM call 0x${msgId.toString(16)} (seq ${seq}) timed out`);
      }
      throw e;
    } finally {
      this.pending.delete(seq);
    }
  }

  /** Fail every waiting call and complete the streams (the RM link is going away). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [seq, p] of this.pending) {
      this.pending.delete(seq);
      p.reject(new Errno('ENODEV', `${this.name}: RM link closed`));
    }
    this.notif.complete();
  }

  private allocSeq(): number {
    for (let i = 0; i < 0x10000; i++) {
      const seq = this.nextSeq;
      this.nextSeq = (this.nextSeq + 1) & 0xffff;
      if (!this.pending.has(seq)) return seq;
    }
    throw new Errno('EBUSY', `${this.name}: 65536 RM calls in flight`);
  }

  private fail(seq: number, e: Error): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    p.reject(e);
  }

  /** One message's fragments go out back to back (the send mutex of gh_rm_call). */
  private sendLocked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.sendLock.then(fn);
    this.sendLock = run.catch(() => undefined);
    return run;
  }

  private async sendFragments(type: number, seq: number, msgId: number, payload: Uint8Array): Promise<void> {
    const fragments = payload.length === 0 ? 0 : Math.ceil(payload.length / RM_RPC_PAYLOAD_PER_FRAG) - 1;
    for (let i = 0; i <= fragments; i++) {
      const chunk = payload.subarray(i * RM_RPC_PAYLOAD_PER_FRAG, (i + 1) * RM_RPC_PAYLOAD_PER_FRAG);
      const msg = new Uint8Array(RM_RPC_HDR_SIZE + chunk.length);
      encodeRmHeader(msg, { type: i === 0 ? type : RM_RPC_TYPE.CONTINUATION, fragments, seq, msgId });
      msg.set(chunk, RM_RPC_HDR_SIZE);
      await this.s.mailbox.send(this.chan!, { length: msg.length, push: i === fragments, data: msg });
    }
  }

  private drop(why: string): void {
    this.stats.dropped++;
    this.s.printk.warn(`${this.name}: dropped RM message: ${why}`);
  }

  /** The RX callback: `data` is valid only during the call, so what is kept is copied. */
  onRx(data: Uint8Array): void {
    if (data.length > RM_RPC_MSG_SIZE) return this.drop(`${data.length} bytes (max ${RM_RPC_MSG_SIZE})`);
    const h = decodeRmHeader(data);
    if (!h) return this.drop(`${data.length} bytes is shorter than a header`);
    if (h.api !== RM_RPC_API) return this.drop(`api byte 0x${h.api.toString(16)} (expected 0x${RM_RPC_API.toString(16)})`);
    const body = data.subarray(RM_RPC_HDR_SIZE);
    switch (h.type) {
      case RM_RPC_TYPE.REPLY:
      case RM_RPC_TYPE.NOTIFICATION: {
        if (this.active && !this.active.discard) {
          this.abortActive(`a new ${h.type === RM_RPC_TYPE.REPLY ? 'reply' : 'notification'} arrived`);
        }
        this.active = undefined;
        let discard = false;
        if (h.type === RM_RPC_TYPE.REPLY) {
          const p = this.pending.get(h.seq);
          if (!p) {
            this.drop(`reply with unknown sequence ${h.seq} (msg 0x${h.msgId.toString(16)})`);
            discard = true;
          } else if (p.msgId !== h.msgId) {
            this.drop(`reply seq ${h.seq} for msg 0x${h.msgId.toString(16)}, expected 0x${p.msgId.toString(16)}`);
            discard = true;
          }
        }
        if (h.fragments > RM_RPC_MAX_FRAGMENTS) {
          if (!discard) this.drop(`${h.fragments} continuation fragments (max ${RM_RPC_MAX_FRAGMENTS})`);
          if (h.type === RM_RPC_TYPE.REPLY && !discard) this.fail(h.seq, new Errno('EBADMSG', 'RM reply with too many fragments'));
          discard = true;
        }
        const a: Assembly = { type: h.type, seq: h.seq, msgId: h.msgId, fragments: h.fragments, received: 0, parts: [body.slice()], size: body.length, discard };
        if (h.fragments === 0) this.complete(a);
        else this.active = a;
        return;
      }
      case RM_RPC_TYPE.CONTINUATION: {
        const a = this.active;
        if (!a) return this.drop(`continuation (msg 0x${h.msgId.toString(16)}, seq ${h.seq}) with no message in progress`);
        if (a.discard) {
          if (++a.received === a.fragments) this.active = undefined;
          return;
        }
        if (a.msgId !== h.msgId || a.seq !== h.seq || a.fragments !== h.fragments) {
          this.abortActive(`continuation (msg 0x${h.msgId.toString(16)}, seq ${h.seq}, ${h.fragments} fragments) does not match`);
          this.active = undefined;
          return;
        }
        if (a.size + body.length > RM_RPC_MAX_MESSAGE) {
          this.abortActive(`message exceeds ${RM_RPC_MAX_MESSAGE} bytes`);
          this.active = undefined;
          return;
        }
        a.parts.push(body.slice());
        a.size += body.length;
        if (++a.received === a.fragments) {
          this.active = undefined;
          this.complete(a);
        }
        return;
      }
      default:
        return this.drop(`type ${h.type} (a request: the RM does not send those)`);
    }
  }

  private abortActive(why: string): void {
    const a = this.active!;
    this.drop(`reassembly of msg 0x${a.msgId.toString(16)} aborted: ${why}`);
    if (a.type === RM_RPC_TYPE.REPLY) this.fail(a.seq, new Errno('EIO', `RM reply reassembly aborted: ${why}`));
  }

  private complete(a: Assembly): void {
    if (a.discard) return;
    const payload = a.parts.length === 1 ? a.parts[0]! : concat(a.parts, a.size);
    if (a.type === RM_RPC_TYPE.NOTIFICATION) {
      this.stats.notifications++;
      this.notif.next({ msgId: a.msgId, payload });
      return;
    }
    const p = this.pending.get(a.seq);
    if (!p) return;
    this.stats.replies++;
    this.pending.delete(a.seq);
    if (payload.length < 4) {
      this.drop(`reply to 0x${a.msgId.toString(16)} without an error word`);
      p.reject(new Errno('EBADMSG', 'RM reply shorter than its error word'));
      return;
    }
    const err = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, true);
    if (err !== 0) p.reject(new RmError(err, a.msgId));
    else p.resolve(payload.subarray(4));
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// A mailbox channel (struct mbox_chan): the TX ring, the active request, and the submit/tick state
// machine of drivers/mailbox/mailbox.c, with sends serialized because a controller's send is async.
import { E, Errno } from '../errno';
import type { ClockImpl } from '../time/clock';
import { MBOX_TX_QUEUE_LEN, TXDONE, type MboxClient, type MboxControllerDesc } from './mailbox-types';

interface Queued<T> {
  data: T;
  slot: number;
  settle?: (r: number) => void;
}

export class MboxChan<T = unknown> {
  client: MboxClient<T> | undefined = undefined;
  txdoneMethod: number;
  /** Controller-private data (con_priv). */
  conPriv: unknown;
  private readonly queue: Queued<T>[] = [];
  private active: Queued<T> | undefined = undefined;
  private nextSlot = 0;
  private submitting = false;
  private resubmit = false;
  /** TX-done reported while a submit was in flight; applied once it returns. */
  private earlyTxDone: number[] = [];

  constructor(
    readonly controller: MboxControllerDesc<T>,
    readonly index: number,
    private readonly clock: ClockImpl,
    private readonly onError: (msg: string) => void,
    private readonly armPoll: () => void,
  ) {
    this.txdoneMethod = controller.txdoneIrq ? TXDONE.BY_IRQ : controller.txdonePoll ? TXDONE.BY_POLL : TXDONE.BY_ACK;
  }

  get pending(): number {
    return this.queue.length + (this.active ? 1 : 0);
  }

  get hasActive(): boolean {
    return this.active !== undefined;
  }

  /** __mbox_bind_client's reset of the channel state. */
  reset(client: MboxClient<T> | undefined): void {
    for (const q of this.queue) q.settle?.(-E.ECANCELED);
    this.active?.settle?.(-E.ECANCELED);
    this.queue.length = 0;
    this.active = undefined;
    this.client = client;
    this.earlyTxDone = [];
    this.txdoneMethod = this.controller.txdoneIrq ? TXDONE.BY_IRQ : this.controller.txdonePoll ? TXDONE.BY_POLL : TXDONE.BY_ACK;
    if (client && this.txdoneMethod === TXDONE.BY_POLL && client.knowsTxdone) this.txdoneMethod = TXDONE.BY_ACK;
  }

  /**
   * mbox_send_message. Resolves to the message's ring slot; with `txBlock`, only after TX-done (rejecting
   * with Errno ETIME on timeout). ENOBUFS when the ring is full, EINVAL with no client bound.
   */
  async send(data: T): Promise<number> {
    const cl = this.client;
    if (!cl) throw new Errno('EINVAL', `mailbox ${this.controller.name} chan ${this.index}: no client bound`);
    if (this.queue.length >= MBOX_TX_QUEUE_LEN) {
      this.onError(`${this.controller.name} chan ${this.index}: try increasing MBOX_TX_QUEUE_LEN`);
      throw new Errno('ENOBUFS', `mailbox ${this.controller.name} chan ${this.index}: ${MBOX_TX_QUEUE_LEN} messages queued`);
    }
    const q: Queued<T> = { data, slot: this.nextSlot };
    this.nextSlot = (this.nextSlot + 1) % MBOX_TX_QUEUE_LEN;
    let done: Promise<number> | undefined;
    if (cl.txBlock) done = new Promise<number>((resolve) => (q.settle = resolve));
    this.queue.push(q);
    void this.submit();
    if (!done) return q.slot;
    const timeout = cl.txTimeoutMs ?? 0;
    const r = timeout > 0 ? await this.withTimeout(done, q, timeout) : await done;
    if (r < 0) throw new Errno(-r, `mailbox ${this.controller.name} chan ${this.index}: send`);
    return q.slot;
  }

  private withTimeout(done: Promise<number>, q: Queued<T>, ms: number): Promise<number> {
    return new Promise<number>((resolve) => {
      const t = this.clock.after(ms * 1e6, () => {
        if (this.active === q) {
          this.tick(-E.ETIME);
        } else {
          // Never submitted: drop it (Linux would leave it queued to be sent after its sender gave up).
          const i = this.queue.indexOf(q);
          if (i >= 0) this.queue.splice(i, 1);
          q.settle?.(-E.ETIME);
        }
      });
      void done.then((r) => {
        this.clock.cancel(t);
        resolve(r);
      });
    });
  }

  /** msg_submit: hand the next queued message to the controller unless one is active. */
  async submit(): Promise<void> {
    if (this.submitting) {
      this.resubmit = true;
      return;
    }
    this.submitting = true;
    try {
      do {
        this.resubmit = false;
        const next = this.queue[0];
        if (!next || this.active) continue;
        this.client?.txPrepare?.(next.data);
        let err: number;
        try {
          err = await this.controller.ops.sendData(this, next.data);
        } catch (e) {
          this.onError(`${this.controller.name} chan ${this.index}: send_data threw: ${e instanceof Error ? e.message : String(e)}`);
          err = -E.EIO;
        }
        if (err === 0 && this.queue[0] === next) {
          this.queue.shift();
          this.active = next;
          if (this.txdoneMethod & TXDONE.BY_POLL) this.armPoll();
        }
        for (const r of this.earlyTxDone.splice(0)) this.tickNow(r);
      } while (this.resubmit);
    } finally {
      this.submitting = false;
    }
  }

  /** tx_tick: the active message is done with result `r`; submit the next one. */
  tick(r: number): void {
    if (this.submitting) {
      this.earlyTxDone.push(r);
      return;
    }
    this.tickNow(r);
  }

  private tickNow(r: number): void {
    const m = this.active;
    this.active = undefined;
    void this.submit();
    if (!m) return;
    this.client?.txDone?.(m.data, r);
    m.settle?.(r);
  }

  /** mbox_chan_received_data: deliver RX data to the client. */
  received(data: T): void {
    this.client?.rxCallback?.(data);
  }
}

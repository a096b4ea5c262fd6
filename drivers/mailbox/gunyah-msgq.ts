// The Gunyah message-queue mailbox (drivers/mailbox/gunyah-msgq.c, v4-v14 shape): one controller per
// queue pair with a single channel. TX is msgqueue_send (PUSH per message); "queue full" is -EAGAIN to
// the framework and the TX "not full" interrupt reports TX-done; RX drains the queue in a threaded
// interrupt until it is empty and hands each message to the client. Channels are bound with
// mbox_bind_client (no DT `mboxes` consumer): the RM driver owns both ends.
import {
  E,
  HypervisorError,

  GH_MSGQ_TX_PUSH,
  IRQF,
  IRQ_HANDLED,
  hypErrorToErrno,
  type HypercallsImpl,
  type IrqCoreImpl,
  type MailboxImpl,
  type MboxChan,
  type MboxClient,
  type MboxController,
  type MmImpl,
  type PrintkImpl,
} from '../../core/index';

/** GH_MSGQ_MAX_MSG_SIZE (v4 on): the largest message, and the RM RPC packet size. */
export const GH_MSGQ_MAX_MSG_SIZE = 240;

/**
 * struct gh_msgq_tx_data / gh_msgq_rx_data. A received message's `data` is valid only during the rx
 * callback (it is the driver's receive buffer), as in Linux.
 */
export interface GhMsgqData {
  length: number;
  /** TX only: deliver now (set on the last fragment of an RM message). */
  push?: boolean;
  data: Uint8Array;
}

/** One end of a queue pair as the RM describes it: its cap and the virq the kernel mapped. */
export interface GhResource {
  capid: bigint;
  /** Linux IRQ number (a virq of this kernel), 0 when the end has no interrupt. */
  irq: number;
}

export interface GhMsgqServices {
  readonly mailbox: MailboxImpl;
  readonly irq: IrqCoreImpl;
  readonly hyp: HypercallsImpl;
  readonly mm: MmImpl;
  readonly printk: PrintkImpl;
}

/** A message queue pair as a mailbox controller (struct gh_msgq). */
export class GhMsgq {
  private ctrl: MboxController<GhMsgqData> | undefined;
  private txBuf = 0n;
  private rxBuf = 0n;
  /** The last send's result as a negative errno (gh_error_remap), reported with its TX-done. */
  private lastRet = 0;
  private readonly rxScratch = new Uint8Array(GH_MSGQ_MAX_MSG_SIZE);
  private readonly undo: (() => Promise<void> | void)[] = [];
  /** Messages received, and ones dropped (no client, or a receive error). */
  rxCount = 0;
  rxErrors = 0;

  constructor(
    private readonly s: GhMsgqServices,
    readonly name: string,
    readonly tx: GhResource | undefined,
    readonly rx: GhResource | undefined,
  ) {}

  get chan(): MboxChan<GhMsgqData> {
    if (!this.ctrl) throw new Error(`${this.name}: not initialised`);
    return this.ctrl.chans[0]!;
  }

  /**
   * gh_msgq_init: register the controller, bind `client` to its channel, then request the interrupts
   * (v13's order, so no interrupt can arrive before the client is bound). Undone in reverse on failure.
   */
  async init(client: MboxClient<GhMsgqData>): Promise<void> {
    const { mailbox, irq, mm } = this.s;
    try {
      this.txBuf = mm.kmalloc.alloc(GH_MSGQ_MAX_MSG_SIZE);
      this.undo.push(() => mm.kmalloc.free(this.txBuf));
      this.rxBuf = mm.kmalloc.alloc(GH_MSGQ_MAX_MSG_SIZE);
      this.undo.push(() => mm.kmalloc.free(this.rxBuf));
      const ctrl = mailbox.registerController<GhMsgqData>({
        name: this.name,
        numChans: 1,
        txdoneIrq: true,
        ops: { sendData: (_c, d) => this.sendData(d) },
      });
      this.ctrl = ctrl;
      this.undo.push(() => mailbox.unregisterController(ctrl));
      await mailbox.bindClient(ctrl.chans[0]!, client);
      this.undo.push(() => mailbox.freeChannel(ctrl.chans[0]!));
      if (this.tx?.irq) {
        const v = this.tx.irq;
        await irq.requestIrq(v, () => this.txIrq(), { name: 'gh_msgq_tx', devId: this });
        this.undo.push(() => irq.freeIrq(v, this));
      }
      if (this.rx?.irq) {
        const v = this.rx.irq;
        await irq.requestThreadedIrq(v, undefined, () => this.rxThread(), { name: 'gh_msgq_rx', flags: IRQF.ONESHOT, devId: this });
        this.undo.push(() => irq.freeIrq(v, this));
      }
    } catch (e) {
      await this.remove();
      throw e;
    }
  }

  /** gh_msgq_remove. */
  async remove(): Promise<void> {
    while (this.undo.length > 0) {
      try {
        await this.undo.pop()!();
      } catch (e) {
        this.s.printk.err(`${this.name}: teardown: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.ctrl = undefined;
  }

  /** gh_msgq_send_data. */
  private async sendData(d: GhMsgqData): Promise<number> {
    if (!this.tx) return -E.EOPNOTSUPP;
    if (d.length > GH_MSGQ_MAX_MSG_SIZE || d.length > d.data.length) return -E.EINVAL;
    this.s.hyp.cpu.write(this.txBuf, d.data.subarray(0, d.length));
    let notFull: boolean;
    try {
      const r = await this.s.hyp.ipc.msgqueueSend(this.tx.capid, d.length, this.txBuf, d.push ? GH_MSGQ_TX_PUSH : 0n);
      if (!r.ok) return -E.EAGAIN; // MSGQUEUE_FULL: the framework retries on the TX interrupt
      this.lastRet = 0;
      notFull = r.notFull;
    } catch (e) {
      // Any other hypervisor error is the message's TX-done status, so the queue keeps flowing.
      if (!(e instanceof HypervisorError)) throw e;
      this.lastRet = -hypErrorToErrno(e.code);
      notFull = true;
    }
    // Still room: TX-done right away, but asynchronously (the framework wants it after send_data
    // returns); a queue that just became full reports TX-done from its TX interrupt instead.
    if (notFull) {
      const ret = this.lastRet;
      queueMicrotask(() => this.ctrl && this.s.mailbox.chanTxDone(this.chan, ret));
    }
    return 0;
  }

  /** The TX "not full" interrupt: the queue drained below its threshold. */
  private txIrq(): typeof IRQ_HANDLED {
    if (this.ctrl) this.s.mailbox.chanTxDone(this.chan, 0);
    return IRQ_HANDLED;
  }

  /** The RX "not empty" interrupt's thread: receive until the queue is empty. */
  private async rxThread(): Promise<number> {
    if (!this.rx) return IRQ_HANDLED;
    for (let n = 0; n < 1024; n++) {
      let r;
      try {
        r = await this.s.hyp.ipc.msgqueueReceive(this.rx.capid, this.rxBuf, GH_MSGQ_MAX_MSG_SIZE);
      } catch (e) {
        if (!(e instanceof HypervisorError)) throw e;
        this.rxErrors++;
        this.s.printk.warn(`${this.name}: msgq recv failed: ${e.message} (errno -${hypErrorToErrno(e.code)})`);
        break;
      }
      if (!r.ok) break; // MSGQUEUE_EMPTY: nothing (more) to read
      if (r.size > GH_MSGQ_MAX_MSG_SIZE) {
        this.rxErrors++;
        this.s.printk.warn(`${this.name}: msgq recv size ${r.size} exceeds ${GH_MSGQ_MAX_MSG_SIZE}`);
        break;
      }
      const data = this.rxScratch.subarray(0, r.size);
      this.s.hyp.cpu.read(this.rxBuf, data);
      this.rxCount++;
      if (this.ctrl && this.chan.client) this.s.mailbox.chanReceived(this.chan, { length: r.size, data });
      if (!r.notEmpty) break;
    }
    return IRQ_HANDLED;
  }
}


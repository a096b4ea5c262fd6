// The mailbox framework (drivers/mailbox/mailbox.c): controllers register channels with ops and say how
// TX completion is learned; clients request a channel from the DT (`mboxes`) or bind one directly
// (mbox_bind_client, for channels created at run time) and send through the queued, ordered TX path.
import { inject, injectable } from 'inversify';
import { DeviceTree, ofMatchString, type DtNode } from '../../dt/index';
import { Errno } from '../errno';
import { ofParsePhandleWithArgs } from '../of/of-base';
import { Printk, type PrintkImpl } from '../printk/printk';
import { Clock, type ClockImpl, type TimerHandle } from '../time/clock';
import { ProbeDefer } from '../bus/driver';
import { MboxChan } from './mbox-chan';
import { TXDONE, type MboxClient, type MboxControllerDesc } from './mailbox-types';

/** Default TX poll period when a polled controller gives none (ms). */
const DEFAULT_TXPOLL_MS = 1;

export class MboxController<T = unknown> {
  readonly chans: MboxChan<T>[] = [];
  pollTimer: TimerHandle | undefined;

  constructor(readonly desc: MboxControllerDesc<T>) {}

  get node(): DtNode | undefined {
    return this.desc.node ?? this.desc.dev?.node;
  }
}

export const Mailbox = Symbol('Mailbox');
export type Mailbox = MailboxImpl;

@injectable()
export class MailboxImpl {
  private readonly controllers: MboxController<any>[] = [];

  constructor(
    @inject(DeviceTree) private readonly tree: DeviceTree,
    @inject(Printk) private readonly printk: PrintkImpl,
    @inject(Clock) private readonly clock: ClockImpl,
  ) {}

  /** mbox_controller_register. EINVAL for a controller without ops or channels. */
  registerController<T>(desc: MboxControllerDesc<T>): MboxController<T> {
    if (!desc.ops || typeof desc.ops.sendData !== 'function') throw new Errno('EINVAL', `mailbox ${desc.name}: no send_data op`);
    if (!Number.isInteger(desc.numChans) || desc.numChans <= 0) throw new Errno('EINVAL', `mailbox ${desc.name}: ${desc.numChans} channels`);
    if (desc.txdonePoll && !desc.txdoneIrq && !desc.ops.lastTxDone) throw new Errno('EINVAL', `mailbox ${desc.name}: polled TX-done without last_tx_done`);
    const ctrl = new MboxController<T>(desc);
    for (let i = 0; i < desc.numChans; i++) {
      ctrl.chans.push(
        new MboxChan<T>(
          desc,
          i,
          this.clock,
          (m) => this.printk.err(`mailbox: ${m}`),
          () => this.armPoll(ctrl),
        ),
      );
    }
    this.controllers.push(ctrl);
    return ctrl;
  }

  /** mbox_controller_unregister: free every channel and stop polling. */
  async unregisterController(ctrl: MboxController<any>): Promise<void> {
    const i = this.controllers.indexOf(ctrl);
    if (i < 0) return;
    this.controllers.splice(i, 1);
    for (const ch of ctrl.chans) if (ch.client) await this.freeChannel(ch);
    if (ctrl.pollTimer) this.clock.cancel(ctrl.pollTimer);
    ctrl.pollTimer = undefined;
  }

  /** mbox_bind_client: attach `client` to a channel (EBUSY if it has one), then the controller's startup. */
  async bindClient<T>(chan: MboxChan<T>, client: MboxClient<T>): Promise<void> {
    if (chan.client) throw new Errno('EBUSY', `mailbox ${chan.controller.name} chan ${chan.index} already has a client`);
    if (!this.controllers.some((c) => c.chans.includes(chan))) throw new Errno('ENODEV', `mailbox ${chan.controller.name} is not registered`);
    chan.reset(client);
    if (chan.controller.ops.startup) {
      try {
        await chan.controller.ops.startup(chan);
      } catch (e) {
        this.printk.err(`mailbox ${chan.controller.name} chan ${chan.index}: startup failed: ${e instanceof Error ? e.message : String(e)}`);
        await this.freeChannel(chan);
        throw e instanceof Errno ? e : new Errno('EIO', e instanceof Error ? e.message : String(e));
      }
    }
  }

  /**
   * mbox_request_channel: channel `index` of the consumer node's `mboxes` list. ProbeDefer while its
   * controller has not registered.
   */
  async requestChannel<T>(client: MboxClient<T>, consumer: DtNode, index: number): Promise<MboxChan<T> | ProbeDefer> {
    const spec = ofParsePhandleWithArgs(this.tree, consumer, 'mboxes', '#mbox-cells', index);
    if (!spec) throw new Errno('ENODEV', `${consumer.path}: no mboxes entry ${index}`);
    const ctrl = this.controllers.find((c) => c.node === spec.np);
    if (!ctrl) return new ProbeDefer(`mailbox controller ${spec.np.path} not registered`);
    const idx = ctrl.desc.ofXlate ? ctrl.desc.ofXlate(spec) : (spec.args[0] ?? -1);
    const chan = ctrl.chans[idx];
    if (!chan) throw new Errno('EINVAL', `${consumer.path}: mailbox channel ${idx} of ${ctrl.desc.name} does not exist`);
    await this.bindClient(chan as MboxChan<T>, client);
    return chan as MboxChan<T>;
  }

  /** mbox_request_channel_byname, with `mbox-names`. */
  requestChannelByName<T>(client: MboxClient<T>, consumer: DtNode, name: string): Promise<MboxChan<T> | ProbeDefer> {
    const i = ofMatchString(consumer, 'mbox-names', name);
    if (i < 0) throw new Errno('EINVAL', `${consumer.path}: no mailbox named ${name}`);
    return this.requestChannel(client, consumer, i);
  }

  /** mbox_free_channel: shutdown, then detach the client (queued messages are cancelled). */
  async freeChannel(chan: MboxChan<any>): Promise<void> {
    if (!chan.client) return;
    try {
      await chan.controller.ops.shutdown?.(chan);
    } finally {
      chan.reset(undefined);
    }
  }

  /** mbox_send_message. */
  send<T>(chan: MboxChan<T>, data: T): Promise<number> {
    return chan.send(data);
  }

  /** mbox_chan_txdone: the controller's TX-done interrupt. Only for TXDONE_BY_IRQ controllers. */
  chanTxDone(chan: MboxChan<any>, r: number): void {
    if (!(chan.txdoneMethod & TXDONE.BY_IRQ)) {
      this.printk.err(`mailbox ${chan.controller.name}: controller can't run the TX ticker`);
      return;
    }
    chan.tick(r);
  }

  /** mbox_client_txdone: the client says the last message was consumed. Only for TXDONE_BY_ACK. */
  clientTxDone(chan: MboxChan<any>, r: number): void {
    if (!(chan.txdoneMethod & TXDONE.BY_ACK)) {
      this.printk.err(`mailbox ${chan.controller.name}: client can't run the TX ticker`);
      return;
    }
    chan.tick(r);
  }

  /** mbox_chan_received_data. */
  chanReceived<T>(chan: MboxChan<T>, data: T): void {
    chan.received(data);
  }

  /** mbox_client_peek_data. */
  peekData(chan: MboxChan<any>): boolean {
    return chan.controller.ops.peekData?.(chan) ?? false;
  }

  /** mbox_flush: ENOTSUPP-style EOPNOTSUPP when the controller cannot. */
  async flush(chan: MboxChan<any>, timeoutMs: number): Promise<void> {
    const f = chan.controller.ops.flush;
    if (!f) throw new Errno('EOPNOTSUPP', `mailbox ${chan.controller.name}: no flush op`);
    const r = await f(chan, timeoutMs);
    if (r < 0) {
      chan.tick(r);
      throw new Errno(-r, `mailbox ${chan.controller.name}: flush`);
    }
  }

  private armPoll(ctrl: MboxController<any>): void {
    if (ctrl.pollTimer) return;
    const period = ctrl.desc.txpollPeriodMs ?? DEFAULT_TXPOLL_MS;
    ctrl.pollTimer = this.clock.after(period * 1e6, () => {
      ctrl.pollTimer = undefined;
      void this.pollOnce(ctrl);
    });
  }

  /** txdone_hrtimer: ask each channel with an active message whether it left; re-arm while any has not. */
  private async pollOnce(ctrl: MboxController<any>): Promise<void> {
    let again = false;
    for (const ch of ctrl.chans) {
      if (!ch.hasActive || !ch.client || !(ch.txdoneMethod & TXDONE.BY_POLL)) continue;
      let done: boolean;
      try {
        done = await ctrl.desc.ops.lastTxDone!(ch);
      } catch (e) {
        this.printk.err(`mailbox ${ctrl.desc.name}: last_tx_done failed: ${e instanceof Error ? e.message : String(e)}`);
        done = false;
      }
      if (done) ch.tick(0);
      else again = true;
    }
    if (again && this.controllers.includes(ctrl)) this.armPoll(ctrl);
  }
}


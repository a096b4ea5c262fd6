// Mailbox framework types (include/linux/mailbox_controller.h, mailbox_client.h shapes).
import type { DtNode } from '../../dt/index';
import type { PlatformDevice } from '../bus/platform-device';
import type { OfPhandleArgs } from '../of/of-base';
import type { MboxChan } from './mbox-chan';

/** MBOX_TX_QUEUE_LEN: messages a channel queues before send returns ENOBUFS. */
export const MBOX_TX_QUEUE_LEN = 20;

/** How the framework learns a message left (TXDONE_BY_*). */
export const TXDONE = { BY_IRQ: 1, BY_POLL: 2, BY_ACK: 4 } as const;

/** struct mbox_chan_ops. Optional ops are checked before they are called. */
export interface MboxChanOps<T = unknown> {
  /**
   * Start sending `data`. Returns 0 when the controller took it, or a negative errno (e.g. -EAGAIN when
   * the hardware is busy): the message then stays queued and is submitted again on the next TX-done
   * event or send. Must not report TX-done itself before returning; the framework tolerates it.
   */
  sendData(chan: MboxChan<T>, data: T): Promise<number> | number;
  /** Called when a client binds the channel; a thrown error fails the bind. */
  startup?(chan: MboxChan<T>): Promise<void> | void;
  shutdown?(chan: MboxChan<T>): Promise<void> | void;
  /** For TXDONE_BY_POLL: whether the last message has left. */
  lastTxDone?(chan: MboxChan<T>): Promise<boolean> | boolean;
  /** Whether RX data is waiting (mbox_client_peek_data). */
  peekData?(chan: MboxChan<T>): boolean;
  /** Wait for queued TX to drain, up to `timeoutMs` (mbox_flush). */
  flush?(chan: MboxChan<T>, timeoutMs: number): Promise<number> | number;
}

/** struct mbox_controller. */
export interface MboxControllerDesc<T = unknown> {
  /** The device providing the channels (its DT node is what `mboxes` phandles name). */
  readonly dev?: PlatformDevice;
  readonly node?: DtNode;
  readonly name: string;
  readonly ops: MboxChanOps<T>;
  readonly numChans: number;
  /** The controller reports TX-done from its interrupt (mbox_chan_txdone). */
  readonly txdoneIrq?: boolean;
  /** The framework polls lastTxDone every `txpollPeriodMs`. */
  readonly txdonePoll?: boolean;
  readonly txpollPeriodMs?: number;
  /** Map a `mboxes` specifier to a channel index; default: the first argument cell. */
  ofXlate?(spec: OfPhandleArgs): number;
}

/** struct mbox_client. */
export interface MboxClient<T = unknown> {
  readonly name?: string;
  /** mbox_send_message waits until the message is done (or `txTimeoutMs` passes, ETIME). */
  readonly txBlock?: boolean;
  /** Milliseconds of virtual time for a blocking send; 0 waits forever. */
  readonly txTimeoutMs?: number;
  /** The client acknowledges TX itself (mbox_client_txdone) on a polled controller. */
  readonly knowsTxdone?: boolean;
  rxCallback?(data: T): void;
  txPrepare?(data: T): void;
  /** `r` is 0, or a negative errno (-ETIME when a blocking send timed out). */
  txDone?(data: T, r: number): void;
}

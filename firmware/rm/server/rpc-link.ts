// One client's RM-RPC link as the RM sees it (spec §14; RM's rm-rpc-msgqueue.c and rm-rpc-fifo.c):
// the msgqueue pair, the reassembler for what the client sends, and the transmit side with one
// message in flight, one buffered reply (a newer unsent reply drops it) and a FIFO of at most 256
// notifications (the oldest is dropped beyond that).
import { RPC_PACKET_SIZE, RpcType, type RpcTypeCode } from '../abi/rpc-header';
import { fragmentMessage } from '../rpc/fragmenter';
import { Reassembler } from '../rpc/reassembler';

/** Pending notifications per client (MAX_NOTIFICATION_PENDING). */
export const MAX_PENDING_NOTIFICATIONS = 256;

/** Outcome of putting one packet on the client's queue. */
export type SendResult = 'ok' | 'full' | 'error';

/** How a link reaches its message queues (msgqueue_send / msgqueue_receive on the RM's caps). */
export interface LinkTransport {
  send(link: RpcLink, packet: Uint8Array, push: boolean): Promise<SendResult>;
  /** A packet, or 'empty' when the queue is drained, or 'error' (the link is unusable). */
  receive(link: RpcLink): Promise<Uint8Array | 'empty' | 'error'>;
}

interface OutMessage {
  type: RpcTypeCode;
  msgId: number;
  /** Replies carry the request's sequence; notifications get one when they start transmitting. */
  seq: number | undefined;
  payload: Uint8Array;
}

export interface LinkStats {
  repliesDropped: number;
  notificationsDropped: number;
  sendErrors: number;
}

export class RpcLink {
  readonly reassembler = new Reassembler();
  readonly stats: LinkStats = { repliesDropped: 0, notificationsDropped: 0, sendErrors: 0 };
  private inFlight: { packets: Uint8Array[]; next: number } | undefined;
  private pendingReply: OutMessage | undefined;
  private readonly notifications: OutMessage[] = [];
  private notifHead = 0;
  /** Set when the transport failed (the link's queues are gone); nothing more is sent. */
  dead = false;

  constructor(
    /** The client VM. */
    readonly vmid: number,
    /** RM's caps: it sends on `txCap` (RM -> VM) and receives on `rxCap` (VM -> RM). */
    readonly txCap: bigint,
    readonly rxCap: bigint,
    /** VIRQs in the RM's VIC: TX not-full and RX not-empty. */
    readonly txVirq: number,
    readonly rxVirq: number,
    private readonly transport: LinkTransport,
    private readonly nextNotifSeq: () => number,
  ) {}

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  get pendingNotifications(): number {
    return this.notifications.length - this.notifHead;
  }

  /** Queue a reply. With a message in flight it is buffered, replacing (dropping) an older buffered reply. */
  async reply(msgId: number, seq: number, payload: Uint8Array): Promise<void> {
    const m: OutMessage = { type: RpcType.REPLY, msgId, seq, payload };
    if (this.inFlight) {
      if (this.pendingReply) this.stats.repliesDropped++;
      this.pendingReply = m;
      return;
    }
    await this.start(m);
  }

  /** Queue a notification (FIFO, oldest dropped past 256). */
  async notify(msgId: number, payload: Uint8Array): Promise<void> {
    const m: OutMessage = { type: RpcType.NOTIFICATION, msgId, seq: undefined, payload };
    if (this.inFlight || this.pendingReply || this.pendingNotifications > 0) {
      if (this.pendingNotifications >= MAX_PENDING_NOTIFICATIONS) {
        this.notifHead++;
        this.stats.notificationsDropped++;
      }
      this.notifications.push(m);
      this.compact();
      if (!this.inFlight) await this.pump();
      return;
    }
    await this.start(m);
  }

  /** The TX queue has room again (its not-full VIRQ fired): continue sending. */
  async onTxReady(): Promise<void> {
    await this.pump();
  }

  private compact(): void {
    if (this.notifHead > 64 && this.notifHead * 2 > this.notifications.length) {
      this.notifications.splice(0, this.notifHead);
      this.notifHead = 0;
    }
  }

  private async start(m: OutMessage): Promise<void> {
    if (this.dead) return;
    const seq = m.seq ?? this.nextNotifSeq();
    this.inFlight = { packets: fragmentMessage(m.type as Exclude<RpcTypeCode, 0>, m.msgId, seq, m.payload), next: 0 };
    await this.pump();
  }

  /** Send what can be sent: the message in flight, then the buffered reply, then notifications. */
  private async pump(): Promise<void> {
    for (;;) {
      if (this.dead) return;
      const f = this.inFlight;
      if (f) {
        while (f.next < f.packets.length) {
          const pkt = f.packets[f.next]!;
          if (pkt.length > RPC_PACKET_SIZE) throw new RangeError('packet exceeds the RPC packet size');
          const r = await this.transport.send(this, pkt, f.next === f.packets.length - 1);
          if (r === 'full') return; // resumed by the not-full VIRQ
          if (r === 'error') {
            this.stats.sendErrors++;
            this.dead = true;
            return;
          }
          f.next++;
        }
        this.inFlight = undefined;
      }
      const next = this.pendingReply ?? (this.pendingNotifications > 0 ? this.notifications[this.notifHead++] : undefined);
      if (!next) {
        this.compact();
        return;
      }
      if (next === this.pendingReply) this.pendingReply = undefined;
      const seq = next.seq ?? this.nextNotifSeq();
      this.inFlight = { packets: fragmentMessage(next.type as Exclude<RpcTypeCode, 0>, next.msgId, seq, next.payload), next: 0 };
    }
  }
}

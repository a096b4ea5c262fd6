// The RM's RPC server: the links to its clients, request dispatch by message ID, and the reply and
// notification paths (spec §14, §15). Requests are served one at a time, in arrival order, as the
// RM's single-threaded event loop does; a handler's RmError becomes the reply's error word.
import { RmErr, RmError } from '../abi/rm-error';
import { RPC_MAX_MESSAGE, RpcType } from '../abi/rpc-header';
import { PayloadReader } from '../wire/payload-reader';
import type { RpcMessage } from '../rpc/reassembler';
import { RpcLink, type LinkTransport } from './rpc-link';

/** What a handler sees of one request. */
export interface RmRequest {
  /** The VMID of the link it arrived on: a VM cannot claim to be another. */
  readonly client: number;
  readonly msgId: number;
  readonly seq: number;
  readonly body: PayloadReader;
}

/** Returns the reply data that follows the OK error word (nothing for a standard reply). */
export type RmHandler = (req: RmRequest) => Promise<Uint8Array | void> | Uint8Array | void;

/** An RM error with data after the error word (VM_SET_TIME_BASE's hypervisor error, for one). */
export class RmErrorWithData extends RmError {
  constructor(
    code: number,
    readonly data: Uint8Array,
    message?: string,
  ) {
    super(code, message);
  }
}

export interface RpcServerStats {
  requests: number;
  unimplemented: number;
  errors: number;
  ignored: number;
  /** Exceptions that were not RmErrors (bugs or hypervisor faults), answered with DENIED. */
  faults: number;
}

export class RpcServer {
  private readonly links = new Map<number, RpcLink>();
  private readonly byRxVirq = new Map<number, RpcLink>();
  private readonly byTxVirq = new Map<number, RpcLink>();
  private readonly handlers = new Map<number, RmHandler>();
  private notifSeq = 0;
  readonly stats: RpcServerStats = { requests: 0, unimplemented: 0, errors: 0, ignored: 0, faults: 0 };
  /** Called with faults that were answered as DENIED (logging for tests and traces). */
  onFault: ((e: unknown, req: RmRequest) => void) | undefined;

  constructor(private readonly transport: LinkTransport) {}

  /** Register `handler` for `msgId` (one handler per ID). */
  handle(msgId: number, handler: RmHandler): void {
    if (this.handlers.has(msgId)) throw new Error(`RM message 0x${msgId.toString(16)} already has a handler`);
    this.handlers.set(msgId, handler);
  }

  addLink(vmid: number, txCap: bigint, rxCap: bigint, txVirq: number, rxVirq: number): RpcLink {
    if (this.links.has(vmid)) throw new RmError(RmErr.DENIED, `VM ${vmid} already has an RPC link`);
    const link = new RpcLink(vmid, txCap, rxCap, txVirq, rxVirq, this.transport, () => {
      const s = this.notifSeq;
      this.notifSeq = (this.notifSeq + 1) & 0xffff;
      return s;
    });
    this.links.set(vmid, link);
    this.byRxVirq.set(rxVirq, link);
    this.byTxVirq.set(txVirq, link);
    return link;
  }

  removeLink(vmid: number): RpcLink | undefined {
    const link = this.links.get(vmid);
    if (!link) return undefined;
    this.links.delete(vmid);
    this.byRxVirq.delete(link.rxVirq);
    this.byTxVirq.delete(link.txVirq);
    link.dead = true;
    return link;
  }

  link(vmid: number): RpcLink | undefined {
    return this.links.get(vmid);
  }

  /** rm_can_rpc: whether `vmid` has a link notifications can go to. */
  canRpc(vmid: number): boolean {
    return this.links.has(vmid);
  }

  linkForRxVirq(virq: number): RpcLink | undefined {
    return this.byRxVirq.get(virq);
  }
  linkForTxVirq(virq: number): RpcLink | undefined {
    return this.byTxVirq.get(virq);
  }

  /** Send a notification to `vmid` if it has a link (RM drops notifications for VMs without one). */
  async notify(vmid: number, notifId: number, payload: Uint8Array): Promise<void> {
    const link = this.links.get(vmid);
    if (link) await link.notify(notifId, payload);
  }

  /** Drain the link's RX queue (its not-empty VIRQ fired): reassemble and serve every request. */
  async drain(link: RpcLink): Promise<void> {
    for (;;) {
      if (link.dead || this.links.get(link.vmid) !== link) return;
      const pkt = await this.transport.receive(link);
      if (pkt === 'empty' || pkt === 'error') return;
      const msg = link.reassembler.push(pkt);
      if (msg) await this.dispatch(link, msg);
    }
  }

  /** Serve one complete message from `link`. Exposed for tests that feed messages directly. */
  async dispatch(link: RpcLink, msg: RpcMessage): Promise<void> {
    // The RM services requests only; a client's notifications go to a platform hook (none here)
    // and a client has no business sending replies.
    if (msg.type !== RpcType.REQUEST) {
      this.stats.ignored++;
      return;
    }
    this.stats.requests++;
    const req: RmRequest = { client: link.vmid, msgId: msg.msgId, seq: msg.seq, body: new PayloadReader(msg.payload) };
    const handler = this.handlers.get(msg.msgId);
    let code: number = RmErr.OK;
    let data: Uint8Array | undefined;
    if (!handler) {
      this.stats.unimplemented++;
      code = RmErr.UNIMPLEMENTED;
    } else {
      try {
        const r = await handler(req);
        if (r) data = r;
      } catch (e) {
        if (e instanceof RmError) {
          code = e.code;
          if (e instanceof RmErrorWithData) data = e.data;
        } else {
          this.stats.faults++;
          this.onFault?.(e, req);
          code = RmErr.DENIED;
        }
        if (code !== RmErr.OK) this.stats.errors++;
      }
    }
    if (data && data.length + 4 > RPC_MAX_MESSAGE) {
      // A reply that cannot be sent (the C RM would exit here); the client learns it as NORESOURCE.
      code = RmErr.NORESOURCE;
      data = undefined;
    }
    await link.reply(msg.msgId, msg.seq, replyPayload(code, data));
  }
}

/** The reply payload: the u32 error word, then the message-specific data. */
export function replyPayload(code: number, data?: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + (data?.length ?? 0));
  new DataView(out.buffer).setUint32(0, code >>> 0, true);
  if (data) out.set(data, 4);
  return out;
}

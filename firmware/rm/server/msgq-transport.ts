// The RM-RPC links' transport over message-queue hypercalls: packets go through one TX and one RX
// buffer in the RM's own RAM (msgqueue_send/receive copy from and to the caller's memory).
import { RPC_PACKET_SIZE } from '../abi/rpc-header';
import { HypErr, type Hypercalls } from '../hyp/hypercalls';
import type { LinkTransport, RpcLink, SendResult } from './rpc-link';

export interface RmMemoryAccess {
  read(ipa: bigint, length: number): Uint8Array;
  write(ipa: bigint, data: Uint8Array): void;
}

export class MsgqTransport implements LinkTransport {
  /** Receive errors other than EMPTY (a queue gone, a bad cap): counted, the drain stops. */
  receiveErrors = 0;

  constructor(
    private readonly hyp: Hypercalls,
    private readonly mem: RmMemoryAccess,
    /** IPAs of a TX and an RX buffer of at least 240 bytes each, in the RM's RAM. */
    private readonly txBuf: bigint,
    private readonly rxBuf: bigint,
  ) {}

  async send(link: RpcLink, packet: Uint8Array, push: boolean): Promise<SendResult> {
    this.mem.write(this.txBuf, packet);
    const r = await this.hyp.msgqueueSend(link.txCap, packet.length, this.txBuf, push);
    if (r.err === HypErr.OK) return 'ok';
    if (r.err === HypErr.MSGQUEUE_FULL) return 'full';
    return 'error';
  }

  async receive(link: RpcLink): Promise<Uint8Array | 'empty' | 'error'> {
    const r = await this.hyp.msgqueueReceive(link.rxCap, this.rxBuf, RPC_PACKET_SIZE);
    if (r.err === HypErr.OK) return this.mem.read(this.rxBuf, Math.min(r.size, RPC_PACKET_SIZE));
    if (r.err === HypErr.MSGQUEUE_EMPTY) return 'empty';
    this.receiveErrors++;
    return 'error';
  }
}

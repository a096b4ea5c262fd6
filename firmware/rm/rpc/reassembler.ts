// Receiver side of the RM RPC transport (spec §14; RM's do_recv): rebuilds messages from packets
// and drops what the RM drops. One reassembler per link; it holds at most one partial message,
// whose buffer is bounded by the header's fragment count (at most 63 x 232 bytes).
import {
  RPC_HEADER_SIZE,
  RPC_MAX_CONTENT,
  RPC_PACKET_SIZE,
  RpcType,
  readRpcHeader,
  type RpcHeaderFault,
  type RpcTypeCode,
} from '../abi/rpc-header';

/** A complete message: its first packet's type, ID and sequence, and the concatenated payload. */
export interface RpcMessage {
  type: Exclude<RpcTypeCode, 0>;
  msgId: number;
  seq: number;
  payload: Uint8Array;
}

/** Why a packet was dropped. */
export type RpcDrop =
  | RpcHeaderFault
  | 'oversize'
  | 'orphan-continuation'
  | 'mismatched-continuation'
  | 'fragment-overflow'
  | 'superseded';

export class Reassembler {
  private partial: { type: Exclude<RpcTypeCode, 0>; msgId: number; seq: number; fragments: number; remaining: number; buf: Uint8Array; len: number } | undefined;
  /** Packets dropped, by reason (observability for tests and traces). */
  readonly drops = new Map<RpcDrop, number>();

  /** Whether a multi-fragment message is half assembled. */
  get pending(): boolean {
    return this.partial !== undefined;
  }

  /** Forget any partial message (the link was reset). */
  reset(): void {
    this.partial = undefined;
  }

  private drop(why: RpcDrop): undefined {
    this.drops.set(why, (this.drops.get(why) ?? 0) + 1);
    return undefined;
  }

  /** Feed one received packet; returns a message when this packet completes one. */
  push(pkt: Uint8Array): RpcMessage | undefined {
    if (pkt.length > RPC_PACKET_SIZE) return this.drop('oversize');
    const h = readRpcHeader(pkt);
    if (typeof h === 'string') return this.drop(h);
    const body = pkt.subarray(RPC_HEADER_SIZE);
    if (h.type !== RpcType.CONTINUATION) {
      // A new message discards any partial one.
      if (this.partial) {
        this.partial = undefined;
        this.drop('superseded');
      }
      const type = h.type as Exclude<RpcTypeCode, 0>;
      if (h.fragments === 0) return { type, msgId: h.msgId, seq: h.seq, payload: body.slice() };
      const buf = new Uint8Array((h.fragments + 1) * RPC_MAX_CONTENT);
      buf.set(body, 0);
      this.partial = { type, msgId: h.msgId, seq: h.seq, fragments: h.fragments, remaining: h.fragments, buf, len: body.length };
      return undefined;
    }
    const p = this.partial;
    if (!p) return this.drop('orphan-continuation');
    if (h.msgId !== p.msgId || h.seq !== p.seq || h.fragments !== p.fragments) return this.drop('mismatched-continuation');
    // Cannot happen with packets <= 240 bytes and the buffer sized from the count, but the bound is
    // what keeps a lying sender from writing past the buffer, so it is checked, not assumed.
    if (p.len + body.length > p.buf.length) {
      this.partial = undefined;
      return this.drop('fragment-overflow');
    }
    p.buf.set(body, p.len);
    p.len += body.length;
    if (--p.remaining > 0) return undefined;
    this.partial = undefined;
    return { type: p.type, msgId: p.msgId, seq: p.seq, payload: p.buf.subarray(0, p.len) };
  }
}

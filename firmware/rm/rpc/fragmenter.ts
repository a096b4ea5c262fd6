// Splits one RM RPC message into msgqueue packets exactly as RM's do_xmit does (spec §14): the first
// packet carries the real type, the rest are CONTINUATION; all repeat seq, msg_id and the count of
// continuation fragments; 232 payload bytes per packet; an empty payload is one header-only packet.
import {
  RPC_HEADER_SIZE,
  RPC_MAX_CONTENT,
  RPC_MAX_MESSAGE,
  RpcType,
  writeRpcHeader,
  type RpcTypeCode,
} from '../abi/rpc-header';

/** Continuation fragments needed for a payload of `len` bytes (0 for len <= 232). */
export function fragmentsFor(len: number): number {
  return len === 0 ? 0 : Math.ceil(len / RPC_MAX_CONTENT) - 1;
}

/**
 * The packets of one message. They are views into a single buffer; send them in order. Throws a
 * RangeError for a payload above 14616 bytes (RM_RPC_MAX_MSG_SIZE): callers check first.
 */
export function fragmentMessage(type: RpcTypeCode, msgId: number, seq: number, payload: Uint8Array): Uint8Array[] {
  if (type === RpcType.CONTINUATION) throw new RangeError('a message cannot be of type CONTINUATION');
  const len = payload.length;
  if (len > RPC_MAX_MESSAGE) throw new RangeError(`RPC message of ${len} bytes exceeds ${RPC_MAX_MESSAGE}`);
  const fragments = fragmentsFor(len);
  const packets: Uint8Array[] = [];
  const buf = new Uint8Array(len + (fragments + 1) * RPC_HEADER_SIZE);
  let pos = 0;
  let out = 0;
  for (let i = 0; i <= fragments; i++) {
    const n = Math.min(RPC_MAX_CONTENT, len - pos);
    writeRpcHeader(buf, out, { type: i === 0 ? type : RpcType.CONTINUATION, fragments, seq, msgId });
    buf.set(payload.subarray(pos, pos + n), out + RPC_HEADER_SIZE);
    packets.push(buf.subarray(out, out + RPC_HEADER_SIZE + n));
    out += RPC_HEADER_SIZE + n;
    pos += n;
  }
  return packets;
}

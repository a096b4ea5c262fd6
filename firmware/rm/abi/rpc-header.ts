// The 8-byte RM RPC packet header and the transport limits (spec §14; RM `include/rm-rpc.h`).

/** Largest msgqueue message the RM-RPC queues carry (RM_RPC_MESSAGE_SIZE). */
export const RPC_PACKET_SIZE = 240;
export const RPC_HEADER_SIZE = 8;
export const RPC_API_VERSION = 1;
/** Header length in 32-bit words. */
export const RPC_HEADER_WORDS = 2;
/** First header byte of every valid packet: version 1 in bits 3:0, 2 header words in bits 7:4. */
export const RPC_API_BYTE = (RPC_HEADER_WORDS << 4) | RPC_API_VERSION;
/** Payload bytes per packet (RM_RPC_MAX_CONTENT). */
export const RPC_MAX_CONTENT = RPC_PACKET_SIZE - RPC_HEADER_SIZE;
/** Continuation fragments after the first packet (RM_RPC_MAX_FRAGMENTS; the field has 6 bits). */
export const RPC_MAX_FRAGMENTS = 62;
/** Largest message: 63 packets of 232 bytes = 14616 (RM_RPC_MAX_MSG_SIZE). */
export const RPC_MAX_MESSAGE = RPC_MAX_CONTENT * (RPC_MAX_FRAGMENTS + 1);

export const RpcType = { CONTINUATION: 0, REQUEST: 1, REPLY: 2, NOTIFICATION: 3 } as const;
export type RpcTypeCode = (typeof RpcType)[keyof typeof RpcType];

export interface RpcHeader {
  /** bits 1:0 of byte 1. */
  type: RpcTypeCode;
  /** Continuation fragments that follow the first packet of this message (bits 7:2 of byte 1). */
  fragments: number;
  seq: number;
  msgId: number;
}

/** Write a header at `off` of `into` (which must have 8 bytes there). */
export function writeRpcHeader(into: Uint8Array, off: number, h: RpcHeader): void {
  if (h.fragments < 0 || h.fragments > RPC_MAX_FRAGMENTS || !Number.isInteger(h.fragments)) {
    throw new RangeError(`RPC fragment count ${h.fragments} outside 0..${RPC_MAX_FRAGMENTS}`);
  }
  into[off] = RPC_API_BYTE;
  into[off + 1] = (h.fragments << 2) | (h.type & 3);
  into[off + 2] = h.seq & 0xff;
  into[off + 3] = (h.seq >>> 8) & 0xff;
  into[off + 4] = h.msgId & 0xff;
  into[off + 5] = (h.msgId >>> 8) & 0xff;
  into[off + 6] = (h.msgId >>> 16) & 0xff;
  into[off + 7] = (h.msgId >>> 24) & 0xff;
}

/** Why a packet's header was refused (the receiver drops such packets). */
export type RpcHeaderFault = 'short' | 'version' | 'header-words' | 'fragments';

/** Decode the header of a received packet, or say why it must be dropped. */
export function readRpcHeader(pkt: Uint8Array): RpcHeader | RpcHeaderFault {
  if (pkt.length < RPC_HEADER_SIZE) return 'short';
  const b0 = pkt[0]!;
  if ((b0 & 0xf) !== RPC_API_VERSION) return 'version';
  if (b0 >>> 4 !== RPC_HEADER_WORDS) return 'header-words';
  const b1 = pkt[1]!;
  const fragments = b1 >>> 2;
  if (fragments > RPC_MAX_FRAGMENTS) return 'fragments';
  return {
    type: (b1 & 3) as RpcTypeCode,
    fragments,
    seq: pkt[2]! | (pkt[3]! << 8),
    msgId: (pkt[4]! | (pkt[5]! << 8) | (pkt[6]! << 16) | (pkt[7]! << 24)) >>> 0,
  };
}

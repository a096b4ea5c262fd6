// A message-queue pair on the FakeMachine (spec §2.1 thresholds, TX/RX virqs as SPIs) and a fake RM
// behind it that speaks the RPC framing: it reassembles requests, answers through a handler, and can
// send notifications or arbitrary raw messages (to test the driver's handling of bad input).
import type { FakeMachine } from '../../core/helpers/fake-machine';

export const TX_CAP = 0x1111_0000_0000_0010n; // the VM's send end (VM -> RM)
export const RX_CAP = 0x1111_0000_0000_0011n; // the VM's receive end (RM -> VM)
export const TX_SPI = 3;
export const RX_SPI = 4;

export interface RmRequestSeen {
  msgId: number;
  seq: number;
  payload: Uint8Array;
  fragments: number;
}

/** What the fake RM does with a request: reply (error code + data), or nothing (a hung RM). */
export type RmBehaviour = (req: RmRequestSeen) => { err?: number; data?: Uint8Array } | 'hang';

export class FakeRm {
  readonly toRm: Uint8Array[] = [];
  readonly toVm: Uint8Array[] = [];
  readonly requests: RmRequestSeen[] = [];
  private partial: { seq: number; msgId: number; fragments: number; parts: Uint8Array[] } | undefined;
  private notifSeq = 0;
  depth = 8;
  behaviour: RmBehaviour = () => ({ err: 0 });
  /** Hold replies instead of sending them (to reorder). */
  held: { seq: number; msgId: number; payload: Uint8Array }[] = [];
  holdReplies = false;

  constructor(private readonly m: FakeMachine) {}

  install(): void {
    const prev = this.m.hvcHandler;
    this.m.hvcHandler = (cpu, imm) => {
      const x = cpu.x;
      if (x[0] === 0xc600801bn && x[1] === TX_CAP) {
        if (this.toRm.length === this.depth) {
          x[0] = 61n;
          return;
        }
        const b = new Uint8Array(Number(x[2]));
        cpu.read(x[3]!, b);
        this.toRm.push(b);
        x[0] = 0n;
        x[1] = this.toRm.length !== this.depth ? 1n : 0n;
        queueMicrotask(() => this.serve());
        return;
      }
      if (x[0] === 0xc600801cn && x[1] === RX_CAP) {
        const b = this.toVm.shift();
        if (!b) {
          x[0] = 60n;
          return;
        }
        cpu.write(x[2]!, b);
        x[0] = 0n;
        x[1] = BigInt(b.length);
        x[2] = this.toVm.length > 0 ? 1n : 0n;
        return;
      }
      return prev(cpu, imm);
    };
  }

  /** Put a raw message into the VM's receive queue (RX virq on the empty->1 edge or with push). */
  raw(b: Uint8Array, push = true): void {
    this.toVm.push(b);
    if (this.toVm.length === 1 || push) this.m.gic.raise(32 + RX_SPI);
  }

  /** Drain the VM's send queue and answer complete requests. */
  private serve(): void {
    const wasFull = this.toRm.length === this.depth;
    while (this.toRm.length > 0) {
      const b = this.toRm.shift()!;
      const dv = new DataView(b.buffer, b.byteOffset);
      const type = dv.getUint8(1) & 3;
      const fragments = dv.getUint8(1) >>> 2;
      const seq = dv.getUint16(2, true);
      const msgId = dv.getUint32(4, true);
      const body = b.slice(8);
      if (type === 1) this.partial = { seq, msgId, fragments, parts: [body] };
      else if (type === 0 && this.partial) this.partial.parts.push(body);
      else continue;
      const p = this.partial!;
      if (p.parts.length === p.fragments + 1) {
        this.partial = undefined;
        const payload = new Uint8Array(p.parts.reduce((n, x) => n + x.length, 0));
        let off = 0;
        for (const x of p.parts) {
          payload.set(x, off);
          off += x.length;
        }
        const req = { msgId: p.msgId, seq: p.seq, payload, fragments: p.fragments };
        this.requests.push(req);
        const r = this.behaviour(req);
        if (r === 'hang') continue;
        const data = new Uint8Array(4 + (r.data?.length ?? 0));
        new DataView(data.buffer).setUint32(0, r.err ?? 0, true);
        if (r.data) data.set(r.data, 4);
        if (this.holdReplies) this.held.push({ seq: p.seq, msgId: p.msgId, payload: data });
        else this.send(2, p.seq, p.msgId, data);
      }
    }
    if (wasFull) this.m.gic.raise(32 + TX_SPI);
  }

  /** Send a message of `type` (2 reply, 3 notification), fragmented as the RM does. */
  send(type: number, seq: number, msgId: number, payload: Uint8Array): void {
    const per = 232;
    const fragments = payload.length === 0 ? 0 : Math.ceil(payload.length / per) - 1;
    for (let i = 0; i <= fragments; i++) {
      const chunk = payload.subarray(i * per, (i + 1) * per);
      const b = new Uint8Array(8 + chunk.length);
      const dv = new DataView(b.buffer);
      dv.setUint8(0, 0x21);
      dv.setUint8(1, (i === 0 ? type : 0) | (fragments << 2));
      dv.setUint16(2, seq, true);
      dv.setUint32(4, msgId, true);
      b.set(chunk, 8);
      this.raw(b, i === fragments);
    }
  }

  notify(msgId: number, payload: Uint8Array): void {
    this.send(3, this.notifSeq++ & 0xffff, msgId, payload);
  }

  releaseHeld(order: number[]): void {
    const h = this.held;
    this.held = [];
    for (const i of order) this.send(2, h[i]!.seq, h[i]!.msgId, h[i]!.payload);
  }
}

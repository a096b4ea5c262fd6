// A minimal RM RPC client for bare-metal guests (spec hypervisor-and-rm §14): single-fragment requests
// over the VM's RM message queue pair, replies matched by sequence number, notifications skipped; it
// sleeps in WFI until the RX queue's interrupt says a message is there. Enough for the console.
import { hypercall, Hvc, type GuestCpu } from '../../../firmware/hypervisor';
import type { RmLinkInfo } from './baremetal';

const RM_API = 0x21;
const TYPE_REQUEST = 1;
const TYPE_REPLY = 2;
const MSG_SIZE = 240;
const HDR = 8;
/** msgqueue_send flags: deliver now. */
const PUSH = 1;
const MSGQUEUE_EMPTY = 60;

export const RM_CONSOLE = { OPEN: 0x5600_0081, CLOSE: 0x5600_0082, WRITE: 0x5600_0083 } as const;
/** Console bytes per CONSOLE_WRITE (one fragment). */
export const CONSOLE_CHUNK = 228;

export class RmLite {
  private seq = 1;
  private rxPending = true;

  /** `buf` is a page of the guest's own RAM used for message buffers. */
  constructor(
    readonly cpu: GuestCpu,
    readonly link: RmLinkInfo,
    readonly buf: bigint,
  ) {}

  /** The RX interrupt fired (the caller's IRQ handler calls this for link.rxIntid). */
  onRxIrq(): void {
    this.rxPending = true;
  }

  /** Send raw bytes as one message on the RM queue (hostile guests send anything). */
  async sendRaw(bytes: Uint8Array): Promise<number> {
    this.cpu.write(this.buf, bytes);
    const r = await hypercall(this.cpu, Hvc.MSGQUEUE_SEND, this.link.txCap, bytes.length, this.buf, PUSH);
    return r.error;
  }

  /** One request with a payload of at most 232 bytes; resolves with the reply's error word and data. */
  async call(msgId: number, payload: Uint8Array = new Uint8Array(0)): Promise<{ err: number; data: Uint8Array }> {
    if (payload.length > MSG_SIZE - HDR) throw new RangeError(`RmLite sends one fragment (${payload.length} bytes)`);
    const seq = this.seq++ & 0xffff;
    const msg = new Uint8Array(HDR + payload.length);
    const dv = new DataView(msg.buffer);
    dv.setUint8(0, RM_API);
    dv.setUint8(1, TYPE_REQUEST);
    dv.setUint16(2, seq, true);
    dv.setUint32(4, msgId, true);
    msg.set(payload, HDR);
    for (;;) {
      const err = await this.sendRaw(msg);
      if (err === 0) break;
      // Queue full: wait for the RM to drain it.
      await this.cpu.spin(10_000);
    }
    const rx = this.buf + 0x800n;
    for (;;) {
      const r = await hypercall(this.cpu, Hvc.MSGQUEUE_RECEIVE, this.link.rxCap, rx, MSG_SIZE);
      if (r.error === MSGQUEUE_EMPTY) {
        this.rxPending = false;
        while (!this.rxPending) await this.cpu.wfi();
        continue;
      }
      if (r.error !== 0) throw new Error(`msgqueue_receive failed: ${r.error}`);
      const size = Number(r.x[1]);
      const m = new Uint8Array(size);
      this.cpu.read(rx, m);
      if (size < HDR + 4) continue;
      const h = new DataView(m.buffer);
      if ((h.getUint8(1) & 3) !== TYPE_REPLY || h.getUint16(2, true) !== seq) continue; // a notification or a stale reply
      return { err: h.getUint32(HDR, true), data: m.subarray(HDR + 4) };
    }
  }

  async consoleOpen(): Promise<number> {
    return (await this.call(RM_CONSOLE.OPEN, new Uint8Array(4))).err;
  }

  /** Write text to this VM's console (GH_VMID_SELF), chunked to one fragment per write. */
  async consoleWrite(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
    for (let off = 0; off < bytes.length; off += CONSOLE_CHUNK) {
      const chunk = bytes.subarray(off, off + CONSOLE_CHUNK);
      const p = new Uint8Array(4 + chunk.length);
      new DataView(p.buffer).setUint16(2, chunk.length, true);
      p.set(chunk, 4);
      const r = await this.call(RM_CONSOLE.WRITE, p);
      if (r.err !== 0) throw new Error(`CONSOLE_WRITE failed: RM error ${r.err}`);
    }
  }
}

// A small RM client for tests, running as guest code in a VM (the real one, the kernel's rsc_mgr
// driver, lives in drivers/). It finds its RM-RPC link in its own DT, brings up its vGIC, sends
// requests as fragmented packets with msgqueue_send (PUSH on the last), and reassembles replies and
// notifications from msgqueue_receive on its RX interrupt.
import { parseFdt, type DeviceTree, type DtNode } from '../../../dt';
import { GIC_SPURIOUS, GhError, Hvc, gicEnable, gicInit, hypercall, type GicFrames, type GuestCpu } from '../../../firmware/hypervisor';
import { RPC_PACKET_SIZE, Reassembler, RpcType, fragmentMessage, type RpcMessage } from '../../../firmware/rm';

export interface Reply {
  err: number;
  data: Uint8Array;
  /** The whole reply payload (error word included). */
  raw: Uint8Array;
}

export interface Notification {
  id: number;
  seq: number;
  payload: Uint8Array;
}

/** Read a VM's DT from its memory at `dtIpa`. */
export function readOwnDtb(cpu: GuestCpu, dtIpa: bigint): { bytes: Uint8Array; tree: DeviceTree } {
  const head = new Uint8Array(8);
  cpu.read(dtIpa, head);
  const total = new DataView(head.buffer).getUint32(4);
  const bytes = new Uint8Array(total);
  cpu.read(dtIpa, bytes);
  return { bytes, tree: parseFdt(bytes, { copy: true }) };
}

function findRmNode(tree: DeviceTree): DtNode {
  for (const n of tree.walk()) if (n.strings('compatible')?.includes('gunyah-resource-manager')) return n;
  throw new Error('no RM-RPC node in the DT');
}

function gicFrames(tree: DeviceTree): GicFrames {
  for (const n of tree.walk()) {
    if (!n.strings('compatible')?.includes('arm,gic-v3')) continue;
    const r = n.u32s('reg')!;
    const cell = (i: number) => (BigInt(r[i]!) << 32n) | BigInt(r[i + 1]!);
    return { gicdBase: cell(0), gicrBase: cell(4), gicrStride: n.u64('redistributor-stride') ?? 0x20000n };
  }
  throw new Error('no GICv3 node in the DT');
}

/** SPI INTID of DT interrupt cells <type irq flags>. */
function intid(cells: number[], i: number): number {
  const type = cells[i * 3]!;
  const irq = cells[i * 3 + 1]!;
  return type === 0 ? irq + 32 : type === 2 ? irq + 4096 : irq + 16;
}

export class GuestRmClient {
  readonly reassembler = new Reassembler();
  readonly notifications: Notification[] = [];
  /** Other interrupts this client saw (for tests that enable more). */
  readonly otherIrqs: number[] = [];
  private seq = 1;
  private readonly pending = new Map<number, { msgId: number; resolve: (m: RpcMessage) => void }>();
  private waiters: (() => void)[] = [];
  private readonly bufIpa: bigint;
  private irqHandlers = new Map<number, () => void>();

  private constructor(
    readonly cpu: GuestCpu,
    readonly tree: DeviceTree,
    readonly txCap: bigint,
    readonly rxCap: bigint,
    readonly txVirq: number,
    readonly rxVirq: number,
    readonly gic: GicFrames,
    scratch: bigint,
  ) {
    this.bufIpa = scratch;
  }

  /** Open the link described by the DT at `dtIpa`; `scratch` is a page of the VM's RAM for packets. */
  static async open(cpu: GuestCpu, dtIpa: bigint, scratch: bigint): Promise<GuestRmClient> {
    const { tree } = readOwnDtb(cpu, dtIpa);
    const n = findRmNode(tree);
    const reg = decodeU64s(n.value('reg')!);
    const irqs = n.u32s('interrupts')!;
    const c = new GuestRmClient(cpu, tree, reg[0]!, reg[1]!, intid(irqs, 0), intid(irqs, 1), gicFrames(tree), scratch);
    await gicInit(cpu, c.gic);
    await gicEnable(cpu, c.gic, c.txVirq, true);
    await gicEnable(cpu, c.gic, c.rxVirq, true);
    cpu.setIrqVector(() => c.vector());
    cpu.setIrqMasked(false);
    return c;
  }

  /** Enable another interrupt and run `fn` (synchronously, in the vector) when it fires. */
  async onIrq(intid: number, edge: boolean, fn: () => void): Promise<void> {
    this.irqHandlers.set(intid, fn);
    await gicEnable(this.cpu, this.gic, intid, edge);
  }

  private vector(): void {
    for (;;) {
      const i = this.cpu.gicAcknowledge();
      if (i === GIC_SPURIOUS) break;
      const h = this.irqHandlers.get(i);
      if (h) h();
      else if (i !== this.rxVirq && i !== this.txVirq) this.otherIrqs.push(i);
      this.cpu.gicEndOfInterrupt(i);
    }
    for (const w of this.waiters.splice(0)) w();
  }

  /** Wait until the next interrupt (the vCPU idles meanwhile). */
  private nextIrq(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  /** Send raw packets in order (what `call` does after fragmenting). */
  async sendPackets(packets: readonly Uint8Array[]): Promise<void> {
    for (const [i, p] of packets.entries()) {
      if (p.length > RPC_PACKET_SIZE) throw new Error('packet too large');
      for (;;) {
        this.cpu.write(this.bufIpa, p);
        const r = await hypercall(this.cpu, Hvc.MSGQUEUE_SEND, this.txCap, p.length, this.bufIpa, i === packets.length - 1 ? 1 : 0);
        if (r.error === GhError.OK) break;
        if (r.error !== GhError.MSGQUEUE_FULL) throw new Error(`msgqueue_send failed with ${r.error}`);
        await this.nextIrq();
      }
    }
  }

  /** Drain the RX queue into replies and notifications. */
  private async drain(): Promise<void> {
    for (;;) {
      const r = await hypercall(this.cpu, Hvc.MSGQUEUE_RECEIVE, this.rxCap, this.bufIpa + 0x400n, RPC_PACKET_SIZE);
      if (r.error === GhError.MSGQUEUE_EMPTY) return;
      if (r.error !== GhError.OK) throw new Error(`msgqueue_receive failed with ${r.error}`);
      const pkt = new Uint8Array(Number(r.x[1]));
      this.cpu.read(this.bufIpa + 0x400n, pkt);
      const m = this.reassembler.push(pkt);
      if (!m) continue;
      if (m.type === RpcType.NOTIFICATION) this.notifications.push({ id: m.msgId, seq: m.seq, payload: m.payload.slice() });
      else if (m.type === RpcType.REPLY) {
        const p = this.pending.get(m.seq);
        if (p && p.msgId === m.msgId) {
          this.pending.delete(m.seq);
          p.resolve(m);
        }
      }
    }
  }

  /** Send a request and wait for its reply. */
  async call(msgId: number, payload: Uint8Array = new Uint8Array(0)): Promise<Reply> {
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    const m = await this.callRaw(fragmentMessage(RpcType.REQUEST, msgId, seq, payload), seq, msgId);
    const raw = m.payload.slice();
    const err = raw.length >= 4 ? new DataView(raw.buffer).getUint32(0, true) : -1;
    return { err, data: raw.subarray(4), raw };
  }

  /** Send prepared packets and wait for the reply with (seq, msgId). */
  async callRaw(packets: readonly Uint8Array[], seq: number, msgId: number): Promise<RpcMessage> {
    let reply: RpcMessage | undefined;
    this.pending.set(seq, { msgId, resolve: (m) => (reply = m) });
    await this.sendPackets(packets);
    for (;;) {
      await this.drain();
      if (reply) return reply;
      await this.nextIrq();
    }
  }

  /** Wait for a notification matching `pred` (consumed from the list), draining as needed. */
  async waitNotification(pred: (n: Notification) => boolean): Promise<Notification> {
    for (;;) {
      await this.drain();
      const i = this.notifications.findIndex(pred);
      if (i >= 0) return this.notifications.splice(i, 1)[0]!;
      await this.nextIrq();
    }
  }

  /** Drain whatever has arrived (notifications pile up in `notifications`). */
  async poll(): Promise<void> {
    await this.drain();
  }
}

function decodeU64s(v: Uint8Array): bigint[] {
  const d = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out: bigint[] = [];
  for (let i = 0; i + 8 <= v.length; i += 8) out.push(d.getBigUint64(i));
  return out;
}

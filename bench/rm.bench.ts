// `npm run bench -- rm`: the Resource Manager on the real hypervisor, driven by a client program in
// the primary VM. RPC round trips per second for a one-fragment request (VM_GET_VMID) and a
// max-fragment one (63 packets: a 14616-byte VM_CONSOLE_WRITE), the time to create, configure,
// init and start one VM, and the same for 100 VMs in a row (each torn down after it started) to
// show the per-VM cost stays flat. Wall time is host time; virtual time is the machine's clock.
import { defaultBoard } from '../tools/vmm';
import { DeviceTree, parseFdt, toFdt } from '../dt/index';
import { GIC_SPURIOUS, GhError, Hvc, gicEnable, gicInit, hypercall, type GuestCpu } from '../firmware/hypervisor/index';
import { bootPlatform } from '../firmware/platform/index';
import { PayloadWriter, Reassembler, RmMsg, RmNotif, RpcType, fragmentMessage, type RpcMessage } from '../firmware/rm/index';
import { printTable, type Row } from './table';

const SCRATCH = 0x4001_0000n;
const VM_HOST = 0x6000_0000n;
const VM_SIZE = 0x100_0000n;
const VM_IPA = 0x8000_0000n;
const IMAGE_OFFSET = 0x10_0000n;

/** A minimal guest-side RM client: one outstanding request, notifications kept for the waiter. */
class BenchClient {
  private seq = 0;
  private irq: (() => void) | undefined;
  private readonly r = new Reassembler();
  readonly notes: RpcMessage[] = [];
  constructor(
    private readonly cpu: GuestCpu,
    private readonly tx: bigint,
    private readonly rx: bigint,
  ) {}

  static async open(cpu: GuestCpu): Promise<BenchClient> {
    const head = new Uint8Array(8);
    cpu.read(cpu.x[0]!, head);
    const dt = new Uint8Array(new DataView(head.buffer).getUint32(4));
    cpu.read(cpu.x[0]!, dt);
    const tree = parseFdt(dt, { copy: true });
    const node = [...tree.walk()].find((n) => n.strings('compatible')?.includes('gunyah-resource-manager'))!;
    const reg = new DataView(node.value('reg')!.buffer, node.value('reg')!.byteOffset);
    const irqs = node.u32s('interrupts')!;
    const gic = { gicdBase: 0x0800_0000n, gicrBase: 0x080a_0000n, gicrStride: 0x2_0000n };
    const c = new BenchClient(cpu, reg.getBigUint64(0), reg.getBigUint64(8));
    await gicInit(cpu, gic);
    await gicEnable(cpu, gic, irqs[1]! + 32, true);
    await gicEnable(cpu, gic, irqs[4]! + 32, true);
    cpu.setIrqVector(() => {
      for (let i = cpu.gicAcknowledge(); i !== GIC_SPURIOUS; i = cpu.gicAcknowledge()) cpu.gicEndOfInterrupt(i);
      const w = c.irq;
      c.irq = undefined;
      w?.();
    });
    cpu.setIrqMasked(false);
    return c;
  }

  private wait(): Promise<void> {
    return new Promise((r) => (this.irq = r));
  }

  async call(msgId: number, payload: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    const seq = (this.seq = (this.seq + 1) & 0xffff);
    const pkts = fragmentMessage(RpcType.REQUEST, msgId, seq, payload);
    for (const [i, p] of pkts.entries()) {
      this.cpu.write(SCRATCH, p);
      while ((await hypercall(this.cpu, Hvc.MSGQUEUE_SEND, this.tx, p.length, SCRATCH, i === pkts.length - 1 ? 1 : 0)).error === GhError.MSGQUEUE_FULL) await this.wait();
    }
    for (;;) {
      const m = await this.take((x) => x.type === RpcType.REPLY && x.seq === seq);
      if (m) {
        const err = u32(m.payload);
        if (err !== 0) throw new Error(`RM request 0x${msgId.toString(16)} failed with 0x${err.toString(16)}`);
        return m.payload.subarray(4);
      }
      await this.wait();
    }
  }

  /** Drain the RX queue; return (and remove) the first message matching `pred`. */
  async take(pred: (m: RpcMessage) => boolean): Promise<RpcMessage | undefined> {
    for (;;) {
      const r = await hypercall(this.cpu, Hvc.MSGQUEUE_RECEIVE, this.rx, SCRATCH + 0x400n, 240);
      if (r.error !== GhError.OK) break;
      const p = new Uint8Array(Number(r.x[1]));
      this.cpu.read(SCRATCH + 0x400n, p);
      const m = this.r.push(p);
      if (m) this.notes.push(m);
    }
    const i = this.notes.findIndex(pred);
    return i < 0 ? undefined : this.notes.splice(i, 1)[0];
  }

  async notification(pred: (m: RpcMessage) => boolean): Promise<void> {
    while (!(await this.take((m) => m.type === RpcType.NOTIFICATION && pred(m)))) await this.wait();
  }
}


/** A one-vCPU VM with an RM link and its console, pinned to CPU 1. */
function vmDtb(name: string): Uint8Array {
  const t = new DeviceTree();
  const r = t.root;
  r.setU32('#address-cells', 2);
  r.setU32('#size-cells', 2);
  const cpu = r.addChild('cpus').addChild('cpu@0');
  cpu.parent!.setU32('#address-cells', 1);
  cpu.parent!.setU32('#size-cells', 0);
  cpu.setString('device_type', 'cpu');
  cpu.setU32('reg', 0);
  const gic = r.addChild('intc@3fff0000');
  gic.setString('compatible', 'arm,gic-v3');
  gic.setU64('reg', [0x3fff_0000n, 0x1_0000n, 0x3ffd_0000n, 0x2_0000n]);
  r.addChild('chosen');
  const cfg = r.addChild('gunyah-vm-config');
  cfg.setString('image-name', name);
  cfg.addChild('memory').setU64('base-address', VM_IPA);
  const v = cfg.addChild('vcpus');
  v.setU32('affinity-map', [1]);
  v.setU32('sched-priority', -1 >>> 0);
  const rpc = cfg.addChild('vdevices').addChild('rm-rpc');
  rpc.setString('vdevice-type', 'rm-rpc');
  rpc.setEmpty('console-dev');
  return toFdt(t);
}

const vmidReq = (v: number) => new PayloadWriter(4).u16(v).u16(0).finish();
const u32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);

async function createAndStart(c: BenchClient, cpu: GuestCpu, dtb: Uint8Array): Promise<{ vmid: number; handle: number }> {
  const vmid = u32(await c.call(RmMsg.VM_ALLOCATE, vmidReq(0)));
  cpu.write(VM_HOST, dtb);
  const lend = new PayloadWriter(48).u8(0).u8(0).u8(0).u8(0).u32(0).listHeader(1).u16(vmid).u8(7).u8(0).listHeader(1).u64(VM_HOST).u64(VM_SIZE).listHeader(0).finish();
  const handle = u32(await c.call(RmMsg.MEM_LEND, lend));
  await c.call(RmMsg.VM_CONFIG_IMAGE, new PayloadWriter(40).u16(vmid).u16(0).u32(handle).u64(IMAGE_OFFSET).u64(0x1000n).u64(0n).u64(0x1_0000n).finish());
  await c.call(RmMsg.VM_INIT, vmidReq(vmid));
  await c.call(RmMsg.VM_START, vmidReq(vmid));
  return { vmid, handle };
}

async function teardown(c: BenchClient, vmid: number, handle: number): Promise<void> {
  await c.call(RmMsg.VM_STOP, new PayloadWriter(8).u16(vmid).u8(1).u8(0).u32(0).finish());
  await c.call(RmMsg.VM_RESET, vmidReq(vmid));
  await c.notification((m) => m.msgId === RmNotif.VM_STATUS && m.payload[0] === vmid && m.payload[4] === 11);
  await c.call(RmMsg.MEM_RECLAIM, new PayloadWriter(8).u32(handle).u32(0).finish());
  await c.call(RmMsg.VM_DEALLOCATE, vmidReq(vmid));
}

export default async function rmBench(): Promise<Row[]> {
  const rows: Row[] = [];
  let finished = false;
  const p = bootPlatform(defaultBoard({ cpus: 2 }), {
    primaryEntry: async (cpu) => {
      const c = await BenchClient.open(cpu);
      const vnow = () => Number((cpu.counter() * 1_000_000_000n) / BigInt(cpu.counterFrequency));
      const measure = async (name: string, n: number, op: () => Promise<unknown>) => {
        for (let i = 0; i < Math.min(50, n); i++) await op();
        const w0 = performance.now();
        const v0 = vnow();
        for (let i = 0; i < n; i++) await op();
        const wall = (performance.now() - w0) / n;
        rows.push({ case: name, ops: n, 'wall us/op': wall * 1000, 'ops/s (wall)': Math.round(1000 / wall), 'virtual us/op': (vnow() - v0) / n / 1000 });
      };
      await measure('RPC round trip, 1 fragment (VM_GET_VMID)', 5000, () => c.call(RmMsg.VM_GET_VMID));
      await c.call(RmMsg.VM_CONSOLE_OPEN, vmidReq(0));
      const big = new PayloadWriter(14616).u16(0).u16(14612).zeros(14612).finish();
      await measure('RPC round trip, 63 fragments (14616 B VM_CONSOLE_WRITE)', 300, () => c.call(RmMsg.VM_CONSOLE_WRITE, big));

      const dtb = vmDtb('bench');
      const perVm: { wall: number; virt: number }[] = [];
      for (let i = 0; i < 101; i++) {
        const w0 = performance.now();
        const v0 = vnow();
        const { vmid, handle } = await createAndStart(c, cpu, dtb);
        perVm.push({ wall: performance.now() - w0, virt: vnow() - v0 });
        await teardown(c, vmid, handle);
      }
      const one = perVm[0]!;
      rows.push({ case: 'create+configure+init+start one VM', ops: 1, 'wall us/op': one.wall * 1000, 'ops/s (wall)': Math.round(1000 / one.wall), 'virtual us/op': one.virt / 1000 });
      const run = perVm.slice(1);
      const avg = (xs: typeof run) => ({ wall: xs.reduce((a, b) => a + b.wall, 0) / xs.length, virt: xs.reduce((a, b) => a + b.virt, 0) / xs.length });
      for (const [label, xs] of [
        ['100 VMs in a row: all', run],
        ['100 VMs in a row: first 10', run.slice(0, 10)],
        ['100 VMs in a row: last 10', run.slice(-10)],
      ] as const) {
        const a = avg(xs);
        rows.push({ case: `${label} (per VM)`, ops: xs.length, 'wall us/op': a.wall * 1000, 'ops/s (wall)': Math.round(1000 / a.wall), 'virtual us/op': a.virt / 1000 });
      }
      finished = true;
    },
  });
  p.machine.registerEntry(VM_HOST + IMAGE_OFFSET, async () => {});
  await p.machine.runUntil(() => finished);
  if (!finished) throw new Error('the bench program did not finish');
  printTable(rows);
  return rows;
}

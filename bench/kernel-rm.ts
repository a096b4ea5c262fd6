// The RM parts of the kernel benchmark: RPC round trips through the driver stack (rsc_mgr RPC client over
// the gunyah-msgq mailbox) beside the same request made raw (msgq hypercalls and the RX interrupt, no
// mailbox or RPC framework), and console throughput from a secondary VM's tty to a reader in the primary.
import {
  GH_MSGQ_TX_PUSH,
  Hypercalls,
  IRQ_HANDLED,
  O,
  type HypercallsImpl,
  type Kernel,
} from '../core';
import { GhConsoleToken, type GhConsoleClient } from '../drivers/tty';
import { RM_MSG, RM_RPC_MAX_REQUEST, type GhRm } from '../drivers/virt';
import { runPrimary, startSecondary } from './kernel-platform';
import { Vmid } from '../firmware/rm';
import type { Row } from './table';

async function timeOps(k: Kernel, n: number, op: () => Promise<unknown>): Promise<{ wallUs: number; virtUs: number }> {
  for (let i = 0; i < Math.min(50, n); i++) await op();
  const w0 = performance.now();
  const v0 = k.clock.now();
  for (let i = 0; i < n; i++) await op();
  return { wallUs: ((performance.now() - w0) * 1000) / n, virtUs: (k.clock.now() - v0) / n / 1000 };
}

/** VM_GET_VMID through the RPC client, and a 62-fragment VM_CONSOLE_WRITE (Linux's largest request). */
export async function rmDriverRows(): Promise<Row[]> {
  const { result } = await runPrimary(async (k, rm) => {
    const r = rm as GhRm;
    await r.vm.consoleOpen(0);
    const big = new Uint8Array(RM_RPC_MAX_REQUEST);
    new DataView(big.buffer).setUint16(2, RM_RPC_MAX_REQUEST - 4, true);
    const one = await timeOps(k, 3000, () => r.rpc.call(RM_MSG.VM_GET_VMID));
    const frag = await timeOps(k, 200, () => r.rpc.call(RM_MSG.VM_CONSOLE_WRITE, big));
    return { one, frag };
  });
  return [
    { path: 'driver stack', call: 'VM_GET_VMID (1 fragment)', 'wall us/op': result.one.wallUs, 'calls/s (wall)': Math.round(1e6 / result.one.wallUs), 'virtual us/op': result.one.virtUs },
    { path: 'driver stack', call: `VM_CONSOLE_WRITE (62 fragments, ${RM_RPC_MAX_REQUEST} B)`, 'wall us/op': result.frag.wallUs, 'calls/s (wall)': Math.round(1e6 / result.frag.wallUs), 'virtual us/op': result.frag.virtUs },
  ];
}

/** The same VM_GET_VMID with the kernel's hypercall wrappers and an interrupt handler only. */
export async function rmRawRows(): Promise<Row[]> {
  const { result } = await runPrimary(
    async (k) => {
      const node = [...k.tree.walk()].find((n) => n.strings('compatible')?.includes('gunyah-resource-manager'))!;
      const regv = node.value('reg')!;
      const dv = new DataView(regv.buffer, regv.byteOffset);
      const tx = dv.getBigUint64(0);
      const rx = dv.getBigUint64(8);
      const rxIrq = k.irq.ofIrqGet(node, 1) as number;
      const hyp = k.get<HypercallsImpl>(Hypercalls);
      const buf = k.mm.kmalloc.alloc(240);
      let wake: (() => void) | undefined;
      await k.irq.requestIrq(rxIrq, () => (wake?.(), IRQ_HANDLED), { name: 'raw-rm-rx' });
      let seq = 0;
      const pkt = new Uint8Array(8);
      const pdv = new DataView(pkt.buffer);
      const call = async () => {
        seq = (seq + 1) & 0xffff;
        pdv.setUint8(0, 0x21);
        pdv.setUint8(1, 1);
        pdv.setUint16(2, seq, true);
        pdv.setUint32(4, RM_MSG.VM_GET_VMID, true);
        k.bootCpu.write(buf, pkt);
        const woke = new Promise<void>((r) => (wake = r));
        await hyp.ipc.msgqueueSend(tx, 8, buf, GH_MSGQ_TX_PUSH);
        for (;;) {
          const r = await hyp.ipc.msgqueueReceive(rx, buf, 240);
          if (r.ok) {
            if (k.bootCpu.read16(buf + 2n) === seq) return;
            continue;
          }
          await woke;
        }
      };
      return timeOps(k, 3000, call);
    },
    { drivers: [] },
  );
  return [{ path: 'raw hypercalls', call: 'VM_GET_VMID (1 fragment)', 'wall us/op': result.wallUs, 'calls/s (wall)': Math.round(1e6 / result.wallUs), 'virtual us/op': result.virtUs }];
}

/**
 * Bytes a secondary VM writes to its console, read in the primary from ttyGH<vmid>. The RM queues at most
 * 256 notifications per client and drops the oldest beyond that, so a flood loses characters when the
 * reader falls behind: the run ends when the writer is done and the reader has seen nothing for 10 ms of
 * virtual time, and the characters that never arrived are reported beside the throughput.
 */
export async function ttyRows(totalBytes = 1 << 20): Promise<Row[]> {
  const { result } = await runPrimary(async (k, rm, _cpu, p) => {
    const consoles = k.get<GhConsoleClient>(GhConsoleToken).console()!;
    let t0 = 0;
    let v0 = 0;
    let got = 0;
    let writerDone = false;
    let vmid = 0;
    const chunk = new Uint8Array(4096).fill(0x61);
    const done = new Promise<{ wallMs: number; virtMs: number; got: number; dropped: number }>((resolve) => {
      void startSecondary(k, rm!, p, 'console-bench', async (svm) => {
        await svm.clock.sleep(2_000_000);
        const proc = svm.spawn('writer');
        const fd = await proc.open('/dev/ttyGH0', O.WRONLY);
        t0 = performance.now();
        v0 = k.clock.now();
        for (let sent = 0; sent < totalBytes; ) sent += await proc.writeBytes(fd, chunk.subarray(0, Math.min(chunk.length, totalBytes - sent)));
        writerDone = true;
      }).then(async (id) => {
        vmid = id;
        consoles.addVm(vmid);
        const reader = k.spawn('reader');
        const fd = await reader.open(`/dev/ttyGH${vmid}`, O.RDONLY);
        let tEnd = 0;
        let vEnd = 0;
        void (async () => {
          for (;;) {
            const n = (await reader.readBytes(fd, 65536)).length;
            got += n;
            tEnd = performance.now();
            vEnd = k.clock.now();
          }
        })();
        for (let last = -1; got < totalBytes && !(writerDone && got === last); ) {
          last = got;
          await k.clock.sleep(10_000_000);
        }
        const link = p.rm()?.rpc.link(Vmid.HLOS)?.stats;
        resolve({ wallMs: tEnd - t0, virtMs: (vEnd - v0) / 1e6, got, dropped: link?.notificationsDropped ?? -1 });
      });
    });
    return done;
  });
  const mb = result.got / 1e6;
  return [
    {
      path: 'secondary VM ttyGH0 -> RM -> primary ttyGH<vmid>',
      call: `${totalBytes} bytes written, ${result.got} read`,
      'wall us/op': result.wallMs * 1000,
      'MB/s (wall)': mb / (result.wallMs / 1000),
      'MB/s (virtual)': mb / (result.virtMs / 1000),
      'RM notifications dropped': result.dropped,
    },
  ];
}

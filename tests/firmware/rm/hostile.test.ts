// A hostile VM throws 20k random and mutated RPC messages at the RM (short headers, wrong versions,
// lying fragment counts, reused sequence numbers, unknown IDs, lengths that overflow, ACLs naming
// unknown VMs, overlapping SG lists). Afterwards the RM has raised no fault, the hypervisor's
// invariants hold, and the primary VM's own work completes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GhError, Hvc, hypercall } from '../../../firmware/hypervisor';
import { ExitCode, RmMsg, RmNotif, RpcType, fragmentMessage, writeRpcHeader } from '../../../firmware/rm';
import { GuestRmClient } from './rm-client';
import { expectOk, prepareSvm, runPrimary, SVM_IPA_BASE, svmEntryPa, type SvmSpec } from './harness';
import { consoleReq, createReq, exitReq, handleFlagsReq, u32At, vmidReq } from './requests';

const MESSAGES = 20_000;
const hostile: SvmSpec = { name: 'hostile', hostBase: 0x6000_0000n, size: 0x100_0000n };
const good: SvmSpec = { name: 'good', hostBase: 0x6800_0000n, size: 0x100_0000n };
/** Every ID the RM knows, but VM_EXIT (a VM that exits stops fuzzing; exiting is its right). */
const IDS = Object.values(RmMsg).filter((id) => id !== RmMsg.VM_EXIT);

function header(type: number, frags: number, seq: number, id: number): Uint8Array {
  const h = new Uint8Array(8);
  h[0] = 0x21;
  h[1] = ((frags & 0x3f) << 2) | (type & 3);
  new DataView(h.buffer).setUint16(2, seq & 0xffff, true);
  new DataView(h.buffer).setUint32(4, id >>> 0, true);
  return h;
}
const cat = (...p: Uint8Array[]) => Uint8Array.from(p.flatMap((x) => [...x]));

const vmidArb = fc.oneof(fc.constantFrom(0, 3, 0x80, 0x81, 0xbe, 0xff, 0xfffe, 0xffff), fc.integer({ min: 0, max: 0xffff }));
const addrArb = fc.oneof(fc.constantFrom(0n, 0x4000_0000n, 0x6000_0000n, 0x8000_0000n, 0xffff_ffff_ffff_f000n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
const sgl = fc.array(fc.record({ ipa: addrArb, size: fc.oneof(fc.constantFrom(0x1000n, 0n, 0x1_0000n, 1n << 63n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })) }), { maxLength: 6 });
/** Structured memparcel requests: unknown VMs, bad rights, overlapping or overflowing SGLs. */
const createArb = fc
  .record({
    id: fc.constantFrom(RmMsg.MEM_LEND, RmMsg.MEM_SHARE, RmMsg.MEM_DONATE),
    memType: fc.integer({ min: 0, max: 2 }),
    flags: fc.integer({ min: 0, max: 3 }),
    acl: fc.array(fc.record({ vmid: vmidArb, rights: fc.integer({ min: 0, max: 8 }) }), { maxLength: 4 }),
    sgl: fc.oneof(sgl, fc.constant<{ ipa: bigint; size: bigint }[]>([{ ipa: 0x8000_0000n, size: 0x2000n }, { ipa: 0x8000_1000n, size: 0x2000n }])),
    attrs: fc.array(fc.record({ attr: fc.integer({ min: 0, max: 4 }), vmid: vmidArb }), { maxLength: 3 }),
  })
  .map((r) => ({ id: r.id, payload: createReq(r) }));
const requestArbRaw = fc.oneof(
  fc.record({ id: fc.constantFrom(...IDS), payload: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ id: fc.constantFrom(...IDS), payload: fc.tuple(vmidArb, fc.uint8Array({ maxLength: 20 })).map(([v, rest]) => cat(Uint8Array.of(v & 0xff, v >> 8, 0, 0), rest)) }),
  createArb,
  fc.record({ id: fc.integer({ min: 0, max: 0xffff_ffff }), payload: fc.uint8Array({ maxLength: 16 }) }),
);
/**
 * The hostile VM's own memory is memparcel 0, lent to it: releasing it would unmap the VM's RAM
 * under its own feet (a VM may do that, and then it faults and exits, which ends the flood early).
 */
const requestArb = requestArbRaw.map((r) => {
  if (r.id !== RmMsg.MEM_RELEASE || r.payload.length < 4 || r.payload.subarray(0, 4).some((b) => b !== 0)) return r;
  const payload = r.payload.slice();
  payload[0] = 1;
  return { id: r.id, payload };
});
/** One "message": the packets a hostile VM sends for it. */
const w20 = <T>(arbitrary: fc.Arbitrary<T>) => ({ weight: 20, arbitrary });
const messageArb: fc.Arbitrary<Uint8Array[]> = fc.oneof(
  // Noise: any bytes, including packets shorter than a header.
  w20(fc.uint8Array({ minLength: 0, maxLength: 240 }).map((b) => [b.length === 0 ? Uint8Array.of(0x21) : b])),
  // Well-formed requests (sequence numbers reused on purpose: few distinct values).
  w20(fc.tuple(requestArb, fc.integer({ min: 0, max: 3 })).map(([r, seq]) => fragmentMessage(RpcType.REQUEST, r.id, seq, r.payload))),
  // A well-formed request with one byte changed.
  w20(
    fc.tuple(requestArb, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([r, at, v]) => {
      const pkts = fragmentMessage(RpcType.REQUEST, r.id, 1, r.payload).map((p) => p.slice());
      const p = pkts[at % pkts.length]!;
      p[at % p.length] = v;
      return pkts;
    }),
  ),
  // Lying fragment counts: a header announcing n continuations, followed by k of them (some mismatched).
  w20(
    fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 5 }), fc.constantFrom(...IDS), fc.boolean(), fc.uint8Array({ maxLength: 232 })).map(([n, k, id, mismatch, body]) => {
      const pkts = [cat(header(RpcType.REQUEST, n, 7, id), body)];
      for (let i = 0; i < k; i++) pkts.push(cat(header(RpcType.CONTINUATION, mismatch && i === 0 ? n + 1 : n, mismatch && i === 1 ? 8 : 7, id), body));
      return pkts;
    }),
  ),
  // Wrong versions, header words and types.
  w20(
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.constantFrom(...IDS)).map(([b0, b1, id]) => {
      const h = header(RpcType.REQUEST, 0, 1, id);
      h[0] = b0;
      h[1] = b1;
      return [h];
    }),
  ),
  // A maximal message: 63 packets (rare: it costs 63 sends).
  { weight: 1, arbitrary: fc.constantFrom(...IDS).map((id) => fragmentMessage(RpcType.REQUEST, id, 2, new Uint8Array(14616).fill(0xa5))) },
);

test(`a hostile VM sends ${MESSAGES} bad messages; the RM stays sound and serves the primary VM`, async () => {
  const messages = fc.sample(messageArb, { seed: 0x5eed, numRuns: MESSAGES });
  assert.equal(messages.length, MESSAGES);
  let sent = 0;
  let hostileDone = false;
  const p = await runPrimary(
    async (c) => {
      const h = await prepareSvm(c, hostile);
      expectOk(await c.call(RmMsg.VM_CONSOLE_OPEN, vmidReq(h.vmid)), 'console');
      expectOk(await c.call(RmMsg.VM_START, vmidReq(h.vmid)), 'start hostile');
      // Our own work while the flood goes on: state queries keep getting answers.
      for (let i = 0; i < 20; i++) {
        const st = await c.call(RmMsg.VM_GET_STATE, vmidReq(h.vmid));
        expectOk(st, 'GET_STATE during the flood');
      }
      await c.waitNotification((n) => n.id === RmNotif.VM_CONSOLE_CHARS);
      // After the flood: a whole VM lifecycle of a well-behaved VM, and the hostile VM torn down.
      const g = await prepareSvm(c, good);
      expectOk(await c.call(RmMsg.VM_START, vmidReq(g.vmid)), 'start good');
      await c.waitNotification((n) => n.id === RmNotif.VM_EXITED && (n.payload[0]! | (n.payload[1]! << 8)) === g.vmid);
      for (const v of [g, h]) {
        if (v === h) expectOk(await c.call(RmMsg.VM_STOP, new Uint8Array([v.vmid & 0xff, v.vmid >> 8, 1, 0, 0, 0, 0, 0])), 'stop hostile');
        expectOk(await c.call(RmMsg.VM_RESET, vmidReq(v.vmid)), 'reset');
        await c.waitNotification((n) => n.id === RmNotif.VM_STATUS && (n.payload[0]! | (n.payload[1]! << 8)) === v.vmid && n.payload[4] === 11);
        expectOk(await c.call(RmMsg.MEM_RECLAIM, handleFlagsReq(v.handle)), 'reclaim');
        expectOk(await c.call(RmMsg.VM_DEALLOCATE, vmidReq(v.vmid)), 'deallocate');
      }
      // Memory it never touched is still ours to lend.
      const lend = await c.call(RmMsg.MEM_LEND, createReq({ acl: [{ vmid: 0x80, rights: 6 }], sgl: [{ ipa: 0x7000_0000n, size: 0x1000n }] }));
      assert.ok(lend.err === 0 || lend.err === 0xa || lend.err === 6, `lend after the flood: ${lend.err}`);
      if (lend.err === 0) expectOk(await c.call(RmMsg.MEM_RECLAIM, handleFlagsReq(u32At(lend.data))), 'reclaim');
    },
    {
      registerEntries: (pl) => {
        pl.machine.registerEntry(svmEntryPa(hostile), async (cpu) => {
          const me = await GuestRmClient.open(cpu, cpu.x[0]!, SVM_IPA_BASE + 0x2_0000n);
          const buf = SVM_IPA_BASE + 0x3_0000n;
          for (const pkts of messages) {
            for (const pkt of pkts) {
              cpu.write(buf, pkt);
              for (;;) {
                const r = await hypercall(cpu, Hvc.MSGQUEUE_SEND, me.txCap, pkt.length, buf, 1);
                if (r.error !== GhError.MSGQUEUE_FULL) break;
                await me.poll();
                await cpu.spin(1000);
              }
            }
            sent++;
            await me.poll();
            me.notifications.length = 0;
          }
          hostileDone = true;
          await me.call(RmMsg.VM_CONSOLE_OPEN, vmidReq(0));
          await me.call(RmMsg.VM_CONSOLE_WRITE, consoleReq(0, new TextEncoder().encode('done')));
        });
        pl.machine.registerEntry(svmEntryPa(good), async (cpu) => {
          const me = await GuestRmClient.open(cpu, cpu.x[0]!, SVM_IPA_BASE + 0x2_0000n);
          expectOk(await me.call(RmMsg.VM_GET_VMID), 'good VM asks its VMID');
          await me.call(RmMsg.VM_EXIT, exitReq(0, ExitCode.NORMAL));
        });
      },
    },
  );
  assert.equal(sent, MESSAGES);
  assert.ok(hostileDone);
  const rm = p.rm()!;
  assert.deepEqual(rm.stats.faults, [], 'no handler failed with anything but an RM error');
  assert.ok(rm.rpc.stats.requests > MESSAGES / 4, `the RM served ${rm.rpc.stats.requests} requests`);
  assert.deepEqual(p.hv.checkInvariants(), []);
});

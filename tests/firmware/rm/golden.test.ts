// Golden wire bytes for each RPC: a known request packet (header + payload, annotated by offset
// and field) from the primary VM, and the exact reply packet the RM sends back, on the real
// hypervisor with debug cap IDs (so cap values are small and fixed). Steps run in order and build
// on each other: one VM is allocated, configured, initialised, queried, reset and deallocated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toFdt } from '../../../dt';
import { RmMsg, RpcType, writeRpcHeader } from '../../../firmware/rm';
import { runPrimary, svmDt } from './harness';

/** Hex bytes; `|` separates fields and `(...)` annotates them (offsets and field names). */
function bytes(annotated: string): Uint8Array {
  const h = annotated.replace(/\([^)]*\)/g, '').replace(/[\s|]/g, '');
  if (!/^([0-9a-f]{2})*$/.test(h)) throw new Error(`bad golden hex: ${annotated}`);
  return Uint8Array.from(Buffer.from(h, 'hex'));
}
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface Step {
  name: string;
  /** The request packet. */
  req: string;
  /** The reply packet. */
  rep: string;
  /** Host-side work before the step (memory the request refers to). */
  before?: 'write-dt' | 'wait-reset';
}

// Header: byte 0 = 0x21 (version 1, 2 words); byte 1 = type | fragments << 2 (01 request, 02 reply);
// bytes 2-3 seq (LE); bytes 4-7 message ID (LE). Replies start their payload with the u32 error.
const STEPS: Step[] = [
  {
    name: 'VM_GET_VMID (empty payload) -> u32 3',
    req: '21 01 0100 24000056',
    rep: '21 02 0100 24000056 | 00000000 (err OK) | 03000000 (vmid 3)',
  },
  {
    name: 'VM_HOST_GET_TYPE -> 0x01000164',
    req: '21 01 0200 a0000056',
    rep: '21 02 0200 a0000056 | 00000000 | 64010001 ([AArch64, Gunyah+RM, v1])',
  },
  {
    name: 'VM_GET_OWNER -> the RM (0xff)',
    req: '21 01 0300 15000056',
    rep: '21 02 0300 15000056 | 00000000 | ff000000',
  },
  {
    name: 'VM_GET_PEERS -> [0xff]',
    req: '21 01 0400 25000056',
    rep: '21 02 0400 25000056 | 00000000 | 01000000 (count) | ff000000',
  },
  {
    name: 'VM_ALLOCATE(0) -> dynamic VMID 0x80',
    req: '21 01 0500 01000056 | 0000 (vmid 0 [dynamic]) | 0000 (res)',
    rep: '21 02 0500 01000056 | 00000000 | 80000000 (vmid)',
  },
  {
    name: 'VM_ALLOCATE with a 2-byte payload -> MSG_INVALID',
    req: '21 01 0600 01000056 | 0000',
    rep: '21 02 0600 01000056 | 04000000 (MSG_INVALID)',
  },
  {
    name: 'VM_GET_STATE(0x80) -> LOAD (5)',
    req: '21 01 0700 17000056 | 8000 | 0000',
    rep: '21 02 0700 17000056 | 00000000 | 05 (vm_state) | 00 (os_state) | 0000 (app_status)',
  },
  {
    name: 'MEM_LEND 16 MiB at 0x60000000 to VM 0x80 RWX -> handle 0',
    before: 'write-dt',
    req:
      '21 01 0800 12000051 | 00 (mem_type normal) | 00 | 00 (flags) | 00 | 00000000 (label) |' +
      ' 0100 (acl count) | 0000 | 8000 (vmid) | 07 (RWX) | 00 |' +
      ' 0100 (sgl count) | 0000 | 0000006000000000 (ipa) | 0000000100000000 (size 16 MiB) |' +
      ' 0000 (attr count) | 0000',
    rep: '21 02 0800 12000051 | 00000000 | 00000000 (handle 0)',
  },
  {
    name: 'VM_CONFIG_IMAGE(0x80, auth none, handle 0, image 1 MiB+4 KiB, DT 0+64 KiB)',
    req:
      '21 01 0900 09000056 | 8000 (vmid) | 0000 (auth NONE) | 00000000 (handle) |' +
      ' 0000100000000000 (image_offset) | 0010000000000000 (image_size) | 0000000000000000 (dt_offset) | 0000010000000000 (dt_size)',
    rep: '21 02 0900 09000056 | 00000000',
  },
  {
    name: 'VM_INIT(0x80) -> READY',
    req: '21 01 0a00 0b000056 | 8000 | 0000',
    rep: '21 02 0a00 0b000056 | 00000000',
  },
  {
    name: 'VM_INIT again -> VM_STATE',
    req: '21 01 0b00 0b000056 | 8000 | 0000',
    rep: '21 02 0b00 0b000056 | 14000000 (VM_STATE)',
  },
  {
    name: 'VM_GET_HYP_RESOURCES(0x80) -> one 44-byte VIRTUAL_CPU entry',
    req: '21 01 0c00 20000056 | 8000 | 0000',
    rep:
      '21 02 0c00 20000056 | 00000000 | 01000000 (n) |' +
      ' 04 (type VIRTUAL_CPU) | 00 | 8000 (partner) | 00000000 (handle) | 00000000 (label: vCPU 0) |' +
      ' 03000000 (capid_lo: the owner copy, 4th cap in its cspace) | 00000000 (capid_hi) | 00000000 (virq_handle) | 00000000 (virq: not proxy) |' +
      ' 00000000 00000000 (base) | 00000000 00000000 (size)',
  },
  {
    name: 'VM_GET_ID(0x80) -> GUID, NAME "alpha", SIGN_AUTH "N/A"',
    req: '21 01 0d00 10000056 | 8000 | 0000',
    rep:
      '21 02 0d00 10000056 | 00000000 | 03000000 (n) |' +
      ' 00 (GUID) | 00 | 1000 (len 16) | 00000000000000000000000000000000 |' +
      ' 02 (NAME) | 00 | 0500 (len 5) | 616c706861 000000 ("alpha" padded) |' +
      ' 03 (SIGN_AUTH) | 00 | 0300 (len 3) | 4e2f41 00 ("N/A" padded)',
  },
  {
    name: 'VM_LOOKUP_NAME("alpha") -> [0x80]',
    req: '21 01 0e00 13000056 | 0500 (len) | 0000 | 616c706861 000000',
    rep: '21 02 0e00 13000056 | 00000000 | 01000000 (n) | 80000000',
  },
  {
    name: 'VM_LOOKUP_NAME with non-zero padding -> MSG_INVALID',
    req: '21 01 0f00 13000056 | 0500 | 0000 | 616c706861 000001',
    rep: '21 02 0f00 13000056 | 04000000',
  },
  {
    name: 'VM_CONSOLE_OPEN(0x80) by the owner',
    req: '21 01 1000 81000056 | 8000 | 0000',
    rep: '21 02 1000 81000056 | 00000000',
  },
  {
    name: 'VM_CONSOLE_WRITE(0x80, "hi") while the VM side is closed: dropped, OK',
    req: '21 01 1100 83000056 | 8000 (target) | 0200 (num_bytes) | 6869',
    rep: '21 02 1100 83000056 | 00000000',
  },
  {
    name: 'VM_CONSOLE_WRITE with num_bytes larger than the payload -> MSG_INVALID',
    req: '21 01 1200 83000056 | 8000 | 0300 | 6869',
    rep: '21 02 1200 83000056 | 04000000',
  },
  {
    name: 'VM_CONSOLE_FLUSH(0x80)',
    req: '21 01 1300 84000056 | 8000 | 0000',
    rep: '21 02 1300 84000056 | 00000000',
  },
  {
    name: 'VM_SET_TIME_BASE(0x80): no vRTC -> ARGUMENT_INVALID + hypervisor error word',
    req: '21 01 1400 30000056 | 8000 | 0000 | 0000000000000000 (time_base) | 0000000000000000 (sys_timer_ref)',
    rep: '21 02 1400 30000056 | 06000000 (ARGUMENT_INVALID) | 01000000 (GH_ERROR_ARGUMENT_INVALID)',
  },
  {
    name: 'VM_GET_CRASH_MSG(0x80) -> empty',
    req: '21 01 1500 19000056 | 8000 | 0000',
    rep: '21 02 1500 19000056 | 00000000 | 0000 (len) | 0000',
  },
  {
    name: 'MEM_SHARE a page at 0x61000000 with VM 0x80 (R), owner keeps RW -> handle 1',
    req:
      '21 01 1600 13000051 | 00 | 00 | 00 | 00 | 2a000000 (label 42) |' +
      ' 0200 | 0000 | 0300 | 06 (RW) | 00 | 8000 | 04 (R) | 00 |' +
      ' 0100 | 0000 | 0000006100000000 | 0010000000000000 |' +
      ' 0000 | 0000',
    rep: '21 02 1600 13000051 | 00000000 | 01000000 (handle 1)',
  },
  {
    name: 'MEM_SHARE without the owner in the ACL -> ARGUMENT_INVALID',
    req: '21 01 1700 13000051 | 00 00 00 00 | 00000000 | 0100 0000 | 8000 04 00 | 0100 0000 | 0020006100000000 | 0010000000000000 | 0000 0000',
    rep: '21 02 1700 13000051 | 06000000',
  },
  {
    name: 'MEM_QCOM_LOOKUP_SGL for the shared page -> handle 1',
    req:
      '21 01 1800 1a000051 | 00 (mem_type) | 000000 | 2a000000 (label) |' +
      ' 0200 | 0000 | 0300 06 00 | 8000 04 00 | 0100 | 0000 | 0000006100000000 | 0010000000000000 | 0000 | 0000',
    rep: '21 02 1800 1a000051 | 00000000 | 01000000',
  },
  {
    name: 'MEM_NOTIFY(1, SHARED) to 0x80: it is READY and has no use for it -> the owner gets MEM_RELEASED',
    req: '21 01 1900 17000051 | 01000000 (handle) | 01 (SHARED) | 000000 | 77000000 (mem_info_tag) | 0100 (n) | 0000 | 8000 | 0000',
    rep: '21 02 1900 17000051 | 00000000',
  },
  {
    name: 'MEM_RECLAIM(1)',
    req: '21 01 1a00 15000051 | 01000000 | 00 (flags) | 000000',
    rep: '21 02 1a00 15000051 | 00000000',
  },
  {
    name: 'MEM_RECLAIM(1) again -> HANDLE_INVALID',
    req: '21 01 1b00 15000051 | 01000000 | 00 | 000000',
    rep: '21 02 1b00 15000051 | 07000000',
  },
  {
    name: 'VM_IRQ_LEND of a VIRQ the primary VM does not own -> IRQ_INVALID',
    req: '21 01 1c00 51000056 | 8000 (borrower) | 0000 | 40000000 (virq 64) | 00000000 (label)',
    rep: '21 02 1c00 51000056 | 0f000000',
  },
  { name: 'VM_GET_HYP_CAPIDS -> UNIMPLEMENTED', req: '21 01 1d00 21000056 | 8000 0000', rep: '21 02 1d00 21000056 | ffffffff' },
  { name: 'VM_SET_CONTEXT -> UNIMPLEMENTED', req: '21 01 1e00 31000056 | 8000 00 00 00000000 0000000000000000', rep: '21 02 1e00 31000056 | ffffffff' },
  { name: 'IPA_UNRESERVE -> UNIMPLEMENTED', req: '21 01 1f00 b1000056', rep: '21 02 1f00 b1000056 | ffffffff' },
  { name: 'an unknown ID -> UNIMPLEMENTED', req: '21 01 2000 99999999', rep: '21 02 2000 99999999 | ffffffff' },
  {
    name: 'VM_STOP(0x80, force) while READY -> VM_STATE',
    req: '21 01 2100 05000056 | 8000 | 01 (force) | 00 | 00000000 (reason)',
    rep: '21 02 2100 05000056 | 14000000',
  },
  {
    name: 'VM_RESET(0x80)',
    req: '21 01 2200 06000056 | 8000 | 0000',
    rep: '21 02 2200 06000056 | 00000000',
  },
  {
    name: 'MEM_RECLAIM(0) after the reset',
    before: 'wait-reset',
    req: '21 01 2300 15000051 | 00000000 | 00 | 000000',
    rep: '21 02 2300 15000051 | 00000000',
  },
  {
    name: 'VM_DEALLOCATE(0x80)',
    req: '21 01 2400 02000056 | 8000 | 0000',
    rep: '21 02 2400 02000056 | 00000000',
  },
  {
    name: 'VM_DEALLOCATE(0x80) again -> VMID_INVALID',
    req: '21 01 2500 02000056 | 8000 | 0000',
    rep: '21 02 2500 02000056 | 0d000000',
  },
  {
    name: 'VM_EXIT from the primary VM (crash-fatal) -> ARGUMENT_INVALID',
    req: '21 01 2600 85000056 | 0000 (flags) | 00 (code) | 00',
    rep: '21 02 2600 85000056 | 06000000',
  },
  {
    name: 'VM_SET_STATUS from VMID 3 (not a secondary VMID) -> DENIED',
    req: '21 01 2700 80000056 | 00 | 04 (RUN) | 0000',
    rep: '21 02 2700 80000056 | 03000000',
  },
  {
    name: 'IPA_RESERVE a fixed 64 KiB at 8 GiB',
    req: '21 01 2800 b0000056 | 00 (fixed) | 000000 | 04000000 (normal) | 00000000 | 0100 (n) | 0000 | 0000000002000000 (base) | 0000010000000000 (size)',
    rep: '21 02 2800 b0000056 | 00000000',
  },
  { name: 'FW_MILESTONE', req: '21 01 2900 20000051', rep: '21 02 2900 20000051 | 00000000' },
  {
    name: 'FW_SET_VM_FIRMWARE after the milestone -> DENIED',
    req: '21 01 2a00 21000051 | 0200 | 0000 | 00000000 | 0000000000000000 | 0010000000000000',
    rep: '21 02 2a00 21000051 | 03000000',
  },
];

test('every RPC in STEPS gets its golden reply bytes', async () => {
  const svm = { name: 'alpha', hostBase: 0x6000_0000n, size: 0x100_0000n };
  const results: { name: string; got: string; want: string }[] = [];
  await runPrimary(async (c) => {
    for (const s of STEPS) {
      if (s.before === 'write-dt') c.cpu.write(svm.hostBase, toFdt(svmDt(svm)));
      if (s.before === 'wait-reset') await c.waitNotification((n) => n.id === 0x5610_0008 && n.payload[4] === 11);
      const pkt = bytes(s.req);
      const v = new DataView(pkt.buffer);
      const seq = v.getUint16(2, true);
      const msgId = v.getUint32(4, true);

      const m = await c.callRaw([pkt], seq, msgId);
      const rep = new Uint8Array(8 + m.payload.length);
      writeRpcHeader(rep, 0, { type: RpcType.REPLY, fragments: 0, seq, msgId });
      rep.set(m.payload, 8);
      results.push({ name: s.name, got: hex(rep), want: hex(bytes(s.rep)) });
      if (process.env.GOLDEN_DEBUG) process.stderr.write(`${s.name}\n  got  ${hex(rep)}\n  want ${hex(bytes(s.rep))}\n`);
    }
  }, { traceRm: true });
  for (const r of results) assert.equal(r.got, r.want, r.name);
  assert.ok(STEPS.some((s) => bytes(s.req).subarray(4, 8).every((b, i) => b === [0x24, 0, 0, 0x56][i])));
  void RmMsg;
});

// arch: SMCCC register placement, hypercall function IDs, errors as HypervisorError with GH_ERROR names,
// the gh_ v14 errno remap, expected outcomes as data, PSCI, and per-vCPU serialization of calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  E,
  GH_ERROR,
  GH_MSGQ_TX_PUSH,
  HYPERCALL,
  HypercallsImpl,
  HypervisorError,
  Psci,
  PsciError,
  SmcccConduit,
  hypErrorToErrno,
  hypercallFid,
  virqInfo,
} from '../../core/index';
import { FakeMachine, type FakeCpu } from './helpers/fake-machine';

function setup() {
  const m = new FakeMachine();
  const calls: bigint[][] = [];
  let reply: (cpu: FakeCpu) => void = (cpu) => {
    cpu.x[0] = 0n;
  };
  m.hvcHandler = (cpu) => {
    calls.push([...cpu.x.slice(0, 18)]);
    reply(cpu);
  };
  const hyp = new HypercallsImpl(new SmcccConduit(m.cpus[0]!));
  return { m, hyp, calls, setReply: (f: (cpu: FakeCpu) => void) => (reply = f) };
}

test('function IDs are 0xC6008000 | N', () => {
  assert.equal(hypercallFid(HYPERCALL.msgqueue_send), 0xc600801b);
  assert.equal(hypercallFid(HYPERCALL.vcpu_run), 0xc6008065);
  assert.equal(hypercallFid(HYPERCALL.memextent_donate), 0xc6008061);
});

test('msgqueue_send: args in x1.., reserved registers zero, not_full from x1', async () => {
  const { hyp, calls, setReply } = setup();
  setReply((cpu) => {
    cpu.x[0] = 0n;
    cpu.x[1] = 1n;
  });
  const r = await hyp.ipc.msgqueueSend(0x1234_5678_9abc_def0n, 240, 0x8000_1000n, GH_MSGQ_TX_PUSH);
  assert.deepEqual(r, { ok: true, notFull: true });
  const x = calls[0]!;
  assert.equal(x[0], 0xc600801bn);
  assert.equal(x[1], 0x1234_5678_9abc_def0n); // 64-bit cap ID survives exactly
  assert.equal(x[2], 240n);
  assert.equal(x[3], 0x8000_1000n);
  assert.equal(x[4], 1n);
  for (let i = 5; i <= 17; i++) assert.equal(x[i], 0n, `x${i} must be zero`);
});

test('MSGQUEUE_FULL/EMPTY come back as data; other errors throw HypervisorError', async () => {
  const { hyp, setReply } = setup();
  setReply((cpu) => {
    cpu.x[0] = BigInt(GH_ERROR.MSGQUEUE_FULL);
  });
  assert.deepEqual(await hyp.ipc.msgqueueSend(1n, 8, 0n, 0n), { ok: false, error: 61 });
  setReply((cpu) => {
    cpu.x[0] = BigInt(GH_ERROR.MSGQUEUE_EMPTY);
  });
  assert.deepEqual(await hyp.ipc.msgqueueReceive(1n, 0n, 240), { ok: false, error: 60 });
  setReply((cpu) => {
    cpu.x[0] = BigInt(GH_ERROR.CSPACE_WRONG_OBJ_TYPE);
  });
  await assert.rejects(hyp.ipc.msgqueueSend(1n, 8, 0n, 0n), (e: unknown) => {
    assert.ok(e instanceof HypervisorError);
    assert.equal(e.code, 52);
    assert.equal(e.codeName, 'GH_ERROR_CSPACE_WRONG_OBJ_TYPE');
    assert.equal(e.toErrno().errno, E.EACCES);
    return true;
  });
  // A negative error (UNIMPLEMENTED = -1) is read as signed.
  setReply((cpu) => {
    cpu.x[0] = BigInt.asUintN(64, -1n);
  });
  await assert.rejects(hyp.ipc.doorbellSend(1n, 1n), /doorbell_send: GH_ERROR_UNIMPLEMENTED \(-1\)/);
});

test('gh_error_remap (v10-v14 column)', () => {
  const table: [number, number][] = [
    [0, 0],
    [-1, E.EOPNOTSUPP],
    [-2, E.EOPNOTSUPP],
    [1, E.EINVAL],
    [2, E.EINVAL],
    [3, E.EINVAL],
    [10, E.ENOMEM],
    [20, E.EINVAL],
    [22, E.EINVAL],
    [30, E.EACCES],
    [31, E.EBUSY],
    [32, E.EBUSY],
    [40, E.EIO],
    [41, E.EIO],
    [50, E.EACCES],
    [54, E.EACCES],
    [60, E.EIO],
    [61, E.EIO],
    [11, E.EINVAL],
    [33, E.EINVAL],
    [200, E.EINVAL],
    [12345, E.EINVAL],
  ];
  for (const [code, errno] of table) assert.equal(hypErrorToErrno(code), errno, `code ${code}`);
});

test('identify decodes api_info without treating x0 as an error', async () => {
  const { hyp, setReply } = setup();
  setReply((cpu) => {
    cpu.x[0] = (0x51n << 56n) | (1n << 15n) | 1n;
    cpu.x[1] = 0b1100110n;
    cpu.x[2] = 1n;
    cpu.x[3] = 0n;
  });
  const id = await hyp.object.identify();
  assert.equal(id.apiVersion, 1);
  assert.equal(id.is64Bit, true);
  assert.equal(id.bigEndian, false);
  assert.equal(id.variant, 0x51);
  assert.deepEqual(id.flags, [0b1100110n, 1n, 0n]);
});

test('vcpu_run returns the state tuple; RETRY is data; res1 args are all-ones', async () => {
  const { hyp, calls, setReply } = setup();
  setReply((cpu) => {
    cpu.x[0] = 0n;
    cpu.x[1] = 4n;
    cpu.x[2] = 0x9000000n;
    cpu.x[3] = 4n;
  });
  const r = await hyp.vcpu.run(7n, [0xabn, 0n, 0n]);
  assert.deepEqual(r, { ok: true, state: 4, data: [0x9000000n, 4n, 0n] });
  assert.equal(calls[0]![2], 0xabn);
  setReply((cpu) => {
    cpu.x[0] = BigInt.asUintN(64, -2n);
  });
  assert.deepEqual(await hyp.vcpu.run(7n), { ok: false, error: GH_ERROR.RETRY });
  setReply((cpu) => {
    cpu.x[0] = 0n;
  });
  await hyp.vcpu.setAffinity(7n, -1);
  const x = calls[calls.length - 1]!;
  assert.equal(x[2], (1n << 64n) - 1n); // CPU_INDEX_INVALID
  assert.equal(x[3], (1n << 64n) - 1n); // res1
  await hyp.ipc.msgqueueConfigure(3n, 8, 240);
  assert.equal(calls[calls.length - 1]![2], (240n << 16n) | 8n);
  assert.equal(virqInfo(960, 2), (2n << 24n) | 960n);
});

test('PSCI: CPU_ON arguments and error codes', async () => {
  const m = new FakeMachine();
  const seen: bigint[][] = [];
  m.hvcHandler = (cpu) => {
    seen.push([cpu.x[0]!, cpu.x[1]!, cpu.x[2]!, cpu.x[3]!]);
    cpu.x[0] = cpu.x[1] === 0x81n ? BigInt.asUintN(64, -4n) : 0n;
  };
  const psci = new Psci(new SmcccConduit(m.cpus[0]!));
  await psci.cpuOn(0x80000001n, 0x4000_0000n, 42n);
  assert.deepEqual(seen[0], [0xc4000003n, 0x80000001n, 0x40000000n, 42n]);
  await assert.rejects(psci.cpuOn(0x81n, 0n, 0n), (e: unknown) => e instanceof PsciError && e.code === -4 && /ALREADY_ON/.test(e.message));
});

test('concurrent calls on one vCPU take turns (registers are not clobbered)', async () => {
  const m = new FakeMachine();
  m.hvcHandler = async (cpu) => {
    const a = cpu.x[1]!;
    await new Promise((r) => setImmediate(r));
    cpu.x[0] = 0n;
    cpu.x[1] = a * 2n;
  };
  const hyp = new HypercallsImpl(new SmcccConduit(m.cpus[0]!));
  const results = await Promise.all([1n, 2n, 3n, 4n, 5n].map((v) => hyp.object.traceUpdateClassFlags(v, 0n)));
  assert.deepEqual(results, [2n, 4n, 6n, 8n, 10n]);
});

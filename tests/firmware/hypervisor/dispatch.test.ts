// Hypercall dispatch: native and SMCCC entry paths, reserved arguments, gaps, SMCCC services.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_FLAGS0, GhError, GUNYAH_UID, Hvc, HVC_MAX, hypercall, HYP_API_INFO, smccc, Smccc } from '../../../firmware/hypervisor/index';
import { err, runRoot } from './harness';

const ALL_ONES = 0xffff_ffff_ffff_ffffn;

test('hypervisor_identify on both entry paths', async () => {
  await runRoot(async (cpu) => {
    const r = await hypercall(cpu, Hvc.HYPERVISOR_IDENTIFY, 1, 2, 3, 4, 5, 6, 7, 8);
    assert.deepEqual(r.x, [HYP_API_INFO, BigInt(API_FLAGS0), 0n, 0n, 0n, 0n, 0n, 0n], 'unused outputs are zeroed');
    assert.equal(HYP_API_INFO, 0x5100_0000_0000_8001n, 'v1, 64-bit, little-endian, variant QUALCOMM');
    assert.equal((API_FLAGS0 >>> 28) & 0xf, 1, 'FPRR scheduler');
    assert.equal(API_FLAGS0 & (1 << 8), 0, 'no watchdog in this build');
    const s = await smccc(cpu, Smccc.GUNYAH_HVC_BASE | Hvc.HYPERVISOR_IDENTIFY);
    assert.deepEqual(s, [HYP_API_INFO, BigInt(API_FLAGS0), 0n, 0n]);
  });
});

test('gaps answer UNIMPLEMENTED; immediates outside the range are not Gunyah calls', async () => {
  await runRoot(async (cpu) => {
    for (const n of [0x08, 0x09, 0x16, 0x1e, 0x33, 0x35, 0x40, 0x48, 0x49, 0x55, 0x58, 0x5e, 0x5f, 0x63]) {
      const r = await hypercall(cpu, n, 1, 2, 3);
      assert.equal(r.error, GhError.UNIMPLEMENTED, `0x${n.toString(16)}`);
      assert.equal(r.x[1], 0n, 'x1 sanitised');
    }
    cpu.x[0] = 5n;
    await cpu.hvc(0x6000 + HVC_MAX + 1);
    assert.equal(cpu.x[0], ALL_ONES);
    cpu.x[0] = 5n;
    await cpu.hvc(0x1234);
    assert.equal(cpu.x[0], ALL_ONES);
  });
});

test('res0 and res1 arguments are checked before anything else on the native path only', async () => {
  await runRoot(async (cpu, env) => {
    // A bad cap with a non-zero res0 still reports ARGUMENT_INVALID: the check comes first.
    assert.equal(await err(cpu, Hvc.OBJECT_ACTIVATE, 0x1234n, 1), GhError.ARGUMENT_INVALID);
    assert.equal(await err(cpu, Hvc.OBJECT_ACTIVATE, env.vic_capid, 0), GhError.OBJECT_STATE);
    // res1 must be all ones.
    assert.equal(await err(cpu, Hvc.VCPU_SET_AFFINITY, env.vcpu_capid, 0, 0), GhError.ARGUMENT_INVALID);
    assert.equal(await err(cpu, Hvc.MSGQUEUE_CONFIGURE_SEND, env.vic_capid, 1, -1n, 5), GhError.ARGUMENT_INVALID);
    // SMCCC path: arguments from x1 and reserved inputs not checked.
    const x = await smccc(cpu, Smccc.GUNYAH_HVC_BASE | Hvc.OBJECT_ACTIVATE, env.vic_capid, 99);
    assert.equal(x[0], BigInt(GhError.OBJECT_STATE));
    const created = await smccc(cpu, Smccc.GUNYAH_HVC_BASE | Hvc.PARTITION_CREATE_DOORBELL, env.partition_capid, env.cspace_capid, 7);
    assert.equal(created[0], 0n);
    assert.ok(created[1]! > 0n);
  });
});

test('SMCCC architecture, standard-hypervisor and vendor service calls', async () => {
  await runRoot(async (cpu) => {
    assert.equal((await smccc(cpu, Smccc.VERSION))[0], 0x10003n);
    assert.equal((await smccc(cpu, Smccc.ARCH_FEATURES, Smccc.VERSION))[0], 0n);
    assert.equal((await smccc(cpu, Smccc.ARCH_FEATURES, Smccc.ARCH_WORKAROUND_1))[0], ALL_ONES);
    assert.equal((await smccc(cpu, Smccc.ARCH_FEATURES, 0x1234_5678))[0], ALL_ONES);
    assert.deepEqual((await smccc(cpu, Smccc.VENDOR_HYP_CALL_UID)).map(Number), [...GUNYAH_UID]);
    assert.equal((await smccc(cpu, Smccc.VENDOR_HYP_REVISION))[0], HYP_API_INFO);
    assert.equal((await smccc(cpu, Smccc.VENDOR_HYP_CALL_COUNT))[0], ALL_ONES, 'deprecated');
    assert.deepEqual((await smccc(cpu, Smccc.STD_HYP_CALL_UID)).map(Number), [...GUNYAH_UID]);
    assert.deepEqual((await smccc(cpu, Smccc.STD_HYP_REVISION)).slice(0, 2), [1n, 0n]);
    // A hypercall ID that is not fast SMC64 is unknown.
    assert.equal((await smccc(cpu, 0x86008000 | Hvc.HYPERVISOR_IDENTIFY))[0], ALL_ONES, 'SMC32');
    assert.equal((await smccc(cpu, 0x46008000 | Hvc.HYPERVISOR_IDENTIFY))[0], ALL_ONES, 'yielding call');
    assert.equal((await smccc(cpu, Smccc.GUNYAH_HVC_BASE | 0x16))[0], BigInt.asUintN(64, -1n), 'gap');
    // The RM's vCPU is in no VPM group: PSCI falls through as unknown.
    assert.equal((await smccc(cpu, 0x8400_0000))[0], ALL_ONES);
    // SMC reaches PSCI and arch calls only.
    cpu.x[0] = BigInt(Smccc.VERSION);
    await cpu.smc(0);
    assert.equal(cpu.x[0], 0x10003n);
    cpu.x[0] = BigInt(Smccc.GUNYAH_HVC_BASE);
    await cpu.smc(0);
    assert.equal(cpu.x[0], ALL_ONES);
  });
});

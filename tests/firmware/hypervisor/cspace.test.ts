// Capability spaces: cap ID encoding, lookup error order, rights, copy, delete and revoke.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_RIGHTS, CSPACE_MAX_CAPS, GhError, Hvc, hypercall, ObjectType, Rights } from '../../../firmware/hypervisor/index';
import { create, err, ok, runRoot } from './harness';

test('debug cap IDs are slot values allocated lowest-first; the root cspace holds a cap to itself', async () => {
  await runRoot(
    async (cpu, env) => {
      // cspace itself, partition, vCPU, addrspace, own memory, DDR, device memory, VIC.
      assert.deepEqual(
        [env.cspace_capid, env.partition_capid, env.vcpu_capid, env.addrspace_capid, env.me_capid, env.ddr_me_capid, env.device_me_capid, env.vic_capid],
        [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n],
      );
      const cs = await create(cpu, env, Hvc.PARTITION_CREATE_CSPACE);
      assert.equal(cs, 8n);
      // A table holds 62 slots: the 63rd cap opens table 1 (value 1 << 8).
      for (let i = 9; i < 62; i++) assert.equal(await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL), BigInt(i));
      assert.equal(await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL), 0x100n);
      // Freed slots are reused lowest first.
      await ok(cpu, Hvc.CSPACE_DELETE_CAP_FROM, env.cspace_capid, 20n, 0);
      assert.equal(await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL), 20n);
    },
    { capIds: 'debug' },
  );
});

test('random cap IDs are exact 64-bit values that differ between cspaces for the same object', async () => {
  await runRoot(async (cpu, env) => {
    for (const id of [env.cspace_capid, env.partition_capid, env.vic_capid]) {
      assert.ok(id > 0xffff_ffffn, `cap ID 0x${id.toString(16)} uses the high word`);
      assert.ok(id >> 32n < 0xffff_ff00n, 'the 0xFFFFFFFF_xxxxxxxx range is never produced');
    }
    const cs = await create(cpu, env, Hvc.PARTITION_CREATE_CSPACE);
    await ok(cpu, Hvc.CSPACE_CONFIGURE, cs, 16, 0);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, cs, 0);
    const db = await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL);
    const copy = (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, env.cspace_capid, db, cs, Rights.doorbell.SEND, 0))[1]!;
    assert.notEqual(copy, db);
    assert.notEqual(copy >> 32n, db >> 32n, 'each cspace has its own random base');
    // Flipping any bit of a valid ID, high ones included, never names the object.
    for (const bit of [0n, 17n, 32n, 45n, 63n]) {
      const e = await err(cpu, Hvc.DOORBELL_SEND, db ^ (1n << bit), 1, 0);
      assert.ok([GhError.ARGUMENT_INVALID, GhError.CSPACE_CAP_NULL, GhError.CSPACE_WRONG_OBJECT_TYPE, GhError.CSPACE_INSUFFICIENT_RIGHTS, GhError.OBJECT_STATE].includes(e as never), `bit ${bit}: ${e}`);
    }
  });
});

test('lookup errors come in the spec order', async () => {
  await runRoot(
    async (cpu, env) => {
      const cs = env.cspace_capid;
      // Does not decode: above 16 bits, or a table/slot index out of range.
      assert.equal(await err(cpu, Hvc.DOORBELL_SEND, 0x1_0000n, 0, 0), GhError.ARGUMENT_INVALID);
      assert.equal(await err(cpu, Hvc.DOORBELL_SEND, 0xffff_ffff_ffff_ffffn, 0, 0), GhError.ARGUMENT_INVALID);
      assert.equal(await err(cpu, Hvc.DOORBELL_SEND, 62n, 0, 0), GhError.ARGUMENT_INVALID, 'slot 62 does not exist');
      assert.equal(await err(cpu, Hvc.DOORBELL_SEND, 230n << 8n, 0, 0), GhError.ARGUMENT_INVALID, 'table 230 does not exist');
      // Empty slot, empty table.
      assert.equal(await err(cpu, Hvc.DOORBELL_SEND, 40n, 0, 0), GhError.CSPACE_CAP_NULL);
      assert.equal(await err(cpu, Hvc.DOORBELL_SEND, 5n << 8n, 0, 0), GhError.CSPACE_CAP_NULL);
      // Wrong type, then rights, then state.
      assert.equal(await err(cpu, Hvc.DOORBELL_SEND, cs, 0, 0), GhError.CSPACE_WRONG_OBJECT_TYPE);
      const db = await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL);
      const recvOnly = (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, cs, db, cs, Rights.doorbell.RECEIVE, 0))[1]!;
      assert.equal(await err(cpu, Hvc.DOORBELL_SEND, recvOnly, 1, 0), GhError.CSPACE_INSUFFICIENT_RIGHTS);
      assert.equal(await err(cpu, Hvc.DOORBELL_SEND, db, 1, 0), GhError.OBJECT_STATE, 'still INIT');
      await ok(cpu, Hvc.OBJECT_ACTIVATE, db, 0);
      assert.equal(await err(cpu, Hvc.DOORBELL_SEND, db, 1, 0), GhError.OK);
      // Revoked.
      await ok(cpu, Hvc.CSPACE_REVOKE_CAPS_FROM, cs, db, 0);
      assert.equal(await err(cpu, Hvc.DOORBELL_RECEIVE, recvOnly, 1, 0), GhError.CSPACE_CAP_REVOKED);
      assert.equal(await err(cpu, Hvc.DOORBELL_SEND, db, 1, 0), GhError.OK, 'the master survives revocation');
    },
    { capIds: 'debug' },
  );
});

test('copy masks rights, is never a master, and deleting the last cap destroys the object', async () => {
  const r = await runRoot(
    async (cpu, env) => {
      const cs = env.cspace_capid;
      const db = await create(cpu, env, Hvc.PARTITION_CREATE_DOORBELL);
      assert.equal(await err(cpu, Hvc.CSPACE_COPY_CAP_FROM, cs, db, cs, 0x7fff_0000, 0), GhError.CSPACE_INSUFFICIENT_RIGHTS, 'mask leaves nothing');
      const c = (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, cs, db, cs, 0xffff_ffff, 0))[1]!;
      // A copy with every right still is no master: it cannot revoke.
      assert.equal(await err(cpu, Hvc.CSPACE_REVOKE_CAPS_FROM, cs, c, 0), GhError.CSPACE_INSUFFICIENT_RIGHTS);
      // Copy of a copy keeps masking.
      const c2 = (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, cs, c, cs, Rights.doorbell.SEND | Rights.doorbell.RECEIVE, 0))[1]!;
      assert.equal(await err(cpu, Hvc.DOORBELL_BIND_VIRQ, c2, env.vic_capid, 40, 0), GhError.CSPACE_INSUFFICIENT_RIGHTS);
      await ok(cpu, Hvc.CSPACE_DELETE_CAP_FROM, cs, db, 0);
      await ok(cpu, Hvc.CSPACE_DELETE_CAP_FROM, cs, c, 0);
      // The object lives while a cap remains.
      assert.equal(await err(cpu, Hvc.OBJECT_ACTIVATE, c2, 0), GhError.CSPACE_INSUFFICIENT_RIGHTS);
      await ok(cpu, Hvc.CSPACE_DELETE_CAP_FROM, cs, c2, 0);
      assert.equal(await err(cpu, Hvc.CSPACE_DELETE_CAP_FROM, cs, c2, 0), GhError.CSPACE_CAP_NULL);
      // Delete needs CapDelete on the cspace cap.
      const noDel = (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, cs, cs, cs, Rights.cspace.CAP_CREATE, 0))[1]!;
      assert.equal(await err(cpu, Hvc.CSPACE_DELETE_CAP_FROM, noDel, noDel, 0), GhError.CSPACE_INSUFFICIENT_RIGHTS);
      // cspace_revoke_cap_from is unimplemented in the hypervisor.
      assert.equal(await err(cpu, Hvc.CSPACE_REVOKE_CAP_FROM, cs, noDel, 0), GhError.UNIMPLEMENTED);
    },
    { capIds: 'debug' },
  );
  assert.equal([...r.hv.objects].filter((o) => o.type === ObjectType.DOORBELL).length, 0, 'the doorbell was freed');
  assert.deepEqual(r.hv.checkInvariants(), []);
});

test('cspace configure, activation prerequisites and CSPACE_FULL', async () => {
  await runRoot(
    async (cpu, env) => {
      const cs = await create(cpu, env, Hvc.PARTITION_CREATE_CSPACE);
      assert.equal(await err(cpu, Hvc.CSPACE_CONFIGURE, cs, CSPACE_MAX_CAPS + 1, 0), GhError.ARGUMENT_INVALID);
      assert.equal(await err(cpu, Hvc.CSPACE_CONFIGURE, env.vic_capid, 4, 0), GhError.CSPACE_WRONG_OBJECT_TYPE);
      // Activation without max_caps fails, and FAILED is terminal.
      assert.equal(await err(cpu, Hvc.OBJECT_ACTIVATE, cs, 0), GhError.OBJECT_CONFIG);
      assert.equal(await err(cpu, Hvc.OBJECT_ACTIVATE, cs, 0), GhError.OBJECT_STATE);
      assert.equal(await err(cpu, Hvc.CSPACE_CONFIGURE, cs, 4, 0), GhError.OBJECT_STATE);
      const small = await create(cpu, env, Hvc.PARTITION_CREATE_CSPACE);
      await ok(cpu, Hvc.CSPACE_CONFIGURE, small, 2, 0);
      await ok(cpu, Hvc.OBJECT_ACTIVATE, small, 0);
      assert.equal(await err(cpu, Hvc.CSPACE_CONFIGURE, small, 4, 0), GhError.OBJECT_STATE, 'configure only in INIT');
      const mk = async () => hypercall(cpu, Hvc.PARTITION_CREATE_DOORBELL, env.partition_capid, small, 0);
      assert.equal((await mk()).error, GhError.OK);
      assert.equal((await mk()).error, GhError.OK);
      const full = await mk();
      assert.equal(full.error, GhError.CSPACE_FULL);
      assert.equal(full.x[1], 0n, 'no cap returned on error');
      // object_activate_from activates through another cspace.
      await ok(cpu, Hvc.OBJECT_ACTIVATE_FROM, small, 0n, 0);
      assert.equal(await err(cpu, Hvc.OBJECT_ACTIVATE_FROM, small, 0n, 0), GhError.OBJECT_STATE);
      assert.equal(await err(cpu, Hvc.OBJECT_RESET, small, 0), GhError.UNIMPLEMENTED);
    },
    { capIds: 'debug' },
  );
});

test('master caps carry every right of their type', () => {
  assert.equal(ALL_RIGHTS[ObjectType.THREAD], 0x8000_03ff);
  assert.equal(ALL_RIGHTS[ObjectType.CSPACE], 0x8000_001f);
  assert.equal(ALL_RIGHTS[ObjectType.HWIRQ], 0x8000_0002);
});

test('child partitions allocate from a bounded heap: NOMEM, then freed by deletion', async () => {
  await runRoot(async (cpu, env) => {
    const part = await create(cpu, env, Hvc.PARTITION_CREATE_PARTITION);
    assert.equal(await err(cpu, Hvc.PARTITION_CREATE_DOORBELL, part, env.cspace_capid, 0), GhError.OBJECT_STATE, 'not yet active');
    await ok(cpu, Hvc.OBJECT_ACTIVATE, part, 0);
    const mkQueue = async () => {
      const q = (await ok(cpu, Hvc.PARTITION_CREATE_MSGQUEUE, part, env.cspace_capid, 0))[1]!;
      await ok(cpu, Hvc.MSGQUEUE_CONFIGURE, q, (1023 << 16) | 255, 0);
      return { q, err: await err(cpu, Hvc.OBJECT_ACTIVATE, q, 0) };
    };
    const made: bigint[] = [];
    let last = GhError.OK as number;
    for (let i = 0; i < 32 && last === GhError.OK; i++) {
      const { q, err: e } = await mkQueue();
      made.push(q);
      last = e;
    }
    assert.equal(last, GhError.NOMEM, 'a 4 MiB partition heap holds 15 such queues');
    assert.equal(made.length, 16);
    for (const q of made) await ok(cpu, Hvc.CSPACE_DELETE_CAP_FROM, env.cspace_capid, q, 0);
    assert.equal((await mkQueue()).err, GhError.OK, 'the heap came back');
    // A critical vCPU needs the privileged (root) partition.
    const t = (await ok(cpu, Hvc.PARTITION_CREATE_THREAD, part, env.cspace_capid, 0))[1]!;
    await ok(cpu, Hvc.VCPU_CONFIGURE, t, 1n << 8n, 0);
    await ok(cpu, Hvc.CSPACE_ATTACH_THREAD, env.cspace_capid, t, 0);
    await ok(cpu, Hvc.ADDRSPACE_ATTACH_THREAD, env.addrspace_capid, t, 0);
    assert.equal(await err(cpu, Hvc.OBJECT_ACTIVATE, t, 0), GhError.DENIED);
    assert.equal(await err(cpu, Hvc.VCPU_CONFIGURE, t, 1n << 6n, 0), GhError.ARGUMENT_INVALID, 'unknown option bit');
    // The partition needs ObjectCreate; a copy without it is refused.
    const weak = (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, env.cspace_capid, part, env.cspace_capid, Rights.partition.DONATE, 0))[1]!;
    assert.equal(await err(cpu, Hvc.PARTITION_CREATE_DOORBELL, weak, env.cspace_capid, 0), GhError.CSPACE_INSUFFICIENT_RIGHTS);
  });
});

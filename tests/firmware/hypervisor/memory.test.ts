// Memory extents and stage 2: lend / share / reclaim as the RM does them (sibling donation to a
// memparcel extent), derivation, mapping errors, lookup, the four mapping slots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Access, GhError, GuestAbort, Hvc, hypercall, MemextentType, S2Memtype, VcpuRunState, type GuestCpu } from '../../../firmware/hypervisor/index';
import { buildVm, create, err, MAP_RWX, ok, RAM_BASE, runRoot, RWX_SPARSE } from './harness';

const CMD = 0x0900_0000n;
const REPORT = 0x0900_0008n;
const WRITE = 1n << 63n;
const REASONS = ['translation', 'permission', 'mmio', 'alignment', 'size'];

/** A proxy-scheduled guest that reads (or, with bit 63, writes) the IPA the VMM gives it and reports. */
async function prober(g: GuestCpu): Promise<void> {
  let n = 0;
  for (;;) {
    const cmd = await g.mmioRead(CMD, 8);
    const at = cmd & ~WRITE;
    let v: bigint;
    try {
      if (cmd & WRITE) {
        g.write32(at, 0xc0ff_ee00 + ++n);
        v = 1n;
      } else v = BigInt(g.read32(at));
    } catch (e) {
      v = e instanceof GuestAbort ? 0xdead_0000n + BigInt(REASONS.indexOf(e.reason)) : 0xffffn;
    }
    await g.mmioWrite(REPORT, 8, v);
  }
}

async function probe(cpu: GuestCpu, vcpu: bigint, cmd: bigint): Promise<bigint> {
  let x = await hypercall(cpu, Hvc.VCPU_RUN, vcpu, 0, 0, 0, 0);
  assert.equal(Number(x.x[1]), VcpuRunState.ADDRSPACE_VMMIO_READ);
  x = await hypercall(cpu, Hvc.VCPU_RUN, vcpu, cmd, 0, 0, 0);
  assert.equal(Number(x.x[1]), VcpuRunState.ADDRSPACE_VMMIO_WRITE);
  return x.x[4]!;
}

const TRANSLATION_FAULT = 0xdead_0000n;

test('lend then reclaim: the page leaves the owner, the borrower sees it, and it comes back', async () => {
  const paA = RAM_BASE + 0x1000_0000;
  const paB = RAM_BASE + 0x1100_0000;
  const LEND_OFF = 0x2_0000;
  const LEND_SIZE = 0x4000;
  await runRoot(async (cpu, env, rg) => {
    const a = await buildVm(cpu, env, rg.machine, { vmid: 40, pa: paA, size: 0x10_0000, ipaBase: 0x8000_0000, entry: 0x8000_0000, proxy: true, code: prober });
    const b = await buildVm(cpu, env, rg.machine, { vmid: 41, pa: paB, size: 0x10_0000, ipaBase: 0x8000_0000, entry: 0x8000_0000, proxy: true, code: prober });
    const ta = a.vcpus[0]!;
    const tb = b.vcpus[0]!;
    const ipaA = 0x8000_0000n + BigInt(LEND_OFF);
    const ipaB = 0x9000_0000n;
    assert.equal(await probe(cpu, ta, WRITE | ipaA), 1n);
    const data = await probe(cpu, ta, ipaA);
    assert.equal(data & 0xffff_ff00n, 0xc0ff_ee00n);
    assert.equal(await probe(cpu, tb, ipaB), TRANSLATION_FAULT, 'nothing at the borrower yet');
    // The memparcel extent: a sparse sibling of A's extent over the lent range.
    const mp = await create(cpu, env, Hvc.PARTITION_CREATE_MEMEXTENT);
    const physOff = BigInt(paA + LEND_OFF) - env.ddr_me_base;
    await ok(cpu, Hvc.MEMEXTENT_CONFIGURE_DERIVE, mp, env.ddr_me_capid, physOff, LEND_SIZE, RWX_SPARSE, 0);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, mp, 0);
    // Lend: A's pages move to the memparcel extent, unmapped from A; B maps the parcel.
    await ok(cpu, Hvc.MEMEXTENT_DONATE, 2, a.me, mp, LEND_OFF, LEND_SIZE, 0);
    assert.equal(await probe(cpu, ta, ipaA), TRANSLATION_FAULT, 'lent memory is gone from the owner');
    assert.equal(await err(cpu, Hvc.ADDRSPACE_LOOKUP, a.addrspace, a.me, ipaA, 0x1000, 0), GhError.ADDR_INVALID);
    await ok(cpu, Hvc.ADDRSPACE_MAP, b.addrspace, mp, ipaB, MAP_RWX, 0, 0, 0);
    assert.equal(await probe(cpu, tb, ipaB), data, 'the borrower sees the owner data');
    assert.equal(await probe(cpu, tb, WRITE | (ipaB + 4n)), 1n);
    assert.deepEqual(rg.hv.checkInvariants(), []);
    // Reclaim: the borrower unmaps (the RM refuses a reclaim while the parcel is accepted), then
    // the pages go back to the owner's extent, whose mapping reappears.
    await ok(cpu, Hvc.ADDRSPACE_UNMAP, b.addrspace, mp, ipaB, 0, 0, 0);
    assert.equal(await probe(cpu, tb, ipaB), TRANSLATION_FAULT, 'unmapped from the borrower');
    await ok(cpu, Hvc.MEMEXTENT_DONATE, 2, mp, a.me, 0, LEND_SIZE, 0);
    assert.equal(await probe(cpu, ta, ipaA), data, 'reclaimed: back at the owner, contents intact');
    assert.equal((await probe(cpu, ta, ipaA + 4n)) & 0xffff_ff00n, 0xc0ff_ee00n, 'with what the borrower wrote');
    // Donating pages the extent does not own fails and changes nothing.
    assert.equal(await err(cpu, Hvc.MEMEXTENT_DONATE, 2, mp, a.me, 0, LEND_SIZE, 0), GhError.MEMDB_NOT_OWNER);
    assert.deepEqual(rg.hv.checkInvariants(), []);
  });
});

test('share: the owner keeps access through the memparcel extent while the borrower maps it', async () => {
  const paA = RAM_BASE + 0x1200_0000;
  const paB = RAM_BASE + 0x1300_0000;
  await runRoot(async (cpu, env, rg) => {
    const a = await buildVm(cpu, env, rg.machine, { vmid: 42, pa: paA, size: 0x10_0000, ipaBase: 0x8000_0000, entry: 0x8000_0000, proxy: true, code: prober });
    const b = await buildVm(cpu, env, rg.machine, { vmid: 43, pa: paB, size: 0x10_0000, ipaBase: 0x8000_0000, entry: 0x8000_0000, proxy: true, code: prober });
    const ipaA = 0x8000_0000n;
    const mp = await create(cpu, env, Hvc.PARTITION_CREATE_MEMEXTENT);
    await ok(cpu, Hvc.MEMEXTENT_CONFIGURE_DERIVE, mp, env.ddr_me_capid, BigInt(paA) - env.ddr_me_base, 0x1000, RWX_SPARSE, 0);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, mp, 0);
    // Map the owner's range through the parcel first, then donate: the owner never loses it.
    await ok(cpu, Hvc.ADDRSPACE_MAP, a.addrspace, mp, ipaA, MAP_RWX, 0, 0, 0);
    assert.equal(await probe(cpu, a.vcpus[0]!, WRITE | ipaA), 1n);
    await ok(cpu, Hvc.MEMEXTENT_DONATE, 2, a.me, mp, 0, 0x1000, 0);
    const v = await probe(cpu, a.vcpus[0]!, ipaA);
    assert.equal(v & 0xffff_ff00n, 0xc0ff_ee00n);
    await ok(cpu, Hvc.ADDRSPACE_MAP, b.addrspace, mp, 0xa000_0000n, Access.R | (Access.R << 4) | (S2Memtype.NORMAL_WB << 16), 0, 0, 0);
    assert.equal(await probe(cpu, b.vcpus[0]!, 0xa000_0000n), v);
    assert.equal(await probe(cpu, b.vcpus[0]!, WRITE | 0xa000_0000n), 0xdead_0001n, 'read-only share: permission fault');
    // lookup reports where the extent is mapped.
    const l = await hypercall(cpu, Hvc.ADDRSPACE_LOOKUP, b.addrspace, mp, 0xa000_0000n, 0x1000, 0);
    assert.deepEqual([l.error, l.x[1], l.x[2], l.x[3]], [GhError.OK, 0n, 0x1000n, BigInt(Access.R | (Access.R << 4) | (S2Memtype.NORMAL_WB << 16))]);
    assert.equal(await err(cpu, Hvc.ADDRSPACE_LOOKUP, b.addrspace, a.me, 0xa000_0000n, 0x1000, 0), GhError.MEMDB_NOT_OWNER);
    assert.deepEqual(rg.hv.checkInvariants(), []);
  });
});

test('extent configuration, derivation, mapping and donation errors', async () => {
  await runRoot(async (cpu, env) => {
    const me = await create(cpu, env, Hvc.PARTITION_CREATE_MEMEXTENT);
    const base = env.ddr_me_base + 0x2000_0000n;
    assert.equal(await err(cpu, Hvc.MEMEXTENT_CONFIGURE, me, base, 0, Access.RW, 0), GhError.ARGUMENT_INVALID, 'size 0');
    assert.equal(await err(cpu, Hvc.MEMEXTENT_CONFIGURE, me, base + 1n, 0x1000, Access.RW, 0), GhError.ARGUMENT_ALIGNMENT);
    assert.equal(await err(cpu, Hvc.MEMEXTENT_CONFIGURE, me, base, 0x1000, 0, 0), GhError.ARGUMENT_INVALID, 'no access');
    assert.equal(await err(cpu, Hvc.MEMEXTENT_CONFIGURE, me, base, 0x1000, Access.RW | (1 << 31), 0), GhError.ARGUMENT_INVALID, 'append');
    assert.equal(await err(cpu, Hvc.MEMEXTENT_CONFIGURE, me, base, 0x1000, Access.RW | (2 << 16), 0), GhError.ARGUMENT_INVALID, 'type 2');
    assert.equal(await err(cpu, Hvc.MEMEXTENT_CONFIGURE_DERIVE, me, env.ddr_me_capid, env.ddr_me_size, 0x1000, Access.RW, 0), GhError.ADDR_INVALID);
    assert.equal(await err(cpu, Hvc.MEMEXTENT_CONFIGURE_DERIVE, me, env.device_me_capid, 0, 0x1000, Access.RW, 0), GhError.ARGUMENT_INVALID, 'device parent needs device type');
    // A basic root extent over memory the partition no longer owns (all of it went to DDR) fails.
    await ok(cpu, Hvc.MEMEXTENT_CONFIGURE, me, base, 0x1000, Access.RW, 0);
    assert.equal(await err(cpu, Hvc.OBJECT_ACTIVATE, me, 0), GhError.MEMDB_NOT_OWNER);
    // A basic child of the DDR extent takes its pages at activation.
    const basic = await create(cpu, env, Hvc.PARTITION_CREATE_MEMEXTENT);
    await ok(cpu, Hvc.MEMEXTENT_CONFIGURE_DERIVE, basic, env.ddr_me_capid, 0x2000_0000, 0x4000, Access.RW, 0);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, basic, 0);
    const twin = await create(cpu, env, Hvc.PARTITION_CREATE_MEMEXTENT);
    await ok(cpu, Hvc.MEMEXTENT_CONFIGURE_DERIVE, twin, env.ddr_me_capid, 0x2000_0000, 0x4000, Access.RW, 0);
    assert.equal(await err(cpu, Hvc.OBJECT_ACTIVATE, twin, 0), GhError.MEMDB_NOT_OWNER, 'pages already taken');
    const as = env.addrspace_capid;
    const rw = Access.RW | (Access.RW << 4) | (S2Memtype.NORMAL_WB << 16);
    assert.equal(await err(cpu, Hvc.ADDRSPACE_MAP, as, basic, 0x2_0000_0000n + 1n, rw, 0, 0, 0), GhError.ARGUMENT_ALIGNMENT);
    assert.equal(await err(cpu, Hvc.ADDRSPACE_MAP, as, basic, 0x2_0000_0000n, MAP_RWX, 0, 0, 0), GhError.ARGUMENT_INVALID, 'X beyond the extent');
    assert.equal(await err(cpu, Hvc.ADDRSPACE_MAP, as, basic, 0x2_0000_0000n, Access.RW | (0xc << 16), 0, 0, 0), GhError.ARGUMENT_INVALID, 'bad memtype');
    assert.equal(await err(cpu, Hvc.ADDRSPACE_MAP, as, basic, 0x2_0000_0000n, rw | (1 << 9), 0, 0, 0), GhError.ARGUMENT_INVALID, 'reserved attr bit');
    assert.equal(await err(cpu, Hvc.ADDRSPACE_MAP, as, basic, 0x2_0000_0000n, rw, 1, 0, 0x1000), GhError.MEMEXTENT_TYPE, 'partial on basic');
    assert.equal(await err(cpu, Hvc.ADDRSPACE_MAP, as, basic, 0x10_0000_0000n, rw, 0, 0, 0), GhError.ADDR_INVALID, 'beyond the IPA space');
    // Four mapping slots.
    for (let i = 0; i < 4; i++) await ok(cpu, Hvc.ADDRSPACE_MAP, as, basic, 0x2_0000_0000n + BigInt(i) * 0x10_0000n, rw, 0, 0, 0);
    assert.equal(await err(cpu, Hvc.ADDRSPACE_MAP, as, basic, 0x3_0000_0000n, rw, 0, 0, 0), GhError.MEMEXTENT_MAPPINGS_FULL);
    assert.equal(await err(cpu, Hvc.ADDRSPACE_UNMAP, as, basic, 0x3_0000_0000n, 0, 0, 0), GhError.ADDR_INVALID);
    await ok(cpu, Hvc.ADDRSPACE_UNMAP, as, basic, 0x2_0010_0000n, 0, 0, 0);
    // The root VM can use the memory it mapped.
    cpu.write32(0x2_0000_0010n, 0x1234_5678);
    assert.equal(cpu.read32(0x2_0030_0010n), 0x1234_5678, 'two mappings of one page');
    assert.throws(() => cpu.read32(0x2_0010_0010n), GuestAbort, 'unmapped slot');
    // Access update (basic, whole extent).
    await ok(cpu, Hvc.ADDRSPACE_UPDATE_ACCESS, as, basic, 0x2_0000_0000n, Access.R | (Access.R << 4), 0, 0, 0);
    assert.throws(() => cpu.write32(0x2_0000_0010n, 1), (e: unknown) => e instanceof GuestAbort && e.reason === 'permission');
    assert.equal(cpu.read32(0x2_0000_0010n), 0x1234_5678);
    // Donation is for sparse extents.
    assert.equal(await err(cpu, Hvc.MEMEXTENT_DONATE, 0, env.ddr_me_capid, basic, 0, 0x1000, 0), GhError.MEMEXTENT_TYPE);
    assert.equal(await err(cpu, Hvc.MEMEXTENT_DONATE, 3, env.ddr_me_capid, basic, 0, 0x1000, 0), GhError.ARGUMENT_INVALID, 'type 3');
    assert.equal(await err(cpu, Hvc.MEMEXTENT_DONATE, 1 << 8, env.ddr_me_capid, basic, 0, 0x1000, 0), GhError.ARGUMENT_INVALID, 'reserved bits');
    // A root extent's parent is its partition: the right cap must name it.
    const sp = await create(cpu, env, Hvc.PARTITION_CREATE_MEMEXTENT);
    await ok(cpu, Hvc.MEMEXTENT_CONFIGURE_DERIVE, sp, env.ddr_me_capid, 0x2100_0000, 0x10_000, RWX_SPARSE, 0);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, sp, 0);
    assert.equal(await err(cpu, Hvc.MEMEXTENT_DONATE, 0, basic, sp, 0, 0x1000, 0), GhError.ARGUMENT_INVALID, 'not its parent');
    assert.equal(await err(cpu, Hvc.MEMEXTENT_DONATE, 0, env.ddr_me_capid, sp, 0x800, 0x1000, 0), GhError.ARGUMENT_ALIGNMENT);
    assert.equal(await err(cpu, Hvc.MEMEXTENT_DONATE, 0, env.ddr_me_capid, sp, 0, 0, 0), GhError.ARGUMENT_SIZE);
    assert.equal(await err(cpu, Hvc.MEMEXTENT_DONATE, 0, env.ddr_me_capid, sp, 0x10_000, 0x1000, 0), GhError.ARGUMENT_INVALID, 'outside the child');
    await ok(cpu, Hvc.MEMEXTENT_DONATE, 0, env.ddr_me_capid, sp, 0, 0x10_000, 0);
    assert.equal(await err(cpu, Hvc.MEMEXTENT_DONATE, 0, env.ddr_me_capid, sp, 0, 0x1000, 0), GhError.MEMDB_NOT_OWNER, 'already donated');
    await ok(cpu, Hvc.MEMEXTENT_DONATE, 1, sp, env.ddr_me_capid, 0x8000, 0x8000, 0);
    // Partial sparse map: only owned pages get mapped.
    await ok(cpu, Hvc.ADDRSPACE_MAP, as, sp, 0x2_8000_0000n, rw, 1, 0x4000, 0x8000);
    cpu.write32(0x2_8000_0000n, 7);
    assert.throws(() => cpu.read32(0x2_8000_4000n), GuestAbort, 'page 0x8000 went back to the parent');
    assert.equal(await err(cpu, Hvc.ADDRSPACE_MAP, as, sp, 0x2_8000_0000n, rw, 1, 0x4000, 0x10_000), GhError.ARGUMENT_SIZE, 'beyond the extent');
    // memextent_modify: zero needs NoSync; sync-all must not have it.
    assert.equal(await err(cpu, Hvc.MEMEXTENT_MODIFY, sp, 1, 0x4000, 0x1000), GhError.ARGUMENT_INVALID);
    await ok(cpu, Hvc.MEMEXTENT_MODIFY, sp, 1 | (1 << 31), 0x4000, 0x1000);
    assert.equal(cpu.read32(0x2_8000_0000n), 0, 'zeroed');
    await ok(cpu, Hvc.MEMEXTENT_MODIFY, sp, 255, 0, 0);
    assert.equal(await err(cpu, Hvc.MEMEXTENT_MODIFY, sp, 255 | (1 << 31), 0, 0), GhError.ARGUMENT_INVALID);
    await ok(cpu, Hvc.MEMEXTENT_MODIFY, sp, 0, 0, 0);
    assert.throws(() => cpu.read32(0x2_8000_0000n), GuestAbort, 'unmap all');
  });
});

test('deleting extents returns their pages to the parent with the parent mappings', async () => {
  const r = await runRoot(async (cpu, env) => {
    const rw = Access.RW | (Access.RW << 4) | (S2Memtype.NORMAL_WB << 16);
    const parent = await create(cpu, env, Hvc.PARTITION_CREATE_MEMEXTENT);
    await ok(cpu, Hvc.MEMEXTENT_CONFIGURE_DERIVE, parent, env.ddr_me_capid, 0x2200_0000, 0x10_000, Access.RW | (MemextentType.BASIC << 16), 0);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, parent, 0);
    await ok(cpu, Hvc.ADDRSPACE_MAP, env.addrspace_capid, parent, 0x2_0000_0000n, rw, 0, 0, 0);
    cpu.write32(0x2_0000_1000n, 42);
    const child = await create(cpu, env, Hvc.PARTITION_CREATE_MEMEXTENT);
    await ok(cpu, Hvc.MEMEXTENT_CONFIGURE_DERIVE, child, parent, 0x1000, 0x1000, Access.R, 0);
    await ok(cpu, Hvc.OBJECT_ACTIVATE, child, 0);
    // The child inherits the parent mapping, reduced to its access.
    assert.equal(cpu.read32(0x2_0000_1000n), 42);
    assert.throws(() => cpu.write32(0x2_0000_1000n, 1), GuestAbort);
    await ok(cpu, Hvc.CSPACE_DELETE_CAP_FROM, env.cspace_capid, child, 0);
    cpu.write32(0x2_0000_1000n, 43);
    assert.equal(cpu.read32(0x2_0000_1000n), 43, 'parent mapping restored');
    await ok(cpu, Hvc.CSPACE_DELETE_CAP_FROM, env.cspace_capid, parent, 0);
    assert.throws(() => cpu.read32(0x2_0000_1000n), GuestAbort, 'gone with the extent');
  });
  assert.deepEqual(r.hv.checkInvariants(), []);
});

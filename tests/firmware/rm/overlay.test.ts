// The overlay the RM writes into a VM's DT (spec §21): built as a real .dtbo, applied with dt/'s
// fdtoverlay-exact applier (cross-checked with fdtoverlay when installed), and read back, both
// from a fixed input and from a VM that boots and reads its own DT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOverlayFdt, parseFdt, toFdt, type DeviceTree } from '../../../dt';
import { loadBindings, formatViolation } from '../../../bindings';
import { buildVmOverlay, ExitCode, RmMsg, mergeRanges, type OverlayInput } from '../../../firmware/rm';
import { GuestRmClient } from './rm-client';
import { expectOk, prepareSvm, runPrimary, SVM_IPA_BASE, svmDt, svmEntryPa, type SvmSpec } from './harness';
import { exitReq, vmidReq } from './requests';

function have(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const input: OverlayInput = {
  vmid: 0x80,
  ownerVmid: 3,
  imageName: 'ov',
  vmUri: 'vm://ov',
  vmGuid: Uint8Array.from({ length: 16 }, (_, i) => i),
  peers: ['vm-name:peer'],
  rootAddressCells: 2,
  rootSizeCells: 2,
  memory: [
    { base: 0x8100_0000n, size: 0x100_0000n },
    { base: 0x8000_0000n, size: 0x100_0000n },
    { base: 0x9000_0000n, size: 0x1000n },
  ],
  buffers: [{ ipa: 0x1_0000_0000n, size: 0x2000n, handle: 4, label: 9, peers: [3, 0x80] }],
  kaslrSeed: 0x0123_4567_89ab_cdefn,
  cpuCaps: [{ path: '/cpus/cpu@0', cap: 0x55n }],
  vdevices: [
    { kind: 'rm-rpc', generate: '/hypervisor/qcom,resource-mgr', pushCompatible: ['gunyah-resource-manager'], label: 0, txCap: 0x10n, rxCap: 0x11n, txVirq: 960, rxVirq: 961, txMsgSize: 240, rxMsgSize: 240, txDepth: 8, rxDepth: 8, handle: 1, peerVmid: undefined, peerId: undefined },
    { kind: 'doorbell', generate: '/hypervisor/bell', pushCompatible: [], label: 5, cap: 0x12n, source: false, virq: 962 },
    { kind: 'message-queue', generate: '/hypervisor/mq', pushCompatible: [], label: 6, cap: 0x13n, virq: 963, sender: true, msgSize: 64, depth: 4 },
  ],
  base: { hasChosen: true, hasReservedMemory: false, hasVsoc: false },
  gic: { mode: 'keep' },
};

function baseTree(): DeviceTree {
  return svmDt({ name: 'ov', hostBase: 0n, size: 0n });
}

test('the overlay applies and reads back as the spec table says', () => {
  const dtbo = toFdt(buildVmOverlay(input));
  const out = parseFdt(applyOverlayFdt(toFdt(baseTree()), [dtbo]));
  const hyp = out.findNode('/hypervisor')!;
  assert.deepEqual(hyp.strings('compatible'), ['gunyah-hypervisor', 'qcom,gunyah-hypervisor-1.0', 'qcom,gunyah-hypervisor', 'simple-bus']);
  assert.deepEqual([hyp.u32('#address-cells'), hyp.u32('#size-cells')], [2, 0]);
  const id = out.findNode('/hypervisor/qcom,gunyah-vm')!;
  assert.deepEqual([id.u32('qcom,vmid'), id.u32('qcom,owner-vmid'), id.string('qcom,vendor'), id.string('qcom,image-name'), id.string('qcom,vm-uri')], [0x80, 3, 'Qualcomm', 'ov', 'vm://ov']);
  assert.equal(id.string('qcom,vm-guid'), '00010203-0405-0607-0809-0a0b0c0d0e0f');
  assert.deepEqual(id.strings('qcom,peers'), ['vm-name:peer']);
  // The RPC node is named after its RX cap and carries <tx rx> caps, two edge SPIs and the sizes.
  const rpc = out.findNode('/hypervisor/qcom,resource-mgr@11')!;
  assert.deepEqual(rpc.strings('compatible'), ['gunyah-resource-manager', 'qcom,gunyah-message-queue', 'qcom,gunyah-capability']);
  assert.deepEqual(rpc.u32s('reg'), [0, 0x10, 0, 0x11]);
  assert.deepEqual(rpc.u32s('interrupts'), [0, 928, 1, 0, 929, 1]);
  assert.deepEqual(['qcom,tx-message-size', 'qcom,rx-queue-depth', 'qcom,free-irq-start', 'qcom,vdevice-handle'].map((p) => rpc.u32(p)), [240, 8, 0, 1]);
  assert.ok(rpc.has('qcom,is-full-duplex'));
  const bell = out.findNode('/hypervisor/bell@12')!;
  assert.deepEqual(bell.strings('compatible'), ['qcom,gunyah-doorbell', 'qcom,gunyah-capability']);
  assert.deepEqual(bell.u32s('interrupts'), [0, 930, 1]);
  const mq = out.findNode('/hypervisor/mq@13')!;
  assert.ok(mq.has('is-sender'));
  assert.deepEqual([mq.u32('tx_message_size'), mq.u32('tx_queue_depth'), mq.u32('label')], [64, 4, 6]);
  // /memory: the accepted private parcels, sorted and merged.
  const mem = out.findNode('/memory')!;
  assert.equal(mem.string('device_type'), 'memory');
  assert.deepEqual(mem.u32s('reg'), [0, 0x8000_0000, 0, 0x200_0000, 0, 0x9000_0000, 0, 0x1000]);
  const buf = out.findNode('/reserved-memory/buffer@100000000')!;
  assert.deepEqual([buf.u32('qcom,rm-mem-handle'), buf.u32('qcom,label'), buf.u32s('peers')], [4, 9, [3, 0x80]]);
  assert.ok(buf.has('no-map') && buf.has('qcom,shared-memory'));
  // Overlay phandles are renumbered above the base's (the base's GIC has phandle 1).
  assert.equal(buf.phandle, 2);
  assert.equal(out.findNode('/chosen')!.u64('kaslr-seed'), 0x0123_4567_89ab_cdefn);
  assert.equal(out.findNode('/cpus/cpu@0')!.u64('qcom,gunyah-capability'), 0x55n);
  assert.equal(out.findNode('/vsoc')!.string('compatible'), 'simple-bus');
  assert.deepEqual(mergeRanges([{ base: 0n, size: 4n }, { base: 2n, size: 4n }, { base: 9n, size: 1n }]), [{ base: 0n, size: 6n }, { base: 9n, size: 1n }]);
});

test('a VM without a GIC node gets one from the overlay, referenced by a local fixup', () => {
  const t = svmDt({ name: 'ov', hostBase: 0n, size: 0n, gic: 'none' });
  const dtbo = buildVmOverlay({ ...input, gic: { mode: 'create', path: '/', gicdBase: 0x3fff_0000n, gicrBase: 0x3ffd_0000n, gicrStride: 0x2_0000n, vcpus: 1, addrCells: 2, sizeCells: 2 } });
  assert.ok(dtbo.findNode('/__local_fixups__/fragment@1/__overlay__'), 'local fixups for interrupt-parent');
  const out = parseFdt(applyOverlayFdt(toFdt(t), [toFdt(dtbo)]));
  const gic = out.findNode('/intc@3fff0000')!;
  assert.equal(out.root.u32('interrupt-parent'), gic.phandle);
  assert.deepEqual(gic.u32s('reg'), [0, 0x3fff_0000, 0, 0x1_0000, 0, 0x3ffd_0000, 0, 0x2_0000]);
});

test('the overlay gives the same bytes through fdtoverlay', { skip: !have('fdtoverlay') && 'fdtoverlay (device-tree-compiler) is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rm-overlay-'));
  const base = toFdt(baseTree());
  const dtbo = toFdt(buildVmOverlay(input));
  writeFileSync(join(dir, 'base.dtb'), base);
  writeFileSync(join(dir, 'ov.dtbo'), dtbo);
  execFileSync('fdtoverlay', ['-i', join(dir, 'base.dtb'), '-o', join(dir, 'out.dtb'), join(dir, 'ov.dtbo')]);
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'out.dtb'))), applyOverlayFdt(base, [dtbo]));
});

test('a started VM finds the patched DT in its memory, valid against the bindings', async () => {
  const svm: SvmSpec = { name: 'delta', hostBase: 0x6000_0000n, size: 0x100_0000n, gic: 'no-reg' };
  let seen: DeviceTree | undefined;
  let caps: [bigint, bigint] = [0n, 0n];
  let vmid = -1;
  await runPrimary(
    async (c) => {
      ({ vmid } = await prepareSvm(c, svm));
      expectOk(await c.call(RmMsg.VM_START, vmidReq(vmid)), 'start');
      await c.waitNotification((n) => n.id === 0x5610_0001);
    },
    {
      registerEntries: (p) =>
        p.machine.registerEntry(svmEntryPa(svm), async (cpu) => {
          assert.equal(cpu.x[0], SVM_IPA_BASE, 'x0 = the DT IPA');
          const me = await GuestRmClient.open(cpu, cpu.x[0]!, SVM_IPA_BASE + 0x2_0000n);
          seen = me.tree;
          caps = [me.txCap, me.rxCap];
          await me.call(RmMsg.VM_EXIT, exitReq(0, ExitCode.NORMAL));
        }),
    },
  );
  assert.ok(seen);
  const rpc = [...seen.walk()].find((n) => n.name.startsWith('qcom,resource-mgr@'))!;
  assert.equal(rpc.name, `qcom,resource-mgr@${caps[1].toString(16)}`);
  assert.deepEqual(rpc.strings('compatible'), ['gunyah-resource-manager', 'qcom,resource-manager', 'qcom,resource-manager-1-0', 'qcom,gunyah-message-queue', 'qcom,gunyah-capability']);
  assert.equal(seen.findNode('/hypervisor/qcom,gunyah-vm')!.u32('qcom,vmid'), vmid);
  assert.deepEqual(seen.findNode('/memory')!.u32s('reg'), [0, 0x8000_0000, 0, 0x100_0000]);
  // The GIC node had no reg: the RM filled in the frames it attached.
  assert.deepEqual(seen.findNode('/intc')!.u32s('reg'), [0, 0x3fff_0000, 0, 0x1_0000, 0, 0x3ffd_0000, 0, 0x2_0000]);
  // The RM names the memory node plain "/memory" (create_memory_node; spec §21), which dt-schema's
  // root-node binding wants with a unit address: the one violation the RM's layout brings.
  assert.deepEqual(
    loadBindings().validateTree(seen).map(formatViolation).filter((v) => !v.startsWith("/memory: 'memory' is not allowed here")),
    [],
  );
});

// The Gunyah bindings against the trees the RM writes (spec hypervisor-and-rm.md sections 20-23,
// linux-drivers.md section 5) and the gunyah-ts board and VM descriptions (ARCHITECTURE.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatViolation, loadBindings } from '../../bindings';
import type { DeviceTree } from '../../dt';
import { readFileSync } from 'node:fs';
import { build, flag, str, treeFromDts, u32, u64, type Spec } from './support';

const bindings = loadBindings();
const ID = (rel: string) => `http://devicetree.org/schemas/${rel}#`;
const lines = (t: DeviceTree) => bindings.validateTree(t).map(formatViolation);

/** A VM's base tree: 2/2 cells, a GICv3 (the VIC) as interrupt parent, one vCPU, RAM. */
function base(extra: Spec): Spec {
  return {
    compatible: str('acme,vm'),
    model: str('vm'),
    '#address-cells': u32(2),
    '#size-cells': u32(2),
    'interrupt-parent': u32(1),
    'interrupt-controller@3fff0000': {
      compatible: str('arm,gic-v3'),
      '#interrupt-cells': u32(3),
      'interrupt-controller': flag,
      reg: u32(0, 0x3fff0000, 0, 0x10000, 0, 0x3ffd0000, 0, 0x20000),
      phandle: u32(1),
    },
    'memory@80000000': { device_type: str('memory'), reg: u32(0, 0x80000000, 0, 0x10000000) },
    ...extra,
  };
}

/** The RPC pair node of the RM: reg <tx cap>, <rx cap>; SPIs 960/961 in the guest's VIC. */
function rmPair(compat: string[]): Spec {
  return {
    compatible: str(...compat),
    reg: u64(0x10n, 0x11n),
    interrupts: u32(0, 960 - 32, 1, 0, 961 - 32, 1),
    'qcom,free-irq-start': u32(0),
    'qcom,is-full-duplex': flag,
    'qcom,tx-message-size': u32(240),
    'qcom,rx-message-size': u32(240),
    'qcom,tx-queue-depth': u32(8),
    'qcom,rx-queue-depth': u32(8),
    'qcom,vdevice-handle': u32(0),
  };
}

test("the primary VM's tree as the RM patches it at boot (section 23, src/vm_dt)", () => {
  for (const compat of [
    ['gunyah-resource-manager', 'qcom,resource-manager-1-0', 'qcom,resource-manager'],
    ['gunyah-resource-manager', 'qcom,resource-manager-1-0', 'qcom,resource-manager', 'qcom,gunyah-message-queue', 'qcom,gunyah-capability'],
  ]) {
    const t = build(base({
      hypervisor: {
        '#address-cells': u32(2),
        '#size-cells': u32(0),
        compatible: str('qcom,gunyah-hypervisor-1.0', 'qcom,gunyah-hypervisor', 'simple-bus'),
        'qcom,gunyah-vm': { compatible: str('qcom,gunyah-vm-id-1.0', 'qcom,gunyah-vm-id'), 'qcom,vmid': u32(3), 'qcom,vendor': str('Qualcomm') },
        'gunyah-resource-mgr@11': { ...rmPair(compat), 'qcom,free-irq-start': u32(960), 'qcom,console-dev': flag },
      },
    }));
    assert.deepEqual(lines(t), []);
    const rm = t.findNode('/hypervisor/gunyah-resource-mgr@11')!;
    assert.deepEqual(bindings.schemasFor(t, rm).map((s) => s.relPath).filter((p) => p.startsWith('firmware/')), ['firmware/gunyah-resource-manager.yaml']);
    // What Linux's RM driver reads: reg 0/1 as 64-bit capability IDs.
    assert.deepEqual(bindings.instanceOf(t, rm)['reg'], [[0, 0x10], [0, 0x11]]);
  }
});

/** A secondary VM's tree after the RM's overlay (section 21, src/vm_creation). */
function secondary(): Spec {
  return base({
    cpus: {
      '#address-cells': u32(2),
      '#size-cells': u32(0),
      'cpu@0': { device_type: str('cpu'), compatible: str('arm,armv8'), reg: u32(0, 0), 'enable-method': str('psci') },
      'cpu@1': {
        device_type: str('cpu'), compatible: str('arm,armv8'), reg: u32(0, 1),
        'enable-method': str('qcom,gunyah-hvc'), 'qcom,gunyah-capability': u64(0x21n),
      },
    },
    psci: { compatible: str('arm,psci-1.0', 'arm,psci-0.2'), method: str('hvc') },
    vsoc: { compatible: str('simple-bus'), '#address-cells': u32(2), '#size-cells': u32(2), ranges: flag },
    chosen: {
      bootargs: str('console=hvc0'),
      'kaslr-seed': u64(0x1234_5678_9abcn),
      'linux,initrd-start': u32(0x84000000),
      'linux,initrd-end': u32(0x84400000),
    },
    'reserved-memory': {
      '#address-cells': u32(2),
      '#size-cells': u32(2),
      ranges: flag,
      'buffer@90000000': {
        reg: u32(0, 0x90000000, 0, 0x100000), 'no-map': flag, 'qcom,shared-memory': flag,
        peers: u32(3), 'qcom,rm-mem-handle': u32(0x1001), 'qcom,label': u32(0x11), phandle: u32(9),
      },
      'firmware@80000000': { compatible: str('qcom,vm-firmware'), reg: u32(0, 0x80000000, 0, 0x200000), 'no-map': flag },
    },
    hypervisor: {
      '#address-cells': u32(2),
      '#size-cells': u32(0),
      compatible: str('gunyah-hypervisor', 'qcom,gunyah-hypervisor-1.0', 'qcom,gunyah-hypervisor', 'simple-bus'),
      'qcom,gunyah-vm': {
        compatible: str('qcom,gunyah-vm-id-1.0', 'qcom,gunyah-vm-id'),
        'qcom,vmid': u32(0x80),
        'qcom,owner-vmid': u32(3),
        'qcom,vendor': str('Qualcomm'),
        'qcom,image-name': str('svm0'),
        'qcom,vm-uri': str('urn:acme:svm0'),
        'qcom,vm-guid': str('0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'),
        'qcom,peers': str('vm-name:hlos'),
      },
      'gunyah-resource-mgr@11': rmPair(['gunyah-resource-manager', 'qcom,resource-manager', 'qcom,resource-manager-1-0', 'qcom,gunyah-message-queue', 'qcom,gunyah-capability']),
      'msgq-pair@31': {
        ...rmPair(['acme,link', 'qcom,gunyah-message-queue', 'qcom,gunyah-capability']),
        reg: u64(0x30n, 0x31n),
        'qcom,peer-vmid': u32(3),
        peer: str('vm-name:hlos'),
        'qcom,label': u32(0x21),
        label: u32(0x21),
      },
      'msgq@40': {
        compatible: str('qcom,gunyah-message-queue', 'qcom,gunyah-capability'),
        reg: u64(0x40n),
        'is-sender': flag,
        tx_message_size: u32(64),
        tx_queue_depth: u32(16),
        interrupts: u32(0, 962 - 32, 1),
        'qcom,label': u32(0x22),
        label: u32(0x22),
      },
      'doorbell@50': {
        compatible: str('qcom,gunyah-doorbell', 'qcom,gunyah-capability'),
        reg: u64(0x50n),
        interrupts: u32(0, 963 - 32, 1),
        phandle: u32(0x50),
        'qcom,label': u32(7),
        label: u32(7),
      },
      'doorbell-source@51': {
        compatible: str('acme,kick', 'qcom,gunyah-doorbell-source', 'qcom,gunyah-capability'),
        reg: u64(0x51n),
        'qcom,label': u32(7),
        label: u32(7),
      },
    },
  });
}

test("a secondary VM's tree after the RM overlay validates", () => {
  const t = build(secondary());
  assert.deepEqual(lines(t), []);
  const used = new Set<string>();
  for (const n of t.walk()) for (const s of bindings.schemasFor(t, n)) used.add(s.relPath);
  for (const f of ['firmware/gunyah-hypervisor.yaml', 'firmware/gunyah-vm-id.yaml', 'firmware/gunyah-resource-manager.yaml',
    'firmware/gunyah-message-queue.yaml', 'firmware/gunyah-doorbell.yaml', 'reserved-memory/reserved-memory.yaml',
    'chosen.yaml', 'arm/cpus.yaml', 'arm/psci.yaml', 'simple-bus.yaml']) {
    assert.ok(used.has(f), `${f} not applied`);
  }
  // /hypervisor says simple-bus but is no MMIO bus: the simple-bus binding leaves it alone.
  assert.ok(!bindings.schemasFor(t, t.findNode('/hypervisor')!).some((x) => x.relPath === 'simple-bus.yaml'));
});

test('the Gunyah bindings reject what the RM must not write', () => {
  const s = secondary();
  const hyp = s['hypervisor'] as Spec;
  (hyp['qcom,gunyah-vm'] as Spec)['qcom,vm-guid'] = str('0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0');
  (hyp['msgq-pair@31'] as Spec)['qcom,tx-message-size'] = u32(241);
  (hyp['msgq@40'] as Spec)['is-receiver'] = flag;
  (hyp['doorbell-source@51'] as Spec)['interrupts'] = u32(0, 5, 1);
  (hyp['gunyah-resource-mgr@11'] as Spec)['reg'] = u64(0x10n);
  hyp['extra'] = { compatible: str('acme,thing') };
  hyp['acme,prop'] = u32(1);
  ((s['cpus'] as Spec)['cpu@1'] as Spec)['qcom,gunyah-capability'] = u32(0x21);
  const v = lines(build(s));
  const expected = [
    `/hypervisor: acme,prop: Additional properties are not allowed ('acme,prop' was unexpected) (${ID('firmware/gunyah-hypervisor.yaml')}: additionalProperties)`,
    `/hypervisor: extra: Additional properties are not allowed ('extra' was unexpected) (${ID('firmware/gunyah-hypervisor.yaml')}: additionalProperties)`,
    `/hypervisor/qcom,gunyah-vm: qcom,vm-guid: '0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0' does not match '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' (${ID('firmware/gunyah-vm-id.yaml')}: properties/qcom,vm-guid/items/0/pattern)`,
    `/hypervisor/gunyah-resource-mgr@11: reg: [[0, 0x10]] is too short (at least 2 expected) (${ID('firmware/gunyah-resource-manager.yaml')}: properties/reg/minItems)`,
    `/hypervisor/msgq-pair@31: qcom,tx-message-size: 0xf1 is greater than the maximum of 0xf0 (${ID('firmware/gunyah-message-queue.yaml')}: $defs/pair-properties/properties/qcom,tx-message-size/maximum)`,
    `/hypervisor/msgq@40: is-receiver: only one of 'is-sender', 'is-receiver' may be present (${ID('firmware/gunyah-message-queue.yaml')}: allOf/1/else/oneOf)`,
    `/hypervisor/doorbell-source@51: interrupts: 'interrupts' is not allowed here (${ID('firmware/gunyah-doorbell.yaml')}: allOf/1/else/properties/interrupts/false schema)`,
  ];
  for (const e of expected) assert.ok(v.includes(e), `missing: ${e}\ngot:\n${v.join('\n')}`);
  assert.ok(v.some((l) => l.startsWith('/cpus/cpu@1: qcom,gunyah-capability: ')), v.join('\n'));
});

test('the Linux binding form (gunyah-hypervisor + gunyah-resource-manager) validates; missing IRQs do not', () => {
  const node: Spec = {
    compatible: str('gunyah-hypervisor'),
    '#address-cells': u32(2),
    '#size-cells': u32(0),
    'gunyah-resource-mgr@0': { compatible: str('gunyah-resource-manager'), reg: u64(0n, 1n), interrupts: u32(0, 3, 1, 0, 4, 1) },
  };
  assert.deepEqual(lines(build(base({ hypervisor: node }))), []);
  delete (node['gunyah-resource-mgr@0'] as Spec)['interrupts'];
  assert.deepEqual(lines(build(base({ hypervisor: node }))), [
    `/hypervisor/gunyah-resource-mgr@0: interrupts: 'interrupts' is a required property (or 'interrupts-extended') (${ID('firmware/gunyah-resource-manager.yaml')}: oneOf)`,
  ]);
});

test('the gunyah-vm-config node the RM reads (section 20)', () => {
  const cfg: Spec = {
    'image-name': str('linux_vm_0'),
    'os-type': str('linux'),
    'vm-attrs': str('crash-fatal'),
    memory: { '#address-cells': u32(2), '#size-cells': u32(2), 'base-address': u64(0x80000000n), 'size-max': u64(0x1_0000_0000n) },
    interrupts: { config: u32(1) },
    vcpus: { affinity: str('proxy'), 'affinity-map': u32(0), 'sched-priority': u32(-1), 'sched-timeslice': u32(2000) },
    vdevices: {
      generate: str('/hypervisor'),
      'rm-rpc': { 'vdevice-type': str('rm-rpc'), 'console-dev': flag, 'message-size': u32(240), 'queue-depth': u32(8) },
      q: { 'vdevice-type': str('message-queue'), 'peer-default': flag, 'is-sender': flag, 'message-size': u32(64) },
    },
  };
  assert.deepEqual(lines(build(base({ 'gunyah-vm-config': cfg }))), []);
  const v = cfg['vdevices'] as Spec;
  delete (v['q'] as Spec)['peer-default'];
  (v['rm-rpc'] as Spec)['message-size'] = u32(4096);
  (cfg['vcpus'] as Spec)['affinity'] = str('floating');
  cfg['vm-attrs'] = str('crash-fatal', 'be-fast');
  assert.deepEqual(lines(build(base({ 'gunyah-vm-config': cfg }))), [
    `/gunyah-vm-config: vm-attrs: 'be-fast' is not one of ['ras-error-handler', 'amu-counting-disabled', 'crash-fatal', 'context-dump', 'no-shutdown', 'no-reset', 'guest-ram-dump', 'insecure-console'] (${ID('firmware/gunyah-vm-config.yaml')}: properties/vm-attrs/items/enum)`,
    `/gunyah-vm-config/vcpus: affinity: 'floating' is not one of ['static', 'sticky', 'pinned', 'proxy'] (${ID('firmware/gunyah-vm-config.yaml')}: properties/vcpus/properties/affinity/items/0/enum)`,
    `/gunyah-vm-config/vdevices/rm-rpc: message-size: 0x1000 is greater than the maximum of 0xf0 (${ID('firmware/gunyah-vm-config.yaml')}: $defs/vdevice/properties/message-size/maximum)`,
    `/gunyah-vm-config/vdevices/q: peer-default: 'peer-default' is a required property (${ID('firmware/gunyah-vm-config.yaml')}: $defs/vdevice/allOf/0/then/required)`,
  ]);
});

/** ARCHITECTURE.md's example board. */
function board(): Spec {
  return {
    compatible: str('gunyah-ts,board'),
    model: str('gunyah-ts default board'),
    '#address-cells': u32(2),
    '#size-cells': u32(2),
    cpus: {
      '#address-cells': u32(1),
      '#size-cells': u32(0),
      'cpu@0': { device_type: str('cpu'), compatible: str('arm,cortex-a57'), reg: u32(0) },
      'cpu@1': { device_type: str('cpu'), compatible: str('arm,cortex-a57'), reg: u32(1) },
    },
    'memory@40000000': { device_type: str('memory'), reg: u32(0, 0x40000000, 0, 0x80000000) },
    hypervisor: { compatible: str('gunyah-ts,hypervisor'), seed: u32(1), 'rm-memory-size': u64(0x1000000n) },
    vms: {
      alpha: {
        compatible: str('gunyah-ts,vm'),
        image: str('builtin:hello'),
        'memory-size': u64(0x1000000n),
        vcpus: u32(2),
        console: str('rm'),
        bootargs: str('quiet'),
        '#address-cells': u32(2),
        '#size-cells': u32(2),
        'serial@9000000': { compatible: str('arm,pl011', 'arm,primecell'), reg: u32(0, 0x9000000, 0, 0x1000), placement: str('vmm') },
      },
    },
  };
}

test('the board description validates, and its mistakes are reported', () => {
  assert.deepEqual(lines(build(board())), []);
  const b = board();
  const vms = b['vms'] as Spec;
  const alpha = vms['alpha'] as Spec;
  delete alpha['image'];
  alpha['console'] = str('hdmi');
  alpha['memory-size'] = u64(0x1000001n);
  delete alpha['#address-cells'];
  (alpha['serial@9000000'] as Spec)['placement'] = str('cloud');
  (b['hypervisor'] as Spec)['rm-memory-size'] = u32(0x1000);
  delete b['cpus'];
  assert.deepEqual(lines(build(b)), [
    `/: cpus: 'cpus' is a required property (${ID('gunyah-ts/board.yaml')}: required)`,
    `/hypervisor: rm-memory-size: size (4) is not a multiple of 8 bytes for type uint64 (${ID('dt-core.yaml')}: decode)`,
    `/hypervisor: rm-memory-size: bytes <00001000> is not of type 'integer' (${ID('gunyah-ts/hypervisor.yaml')}: types.yaml#/definitions/uint64/type)`,
    `/vms/alpha: #address-cells: '#address-cells' is a required property (${ID('gunyah-ts/vm.yaml')}: allOf/0/else/required)`,
    `/vms/alpha: image: 'image' is a required property (${ID('gunyah-ts/vm.yaml')}: required)`,
    `/vms/alpha: memory-size: 0x1000001 is not a multiple of 0x1000 (${ID('gunyah-ts/vm.yaml')}: properties/memory-size/multipleOf)`,
    `/vms/alpha: console: 'hdmi' is not one of ['rm', 'pl011', 'virtio'] (${ID('gunyah-ts/vm.yaml')}: properties/console/items/0/enum)`,
    `/vms/alpha: #address-cells: '#address-cells' is a dependency of '#size-cells' (${ID('reg.yaml')}: dependentRequired)`,
    `/vms/alpha/serial@9000000: placement: 'cloud' is not one of ['native', 'vmm', 'stub'] (${ID('serial/arm,pl011.yaml')}: gunyah-ts/vm-device-props.yaml#/properties/placement/items/0/enum)`,
  ]);
});

test('a VM description in a file of its own (the VMM reads it)', () => {
  const t = build({
    compatible: str('gunyah-ts,vm'),
    model: str('demo'),
    '#address-cells': u32(2),
    '#size-cells': u32(2),
    image: str('guests/hello.img'),
    'memory-size': u64(0x2000000n),
    priority: u32(-2),
    'timeslice-us': u32(5000),
    'virtio@a000000': { compatible: str('virtio,mmio'), reg: u32(0, 0xa000000, 0, 0x200), 'virtio-device-type': u32(3), placement: str('vmm') },
  });
  assert.deepEqual(lines(t), []);
  // Outside a VM description (no placement), a virtio,mmio node needs its interrupt.
  t.findNode('/virtio@a000000')!.removeProperty('placement');
  assert.deepEqual(lines(t), [
    `/virtio@a000000: interrupts: 'interrupts' is a required property (or 'interrupts-extended') (${ID('virtio/mmio.yaml')}: then/oneOf)`,
  ]);
  t.findNode('/virtio@a000000')!.setString('placement', 'vmm');
  t.root.setU32('priority', -64);
  t.root.setU32('timeslice-us', 50);
  assert.deepEqual(lines(t), [
    `/: priority: -0x40 is less than the minimum of -0x3f (${ID('gunyah-ts/vm.yaml')}: properties/priority/minimum)`,
    `/: timeslice-us: 0x32 is less than the minimum of 0x64 (${ID('gunyah-ts/vm.yaml')}: properties/timeslice-us/items/0/minimum)`,
  ]);
});

test("ARCHITECTURE.md's example board description compiles and validates", () => {
  const doc = readFileSync(new URL('../../ARCHITECTURE.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Board and VM descriptions'));
  const m = /```dts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'no dts block in the Board and VM descriptions section');
  const tree = treeFromDts(m[1]!);
  assert.deepEqual(lines(tree), []);
  assert.ok(bindings.schemasFor(tree, tree.root).some((x) => x.relPath === 'gunyah-ts/board.yaml'));
});

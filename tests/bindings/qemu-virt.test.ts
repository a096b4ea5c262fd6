// QEMU virt's device trees against the bindings: the psci, cpus, memory, timer, GICv3 and virtio,mmio
// bindings accept them, each binding really is applied to its nodes, every node has a binding, and the
// one thing QEMU does that Linux's bindings reject (naming its UART pl011@ rather than serial@) is reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceTree } from '../../dt';
import { formatViolation, loadBindings, type Violation } from '../../bindings';
import { haveQemu, treeFromDtb } from './support';

const bindings = loadBindings();
const fixtures = new URL('../fixtures/bindings/', import.meta.url);
const ID = (rel: string) => `http://devicetree.org/schemas/${rel}#`;
const UNDER_TEST = ['arm/psci.yaml', 'cpus.yaml', 'cpu.yaml', 'arm/cpus.yaml', 'memory.yaml', 'timer/arm,arch_timer.yaml',
  'interrupt-controller/arm,gic-v3.yaml', 'virtio/mmio.yaml'].map(ID);

function load(name: string): DeviceTree {
  return treeFromDtb(new Uint8Array(readFileSync(new URL(name, fixtures))));
}

/** Which bindings were applied to which node paths. */
function selection(tree: DeviceTree): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of tree.walk()) out.set(n.path, bindings.schemasFor(tree, n).map((s) => s.id));
  return out;
}

function onlyUartNames(v: Violation[], uarts: string[]): void {
  assert.deepEqual(
    v.map(formatViolation),
    uarts.map((u) => `${u}: $nodename: '${u.slice(1)}' does not match '^serial(@[0-9a-f,]+)*$' (${ID('serial/arm,pl011.yaml')}: serial.yaml#/properties/$nodename/items/0/pattern)`),
  );
}

function checkVirt(tree: DeviceTree, uarts: string[], cpus: number): void {
  // unmatched: every node QEMU writes has a binding (rtc, gpio, flash, fw-cfg, pmu, pcie, keys too).
  const v = bindings.validateTree(tree, { unmatched: true });
  assert.deepEqual(v.filter((x) => UNDER_TEST.includes(x.schemaId)), []);
  onlyUartNames(v, uarts);

  const sel = selection(tree);
  const has = (path: string, rel: string) => assert.ok(sel.get(path)?.includes(ID(rel)), `${rel} not applied to ${path}`);
  has('/', 'memory.yaml');
  has('/', 'root-node.yaml');
  has('/cpus', 'cpus.yaml');
  for (let i = 0; i < cpus; i++) has(`/cpus/cpu@${i}`, 'arm/cpus.yaml');
  has('/timer', 'timer/arm,arch_timer.yaml');
  has('/intc@8000000', 'interrupt-controller/arm,gic-v3.yaml');
  has('/platform-bus@c000000', 'simple-bus.yaml');
  const virtio = [...sel].filter(([p, ids]) => p.startsWith('/virtio_mmio@') && ids.includes(ID('virtio/mmio.yaml')));
  assert.equal(virtio.length, 32);
}

test('QEMU virt, GICv3, 2 CPUs: only the PL011 node name is reported', () => {
  const tree = load('qemu-virt-gicv3-smp2.dtb');
  checkVirt(tree, ['/pl011@9000000'], 2);
  assert.ok(selection(tree).get('/psci')?.includes(ID('arm/psci.yaml')));
});

test('QEMU virt with virtualization=on (GIC maintenance IRQ, EL2 timer), 4 CPUs', () => {
  const tree = load('qemu-virt-gicv3-el2-smp4.dtb');
  checkVirt(tree, ['/pl011@9000000'], 4);
  assert.deepEqual(bindings.instanceOf(tree, tree.findNode('/intc@8000000')!)['interrupts'], [[1, 9, 4]]);
});

test('QEMU virt with secure=on: secure-only nodes (status/secure-status) and no /psci', () => {
  const tree = load('qemu-virt-gicv3-secure-smp1.dtb');
  assert.equal(tree.findNode('/psci'), undefined);
  checkVirt(tree, ['/pl011@9040000', '/pl011@9000000'], 1);
});

test('the bindings bite on QEMU virt once it is broken', () => {
  const tree = load('qemu-virt-gicv3-smp2.dtb');
  tree.findNode('/psci')!.removeProperty('method');
  tree.findNode('/timer')!.setU32('interrupts', [1, 13, 4, 1, 14]);
  tree.findNode('/intc@8000000')!.setU32('#interrupt-cells', 2);
  tree.findNode('/virtio_mmio@a000000')!.setEmpty('acme,frob');
  tree.findNode('/cpus/cpu@1')!.setString('enable-method', 'magic');
  const v = bindings.validateTree(tree).filter((x) => UNDER_TEST.includes(x.schemaId)).map(formatViolation);
  const expect = [
    `/psci: method: 'method' is a required property (${ID('arm/psci.yaml')}: required)`,
    `/cpus/cpu@1: enable-method: 'magic' is not one of ['psci', 'spin-table', 'qcom,gunyah-hvc'] (${ID('arm/cpus.yaml')}: properties/enable-method/items/0/enum)`,
    `/intc@8000000: #interrupt-cells: 2 is not one of [3, 4] (${ID('interrupt-controller/arm,gic-v3.yaml')}: properties/#interrupt-cells/enum)`,
    `/virtio_mmio@a000000: acme,frob: Unevaluated properties are not allowed ('acme,frob' was unexpected) (${ID('virtio/mmio.yaml')}: unevaluatedProperties)`,
  ];
  for (const e of expect) assert.ok(v.includes(e), `missing: ${e}\n got:\n${v.join('\n')}`);
});

test('live QEMU virt variants pass the same bindings', { skip: haveQemu ? false : 'qemu-system-aarch64 is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bindings-qemu-'));
  try {
    const variants: [string, string, number][] = [
      ['gic-version=3', '8', 8],
      ['gic-version=3,virtualization=on', '2', 2],
      ['gic-version=3,its=off', '1', 1],
      ['gic-version=3,virtualization=on,secure=on', '3', 3],
    ];
    for (const [machine, smp, n] of variants) {
      const file = join(dir, 'virt.dtb');
      execFileSync('qemu-system-aarch64', ['-machine', `virt,${machine},dumpdtb=${file}`, '-cpu', 'cortex-a57', '-smp', smp, '-m', '2G', '-nographic'], { stdio: 'ignore' });
      const tree = treeFromDtb(new Uint8Array(readFileSync(file)));
      const uarts = [...tree.walk()].filter((x) => x.name.startsWith('pl011@')).map((x) => x.path);
      checkVirt(tree, uarts, n);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The value model: what a node's properties decode to before a binding sees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceTree } from '../../dt';
import { loadBindings } from '../../bindings';

const bindings = loadBindings();

/** A root with 2/2 cells and a 3-cell GIC as interrupt parent, as QEMU virt has. */
function machine(): { tree: DeviceTree; gic: number } {
  const tree = new DeviceTree();
  const r = tree.root;
  r.setU32('#address-cells', 2);
  r.setU32('#size-cells', 2);
  const gic = r.addChild('intc@8000000');
  gic.setU32('#interrupt-cells', 3);
  gic.setEmpty('interrupt-controller');
  gic.setU32('phandle', 0x8005);
  r.setU32('interrupt-parent', 0x8005);
  return { tree, gic: 0x8005 };
}

test('strings, flags and single cells decode to dt-schema values', () => {
  const { tree } = machine();
  const n = tree.root.addChild('psci');
  n.setStringList('compatible', ['arm,psci-1.0', 'arm,psci-0.2']);
  n.setString('method', 'hvc');
  n.setU32('cpu_on', 0xc4000003);
  n.setEmpty('dma-coherent');
  const inst = bindings.instanceOf(tree, n);
  assert.deepEqual(inst['$nodename'], ['psci']);
  assert.deepEqual(inst['compatible'], ['arm,psci-1.0', 'arm,psci-0.2']);
  assert.deepEqual(inst['method'], ['hvc']);
  assert.equal(inst['cpu_on'], 0xc4000003);
  assert.equal(inst['dma-coherent'], true);
});

test('reg splits into rows of the parent #address-cells + #size-cells', () => {
  const { tree } = machine();
  const mem = tree.root.addChild('memory@40000000');
  mem.setU32('reg', [0, 0x40000000, 0, 0x10000000, 1, 0, 0, 0x1000]);
  assert.deepEqual(bindings.instanceOf(tree, mem)['reg'], [
    [0, 0x40000000, 0, 0x10000000],
    [1, 0, 0, 0x1000],
  ]);
  const cpus = tree.root.addChild('cpus');
  cpus.setU32('#address-cells', 1);
  cpus.setU32('#size-cells', 0);
  const cpu = cpus.addChild('cpu@1');
  cpu.setU32('reg', 1);
  assert.deepEqual(bindings.instanceOf(tree, cpu)['reg'], [[1]]);
});

test('a parent without #address-cells/#size-cells splits reg with the defaults 2 and 1', () => {
  const tree = new DeviceTree();
  const n = tree.root.addChild('dev@0');
  n.setU32('reg', [0, 0x1000, 0x100, 0, 0x2000, 0x100]);
  assert.deepEqual(bindings.instanceOf(tree, n)['reg'], [
    [0, 0x1000, 0x100],
    [0, 0x2000, 0x100],
  ]);
});

test('interrupts split by #interrupt-cells of the interrupt parent, found through ancestors', () => {
  const { tree } = machine();
  const bus = tree.root.addChild('bus');
  const timer = bus.addChild('timer');
  timer.setU32('interrupts', [1, 13, 4, 1, 14, 4]);
  assert.deepEqual(bindings.instanceOf(tree, timer)['interrupts'], [
    [1, 13, 4],
    [1, 14, 4],
  ]);
  // A node's own interrupt-parent wins over its ancestors'.
  const two = tree.root.addChild('intc2');
  two.setU32('#interrupt-cells', 2);
  two.setEmpty('interrupt-controller');
  two.setU32('phandle', 7);
  const dev = bus.addChild('dev');
  dev.setU32('interrupt-parent', 7);
  dev.setU32('interrupts', [5, 1, 6, 1]);
  assert.deepEqual(bindings.instanceOf(tree, dev)['interrupts'], [
    [5, 1],
    [6, 1],
  ]);
});

test('phandle arrays split by the provider #<name>-cells; gpios by #gpio-cells', () => {
  const { tree } = machine();
  const clk = tree.root.addChild('apb-pclk');
  clk.setU32('#clock-cells', 0);
  clk.setU32('phandle', 0x8000);
  const clk2 = tree.root.addChild('clock-controller');
  clk2.setU32('#clock-cells', 1);
  clk2.setU32('phandle', 0x8001);
  const gpio = tree.root.addChild('pl061@9030000');
  gpio.setU32('#gpio-cells', 2);
  gpio.setU32('phandle', 0x8007);
  const uart = tree.root.addChild('serial@9000000');
  uart.setU32('clocks', [0x8000, 0x8001, 42]);
  uart.setU32('reset-gpios', [0x8007, 3, 0]);
  uart.setU32('interrupts-extended', [0x8005, 0, 1, 4]);
  const inst = bindings.instanceOf(tree, uart);
  assert.deepEqual(inst['clocks'], [[0x8000], [0x8001, 42]]);
  assert.deepEqual(inst['reset-gpios'], [[0x8007, 3, 0]]);
  assert.deepEqual(inst['interrupts-extended'], [[0x8005, 0, 1, 4]]);
});

test('64-bit, signed and byte-array types decode to numbers', () => {
  const { tree } = machine();
  const chosen = tree.root.addChild('chosen');
  chosen.setU64('kaslr-seed', 0x0123456789abn);
  chosen.setProperty('rng-seed', new Uint8Array([1, 2, 0xff]));
  const vm = tree.root.addChild('vms').addChild('alpha');
  vm.setStringList('compatible', ['gunyah-ts,vm']);
  vm.setU32('priority', -2);
  const c = bindings.instanceOf(tree, chosen);
  assert.equal(c['kaslr-seed'], 0x0123456789ab);
  assert.deepEqual(c['rng-seed'], [1, 2, 0xff]);
  assert.equal(bindings.instanceOf(tree, vm)['priority'], -2);
});

test('a property with two types is read as the one its bytes fit (label: string or u32)', () => {
  const { tree } = machine();
  const a = tree.root.addChild('a');
  a.setString('label', 'uart0');
  const b = tree.root.addChild('b');
  b.setU32('label', 5);
  assert.deepEqual(bindings.instanceOf(tree, a)['label'], ['uart0']);
  assert.equal(bindings.instanceOf(tree, b)['label'], 5);
});

test('an untyped property is guessed as dtc guesses: strings, else cells, else bytes', () => {
  const { tree } = machine();
  const n = tree.root.addChild('n');
  n.setString('acme,name', 'widget');
  n.setU32('acme,cells', [1, 2]);
  n.setProperty('acme,bytes', new Uint8Array([1, 2, 3]));
  const inst = bindings.instanceOf(tree, n);
  assert.deepEqual(inst['acme,name'], ['widget']);
  assert.deepEqual(inst['acme,cells'], [[1, 2]]);
  assert.deepEqual(inst['acme,bytes'], [1, 2, 3]);
});

test('children nest as objects, so a binding can check them', () => {
  const { tree } = machine();
  const cpus = tree.root.addChild('cpus');
  cpus.setU32('#address-cells', 1);
  cpus.setU32('#size-cells', 0);
  cpus.addChild('cpu@0').setString('device_type', 'cpu');
  const inst = bindings.instanceOf(tree, cpus);
  const cpu = inst['cpu@0'] as Record<string, unknown>;
  assert.deepEqual(cpu['device_type'], ['cpu']);
  assert.deepEqual(cpu['$nodename'], ['cpu@0']);
  assert.deepEqual(bindings.instanceOf(tree, tree.root)['$nodename'], ['/']);
});

test('undecodable values are reported and rejected, never thrown', () => {
  const { tree } = machine();
  const psci = tree.root.addChild('psci');
  psci.setStringList('compatible', ['arm,psci-0.2']);
  psci.setProperty('method', new Uint8Array([0x68, 0x76, 0x63])); // "hvc" without its NUL
  psci.setProperty('cpu_on', new Uint8Array([1, 2, 3]));
  const v = bindings.validateNode(tree, psci);
  const decode = v.filter((x) => x.rule === 'decode').map((x) => `${x.property}: ${x.message}`);
  assert.deepEqual(decode.sort(), [
    'cpu_on: size (3) is not a multiple of 4 bytes for type uint32',
    'method: string not NUL-terminated',
  ]);
  assert.ok(v.some((x) => x.property === 'method' && x.schemaId.endsWith('arm/psci.yaml#') && /is not of type 'array'/.test(x.message)));
});

test('an interrupt-parent loop or dangling phandle is reported, not followed forever', () => {
  const tree = new DeviceTree();
  const a = tree.root.addChild('a');
  a.setU32('phandle', 1);
  a.setU32('interrupt-parent', 2);
  const b = tree.root.addChild('b');
  b.setU32('phandle', 2);
  b.setU32('interrupt-parent', 1);
  a.setU32('interrupts', [1, 2, 3]);
  const c = tree.root.addChild('c');
  c.setU32('interrupt-parent', 99);
  c.setU32('interrupts', [1]);
  const v = bindings.validateTree(tree);
  assert.ok(v.some((x) => x.path === '/a' && x.property === 'interrupts' && x.message === 'no interrupt parent with #interrupt-cells'));
  assert.ok(v.some((x) => x.path === '/c' && x.property === 'interrupt-parent' && /does not point at a node/.test(x.message)));
});

test("dtc's generated nodes (__symbols__, __fixups__) are not validated, as dt-schema skips them", () => {
  const { tree } = machine();
  const sym = tree.root.addChild('__symbols__');
  sym.setString('interrupts', '/intc@8000000'); // a label named like a typed property
  sym.setString('reg', '/x');
  tree.root.addChild('__local_fixups__').addChild('psci').setU32('cpu_on', 0);
  assert.deepEqual(bindings.validateTree(tree).filter((v) => v.path.includes('__')), []);
  assert.deepEqual(bindings.validateNode(tree, sym), []);
  assert.equal(bindings.instanceOf(tree, tree.root)['__symbols__'], undefined);
});

test('a deep tree and a huge property validate without trouble', () => {
  const { tree } = machine();
  let n = tree.root;
  for (let i = 0; i < 1000; i++) n = n.addChild(`level${i}`);
  const big = tree.root.addChild('mbi');
  big.setU32('mbi-ranges', Array.from({ length: 200_000 }, (_, i) => i));
  const v = bindings.validateTree(tree);
  assert.deepEqual(bindings.instanceOf(tree, big)['mbi-ranges'], Array.from({ length: 100_000 }, (_, i) => [2 * i, 2 * i + 1]));
  assert.ok(Array.isArray(v));
});

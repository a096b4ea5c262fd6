// Any tree, however malformed its values, gives violations: validation never throws or hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeviceTree, type DtNode } from '../../dt';
import { loadBindings } from '../../bindings';

const bindings = loadBindings();

/** Property names whose decoding depends on other nodes or on types, plus a few free ones. */
const NAMES = [
  'compatible', 'reg', 'ranges', 'interrupts', 'interrupt-parent', 'interrupts-extended', 'interrupt-map',
  '#address-cells', '#size-cells', '#interrupt-cells', '#clock-cells', '#gpio-cells', 'phandle', 'clocks',
  'gpios', 'reset-gpios', 'label', 'status', 'method', 'enable-method', 'kaslr-seed', 'mbi-ranges',
  'dma-coherent', 'device_type', 'acme,x', 'memory-region', 'cpu_on', 'priority', 'timeslice-us',
];
const COMPATIBLES = ['arm,pl011', 'arm,primecell', 'virtio,mmio', 'arm,psci-1.0', 'arm,gic-v3', 'gunyah-hypervisor',
  'qcom,gunyah-doorbell', 'qcom,gunyah-message-queue', 'gunyah-resource-manager', 'gunyah-ts,vm', 'simple-bus', 'acme,x'];

const cells = fc.array(fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 0xffffffff, 0x8000), fc.nat()), { maxLength: 12 }).map((a) => {
  const b = new Uint8Array(a.length * 4);
  const dv = new DataView(b.buffer);
  a.forEach((v, i) => dv.setUint32(i * 4, v >>> 0));
  return b;
});
const value = fc.oneof(
  cells,
  fc.uint8Array({ maxLength: 13 }),
  fc.array(fc.constantFrom(...COMPATIBLES, 'hvc', 'okay', 'psci', 'cpu'), { minLength: 1, maxLength: 3 }).map((l) => new TextEncoder().encode(`${l.join('\0')}\0`)),
);
interface NodeSpec { name: string; props: [string, Uint8Array][]; children: NodeSpec[] }
const nodeSpec: fc.Memo<NodeSpec> = fc.memo((depth) =>
  fc.record({
    name: fc.constantFrom('cpus', 'cpu@0', 'hypervisor', 'psci', 'virtio@a000000', 'serial@1000', 'memory@0', 'chosen', 'vms', 'n', 'q@1', 'intc@8'),
    props: fc.array(fc.tuple(fc.constantFrom(...NAMES), value), { maxLength: 6 }),
    children: depth <= 1 ? fc.constant([]) : fc.array(nodeSpec(depth - 1), { maxLength: 3 }),
  }),
);

function build(spec: NodeSpec[]): DeviceTree {
  const t = new DeviceTree();
  const fill = (n: DtNode, s: NodeSpec) => {
    for (const [k, v] of s.props) n.setProperty(k, v);
    for (const c of s.children) if (!n.child(c.name)) fill(n.addChild(c.name), c);
  };
  fill(t.root, { name: '', props: [['#address-cells', new Uint8Array([0, 0, 0, 2])]], children: spec });
  return t;
}

test('fuzz: random trees validate to well-formed violations, never an exception', () => {
  fc.assert(
    fc.property(fc.array(nodeSpec(3), { maxLength: 5 }), (spec) => {
      const tree = build(spec);
      for (const v of bindings.validateTree(tree, { unmatched: true })) {
        assert.equal(typeof v.path, 'string');
        assert.ok(v.path.startsWith('/'));
        assert.equal(typeof v.message, 'string');
        assert.ok(v.rule.length > 0 && v.schemaId.length > 0);
      }
      for (const n of tree.walk()) bindings.validateNode(tree, n);
    }),
    { seed: 0x5eed, numRuns: 150 },
  );
});

// Hand-broken trees: each defect gives the violation dtbs_check would, naming node, property and rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceTree, DtNode } from '../../dt';
import { formatViolation, loadBindings } from '../../bindings';
import { build, flag, str, u32 } from './support';

const bindings = loadBindings();
const ID = (rel: string) => `http://devicetree.org/schemas/${rel}#`;

/** A small valid machine: 2/2 cells, GICv3, PSCI, one virtio,mmio and one PL011. */
function machine(): DeviceTree {
  return build({
    compatible: str('acme,board'),
    model: str('acme'),
    '#address-cells': u32(2),
    '#size-cells': u32(2),
    'interrupt-parent': u32(1),
    'interrupt-controller@8000000': {
      compatible: str('arm,gic-v3'),
      '#interrupt-cells': u32(3),
      'interrupt-controller': flag,
      reg: u32(0, 0x8000000, 0, 0x10000, 0, 0x80a0000, 0, 0xf60000),
      phandle: u32(1),
    },
    psci: { compatible: str('arm,psci-1.0', 'arm,psci-0.2'), method: str('hvc') },
    'virtio@a000000': { compatible: str('virtio,mmio'), reg: u32(0, 0xa000000, 0, 0x200), interrupts: u32(0, 16, 1) },
    'serial@9000000': { compatible: str('arm,pl011', 'arm,primecell'), reg: u32(0, 0x9000000, 0, 0x1000), interrupts: u32(0, 1, 4) },
  });
}

function lines(t: DeviceTree): string[] {
  return bindings.validateTree(t).map(formatViolation);
}

function node(t: DeviceTree, path: string): DtNode {
  const n = t.findNode(path);
  assert.ok(n, path);
  return n;
}

test('the unbroken machine is clean', () => {
  assert.deepEqual(lines(machine()), []);
});

test('missing reg', () => {
  const t = machine();
  node(t, '/virtio@a000000').removeProperty('reg');
  assert.deepEqual(lines(t), [
    // The root binding wants every unit-addressed child of / to have reg or ranges.
    `/virtio@a000000: reg: 'reg' is a required property (or 'ranges') (${ID('root-node.yaml')}: patternProperties/@(0|[1-9a-f][0-9a-f]*)$/anyOf)`,
    `/virtio@a000000: reg: 'reg' is a required property (${ID('virtio/mmio.yaml')}: required)`,
  ]);
});

test('wrong cell count in reg and in interrupts', () => {
  const t = machine();
  node(t, '/virtio@a000000').setU32('reg', [0, 0xa000000, 0x200]);
  node(t, '/serial@9000000').setU32('interrupts', [0, 1]);
  assert.deepEqual(lines(t), [
    `/virtio@a000000: reg: 3 cells is not a multiple of #address-cells (2) + #size-cells (2) of / (${ID('reg.yaml')}: cell-count)`,
    `/serial@9000000: interrupts: 2 cells is not a multiple of #interrupt-cells (3) of /interrupt-controller@8000000 (${ID('interrupts.yaml')}: cell-count)`,
  ]);
});

test('a reg entry too many for the binding', () => {
  const t = machine();
  node(t, '/virtio@a000000').setU32('reg', [0, 0xa000000, 0, 0x200, 0, 0xa000200, 0, 0x200]);
  assert.deepEqual(lines(t), [
    `/virtio@a000000: reg: [[0, 0xa000000, 0, 0x200], [0, 0xa000200, 0, 0x200]] is too long (at most 1 expected) (${ID('virtio/mmio.yaml')}: properties/reg/maxItems)`,
  ]);
});

test('bad compatible', () => {
  const t = machine();
  node(t, '/serial@9000000').setStringList('compatible', ['arm,pl011', 'arm,primecel']);
  node(t, '/psci').setStringList('compatible', ['arm,psci-0.2', 'arm,psci-1.0']);
  assert.deepEqual(lines(t), [
    `/psci: compatible: ['arm,psci-0.2', 'arm,psci-1.0'] is not valid under any of the given schemas (closest: ['arm,psci-0.2', 'arm,psci-1.0'] is too long (at most 1 expected)) (${ID('arm/psci.yaml')}: properties/compatible/oneOf)`,
    `/serial@9000000: compatible: 'arm,primecell' was expected, not 'arm,primecel' (${ID('serial/arm,pl011.yaml')}: properties/compatible/items/1/const)`,
  ]);
});

test('a compatible no binding documents is reported with unmatched: true', () => {
  const t = machine();
  node(t, '/virtio@a000000').setStringList('compatible', ['acme,virtio']);
  assert.deepEqual(lines(t), []);
  assert.deepEqual(bindings.validateTree(t, { unmatched: true }).map(formatViolation), [
    `/: compatible: failed to match any schema with compatible: ["acme,board"] (generated-compatibles: select)`,
    `/virtio@a000000: compatible: failed to match any schema with compatible: ["acme,virtio"] (generated-compatibles: select)`,
  ]);
});

test('unknown property where additionalProperties is false', () => {
  const t = machine();
  node(t, '/psci').setU32('acme,frob', 1);
  assert.deepEqual(lines(t), [
    `/psci: acme,frob: Additional properties are not allowed ('acme,frob' was unexpected) (${ID('arm/psci.yaml')}: additionalProperties)`,
  ]);
});

test('unknown property where unevaluatedProperties is false', () => {
  const t = machine();
  node(t, '/serial@9000000').setEmpty('acme,frob');
  assert.deepEqual(lines(t), [
    `/serial@9000000: acme,frob: Unevaluated properties are not allowed ('acme,frob' was unexpected) (${ID('serial/arm,pl011.yaml')}: unevaluatedProperties)`,
  ]);
});

test('wrong type: a number where a string belongs, a string where a number belongs', () => {
  const t = machine();
  node(t, '/psci').setU32('method', 1);
  node(t, '/psci').setString('cpu_on', 'x');
  assert.deepEqual(lines(t), [
    `/psci: method: string not NUL-terminated (${ID('dt-core.yaml')}: decode)`,
    `/psci: cpu_on: size (2) is not a multiple of 4 bytes for type uint32 (${ID('dt-core.yaml')}: decode)`,
    `/psci: method: bytes <00000001> is not of type 'array' (${ID('arm/psci.yaml')}: types.yaml#/definitions/non-unique-string-array/type)`,
    `/psci: cpu_on: bytes <7800> is not of type 'integer' (${ID('arm/psci.yaml')}: types.yaml#/definitions/uint32/type)`,
  ]);
});

test('a value outside the enum, a flag with a value, a missing conditional property', () => {
  const t = machine();
  node(t, '/psci').setString('method', 'svc');
  node(t, '/virtio@a000000').setU32('dma-coherent', 1);
  const cpus = t.root.addChild('cpus');
  cpus.setU32('#address-cells', 1);
  cpus.setU32('#size-cells', 0);
  const cpu = cpus.addChild('cpu@0');
  cpu.setString('device_type', 'cpu');
  cpu.setStringList('compatible', ['arm,cortex-a57']);
  cpu.setU32('reg', 0);
  cpu.setString('enable-method', 'spin-table');
  assert.deepEqual(lines(t), [
    `/psci: method: 'svc' is not one of ['smc', 'hvc'] (${ID('arm/psci.yaml')}: properties/method/items/0/enum)`,
    `/virtio@a000000: dma-coherent: boolean property with a value (4 bytes) (${ID('dt-core.yaml')}: decode)`,
    `/virtio@a000000: dma-coherent: true was expected, not bytes <00000001> (${ID('dt-core.yaml')}: types.yaml#/definitions/flag/const)`,
    `/cpus/cpu@0: cpu-release-addr: 'cpu-release-addr' is a required property (${ID('arm/cpus.yaml')}: allOf/1/then/required)`,
  ]);
});

test('validateNode checks one node (the bus calls it before probe)', () => {
  const t = machine();
  node(t, '/psci').setU32('acme,frob', 1);
  const uart = node(t, '/serial@9000000');
  uart.removeProperty('interrupts');
  assert.deepEqual(bindings.validateNode(t, node(t, '/virtio@a000000')), []);
  assert.deepEqual(bindings.validateNode(t, uart).map(formatViolation), [
    `/serial@9000000: interrupts: 'interrupts' is a required property (or 'interrupts-extended') (${ID('serial/arm,pl011.yaml')}: then/oneOf)`,
  ]);
});

test('schemaFor finds the binding of a compatible, generic fallbacks excepted', () => {
  assert.equal(bindings.schemaFor('arm,pl011')?.id, ID('serial/arm,pl011.yaml'));
  assert.equal(bindings.schemaFor('virtio,mmio')?.id, ID('virtio/mmio.yaml'));
  assert.equal(bindings.schemaFor('arm,psci-0.2')?.id, ID('arm/psci.yaml'));
  assert.equal(bindings.schemaFor('gunyah-resource-manager')?.id, ID('firmware/gunyah-resource-manager.yaml'));
  assert.equal(bindings.schemaFor('qcom,gunyah-doorbell-source')?.id, ID('firmware/gunyah-doorbell.yaml'));
  assert.equal(bindings.schemaFor('gunyah-ts,vm')?.id, ID('gunyah-ts/vm.yaml'));
  assert.equal(bindings.schemaFor('arm,primecell'), undefined);
  assert.equal(bindings.schemaFor('acme,nothing'), undefined);
});

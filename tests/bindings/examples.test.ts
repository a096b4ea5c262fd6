// Every binding's examples compile and pass every binding (dt_binding_check's job).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exampleSources, formatViolation, loadBindings } from '../../bindings';
import { treeFromDts } from './support';

const bindings = loadBindings();

test('the schema directory holds the bindings this project needs', () => {
  const ids = new Set(bindings.schemas.map((s) => s.relPath));
  for (const f of [
    'types.yaml', 'dt-core.yaml', 'simple-bus.yaml', 'reg.yaml', 'interrupts.yaml', 'memory.yaml', 'chosen.yaml', 'cpus.yaml', 'cpu.yaml',
    'reserved-memory/reserved-memory.yaml', 'arm/psci.yaml', 'arm/cpus.yaml', 'timer/arm,arch_timer.yaml',
    'interrupt-controller/arm,gic-v3.yaml', 'virtio/mmio.yaml', 'serial/arm,pl011.yaml',
    'firmware/gunyah-hypervisor.yaml', 'firmware/gunyah-vm-id.yaml', 'firmware/gunyah-resource-manager.yaml',
    'firmware/gunyah-message-queue.yaml', 'firmware/gunyah-doorbell.yaml', 'firmware/gunyah-vm-config.yaml',
    'gunyah-ts/board.yaml', 'gunyah-ts/hypervisor.yaml', 'gunyah-ts/vm.yaml',
  ]) {
    assert.ok(ids.has(f), `missing ${f}`);
  }
});

test('every node binding has examples', () => {
  const without = bindings.schemas
    .filter((s) => s.selectedBy !== 'reference' && s.examples.length === 0)
    .map((s) => s.relPath);
  assert.deepEqual(without, []);
});

test('every example compiles with dt/ compileDts and validates cleanly', () => {
  let count = 0;
  for (const schema of bindings.schemas) {
    for (const ex of exampleSources(schema)) {
      const tree = treeFromDts(ex.dts);
      assert.deepEqual(bindings.validateTree(tree).map(formatViolation), [], `${schema.relPath} example ${ex.index}`);
      count++;
    }
  }
  assert.ok(count >= 45, `only ${count} examples`);
});

test('each example is selected by the binding it illustrates', () => {
  // A binding whose examples no node selects would pass them without checking anything.
  const unselected: string[] = [];
  for (const schema of bindings.schemas) {
    if (schema.selectedBy === 'reference' || schema.selectedBy === 'always') continue;
    for (const ex of exampleSources(schema)) {
      const tree = treeFromDts(ex.dts);
      const hit = [...tree.walk()].some((n) => bindings.schemasFor(tree, n).some((s) => s.id === schema.id));
      if (!hit) unselected.push(`${schema.relPath}#${ex.index}`);
    }
  }
  assert.deepEqual(unselected, []);
});

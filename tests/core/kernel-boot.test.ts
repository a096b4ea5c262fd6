// Kernel boot on the fake machine: GIC and arch timer probe (with deferral: the timer comes first in
// probe order only if the GIC is ready), dmesg, device list, timers firing on virtual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startKernel, KernelBootError } from '../../core/index';
import { FakeMachine } from './helpers/fake-machine';
import { buildBoard } from './helpers/board';

function psciHandler(m: FakeMachine) {
  m.hvcHandler = (cpu) => {
    if (cpu.x[0] === 0x84000000n) cpu.x[0] = 0x10001n; // PSCI 1.1
    else cpu.x[0] = BigInt.asUintN(64, -1n);
  };
}

test('boots: GICv3 and the arch timer bind, dmesg tells the story', async () => {
  const m = new FakeMachine();
  psciHandler(m);
  const tree = buildBoard();
  const k = await startKernel(m.cpus[0]!, tree);
  const devs = k.devices();
  assert.deepEqual(
    devs.map((d) => [d.name, d.driver, d.state]),
    [
      ['psci', undefined, 'unbound'],
      ['3fff0000.intc', 'gic-v3', 'bound'],
      ['timer', 'arch_timer', 'bound'],
    ],
  );
  const dmesg = k.dmesg();
  assert.match(dmesg, /Booting gunyah-ts kernel on physical CPU 0x0000000000 \[kernel\d+\]/);
  assert.match(dmesg, /psci: PSCIv1\.1 detected in firmware\./);
  assert.match(dmesg, /GICv3: 64 SPIs implemented/);
  assert.match(dmesg, /arch_timer: cp15 timer\(s\) running at 62\.50MHz \(virt\)\./);
  // The GIC driver enabled affinity routing and group 1 in the distributor.
  assert.equal(m.gic.ctlr, 0x13n);
  // The virtual timer PPI is enabled in CPU0's redistributor and configured level.
  assert.ok(m.gic.ppiEnabled[0]!.has(27));
  assert.equal(m.gic.isEdge(27), false);
  await k.shutdown();
});

test('timers fire on virtual time through the timer interrupt', async () => {
  const m = new FakeMachine();
  psciHandler(m);
  const k = await startKernel(m.cpus[0]!, buildBoard());
  const fired: number[] = [];
  k.clock.after(5_000_000, () => fired.push(k.clock.now()));
  k.clock.after(1_000_000, () => fired.push(k.clock.now()));
  await m.advance(2_000_000);
  assert.equal(fired.length, 1);
  assert.ok(fired[0]! >= 1_000_000 && fired[0]! < 1_100_000);
  await m.advance(4_000_000);
  assert.equal(fired.length, 2);
  assert.ok(fired[1]! >= 5_000_000);
  // Sleeping resolves on virtual time too.
  let woke = false;
  void k.clock.sleep(3_000_000).then(() => (woke = true));
  await m.advance(2_000_000);
  assert.equal(woke, false);
  await m.advance(2_000_000);
  assert.equal(woke, true);
  await k.shutdown();
});

test('a DT without memory refuses to boot with a clear message', async () => {
  const m = new FakeMachine();
  const tree = buildBoard();
  tree.root.removeChild(tree.root.children.find((n) => n.nodeName === 'memory')!);
  await assert.rejects(startKernel(m.cpus[0]!, tree), (e: unknown) => {
    assert.ok(e instanceof KernelBootError);
    assert.match(e.message, /Kernel panic - not syncing: memory layout: .*no RAM/);
    assert.match(e.dmesg, /Booting gunyah-ts kernel/);
    return true;
  });
});

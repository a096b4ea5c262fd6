// IRQs: DT specifiers mapped through the interrupt parent (interrupts, interrupts-extended,
// interrupt-map) to GIC INTIDs, trigger types programmed in the vGIC, hard and threaded handlers, and the
// bad cases: spurious INTIDs, interrupts nobody handles, bad specifiers, double requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainerModule } from 'inversify';
import {
  Driver,
  Errno,
  IRQ_HANDLED,
  IRQ_WAKE_THREAD,
  IRQF,
  OfError,
  ProbeDefer,
  startKernel,
  type PlatformDevice,
} from '../../core/index';
import { DtQueryError, ofIrqParseOne } from '../../dt/index';
import { FakeMachine } from './helpers/fake-machine';
import { GIC_PHANDLE, addDevice, buildBoard } from './helpers/board';

function psci(m: FakeMachine) {
  m.hvcHandler = (cpu) => {
    cpu.x[0] = cpu.x[0] === 0x84000000n ? 0x10001n : BigInt.asUintN(64, -1n);
  };
}

test('the timer listed before the GIC defers, then binds once the GIC does', async () => {
  const m = new FakeMachine();
  psci(m);
  const tree = buildBoard();
  const timer = tree.root.children.find((n) => n.name === 'timer')!;
  tree.root.removeChild(timer);
  tree.root.children.splice(2, 0, timer);
  timer.parent = tree.root;
  const k = await startKernel(m.cpus[0]!, tree);
  assert.deepEqual(
    k.devices().map((d) => [d.name, d.state]),
    [
      ['timer', 'bound'],
      ['psci', 'unbound'],
      ['3fff0000.intc', 'bound'],
    ],
  );
  assert.match(k.dmesg(), /arch_timer/);
  await k.shutdown();
});

test('DT interrupts map to INTIDs: SPI +32, PPI +16, flags give the trigger, programmed in ICFGR', async () => {
  const m = new FakeMachine();
  psci(m);
  const tree = buildBoard();
  const dev = addDevice(tree, 'dev', ['test,irqs']);
  dev.setU32('interrupts', [0, 3, 1, 0, 4, 4, 1, 7, 4]);
  const got: number[] = [];
  const k = await startKernel(m.cpus[0]!, tree, {
    drivers: [
      new ContainerModule(({ bind }) => {
        bind(Driver).toConstantValue({
          name: 'irqs',
          ofMatchTable: [{ compatible: 'test,irqs' }],
          async probe(d: PlatformDevice) {
            for (let i = 0; i < 3; i++) {
              const v = d.getIrq(i);
              if (v instanceof ProbeDefer) return v;
              got.push(v);
            }
          },
        });
      }),
    ],
  });
  const descs = got.map((v) => k.irq.desc(v)!);
  assert.deepEqual(
    descs.map((d) => [d.hwirq, d.type, d.percpu]),
    [
      [35, 1, false],
      [36, 4, false],
      [23, 4, true],
    ],
  );
  // Request the SPIs: the trigger lands in GICD_ICFGR and the line is enabled.
  await k.irq.requestIrq(descs[0]!.virq, () => IRQ_HANDLED, { name: 'edge' });
  await k.irq.requestIrq(descs[1]!.virq, () => IRQ_HANDLED, { name: 'level' });
  assert.equal(m.gic.isEdge(35), true);
  assert.equal(m.gic.isEdge(36), false);
  assert.ok(m.gic.spiEnabled.has(35) && m.gic.spiEnabled.has(36));
  // Routed to the boot CPU (IROUTER = its affinity).
  assert.equal(m.gic.routeOf(35), 0);
  await k.shutdown();
});

test('interrupts-extended and interrupt-map resolve to the controller and its cells (dt/ of_irq)', () => {
  const tree = buildBoard();
  const ext = addDevice(tree, 'ext', ['test,x']);
  ext.setU32('interrupts-extended', [GIC_PHANDLE, 0, 9, 4, GIC_PHANDLE, 1, 2, 1]);
  const gic = tree.findNode('/intc@3fff0000')!;
  assert.deepEqual(ofIrqParseOne(ext, 1), { controller: gic, args: [1, 2, 1] });
  const nexus = addDevice(tree, 'nexus', ['test,nexus']);
  nexus.setU32('#address-cells', 1);
  nexus.setU32('#interrupt-cells', 1);
  nexus.setU32('phandle', 7);
  // child unit address 0x100, pin 1 -> GIC SPI 20 level; pin 2 -> SPI 21 edge
  nexus.setU32('interrupt-map-mask', [0xffff, 0x7]);
  nexus.setU32('interrupt-map', [0x100, 1, GIC_PHANDLE, 0, 20, 4, 0x100, 2, GIC_PHANDLE, 0, 21, 1]);
  const child = nexus.addChild('dev@100');
  child.setU32('reg', 0x100);
  child.setU32('interrupt-parent', 7);
  child.setU32('interrupts', [2, 1]);
  assert.deepEqual(ofIrqParseOne(child, 0), { controller: gic, args: [0, 21, 1] });
  assert.deepEqual(ofIrqParseOne(child, 1), { controller: gic, args: [0, 20, 4] });
  assert.equal(ofIrqParseOne(child, 2), undefined);
  child.setU32('interrupts', [3]);
  assert.throws(() => ofIrqParseOne(child, 0), DtQueryError);
  ext.setU32('interrupts-extended', [0x99, 1]);
  assert.throws(() => ofIrqParseOne(ext, 0), DtQueryError);
});

async function bootWithIrqDevice() {
  const m = new FakeMachine();
  psci(m);
  const tree = buildBoard();
  addDevice(tree, 'dev', ['test,x'], [5, 6, 7]);
  const k = await startKernel(m.cpus[0]!, tree);
  const node = tree.findNode('/dev')!;
  const virqs = [0, 1, 2].map((i) => k.irq.ofIrqGet(node, i) as number);
  return { m, k, virqs };
}

test('bad GIC specifiers are typed errors', async () => {
  const { k } = await bootWithIrqDevice();
  const tree = k.tree;
  const bad = addDevice(tree, 'badspec', ['test,x']);
  bad.setU32('interrupts-extended', [0x99, 1]);
  assert.throws(() => k.irq.ofIrqGet(bad, 0), OfError);
  bad.removeProperty('interrupts-extended');
  bad.setU32('interrupts', [0, 1]);
  assert.equal(k.irq.ofIrqGet(bad, 0), undefined); // a short list has no interrupt 0
  bad.setU32('interrupts', [0, 988, 4]);
  assert.throws(() => k.irq.ofIrqGet(bad, 0), /SPI 988 out of range/);
  bad.setU32('interrupts', [5, 1, 4]);
  assert.throws(() => k.irq.ofIrqGet(bad, 0), /unknown GIC interrupt type 5/);
  // Falling edge on an SPI is refused by the GIC when the line is set up.
  bad.setU32('interrupts', [0, 9, 2]);
  const v = k.irq.ofIrqGet(bad, 0) as number;
  await assert.rejects(k.irq.requestIrq(v, () => IRQ_HANDLED, { name: 'x' }), (e: unknown) => Errno.is(e, 'EINVAL'));
  await k.shutdown();
});

test('hard handlers run in the vector with their context; EOI follows', async () => {
  const { m, k, virqs } = await bootWithIrqDevice();
  const seen: number[] = [];
  await k.irq.requestIrq(virqs[0]!, (ctx) => {
    seen.push(ctx.hwirq);
    return IRQ_HANDLED;
  }, { name: 'hard' });
  m.gic.raise(37);
  await m.settle();
  assert.deepEqual(seen, [37]);
  assert.equal(m.gic.active[0]!.size, 0);
  assert.equal(k.irq.desc(virqs[0]!)!.counts[0], 1);
  await assert.rejects(k.irq.requestIrq(virqs[0]!, () => IRQ_HANDLED, { name: 'again' }), (e: unknown) => Errno.is(e, 'EBUSY'));
  await k.irq.freeIrq(virqs[0]!);
  assert.equal(m.gic.spiEnabled.has(37), false);
  await k.shutdown();
});

test('threaded handlers run after the vector and may wait; oneshot keeps a level line masked meanwhile', async () => {
  const { m, k, virqs } = await bootWithIrqDevice();
  const tree = k.tree;
  const lvl = addDevice(tree, 'lvl', ['test,x']);
  lvl.setU32('interrupts', [0, 8, 4]);
  const virq = k.irq.ofIrqGet(lvl, 0) as number;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const events: string[] = [];
  await k.irq.requestThreadedIrq(
    virq,
    () => {
      events.push('hard');
      return IRQ_WAKE_THREAD;
    },
    async () => {
      events.push('thread start');
      await gate;
      m.gic.lower(40);
      events.push('thread end');
      return IRQ_HANDLED;
    },
    { name: 'threaded', flags: IRQF.ONESHOT },
  );
  m.gic.raise(40, undefined, true);
  await m.settle();
  assert.deepEqual(events, ['hard', 'thread start']);
  // Masked while the thread runs, so the asserted level line does not storm.
  assert.equal(m.gic.spiEnabled.has(40), false);
  release();
  await m.settle();
  assert.deepEqual(events, ['hard', 'thread start', 'thread end']);
  assert.equal(m.gic.spiEnabled.has(40), true);
  // A threaded level interrupt without IRQF_ONESHOT is refused, as in Linux.
  const v2 = virqs[1]!;
  k.irq.desc(v2)!.type = 4;
  await assert.rejects(k.irq.requestThreadedIrq(v2, undefined, async () => IRQ_HANDLED, { name: 'no-oneshot' }), /without IRQF_ONESHOT/);
  await k.shutdown();
});

test('disable_irq_nosync from a oneshot thread: a line stuck high stays masked until enable_irq', async () => {
  const { m, k } = await bootWithIrqDevice();
  const lvl = addDevice(k.tree, 'stuck', ['test,x']);
  lvl.setU32('interrupts', [0, 8, 4]);
  const virq = k.irq.ofIrqGet(lvl, 0) as number;
  let runs = 0;
  await k.irq.requestThreadedIrq(
    virq,
    undefined,
    async () => {
      // The device is gone and cannot lower its line: give up on it from its own handler.
      runs++;
      await k.irq.disableIrqNosync(virq);
      return IRQ_HANDLED;
    },
    { name: 'stuck', flags: IRQF.ONESHOT },
  );
  m.gic.raise(40, undefined, true);
  await m.settle();
  await m.settle();
  assert.equal(runs, 1, 'the handler ran once, not in a storm');
  assert.equal(m.gic.spiEnabled.has(40), false);
  await k.irq.enableIrq(virq);
  await m.settle();
  assert.equal(runs, 2, 'enabled again, the still-high line is taken again');
  await k.shutdown();
});

test('a spurious INTID (not mapped) is logged, counted and ended', async () => {
  const { m, k } = await bootWithIrqDevice();
  m.gic.spiEnabled.add(80);
  m.gic.raise(80);
  await m.settle();
  assert.equal(k.irq.spuriousCount, 1);
  assert.match(k.dmesg(), /spurious interrupt: GICv3 hwirq 80 is not mapped/);
  assert.equal(m.gic.active[0]!.size, 0);
  await k.shutdown();
});

test('an interrupt without a registered handler is reported and masked', async () => {
  const { m, k, virqs } = await bootWithIrqDevice();
  await k.irq.requestIrq(virqs[2]!, () => IRQ_HANDLED, { name: 'tmp' });
  await k.irq.freeIrq(virqs[2]!);
  // Something enables the line behind the kernel's back and it fires.
  m.gic.spiEnabled.add(39);
  m.gic.raise(39);
  await m.settle();
  assert.match(k.dmesg(), /irq \d+ \(GICv3 hwirq 39\) has no handler; masking it/);
  assert.equal(m.gic.spiEnabled.has(39), false);
  await k.shutdown();
});

test('shared handlers: every action runs; a handler that throws is logged, not fatal', async () => {
  const { m, k, virqs } = await bootWithIrqDevice();
  const seen: string[] = [];
  await k.irq.requestIrq(virqs[1]!, () => {
    seen.push('a');
    throw new Error('boom');
  }, { name: 'a', flags: IRQF.SHARED, devId: 'a' });
  await k.irq.requestIrq(virqs[1]!, () => {
    seen.push('b');
    return IRQ_HANDLED;
  }, { name: 'b', flags: IRQF.SHARED, devId: 'b' });
  m.gic.raise(38);
  await m.settle();
  assert.deepEqual(seen, ['a', 'b']);
  assert.match(k.dmesg(), /irq \d+ \(a\): handler threw: boom/);
  await k.irq.freeIrq(virqs[1]!, 'a');
  assert.equal(k.irq.desc(virqs[1]!)!.actions.length, 1);
  await k.shutdown();
});

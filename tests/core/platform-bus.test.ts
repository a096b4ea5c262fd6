// The platform bus: probe in DT order with deferral retried when a driver binds, devres released in
// reverse on probe failure and remove, reverse-order shutdown, child containers with the node bound,
// population rules, and the binding-validation seam.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainerModule, inject, injectable, preDestroy } from 'inversify';
import type { DtNode } from '../../dt/index';
import { Driver, Errno, OfNode, ProbeDefer, startKernel, type BindingViolation, type PlatformDevice, type ProbeResult } from '../../core/index';
import { FakeMachine } from './helpers/fake-machine';
import { addDevice, buildBoard } from './helpers/board';

const log: string[] = [];

/** A driver whose probe defers until a named provider is bound, and logs each step. */
function makeDriver(name: string, compatible: string, needs?: () => boolean, opts: { fail?: boolean } = {}): Driver {
  return {
    name,
    ofMatchTable: [{ compatible }],
    async probe(dev: PlatformDevice): Promise<ProbeResult> {
      log.push(`probe ${dev.name}`);
      dev.devmAdd(`${name}-res-a`, () => void log.push(`release ${name}-res-a`));
      if (needs && !needs()) return new ProbeDefer(`${name} waits`);
      dev.devmAdd(`${name}-res-b`, () => void log.push(`release ${name}-res-b`));
      if (opts.fail) throw new Errno('ENOMEM', 'simulated');
    },
    async remove(dev: PlatformDevice) {
      log.push(`remove ${dev.name}`);
    },
  };
}

function driversModule(drivers: Driver[]): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const d of drivers) bind(Driver).toConstantValue(d);
  });
}

test('probe order with deferral: consumers retry when their provider binds, remove runs in reverse', async () => {
  log.length = 0;
  const m = new FakeMachine();
  const tree = buildBoard();
  addDevice(tree, 'consumer-a', ['test,consumer']);
  addDevice(tree, 'middle', ['test,middle']);
  addDevice(tree, 'provider', ['test,provider']);
  let providerUp = false;
  let middleUp = false;
  const provider = makeDriver('provider', 'test,provider');
  const origProbe = provider.probe.bind(provider);
  provider.probe = async (d) => {
    await origProbe(d);
    providerUp = true;
  };
  const middle = makeDriver('middle', 'test,middle', () => providerUp);
  const mp = middle.probe.bind(middle);
  middle.probe = async (d) => {
    const r = await mp(d);
    if (!(r instanceof ProbeDefer)) middleUp = true;
    return r;
  };
  const consumer = makeDriver('consumer', 'test,consumer', () => middleUp);
  const k = await startKernel(m.cpus[0]!, tree, { drivers: [driversModule([consumer, middle, provider])] });
  const probes = log.filter((l) => l.startsWith('probe'));
  assert.deepEqual(probes, ['probe consumer-a', 'probe middle', 'probe provider', 'probe consumer-a', 'probe middle', 'probe consumer-a']);
  // Deferred probes released what they had acquired before deferring.
  assert.equal(log.filter((l) => l === 'release consumer-res-a').length, 2);
  assert.deepEqual(
    k.devices().filter((d) => d.compatible[0]!.startsWith('test,')).map((d) => [d.name, d.state]),
    [
      ['consumer-a', 'bound'],
      ['middle', 'bound'],
      ['provider', 'bound'],
    ],
  );
  log.length = 0;
  await k.shutdown();
  // Reverse bind order: consumer, middle, provider (then the timer and GIC); devres newest first.
  const tail = log.filter((l) => !l.includes('gic') && !l.includes('timer'));
  assert.deepEqual(tail, [
    'remove consumer-a',
    'release consumer-res-b',
    'release consumer-res-a',
    'remove middle',
    'release middle-res-b',
    'release middle-res-a',
    'remove provider',
    'release provider-res-b',
    'release provider-res-a',
  ]);
});

test('a failing probe unwinds its devres in reverse and is reported in dmesg with the errno', async () => {
  log.length = 0;
  const m = new FakeMachine();
  const tree = buildBoard();
  addDevice(tree, 'broken@1000', ['test,broken']);
  const k = await startKernel(m.cpus[0]!, tree, { drivers: [driversModule([makeDriver('broken', 'test,broken', undefined, { fail: true })])] });
  assert.deepEqual(log, ['probe broken@1000', 'release broken-res-b', 'release broken-res-a']);
  const d = k.devices().find((x) => x.name === 'broken@1000')!;
  assert.equal(d.state, 'failed');
  assert.match(k.dmesg(), /broken broken@1000: probe failed with error -12 \(ENOMEM\): ENOMEM: simulated/);
  await k.shutdown();
});

test('devices never satisfied stay deferred and are listed as pending', async () => {
  const m = new FakeMachine();
  const tree = buildBoard();
  addDevice(tree, 'orphan', ['test,orphan']);
  const k = await startKernel(m.cpus[0]!, tree, { drivers: [driversModule([makeDriver('orphan', 'test,orphan', () => false)])] });
  assert.equal(k.devices().find((d) => d.name === 'orphan')!.state, 'deferred');
  assert.match(k.dmesg(), /platform orphan: deferred probe pending: orphan waits/);
  await k.shutdown();
});

const Widget = Symbol('Widget');

@injectable()
class WidgetImpl {
  destroyed = false;
  constructor(@inject(OfNode) readonly node: DtNode) {}
  @preDestroy()
  stop(): void {
    this.destroyed = true;
    log.push(`preDestroy ${this.node.name}`);
  }
}

test('each bound device gets a child container with its DT node; remove runs @preDestroy', async () => {
  log.length = 0;
  const m = new FakeMachine();
  const tree = buildBoard();
  addDevice(tree, 'w@1', ['test,widget']);
  addDevice(tree, 'w@2', ['test,widget']);
  const seen: WidgetImpl[] = [];
  const driver: Driver = {
    name: 'widget',
    ofMatchTable: [{ compatible: 'test,widget' }],
    deviceModule: new ContainerModule(({ bind }) => {
      bind(WidgetImpl).toSelf().inSingletonScope();
      bind(Widget).toService(WidgetImpl);
    }),
    async probe(dev) {
      seen.push(dev.container!.get<WidgetImpl>(Widget));
    },
  };
  const k = await startKernel(m.cpus[0]!, tree, { drivers: [driversModule([driver])] });
  assert.equal(seen.length, 2);
  assert.notEqual(seen[0], seen[1]);
  assert.deepEqual(
    seen.map((w) => w.node.name),
    ['w@1', 'w@2'],
  );
  await k.shutdown();
  assert.deepEqual(log, ['preDestroy w@2', 'preDestroy w@1']);
  assert.ok(seen.every((w) => w.destroyed));
});

test('population: disabled nodes and nodes without compatible get no device; simple-bus children do', async () => {
  const m = new FakeMachine();
  const tree = buildBoard();
  addDevice(tree, 'off', ['test,x']).setString('status', 'disabled');
  tree.root.addChild('plain');
  const bus = addDevice(tree, 'soc', ['simple-bus']);
  bus.setU32('#address-cells', 1);
  bus.setU32('#size-cells', 1);
  bus.setU32('ranges', [0, 0, 0x10000000, 0x100000]);
  const child = bus.addChild('uart@1000');
  child.setStringList('compatible', ['test,uart']);
  child.setU32('reg', [0x1000, 0x100]);
  const k = await startKernel(m.cpus[0]!, tree);
  const names = k.devices().map((d) => d.name);
  assert.ok(!names.includes('off') && !names.includes('plain'));
  // The child's name carries its reg address translated through the bus's ranges.
  assert.ok(names.includes('10001000.uart'), names.join(','));
  await k.shutdown();
});

test('binding seam: a node that violates its binding is logged with property and rule and skipped', async () => {
  log.length = 0;
  const m = new FakeMachine();
  const tree = buildBoard();
  addDevice(tree, 'bad@0', ['test,checked']);
  addDevice(tree, 'good@1', ['test,checked']).setU32('needed', 1);
  const validator = {
    validateNode(_t: unknown, node: DtNode): BindingViolation[] {
      if (!(node.strings('compatible') ?? []).includes('test,checked') || node.has('needed')) return [];
      return [{ path: node.path, property: 'needed', rule: 'required', message: "'needed' is a required property" }];
    },
  };
  const k = await startKernel(m.cpus[0]!, tree, { validator, drivers: [driversModule([makeDriver('checked', 'test,checked')])] });
  assert.deepEqual(log.filter((l) => l.startsWith('probe')), ['probe good@1']);
  assert.equal(k.devices().find((d) => d.path === '/bad@0')!.state, 'invalid');
  assert.match(k.dmesg(), /checked bad@0: DT binding violation at \/bad@0: property 'needed' fails 'required'/);
  await k.shutdown();
});

test('two drivers with the same name are a wiring error that refuses the boot', async () => {
  const m = new FakeMachine();
  await assert.rejects(
    startKernel(m.cpus[0]!, buildBoard(), { drivers: [driversModule([makeDriver('dup', 'a,b'), makeDriver('dup', 'c,d')])] }),
    /driver dup registered twice/,
  );
});

test('with the bindings/ schemas (the default validator), an invalid GIC node is not probed', async () => {
  const m = new FakeMachine();
  const tree = buildBoard();
  tree.findNode('/intc@3fff0000')!.setU32('#interrupt-cells', 2);
  const k = await startKernel(m.cpus[0]!, tree);
  const gic = k.devices().find((d) => d.path === '/intc@3fff0000')!;
  assert.equal(gic.state, 'invalid');
  assert.match(k.dmesg(), /gic-v3 3fff0000\.intc: DT binding violation at \/intc@3fff0000: property '#interrupt-cells' fails '[^']*enum'/);
  // Without its interrupt controller the timer cannot bind either.
  assert.notEqual(k.devices().find((d) => d.name === 'timer')!.state, 'bound');
  await k.shutdown();
});

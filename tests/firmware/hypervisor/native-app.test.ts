// Native apps (placement A): called on the trapping vCPU with function codes and a return call, time
// charged to that vCPU, timers on the virtual clock, grants enforced through stage 2, and a faulting,
// overrunning or protocol-breaking app stopped, restarted and counted without harming the guest beyond
// the failed access.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  APP_CALL_NS,
  appFromFactory,
  appFromImage,
  appFromText,
  encodeImage,
  gicEnable,
  gicInit,
  costs,
  NativeAppFn,
  NativeAppHost,
  NativeAppLoadError,
  type AppEntry,
  type GicFrames,
  type GuestCpu,
  type NativeApp,
} from '../../../firmware/hypervisor/index';
import { buildVm, RAM_BASE, runRoot, signal } from './harness';

const VMID = 70;
const IPA = 0x8000_0000;
const DEV = 0x0900_0000n;

/** A register file app: offset 0 is a counter that counts writes; offset 8 reads guest memory at IPA+0x100. */
function counterApp(opts: { throwOnWrite?: number; spin?: boolean; noRet?: boolean; doubleRet?: boolean } = {}): AppEntry {
  let count = 0;
  return (c) => {
    switch (c.fn) {
      case NativeAppFn.INIT:
        count = 0;
        c.ret(0n);
        return;
      case NativeAppFn.MMIO_READ: {
        if (c.args[0] === 8n) {
          const b = new Uint8Array(4);
          c.ret(c.host.memRead(BigInt(IPA + 0x100), b) ? BigInt(new DataView(b.buffer).getUint32(0, true)) : 0xdeadn);
          return;
        }
        if (c.args[0] === 16n) {
          const b = new Uint8Array(4);
          c.ret(c.host.memRead(0x4000_0000n, b) ? 1n : 0n); // not granted
          return;
        }
        if (opts.spin) for (;;) c.host.now();
        c.ret(BigInt(count));
        if (opts.doubleRet) c.ret(1n);
        return;
      }
      case NativeAppFn.MMIO_WRITE:
        count++;
        if (opts.throwOnWrite === count) throw new Error(`bug at write ${count}`);
        if (c.args[0] === 4n) c.host.armTimer(0, c.host.now() + Number(c.args[2]));
        if (c.args[0] === 12n) c.host.setIrq(false);
        if (!opts.noRet) c.ret(0n);
        return;
      case NativeAppFn.TIMER:
        c.host.setIrq(true);
        c.ret(0n);
        return;
      default:
        c.ret(0n);
    }
  };
}

type AppSource = (() => AppEntry) | { image: Uint8Array };

/** Run `body` as guest code in a VM whose device at DEV is the app `make`, to quiescence. */
async function runApp(make: AppSource, body: (g: GuestCpu, app: NativeApp) => Promise<void>, cfg: { budgetNs?: number; stepBudget?: number } = {}) {
  let app: NativeApp | undefined;
  const ready = signal();
  let failure: unknown;
  let finished = false;
  const r = await runRoot(async (cpu, env, rg) => {
    await buildVm(cpu, env, rg.machine, {
      vmid: VMID,
      pa: RAM_BASE + 0x1000_0000,
      size: 0x10_0000,
      ipaBase: IPA,
      entry: IPA,
      code: async (g) => {
        await ready.promise;
        try {
          await body(g, app!);
          finished = true;
        } catch (e) {
          failure = e;
        }
      },
    });
    const host = new NativeAppHost(rg.hv);
    const config = { vmid: VMID, base: DEV, size: 0x1000n, spi: 90, ...cfg };
    app = typeof make === 'function' ? host.attach(appFromFactory('test-app', make), config) : host.load('image-app', make.image, config);
    ready.fire();
    await cpu.spin(1000);
  });
  await r.machine.runUntilQuiescent();
  return { app: app!, hv: r.hv, failure, finished };
}

/** runApp for a guest that must finish, with the invariants holding afterwards. */
async function withApp(make: AppSource, body: (g: GuestCpu, app: NativeApp) => Promise<void>, cfg: { budgetNs?: number; stepBudget?: number } = {}): Promise<NativeApp> {
  const { app, hv, failure, finished } = await runApp(make, body, cfg);
  if (failure) throw failure;
  assert.ok(finished, 'the guest finished');
  assert.deepEqual(hv.checkInvariants(), []);
  return app;
}

test('MMIO goes to the app through function codes; its time is charged to the trapping vCPU', async () => {
  const app = await withApp(counterApp, async (g) => {
    await g.mmioWrite(DEV, 4, 1n);
    await g.mmioWrite(DEV, 4, 1n);
    assert.equal(await g.mmioRead(DEV, 4), 2n);
    g.write32(BigInt(IPA + 0x100), 0xcafe_f00d);
    assert.equal(await g.mmioRead(DEV + 8n, 4), 0xcafe_f00dn, 'granted guest memory, through stage 2');
    assert.equal(await g.mmioRead(DEV + 16n, 4), 0n, 'memory outside the grants is refused');
    const t0 = g.counter();
    await g.mmioRead(DEV, 4);
    const ns = Number(g.counter() - t0) * 16;
    assert.ok(ns >= costs.MMIO_TRAP_NS + APP_CALL_NS && ns < costs.MMIO_TRAP_NS + APP_CALL_NS + 200, `one read round trip: ${ns} ns`);
  });
  assert.equal(app.stats.reads, 4);
  assert.equal(app.stats.writes, 2);
  assert.equal(app.stats.faults, 0);
  assert.ok(app.stats.chargedNs > 0);
});

test('an app that throws is stopped and restarted: the access fails (all ones), the device comes back fresh', async () => {
  const app = await withApp(
    () => counterApp({ throwOnWrite: 3 }),
    async (g) => {
      for (let i = 0; i < 2; i++) await g.mmioWrite(DEV, 4, 1n);
      assert.equal(await g.mmioRead(DEV, 4), 2n);
      await g.mmioWrite(DEV, 4, 1n); // the third write throws inside the app
      assert.equal(await g.mmioRead(DEV, 4), 0n, 'a fresh instance: its state is gone');
      assert.equal(await g.mmioRead(DEV, 2), 0n);
      await g.mmioWrite(DEV, 4, 1n);
      assert.equal(await g.mmioRead(DEV, 4), 1n);
    },
  );
  assert.equal(app.stats.faults, 1);
  assert.equal(app.stats.restarts, 1);
  assert.equal(app.stats.failedAccesses, 1);
  assert.match(app.stats.lastFault!, /MMIO_WRITE: threw: Error: bug at write 3/);
  assert.equal(app.stats.disabled, false);
});

test('an app that overruns its step budget is stopped; a read returns all ones; the vCPU pays only the budget', async () => {
  const app = await withApp(
    () => counterApp({ spin: true }),
    async (g) => {
      const t0 = g.counter();
      assert.equal(await g.mmioRead(DEV, 4), 0xffff_ffffn);
      assert.equal(await g.mmioRead(DEV, 1), 0xffn);
      const ns = Number(g.counter() - t0) * 16;
      assert.ok(ns < 2 * 60_000, `two stopped calls cost ${ns} ns`);
    },
    { stepBudget: 1000, budgetNs: 50_000 },
  );
  assert.equal(app.stats.budgetOverruns, 2);
  assert.equal(app.stats.restarts, 2);
  assert.equal(app.stats.failedAccesses, 2);
  assert.match(app.stats.lastFault!, /budget exceeded \(1001 steps/);
});

test('a modelled-time budget stops an app that charges too much', async () => {
  const app = await withApp(
    () => (c) => {
      if (c.fn === NativeAppFn.MMIO_READ) c.host.charge(1_000_000);
      c.ret(c.fn === NativeAppFn.INIT ? 0n : 7n);
    },
    async (g) => {
      assert.equal(await g.mmioRead(DEV, 4), 0xffff_ffffn);
    },
    { budgetNs: 100_000 },
  );
  assert.equal(app.stats.budgetOverruns, 1);
  assert.match(app.stats.lastFault!, /budget exceeded/);
});

test('breaking the return-call protocol is a fault: no return call, or two', async () => {
  const a1 = await withApp(
    () => counterApp({ noRet: true }),
    async (g) => {
      await g.mmioWrite(DEV, 4, 1n);
    },
  );
  assert.match(a1.stats.lastFault!, /returned without a return call/);
  const a2 = await withApp(
    () => counterApp({ doubleRet: true }),
    async (g) => {
      assert.equal(await g.mmioRead(DEV, 4), 0xffff_ffffn);
    },
  );
  assert.match(a2.stats.lastFault!, /second return call/);
});

test('an app that cannot initialise is disabled after repeated attempts; its device reads all ones', async () => {
  let made = 0;
  const app = await withApp(
    () => {
      made++;
      return (c) => c.ret(c.fn === NativeAppFn.INIT ? 1n : 0n);
    },
    async (g) => {
      assert.equal(await g.mmioRead(DEV, 4), 0xffff_ffffn);
      await g.mmioWrite(DEV, 4, 1n);
    },
  );
  assert.equal(made, 3);
  assert.equal(app.stats.disabled, true);
  assert.equal(app.stats.failedAccesses, 2);
});

test('an app timer fires on the virtual clock and its interrupt reaches the guest', async () => {
  const fired = signal<number>();
  await withApp(counterApp, async (g) => {
    const frames: GicFrames = { gicdBase: 0x0800_0000n, gicrBase: 0x080a_0000n, gicrStride: 0x20000n };
    await gicInit(g, frames);
    await gicEnable(g, frames, 90, false);
    g.setIrqVector(() => {
      const id = g.gicAcknowledge();
      at = g.counter();
      fired.fire(id);
      // Quiet the (level) line before the EOI: a device access from the vector completes in place.
      void g.mmioWrite(DEV + 12n, 4, 0n);
      g.gicEndOfInterrupt(id);
    });
    g.setIrqMasked(false);
    let at = 0n;
    const t0 = g.counter();
    await g.mmioWrite(DEV + 4n, 4, 500_000n); // arm timer 0 for now + 500 µs
    const id = await Promise.race([fired.promise, g.spin(2_000_000).then(() => -1)]);
    assert.equal(id, 90);
    // Taken at the first preemption point after the deadline: within one scheduling quantum (100 µs).
    const ns = Number(at - t0) * 16;
    assert.ok(ns >= 500_000 && ns <= 600_000, `interrupt after ${ns} ns`);
  });
});

test('apps from program text: a CommonJS bundle exporting app; bad texts are load errors', async () => {
  const text = `module.exports.app = (c) => { c.ret(c.fn === 1 ? 0x1234n : 0n); };`;
  const img = appFromText('text-app', text);
  const e1 = img.instantiate();
  const e2 = img.instantiate();
  assert.notEqual(e1, e2, 'each instantiation is a fresh instance');
  assert.throws(() => appFromText('bad', 'module.exports = {'), NativeAppLoadError);
  assert.throws(() => appFromText('none', 'module.exports.main = () => {}').instantiate(), /does not export an `app` function/);
  assert.throws(() => appFromText('req', 'require("fs")').instantiate(), /cannot require "fs"/);
  await withApp(
    () => img.instantiate(),
    async (g) => {
      assert.equal(await g.mmioRead(DEV, 4), 0x1234n);
    },
  );
});

/** A counter device as an app program text: a write of 0xdead makes it throw. */
const COUNTER_APP = `
let count = 0;
module.exports.app = (c) => {
  if (c.fn === 0) { count = 0; c.ret(0n); return; }
  if (c.fn === 1) { c.ret(BigInt(count)); return; }
  if (c.fn === 2) { if (c.args[2] === 0xdeadn) throw new Error('app bug'); count++; c.ret(0n); return; }
  c.ret(0n);
};`;

test('apps from native-app images: loaded per VM, each start a fresh instance of the image', async () => {
  const image = encodeImage({ text: COUNTER_APP, entries: ['app'], kind: 'native-app' });
  const app = await withApp({ image }, async (g) => {
    await g.mmioWrite(DEV, 4, 1n);
    await g.mmioWrite(DEV, 4, 1n);
    assert.equal(await g.mmioRead(DEV, 4), 2n);
    await g.mmioWrite(DEV, 4, 0xdeadn); // throws inside the app
    assert.equal(await g.mmioRead(DEV, 4), 0n, 'restarted from the image: module state is gone');
    await g.mmioWrite(DEV, 4, 1n);
    assert.equal(await g.mmioRead(DEV, 4), 1n);
  });
  assert.equal(app.image.name, 'image-app');
  assert.equal(app.stats.faults, 1);
  assert.equal(app.stats.restarts, 1);
  assert.match(app.stats.lastFault!, /app bug/);
});

test('images that are not native apps are load errors naming why', () => {
  const guest = encodeImage({ text: 'module.exports.main = () => {}', entries: ['main'] });
  assert.throws(() => appFromImage('g', guest), (e: unknown) => e instanceof NativeAppLoadError && /a guest image, not a native app/.test(e.message));
  const app = encodeImage({ text: COUNTER_APP, entries: ['app'], kind: 'native-app' });
  const corrupt = app.slice();
  corrupt[corrupt.length - 5]! ^= 0x01;
  assert.throws(() => appFromImage('c', corrupt), (e: unknown) => e instanceof NativeAppLoadError && /CRC-32/.test(e.message));
  assert.throws(() => appFromImage('t', app.subarray(0, 50)), (e: unknown) => e instanceof NativeAppLoadError && /shorter than the 64-byte header/.test(e.message));
  assert.throws(() => appFromImage('z', new Uint8Array(4096)), (e: unknown) => e instanceof NativeAppLoadError && /magic/.test(e.message));
  const noApp = encodeImage({ text: 'module.exports.other = () => {}', entries: ['app'], kind: 'native-app' });
  assert.throws(() => appFromImage('n', noApp).instantiate(), /does not export an `app` function/);
});

test('a vector that never clears a level interrupt is stopped as an interrupt storm, not a host hang', async () => {
  const { hv, finished } = await runApp(counterApp, async (g) => {
    const frames: GicFrames = { gicdBase: 0x0800_0000n, gicrBase: 0x080a_0000n, gicrStride: 0x20000n };
    await gicInit(g, frames);
    await gicEnable(g, frames, 90, false);
    // Acknowledge and end, never quieting the device: the level re-pends at every EOI.
    g.setIrqVector(() => {
      for (;;) {
        const id = g.gicAcknowledge();
        if (id >= 1020) return;
        g.gicEndOfInterrupt(id);
      }
    });
    g.setIrqMasked(false);
    await g.mmioWrite(DEV + 4n, 4, 1000n); // the app raises its line 1 µs from now
    await g.spin(1_000_000);
  });
  assert.equal(finished, false, 'the vCPU was stopped in its vector');
  let faultReason = '';
  for (const o of hv.objects) {
    const v = o as unknown as { vmid?: number; faultReason?: unknown };
    if (v.vmid === VMID && v.faultReason) faultReason = String(v.faultReason);
  }
  assert.match(faultReason, /interrupt storm: more than 10000 interrupts acknowledged in one IRQ entry/);
  assert.deepEqual(hv.checkInvariants(), []);
});

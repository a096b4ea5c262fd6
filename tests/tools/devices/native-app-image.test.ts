// Placement "native" loads each device's emulator from a native-app image (the device's
// `native-app`, else the bundled app of its kind) into the hypervisor; a bad image fails the VM's
// creation with the device's path and the reason, and leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filter, firstValueFrom, toArray } from 'rxjs';
import { DevicePlacementError, DevicePlacements, nativeAppRefs, StubVms } from '../../../tools/devices/index';
import { builtinImage } from '../../../tools/image/builtin-images';
import { Vmm, VmDescriptionError } from '../../../tools/vmm/index';
import { UART_SERIAL, uartVm } from '../vmm/helpers/uart-vm';
import { parseImage } from '../../../firmware/hypervisor/index';
import { withPrimary } from '../vmm/helpers/primary';

const SERIAL = UART_SERIAL;

test('a PL011 placed "native": the bundled pl011-app image runs in the hypervisor, output and input as in the VMM', async () => {
  const d = uartVm({ placement: 'native', bootargs: 'uart.echo' });
  assert.deepEqual(nativeAppRefs(d), ['builtin:pl011-app']);
  const guest = await builtinImage('uart');
  const appImages = new Map([['builtin:pl011-app', await builtinImage('pl011-app')]]);
  assert.equal(parseImage(appImages.get('builtin:pl011-app')!).header.kind, 'native-app');
  const { result, platform } = await withPrimary(
    async (env) => {
      const placements = new DevicePlacements({ clock: env.k.clock, hv: env.platform.hv, appImages });
      const vmm = await Vmm.create(env.k.spawn('vmm'), d, guest, { devices: placements });
      const freed = firstValueFrom(env.mgr.events$.pipe(filter((e) => e.vmid === vmm.vmid && e.kind === 'freed')));
      await vmm.start();
      const dev = placements.devices.get(SERIAL)!;
      let fed = false;
      const sub = dev.output$.subscribe(() => {
        if (!fed && new TextDecoder().decode(Uint8Array.from(dev.out)).includes('hello from vm')) {
          fed = true;
          void dev.input(new TextEncoder().encode('abc\nbye\n'));
        }
      });
      const exit = await vmm.exited;
      sub.unsubscribe();
      await vmm.close();
      await freed;
      return { vmid: vmm.vmid, exit, text: new TextDecoder().decode(Uint8Array.from(dev.out)), stats: dev.stats(), vmmStats: { ...vmm.stats }, live: env.mgr.liveVms };
    },
    { limitNs: 5e9 },
  );
  assert.equal(result.text, `hello from vm ${result.vmid}\nABC\nbye\n`);
  assert.ok(result.exit.kind === 'status' && result.exit.exitTypeName === 'PLATFORM_OFF', JSON.stringify(result.exit));
  assert.equal(result.stats['app'], `${SERIAL} (builtin:pl011-app)`);
  assert.ok((result.stats['reads'] as number) > 0 && (result.stats['writes'] as number) > 20, JSON.stringify(result.stats));
  assert.equal(result.stats['faults'], 0);
  assert.equal(result.vmmStats.mmioExits, 0, 'no access left the hypervisor');
  assert.equal(result.live, 0);
  assert.deepEqual(platform.hv.checkInvariants(), []);
});

test('bad native-app images fail the VM creation with the device and the reason; nothing is left behind', async () => {
  const guest = await builtinImage('uart');
  const good = await builtinImage('pl011-app');
  const corrupt = good.slice();
  corrupt[corrupt.length - 7]! ^= 0x10;
  const cases: [string, ReadonlyMap<string, Uint8Array>, string, RegExp][] = [
    ['corrupt', new Map([['bad.img', corrupt]]), 'native-app = "bad.img";', /\/serial@9000000: native-app serial@9000000 \(bad\.img\): guest image: text CRC-32/],
    ['a guest', new Map([['builtin:uart', guest]]), 'native-app = "builtin:uart";', /a guest image, not a native app/],
    ['not loaded', new Map(), 'native-app = "missing.img";', /\/serial@9000000: native app image "missing\.img" was not loaded/],
  ];
  const { result, platform } = await withPrimary(async (env) => {
    const out: string[] = [];
    for (const [, appImages, props] of cases) {
      const placements = new DevicePlacements({ clock: env.k.clock, hv: env.platform.hv, appImages });
      const err = await Vmm.create(env.k.spawn('vmm'), uartVm({ placement: 'native', bootargs: 'uart.echo', serialProps: props }), guest, { devices: placements }).then(
        () => undefined,
        (e: unknown) => e,
      );
      out.push(err instanceof DevicePlacementError ? err.message : `not a DevicePlacementError: ${String(err)}`);
    }
    // The VM manager gets the last reference back once the fds are closed.
    for (let i = 0; i < 100 && env.mgr.liveVms > 0; i++) await env.k.clock.sleep(1_000_000);
    return { out, live: env.mgr.liveVms };
  });
  for (const [i, [what, , , re]] of cases.entries()) assert.match(result.out[i]!, re, what);
  assert.equal(result.live, 0);
  assert.deepEqual(platform.hv.checkInvariants(), []);
});

test('native-app is refused on a device that is not placed "native"', () => {
  assert.throws(() => uartVm({ placement: 'vmm', serialProps: 'native-app = "x.img";' }), (e: unknown) => e instanceof VmDescriptionError && /native-app is for placement "native"/.test(e.message));
});

for (const placement of ['native', 'stub'] as const) {
  test(`a PL011 console placed "${placement}" is the VMM's console: console$ and writeConsole reach it`, async () => {
    const d = uartVm({ placement, bootargs: 'uart.echo' });
    const guest = await builtinImage('uart');
    const appImages = new Map([['builtin:pl011-app', await builtinImage('pl011-app')]]);
    const stubImage = await builtinImage('device-stub');
    // More input than the UART's 32-byte receive FIFO: the VMM holds the rest and offers it again.
    const lines = Array.from({ length: 6 }, (_, i) => `line ${i} of the console input`);
    const { result, platform } = await withPrimary(
      async (env) => {
        const stubs = new StubVms({ kernel: env.k, hv: env.platform.hv, image: stubImage });
        const placements = new DevicePlacements({ clock: env.k.clock, hv: env.platform.hv, appImages, stubs, keepOutput: false });
        const vmm = await Vmm.create(env.k.spawn('vmm'), d, guest, { devices: placements });
        const out = firstValueFrom(vmm.console$.pipe(toArray()));
        const freed = firstValueFrom(env.mgr.events$.pipe(filter((e) => e.vmid === vmm.vmid && e.kind === 'freed')));
        await vmm.start();
        let said = '';
        const sub = vmm.console$.subscribe((b) => {
          const was = said;
          said += new TextDecoder().decode(b);
          if (!was.includes('hello from vm') && said.includes('hello from vm')) void vmm.writeConsole(new TextEncoder().encode(`${lines.join('\n')}\nbye\n`));
        });
        const exit = await vmm.exited;
        sub.unsubscribe();
        await vmm.close();
        await freed;
        // A stub VM is torn down by its own VMM, after the guest's.
        for (let i = 0; i < 100 && env.mgr.liveVms > 0; i++) await env.k.clock.sleep(1_000_000);
        const text = new TextDecoder().decode(Uint8Array.from((await out).flatMap((c) => [...c])));
        return { vmid: vmm.vmid, exit, text, kept: placements.devices.get(SERIAL)!.out.length, live: env.mgr.liveVms };
      },
      { limitNs: 10e9 },
    );
    assert.equal(result.text, `hello from vm ${result.vmid}\n${lines.map((l) => l.toUpperCase()).join('\n')}\nbye\n`);
    assert.ok(result.exit.kind === 'status' && result.exit.exitTypeName === 'PLATFORM_OFF', JSON.stringify(result.exit));
    assert.equal(result.kept, 0, 'keepOutput: false keeps nothing');
    assert.equal(result.live, 0);
    assert.deepEqual(platform.hv.checkInvariants(), []);
  });
}

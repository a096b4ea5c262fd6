// The devices the VMM emulates itself are device emulators (tools/devices) in a VmmDeviceHost, the same
// as placement "vmm" of the placement hook: the bare-metal uart guest gives the same bytes and the same
// device counters and charged time either way. Console input waits in the VMM while the receive FIFO
// is full (no byte lost, none overrun) up to a bound; placements the VMM cannot serve alone and
// devices it has no emulator for are VmmErrors, and a failed create leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filter, firstValueFrom, toArray } from 'rxjs';
import { DevicePlacements, Pl011Device, type VmmDeviceStats } from '../../../tools/devices/index';
import { builtinImage } from '../../../tools/image/builtin-images';
import { CONSOLE_INPUT_LIMIT, Vmm, VmmError, type VmDescription, type VmmDeviceProvider } from '../../../tools/vmm';
import { withPrimary, type PrimaryEnv } from './helpers/primary';
import { UART_SERIAL, uartVm } from './helpers/uart-vm';

const SERIAL = UART_SERIAL;

const text = (chunks: Uint8Array[]) => new TextDecoder().decode(Uint8Array.from(chunks.flatMap((c) => [...c])));

interface Run {
  text: string;
  exit: string;
  stats: VmmDeviceStats;
  vmm: Vmm;
}

/** Create, start, (feed), wait for the exit, close, wait until the kernel has freed the VM. */
async function run(env: PrimaryEnv, d: VmDescription, o: { devices?: VmmDeviceProvider; input?: string; afterInput?: (vmm: Vmm) => void } = {}): Promise<Run> {
  const vmm = await Vmm.create(env.k.spawn('vmm'), d, await builtinImage('uart'), o.devices ? { devices: o.devices } : {});
  const freed = firstValueFrom(env.mgr.events$.pipe(filter((e) => e.vmid === vmm.vmid && e.kind === 'freed')));
  const out = firstValueFrom(vmm.console$.pipe(toArray()));
  await vmm.start();
  if (o.input !== undefined) {
    await vmm.writeConsole(new TextEncoder().encode(o.input));
    o.afterInput?.(vmm);
  }
  const exit = await vmm.exited;
  await vmm.close();
  await freed;
  const host = vmm.hostedDevice(SERIAL);
  return { text: text(await out), exit: exit.kind === 'status' ? exit.exitTypeName : exit.kind, stats: { ...(host?.stats ?? { reads: -1, writes: -1, kicks: -1, irqfdSignals: -1, chargedNs: -1 }) }, vmm };
}

test('the VMM\'s PL011 is the DeviceEmulator in a VmmDeviceHost: same bytes, counters and charge as the hook\'s placement "vmm"', async () => {
  const d = uartVm({ bootargs: 'uart.echo' });
  const { result } = await withPrimary(
    async (env) => {
      const own = await run(env, d, { input: 'abc\nbye\n' });
      const host = own.vmm.hostedDevice(SERIAL)!;
      const own2 = { dev: host.dev instanceof Pl011Device, uart: (host.dev as Pl011Device).uartStats, exits: own.vmm.stats.mmioExits };
      // A hook that leaves the device to the VMM: the VMM's own host again.
      const declined = await run(env, d, { input: 'abc\nbye\n', devices: { create: () => undefined } });
      // The hook's placement "vmm".
      const placements = new DevicePlacements({ clock: env.k.clock });
      const vmm = await Vmm.create(env.k.spawn('vmm'), d, await builtinImage('uart'), { devices: placements });
      const freed = firstValueFrom(env.mgr.events$.pipe(filter((e) => e.vmid === vmm.vmid && e.kind === 'freed')));
      await vmm.start();
      const placed = placements.devices.get(SERIAL)!;
      // The placed device takes what its FIFO has room for; the rest is offered again later.
      let rest = new TextEncoder().encode('abc\nbye\n');
      while (rest.length > 0) {
        rest = rest.subarray(await placed.input(rest));
        if (rest.length > 0) await env.k.clock.sleep(10_000);
      }
      await vmm.exited;
      await vmm.close();
      await freed;
      return { own, own2, declined, hook: { text: String.fromCharCode(...placed.out), stats: placed.stats(), hosted: vmm.hostedDevice(SERIAL) } };
    },
    { limitNs: 5e9 },
  );
  const { own, own2, declined, hook } = result;
  const vmid = /hello from vm (\d+)/.exec(own.text)?.[1];
  assert.equal(own.text, `hello from vm ${vmid}\nABC\nbye\n`);
  assert.equal(own.exit, 'PLATFORM_OFF');
  assert.ok(own2.dev, 'the device is tools/devices\' Pl011Device');
  assert.equal(own2.uart?.txBytes, own.text.length);
  assert.equal(own2.uart?.rxBytes, 8);
  assert.equal(own.stats.reads + own.stats.writes, own2.exits, 'every MMIO exit reached the emulator');
  assert.equal(own.stats.chargedNs, 20 * own2.exits, 'each register access charged 20 ns to the VMM');
  assert.ok(own.stats.irqfdSignals >= 1, 'receive interrupts went out through the irqfd');
  assert.equal(own.stats.kicks, 0);
  assert.equal(declined.text.replace(/\d+/, 'N'), own.text.replace(/\d+/, 'N'));
  assert.deepEqual(declined.stats, own.stats);
  assert.equal(hook.hosted, undefined, 'a device the hook placed is not the VMM\'s own');
  assert.equal(hook.text.replace(/\d+/, 'N'), own.text.replace(/\d+/, 'N'));
  assert.deepEqual(hook.stats, own.stats, 'the same emulator and host as the hook\'s placement "vmm"');
});

test('console input beyond the receive FIFO waits in the VMM and is fed as the guest reads: nothing lost or overrun', async () => {
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i} of the console input`);
  const input = `${lines.join('\n')}\nbye\n`;
  const { result } = await withPrimary(
    async (env) => {
      let pendingAfterWrite = -1;
      const r = await run(env, uartVm({ bootargs: 'uart.echo' }), { input, afterInput: (v) => (pendingAfterWrite = v.consoleInputPending) });
      const uart = (r.vmm.hostedDevice(SERIAL)!.dev as Pl011Device).uartStats!;
      return { ...r, pendingAfterWrite, pendingAtEnd: r.vmm.consoleInputPending, rxBytes: uart.rxBytes, rxDropped: uart.rxDropped };
    },
    { limitNs: 5e9 },
  );
  assert.ok(result.pendingAfterWrite >= input.length - 16, `${result.pendingAfterWrite} bytes waited for the FIFO`);
  assert.equal(result.text.replace(/^hello from vm \d+\n/, ''), `${lines.map((l) => l.toUpperCase()).join('\n')}\nbye\n`);
  assert.equal(result.rxBytes, input.length);
  assert.equal(result.rxDropped, 0);
  assert.equal(result.pendingAtEnd, 0);
  assert.equal(result.exit, 'PLATFORM_OFF');
});

test(`console input is bounded: past ${CONSOLE_INPUT_LIMIT} waiting bytes writeConsole fails and takes nothing`, async () => {
  const { result } = await withPrimary(async (env) => {
    const vmm = await Vmm.create(env.k.spawn('vmm'), uartVm(), await builtinImage('uart'));
    const freed = firstValueFrom(env.mgr.events$.pipe(filter((e) => e.vmid === vmm.vmid && e.kind === 'freed')));
    // Not started: the guest reads nothing, the FIFO (off at reset) holds one byte.
    await vmm.writeConsole(new Uint8Array(CONSOLE_INPUT_LIMIT).fill(0x61));
    const full = vmm.consoleInputPending;
    const refused = await vmm.writeConsole(Uint8Array.of(0x62, 0x62)).then(
      () => 'accepted',
      (e: Error) => `${e.name}: ${e.message}`,
    );
    const pending = vmm.consoleInputPending;
    await vmm.close();
    const closed = await vmm.writeConsole(Uint8Array.of(0x63)).then(
      () => 'accepted',
      (e: Error) => `${e.name}: ${e.message}`,
    );
    await freed;
    return { full, refused, pending, closed, afterClose: vmm.consoleInputPending, live: env.mgr.liveVms };
  });
  assert.equal(result.full, CONSOLE_INPUT_LIMIT - 1);
  assert.match(result.refused, /^VmmError: console input: 65535 bytes still wait for the guest to read them; 2 more would pass the limit of 65536$/);
  assert.equal(result.pending, CONSOLE_INPUT_LIMIT - 1, 'the refused write took nothing');
  assert.equal(result.closed, 'VmmError: the VM is closed');
  assert.equal(result.afterClose, 0, 'closing drops the waiting input');
  assert.equal(result.live, 0);
});

test('without a hook: placements "stub" and "native", virtio and a short PL011 window are VmmErrors, and nothing leaks', async () => {
  const cases: [VmDescription, RegExp][] = [
    [uartVm({ placement: "stub" }), /\/serial@9000000: placement "stub" needs a stub VM launcher/],
    [uartVm({ placement: "native" }), /\/serial@9000000: placement "native" needs the hypervisor's host interface/],
    [uartVm({ compatible: '"virtio,mmio"', size: 0x200 }), /\/serial@9000000: the VMM has no built-in emulator of virtio,mmio \(virtio devices need a device placement hook/],
    [uartVm({ size: 0x100 }), /\/serial@9000000: pl011 decodes 0x1000 bytes, reg gives 0x100/],
  ];
  const { result, platform } = await withPrimary(async (env) => {
    const free = env.k.mm.pages.freePages;
    const errors: string[] = [];
    for (const [d] of cases) {
      const proc = env.k.spawn('vmm');
      errors.push(await Vmm.create(proc, d, await builtinImage('uart')).then(
        () => 'created',
        (e: Error) => `${e.name}: ${e.message}`,
      ));
      await proc.exit();
    }
    // The VMs those creates made are torn down by the kernel once their last fd is closed.
    for (let i = 0; i < 100 && env.mgr.liveVms > 0; i++) await env.k.clock.sleep(1e6);
    return { errors, live: env.mgr.liveVms, pinned: env.k.mm.pages.pinnedFreedPages, pagesDelta: env.k.mm.pages.freePages - free };
  });
  for (const [i, [, re]] of cases.entries()) assert.match(result.errors[i]!, new RegExp(`^VmmError: ${re.source}`));
  assert.equal(result.live, 0);
  assert.equal(result.pinned, 0);
  assert.ok(Math.abs(result.pagesDelta) <= 4, `pages back (delta ${result.pagesDelta})`);
  assert.deepEqual(platform.hv.checkInvariants(), []);
});

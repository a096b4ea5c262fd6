// The VMM end to end, inside the primary VM of a booted platform: the guest kernel in a VM says
// "hello from vm N" on its RM console (read through /dev/ttyGH<vmid>) after bringing up 4 vCPUs with
// PSCI CPU_ON, powers off with SYSTEM_OFF and everything it held comes back; two VMs at once; a
// bare-metal guest on the VMM's PL011 (MMIO exits, receive interrupts through an irqfd) described in
// DTS; a corrupted image fails to boot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filter, firstValueFrom, toArray } from 'rxjs';
import { parseImage } from '../../../firmware/hypervisor';
import { builtinImage } from '../../../tools/image/builtin-images';
import { Vmm, VmmError, type VmDescription } from '../../../tools/vmm';
import { desc, runVm } from './helpers/run-vm';
import { uartVm } from './helpers/uart-vm';
import { withPrimary, type PrimaryEnv } from './helpers/primary';

/** What every test checks after its VMs are gone: nothing left anywhere. */
function assertAllBack(r: { live: number; pinned: number }, platform: Awaited<ReturnType<typeof withPrimary>>['platform']): void {
  assert.equal(r.live, 0, 'the VM manager has no VM left');
  assert.equal(r.pinned, 0, 'no page is held after the teardown');
  assert.deepEqual(platform.hv.checkInvariants(), []);
  assert.deepEqual([...platform.rm()!.vms.all()].map((v) => v.vmid).sort((a, b) => a - b), [3, 255], 'the RM only has itself and the primary VM');
  assert.deepEqual(platform.rm()!.stats.faults, []);
}

const leftovers = ({ k, mgr }: PrimaryEnv) => ({ live: mgr.liveVms, pinned: k.mm.pages.pinnedFreedPages });



test('the guest kernel in a VM: 4 vCPUs with PSCI, "hello from vm N" through its tty, SYSTEM_OFF, reclaimed', async () => {
  const { result, platform } = await withPrimary(async (env) => {
    const free = env.k.mm.pages.freePages;
    const r = await runVm(env.k, env.mgr, desc({ image: 'builtin:hello', vcpus: 4 }));
    return { ...r, ...leftovers(env), pagesDelta: env.k.mm.pages.freePages - free };
  });
  assert.equal(result.text, `hello from vm ${result.vmid}\n4 CPUs online\n`);
  assert.ok(result.exit.kind === 'status');
  assert.equal(result.exit.statusName, 'exited');
  assert.equal(result.exit.exitTypeName, 'PLATFORM_OFF');
  assert.equal(result.rmExit, 'exit type 1');
  assert.ok(Math.abs(result.pagesDelta) <= 4, `the guest's RAM is back in the primary's allocator (delta ${result.pagesDelta} pages)`);
  assertAllBack(result, platform);
});

test('two VMs at once, each with its own console and VMID', async () => {
  const { result, platform } = await withPrimary(async (env) => {
    const [a, b] = await Promise.all([runVm(env.k, env.mgr, desc({ name: 'a', image: 'builtin:hello', vcpus: 2 })), runVm(env.k, env.mgr, desc({ name: 'b', image: 'builtin:hello', vcpus: 2 }))]);
    return { a: { vmid: a.vmid, text: a.text }, b: { vmid: b.vmid, text: b.text }, ...leftovers(env) };
  });
  assert.notEqual(result.a.vmid, result.b.vmid);
  assert.equal(result.a.text, `hello from vm ${result.a.vmid}\n2 CPUs online\n`);
  assert.equal(result.b.text, `hello from vm ${result.b.vmid}\n2 CPUs online\n`);
  assertAllBack(result, platform);
});

test('a DTS-described VM on the VMM\'s PL011: its output through MMIO exits', async () => {
  const d: VmDescription = uartVm({ bootargs: 'uart.echo' });
  assert.equal(d.console, 'pl011');
  assert.deepEqual(
    d.devices.map((x) => [x.name, x.base, x.size, x.placement]),
    [['serial@9000000', 0x900_0000n, 0x1000n, 'vmm']],
  );
  const { result, platform } = await withPrimary(
    async (env) => {
      const r = await runVm(env.k, env.mgr, { ...d, bootargs: undefined });
      return { vmid: r.vmid, text: r.text, exit: r.exit, stats: r.vmm.stats, ...leftovers(env) };
    },
    { limitNs: 5e9 },
  );
  assert.equal(result.text, `hello from vm ${result.vmid}\n`);
  assert.ok(result.exit.kind === 'status' && result.exit.exitTypeName === 'PLATFORM_OFF');
  assert.ok(result.stats.mmioExits > 20, `${result.stats.mmioExits} MMIO exits served`);
  assert.equal(result.stats.mmioUnclaimed, 0, 'every MMIO exit hit the UART');
  assertAllBack(result, platform);
});

test('PL011 input through receive interrupts (irqfd doorbell)', async () => {
  const d = uartVm({ bootargs: 'uart.echo' });
  const { result, platform } = await withPrimary(async (env) => {
    const r = await runVm(env.k, env.mgr, d, { input: 'abc\nbye\n' });
    return { vmid: r.vmid, text: r.text, exit: r.exit, dmesg: env.k.dmesg(), ...leftovers(env) };
  }, { limitNs: 5e9 });
  // The guest reads only when a receive interrupt wakes it: the echo proves delivery of the level
  // irqfd's auto-acknowledged doorbell (enable and ack masks set, so no interrupt storm either).
  assert.equal(result.text, `hello from vm ${result.vmid}\nABC\nbye\n`);
  assert.doesNotMatch(result.dmesg, /gh_irqfd: .*could not be set level triggered/);
  assert.ok(result.exit.kind === 'status' && result.exit.exitTypeName === 'PLATFORM_OFF');
  assertAllBack(result, platform);
});

test('a corrupted image fails to boot: the vCPU faults, the VM exits with SOFTWARE_ERROR, nothing leaks', async () => {
  const good = await builtinImage('hello-lite');
  const { header } = parseImage(good);
  const bad = good.slice();
  bad[Number(header.textOffset) + 10]! ^= 0x20; // one bit of the program text: the CRC no longer matches
  const badMagic = good.slice();
  badMagic[56] = 0;
  const { result, platform } = await withPrimary(async (env) => {
    const vmm = await Vmm.create(env.k.spawn('vmm'), desc({ name: 'bad' }), bad);
    const out = firstValueFrom(vmm.console$.pipe(toArray()));
    await vmm.start();
    const exit = await vmm.exited;
    const freed = firstValueFrom(env.mgr.events$.pipe(filter((e) => e.vmid === vmm.vmid && e.kind === 'freed')));
    await vmm.close();
    await freed;
    const text = (await out).length;
    let refused = '';
    await Vmm.create(env.k.spawn('vmm2'), desc({ name: 'no-magic' }), badMagic).catch((e) => (refused = `${(e as Error).name}: ${(e as Error).message}`));
    return { exit, text, refused, ...leftovers(env) };
  });
  assert.ok(result.exit.kind === 'status', JSON.stringify(result.exit));
  // The RM moves the VM to EXITED (uapi EXITED) with exit type SOFTWARE_ERROR (spec §4.7, §6.2).
  assert.equal(result.exit.statusName, 'exited');
  assert.equal(result.exit.exitTypeName, 'SOFTWARE_ERROR');
  assert.equal(result.text, 0, 'the guest never ran');
  assert.match(result.refused, new RegExp(`^${VmmError.name}: .*magic`));
  assertAllBack(result, platform);
});

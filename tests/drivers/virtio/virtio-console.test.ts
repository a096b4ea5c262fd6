// The guest's virtio-mmio and virtio-console drivers on the real hypervisor, against the device
// emulator attached in the hypervisor (a native app over attachDeviceHandler): probe from the DT,
// feature negotiation, queues in the kernel's memory, the interrupt, and bytes both ways through
// /dev/hvc0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appFromFactory, NativeAppHost, type NativeApp } from '../../../firmware/hypervisor/index';
import { nativeAppEntry, virtioConsoleFactory, VirtioStatus } from '../../../tools/devices/index';
import { VirtioConsoleDriver, VirtioMmio } from '../../../drivers/virtio/index';
import { onMachine } from '../../core/helpers/hyp-vm';
import { bootVirtioGuest, GUEST_VMID, VIRTIO_BASE, VIRTIO_SIZE, VIRTIO_SPI } from './helpers';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function guest() {
  const out: number[] = [];
  let app: NativeApp | undefined;
  const g = await bootVirtioGuest((rg) => {
    app = new NativeAppHost(rg.hv).attach(appFromFactory('virtio-console', () => nativeAppEntry(virtioConsoleFactory())), {
      vmid: GUEST_VMID,
      base: VIRTIO_BASE,
      size: VIRTIO_SIZE,
      spi: VIRTIO_SPI,
      chardev: (b) => out.push(...b),
    });
  });
  return { ...g, out, app: app! };
}

test('the virtio-mmio driver probes the DT node and the console comes up as /dev/hvc0', async () => {
  const { kernel, app, rig } = await guest();
  const dmesg = kernel.dmesg();
  assert.match(dmesg, /virtio-mmio a000000\.virtio_mmio: virtio0: device 3 \(virtio_console\), features 0x1\d{8}/);
  assert.match(dmesg, /virtio_console virtio0: hvc0/);
  assert.doesNotMatch(dmesg, /failed|error/i);
  const d = kernel.devices().find((x) => x.name === 'a000000.virtio_mmio');
  assert.equal(d?.driver, 'virtio-mmio');
  assert.equal(d?.state, 'bound');
  assert.ok(kernel.tty.get('hvc0'));
  assert.equal(kernel.tty.get('hvc0')!.winsize.ws_col, 80);
  // The device saw the whole negotiation and is live.
  const status = await onMachine(rig, async () => Number(await kernel.bootCpu.mmioRead(VIRTIO_BASE + BigInt(VirtioMmio.STATUS), 4)));
  assert.equal(status, VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK | VirtioStatus.DRIVER_OK);
  assert.equal(app.stats.faults, 0);
  assert.ok(app.stats.reads > 10 && app.stats.writes > 20);
  assert.deepEqual(rig.hv.checkInvariants(), []);
});

test('bytes written to /dev/hvc0 reach the host; host input is read from it', async () => {
  const { kernel, out, app, rig } = await guest();
  const tty = kernel.tty.get('hvc0')!;
  await onMachine(rig, async () => {
    assert.equal(await tty.write(enc('hello from the guest')), 20);
  });
  await onMachine(rig, () => kernel.clock.sleep(100_000));
  assert.equal(dec(Uint8Array.from(out)), 'hello from the guest');
  const got = await onMachine(rig, async () => {
    assert.equal(await app.input(enc('typed on the host')), 17);
    return dec(await tty.read(100));
  });
  assert.equal(got, 'typed on the host');
  const port = kernel.get(VirtioConsoleDriver).port(0)!;
  assert.equal(port.txBytes, 20);
  assert.equal(port.rxBytes, 17);
});

test('a large write goes out in page-sized buffers, all of it, in order', async () => {
  const { kernel, out, rig } = await guest();
  const tty = kernel.tty.get('hvc0')!;
  const big = new Uint8Array(200_000);
  for (let i = 0; i < big.length; i++) big[i] = 0x20 + (i % 90);
  await onMachine(rig, async () => {
    assert.equal(await tty.write(big), big.length);
    await kernel.clock.sleep(1_000_000);
  });
  assert.equal(out.length, big.length);
  assert.deepEqual(Uint8Array.from(out), big);
});

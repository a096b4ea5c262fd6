// The same guest (examples/guests/virtio-echo) with its virtio-console device in each placement:
// the same bytes cross the device, the guest sees the same results, the DT it is given is the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { echoDescription, guestVisibleDtb, runEcho, VIRTIO_NODE, type EchoRun } from './helpers/placement-vm';
import type { StubVms } from '../../../tools/devices/index';
import { ObjectType } from '../../../firmware/hypervisor/index';
import type { Vcpu } from '../../../firmware/hypervisor/vm/vcpu';
import { patternByte } from '../../../examples/guests/virtio-echo';

const BYTES = 16384;
const LINE = 'the same bytes in every placement';

function expectedOut(): Uint8Array {
  const tx = Array.from({ length: BYTES }, (_, i) => patternByte(i));
  // Then the guest writes the line it read back.
  const tail = new TextEncoder().encode(`echo:${LINE}\n`);
  return Uint8Array.from([...tx, ...tail]);
}

function checkRun(r: EchoRun): void {
  assert.equal(r.exit.kind, 'status', JSON.stringify(r.exit));
  assert.match(r.console, new RegExp(`virtio-echo: sent ${BYTES} bytes`));
  assert.match(r.console, new RegExp(`virtio-echo: read "${LINE}"`));
  assert.doesNotMatch(r.console, /error|no hvc0/);
  assert.deepEqual(r.deviceOut, expectedOut());
  assert.deepEqual(r.platform.hv.checkInvariants(), []);
}

const guestResult = (r: EchoRun) => r.console.replace(/ in \d+ ns/, '');

test('the generated guest DT is the same in every placement', () => {
  const [a, b, c] = (['native', 'vmm', 'stub'] as const).map((p) => guestVisibleDtb(echoDescription(p, BYTES)));
  assert.deepEqual(a, b);
  assert.deepEqual(b, c);
});

test('placements native, vmm and stub: the same guest moves the same bytes with the same results', async () => {
  const native = await runEcho('native', { bytes: BYTES, line: LINE });
  checkRun(native);
  assert.equal(native.device.stats()['faults'], 0);
  const vmm = await runEcho('vmm', { bytes: BYTES, line: LINE });
  checkRun(vmm);
  assert.ok((vmm.device.stats()['kicks'] as number) > 0, 'queue kicks went through the ioeventfd');
  assert.ok((vmm.device.stats()['irqfdSignals'] as number) > 0, 'interrupts went through the irqfd');
  assert.equal(guestResult(native), guestResult(vmm));
  const stub = await runEcho('stub', { bytes: BYTES, line: LINE });
  checkRun(stub);
  const st = stub.device.stats();
  assert.ok((st['requests'] as number) > 0 && st['requests'] === st['replies'], 'every access went to the stub VM and was answered');
  assert.equal(st['failedAccesses'], 0);
  assert.equal(guestResult(stub), guestResult(vmm));
});

test('a stub VM that dies mid-transfer: the guest gets an error from /dev/hvc0, not a hang, and powers off', async () => {
  const r = await runEcho('stub', {
    bytes: 256 * 1024,
    line: LINE,
    during: ({ env, placements, stubs }) => {
      const hv = env.platform.hv;
      const dev = placements.devices.get(VIRTIO_NODE)!;
      const sub = dev.output$.subscribe(() => {
        if (dev.out.length < 8192) return;
        sub.unsubscribe();
        // The stub VM crashes (its vCPU faults); nobody tells the link.
        const vmid = (stubs as StubVms).stubs[0]!.vmm.vmid;
        for (const o of hv.objects) if (o.type === ObjectType.THREAD && (o as Vcpu).vmid === vmid) hv.sched.fault(o as Vcpu, new Error('injected stub crash'));
      });
    },
  });
  assert.match(r.console, /virtio-echo: hvc0 error after \d+ bytes: EIO/);
  assert.match(r.console, /virtio0: .*giving up on it/);
  assert.doesNotMatch(r.console, /read "/);
  // The guest went on to its own SYSTEM_OFF: the dead device's interrupt, left high, did not keep
  // its CPU in the handler (the driver masks the line of a device it gave up on).
  assert.equal(r.exit.kind, 'status', JSON.stringify(r.exit));
  assert.equal(r.exit.kind === 'status' && r.exit.exitTypeName, 'PLATFORM_OFF');
  const st = r.device.stats();
  assert.equal(st['dead'], true);
  const failed = st['failedAccesses'] as number;
  assert.ok(failed > 0 && failed < 100, `${failed} failed accesses: the guest kept touching a device it gave up on`);
  assert.ok(r.deviceOut.length >= 8192 && r.deviceOut.length < 256 * 1024);
  assert.deepEqual(r.platform.hv.checkInvariants(), []);
});

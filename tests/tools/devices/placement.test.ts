// The same guest (examples/guests/virtio-echo) with its virtio-console device in each placement:
// the same bytes cross the device, the guest sees the same results, the DT it is given is the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { echoDescription, guestVisibleDtb, runEcho, type EchoRun } from './helpers/placement-vm';
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

test('placements native and vmm: the same guest moves the same bytes with the same results', async () => {
  const native = await runEcho('native', { bytes: BYTES, line: LINE });
  checkRun(native);
  assert.equal(native.device.stats()['faults'], 0);
  const vmm = await runEcho('vmm', { bytes: BYTES, line: LINE });
  checkRun(vmm);
  assert.ok((vmm.device.stats()['kicks'] as number) > 0, 'queue kicks went through the ioeventfd');
  assert.ok((vmm.device.stats()['irqfdSignals'] as number) > 0, 'interrupts went through the irqfd');
  assert.equal(guestResult(native), guestResult(vmm));
});

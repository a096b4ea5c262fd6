// `gunyah run` on the board files of tests/fixtures/boards: a DTS (with --dump-dt) and a DTB whose VMs
// stay up until Ctrl-C (SIGINT: VMs stopped, memory reclaimed, invariants checked, status 130).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compileDts, parseFdt } from '../../../../dt';
import { FIXTURES, hasStack, linesOf, runCli } from './helpers';

test('gunyah run two-cpu.dts --dump-dt kern: three kinds of guest, the booted tree after the RM overlay', async () => {
  const r = await runCli(['run', join(FIXTURES, 'two-cpu.dts'), '--dump-dt', 'kern']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /two-cpu test board, 2 CPUs, 512 MiB RAM, 3 VMs \(kern, lite, echo\)/);
  const kern = linesOf(r.stdout, 'kern');
  const vmid = Number(/^hello from vm (\d+)$/.exec(kern.find((l) => l.startsWith('hello')) ?? '')?.[1]);
  assert.ok(vmid > 0, kern.join(' / '));
  assert.ok(kern.includes('2 CPUs online'));
  assert.ok(linesOf(r.stdout, 'lite').some((l) => /^hello from vm \d+$/.test(l)));
  assert.ok(linesOf(r.stdout, 'echo').some((l) => /^hello from vm \d+$/.test(l)), 'the PL011 guest printed through MMIO exits');
  // The DTS after the console lines is the tree the VM booted with: the VMM's base tree plus the RM's /hypervisor.
  const dts = r.stdout.slice(r.stdout.indexOf('/dts-v1/;'));
  const tree = compileDts(dts, { fileName: 'dump.dts' }).tree;
  assert.equal(tree.findNode('/hypervisor/qcom,gunyah-vm')?.u32('qcom,vmid'), vmid);
  assert.ok(tree.findNode('/hypervisor')?.children.some((c) => c.strings('compatible')?.includes('gunyah-resource-manager')), 'the RM link is in the tree');
  assert.equal(tree.findNode('/cpus')?.children.filter((c) => c.string('device_type') === 'cpu').length, 2);
  assert.ok(!hasStack(r.stderr));
});

test('gunyah run stay.dtb: SIGINT stops running VMs cleanly, status 130', async () => {
  // The committed DTB is the compiled stay.dts.
  const dtb = parseFdt(new Uint8Array((await import('node:fs')).readFileSync(join(FIXTURES, 'stay.dtb'))));
  assert.equal(dtb.findNode('/vms/one')?.string('bootargs'), 'hello.stay');
  let sent = false;
  const r = await runCli(['run', join(FIXTURES, 'stay.dtb')], {
    onStdout: (text, child) => {
      if (!sent && /^one\s+\| 2 CPUs online$/m.test(text) && /^two\s+\| 1 CPUs online$/m.test(text)) {
        sent = true;
        child.kill('SIGINT');
      }
    },
  });
  assert.ok(sent, r.stdout);
  assert.equal(r.status, 130, r.stderr);
  assert.match(r.stderr, /stopping the VMs/);
  assert.match(r.stderr, /stopped; 2 VMs torn down, memory reclaimed, invariants hold/);
  assert.ok(!/invariant:/.test(r.stderr), r.stderr);
  for (const vm of ['one', 'two']) assert.ok(linesOf(r.stdout, vm).includes('-- exited: VM_STOP_FORCED'), r.stdout);
  assert.ok(!hasStack(r.stderr));
});

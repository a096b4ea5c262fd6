// `gunyah run` on a board whose VMs place their UART in each of the three places: the description
// decides, the CLI builds the placement hook (native app image, stub VM), every console streams, and
// every VM, the stub VM included, is torn down with its memory reclaimed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, hasStack, linesOf, runCli } from './helpers';

test('gunyah run placements.dts: the same PL011 guest native, in the VMM and in a stub VM', async () => {
  const r = await runCli(['run', join(FIXTURES, 'placements.dts'), '--stats']);
  assert.equal(r.status, 0, r.stderr);
  for (const vm of ['nat', 'vmm', 'stb']) {
    const lines = linesOf(r.stdout, vm);
    assert.ok(lines.some((l) => /^hello from vm \d+$/.test(l)), `${vm}: ${lines.join(' / ')}`);
    assert.ok(lines.includes('-- exited: PLATFORM_OFF'), `${vm}: ${lines.join(' / ')}`);
  }
  assert.match(r.stderr, /3 VMs torn down, memory reclaimed, invariants hold/);
  assert.doesNotMatch(r.stdout + r.stderr, /timed out|short after teardown|invariant:/);
  assert.ok(!hasStack(r.stderr));
});

// `gunyah run` on bad boards: one line for a person (file:line:col from the DTS compiler, node and
// binding rule from bindings/, the image path), status 1, no stack trace unless --debug.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, hasStack, linesOf, runCli } from './helpers';

const good = readFileSync(join(FIXTURES, 'two-cpu.dts'), 'utf8');

async function withBoard(text: string, fn: (file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gunyah-bad-'));
  try {
    const file = join(dir, 'board.dts');
    writeFileSync(file, text);
    await fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a DTS syntax error names file:line:col', async () => {
  // Line 5 loses its semicolon: dtc reports it where the next token starts (line 6).
  const lines = good.split('\n');
  const at = lines.findIndex((l) => l.includes('model = "two-cpu test board";'));
  lines[at] = lines[at]!.replace(';', '');
  await withBoard(lines.join('\n'), async (file) => {
    const r = await runCli(['run', file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^gunyah: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${at + 2}:\\d+: error: `, 'm'));
    assert.ok(!hasStack(r.stderr), r.stderr);
    assert.equal(r.stdout, '');
  });
});

test('a binding violation names the node and the rule', async () => {
  await withBoard(good.replace('memory-size = <0x0 0x1000000>;\n        };', '};'), async (file) => {
    const r = await runCli(['run', file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/vms\/lite: .*memory-size.*\(http:\/\/devicetree\.org\/schemas\/gunyah-ts\/vm\.yaml#: required\)/);
    assert.ok(!hasStack(r.stderr), r.stderr);
  });
});

test('a missing image names the path; --debug adds the stack', async () => {
  await withBoard(good.replace('"builtin:hello-lite"', '"images/nope.img"'), async (file) => {
    const r = await runCli(['run', file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`/vms/lite: image ${join(file, '..', 'images', 'nope.img').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file`));
    assert.ok(!hasStack(r.stderr), r.stderr);
    const d = await runCli(['--debug', 'run', file]);
    assert.equal(d.status, 1);
    assert.ok(hasStack(d.stderr), d.stderr);
  });
});

test('an unknown VM for --attach or --dump-dt, an unknown builtin image, a missing board file', async () => {
  const r = await runCli(['run', join(FIXTURES, 'two-cpu.dts'), '--dump-dt', 'nosuch']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--dump-dt nosuch: the board has no VM of that name \(it has: kern, lite, echo\)/);
  await withBoard(good.replace('"builtin:hello-lite"', '"builtin:nosuch"'), async (file) => {
    const b = await runCli(['run', file]);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /\/vms\/lite: image "builtin:nosuch": no builtin image "nosuch"/);
  });
  const m = await runCli(['run', join(FIXTURES, 'absent.dts')]);
  assert.equal(m.status, 1);
  assert.match(m.stderr, /absent\.dts: no such file/);
  assert.ok(!hasStack(r.stderr + m.stderr));
});

test('a native app that is missing stops the run before boot; one that is not an app fails its VM only', async () => {
  await withBoard(good.replace('placement = "vmm";', 'placement = "native"; native-app = "nope.img";'), async (file) => {
    const r = await runCli(['run', file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/vms\/echo: native-app \S*nope\.img: no such file/);
    assert.doesNotMatch(r.stdout, /Booting/);
    assert.ok(!hasStack(r.stderr), r.stderr);
  });
  await withBoard(good.replace('placement = "vmm";', 'placement = "native"; native-app = "builtin:hello-lite";'), async (file) => {
    const r = await runCli(['run', file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^gunyah: VM echo: \/vms\/echo\/serial@9000000: native-app .*a guest image, not a native app/m);
    assert.match(r.stderr, /3 VMs torn down, memory reclaimed, invariants hold/);
    assert.ok(linesOf(r.stdout, 'lite').some((l) => /^hello from vm \d+$/.test(l)), r.stdout);
    assert.ok(!hasStack(r.stderr), r.stderr);
  });
});

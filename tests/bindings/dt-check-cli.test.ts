// `gunyah dt check`: violations one per line, status 1 when there are any, one-line errors on bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toFdt } from '../../dt';
import { checkFile } from '../../tools/cli/dt/check';
import { build, str, u32 } from './support';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/bindings/qemu-virt-gicv3-smp2.dtb', import.meta.url));

function gunyah(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'tools/gunyah.ts'), ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function scratch(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'dt-check-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const psciTree = (method: string) =>
  build({
    compatible: str('acme,board'),
    model: str('acme'),
    '#address-cells': u32(2),
    '#size-cells': u32(2),
    psci: { compatible: str('arm,psci-0.2'), method: str(method) },
  });

test('a QEMU virt DTB: one line per violation, status 1', () => {
  const r = gunyah('dt', 'check', fixture);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(
    r.stdout,
    "/pl011@9000000: $nodename: 'pl011@9000000' does not match '^serial(@[0-9a-f,]+)*$' (http://devicetree.org/schemas/serial/arm,pl011.yaml#: serial.yaml#/properties/$nodename/items/0/pattern)\n",
  );
});

test('a clean DTB: nothing printed, status 0', () => {
  scratch((dir) => {
    const file = join(dir, 'ok.dtb');
    writeFileSync(file, toFdt(psciTree('hvc')));
    const r = gunyah('dt', 'check', file);
    assert.deepEqual([r.status, r.stdout, r.stderr], [0, '', '']);
  });
});

test('checkFile reports what validateTree finds, formatted', () => {
  scratch((dir) => {
    const file = join(dir, 'bad.dtb');
    writeFileSync(file, toFdt(psciTree('svc')));
    assert.deepEqual(checkFile(file), [
      "/psci: method: 'svc' is not one of ['smc', 'hvc'] (http://devicetree.org/schemas/arm/psci.yaml#: properties/method/items/0/enum)",
    ]);
    assert.deepEqual(checkFile(file, { unmatched: true }).length, 2);
  });
});

test('bad input: one line on stderr, status 1', () => {
  scratch((dir) => {
    const truncated = join(dir, 'trunc.dtb');
    writeFileSync(truncated, toFdt(psciTree('hvc')).subarray(0, 30));
    const cases: [string[], RegExp][] = [
      [['dt', 'check', join(dir, 'missing.dtb')], /^gunyah: .*missing\.dtb: no such file\n$/],
      [['dt', 'check', truncated], /^gunyah: .*trunc\.dtb: .*\(at byte offset \d+\)\n$/],
      [['dt', 'check', '--schemas', join(dir, 'none'), fixture], /^gunyah: schema directory .*none does not exist\n$/],
    ];
    for (const [args, re] of cases) {
      const r = gunyah(...args);
      assert.equal(r.status, 1, args.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, re);
    }
  });
});

test('DTS input is compiled with dt/ compileDts', () => {
  scratch((dir) => {
    const file = join(dir, 'bad.dts');
    writeFileSync(file, '/dts-v1/;\n/ { compatible = "acme,board"; model = "m"; #address-cells = <2>; #size-cells = <2>;\n  psci { compatible = "arm,psci-0.2"; method = "svc"; };\n};\n');
    const r = gunyah('dt', 'check', file);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^\/psci: method: 'svc' is not one of/);
  });
});

test('DTS that does not compile: the first error, one line, status 1', () => {
  scratch((dir) => {
    const file = join(dir, 'x.dts');
    writeFileSync(file, '/dts-v1/;\n/ { a = <1 2;\n};\n');
    const r = gunyah('dt', 'check', file);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^gunyah: .*x\.dts:2:\d+: error: .*\n$/);
  });
});

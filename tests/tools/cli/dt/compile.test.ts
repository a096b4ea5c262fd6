// `gunyah dt compile`: dtc's exit behaviour (errors on stderr as file:line:col, status 1, no output file),
// byte-identical blobs, -@, -i, -O dts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileDts, toDts } from '../../../../dt';
import { compileFile, writeAtomically } from '../../../../tools/cli/dt/compile';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const fixtures = join(root, 'tests/fixtures/dts');

function gunyah(args: string[], cwd: string): { status: number | null; stdout: Buffer; stderr: string } {
  // tsx resolved from here, so that the command can run in a scratch directory.
  const tsx = import.meta.resolve('tsx');
  const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'tools/gunyah.ts'), ...args], { cwd, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

function scratch(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'dt-compile-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('end to end: -o writes the blob dtc writes; -@ and -i as dtc has them', () => {
  scratch((dir) => {
    const out = join(dir, 'out.dtb');
    const r = gunyah(['dt', 'compile', join(fixtures, 'includes.dts'), '-@', '-i', join(fixtures, 'include'), '-o', out], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.length, 0);
    assert.deepEqual(readFileSync(out), readFileSync(join(fixtures, 'golden/includes.sym.dtb')));
    assert.deepEqual(readdirSync(dir), ['out.dtb']);
  });
});

test('end to end: an error goes to stderr as file:line:col, status 1, and no output file', () => {
  scratch((dir) => {
    writeFileSync(join(dir, 'bad.dts'), '/dts-v1/;\n/ {\n\ta = <&missing>;\n\tb = "open;\n');
    const r = gunyah(['dt', 'compile', 'bad.dts', '-o', 'bad.dtb'], dir);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'bad.dts:4:6: error: unterminated string: no closing \'"\' before the end of the file\n');
    assert.deepEqual(readdirSync(dir), ['bad.dts']);
  });
});

test('errors and warnings: every diagnostic on its own line; -q keeps only the errors', () => {
  scratch((dir) => {
    const src = join(dir, 'two.dts');
    writeFileSync(src, '/dts-v1/;\n/ {\n\ta = <&x>;\n\tb = <&y>;\n\tn@1 { };\n};\n');
    const r = compileFile(src);
    assert.equal(r.status, 1);
    assert.deepEqual(r.messages, [
      `${src}:3:7: error: reference to non-existent node or label "x" [phandle_references]`,
      `${src}:4:7: error: reference to non-existent node or label "y" [phandle_references]`,
      `${src}:5:2: warning: /n@1: node has a unit name, but no reg or ranges property [unit_address_vs_reg]`,
    ]);
    assert.equal(compileFile(src, { quiet: true }).messages.length, 2);
  });
});

test('a failed compile leaves an existing output file as it was', () => {
  scratch((dir) => {
    const out = join(dir, 'keep.dtb');
    writeFileSync(out, 'previous');
    writeFileSync(join(dir, 'bad.dts'), '/dts-v1/;\n/ { a = <1 };\n');
    const r = gunyah(['dt', 'compile', join(dir, 'bad.dts'), '-o', out], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad\.dts:2:12: error: expected a number, a \(expression\), a &reference or '>' in a cell list, found '}'/);
    assert.equal(readFileSync(out, 'utf8'), 'previous');
  });
});

test('-O dts prints the compiled tree as dtc decompiles a blob; .dts output names imply it', () => {
  const src = join(fixtures, 'labels-refs.dts');
  const r = compileFile(src, { outFormat: 'dts' });
  const expected = toDts(compileDts(readFileSync(src), { fileName: src }).tree);
  assert.equal(new TextDecoder().decode(r.output), expected);
  assert.equal(new TextDecoder().decode(compileFile(src, { out: 'x.dts' }).output), expected);
  assert.match(expected, /clk: clock \{/);
});

test('bad options and unreadable input are one-line errors', () => {
  assert.throws(() => compileFile(join(fixtures, 'board.dts'), { outFormat: 'yaml' }), /unknown output format "yaml"/);
  assert.throws(() => compileFile(join(fixtures, 'board.dts'), { phandle: 'new' }), /invalid argument "new" to -H/);
  assert.throws(() => compileFile(join(fixtures, 'nope.dts')), /nope\.dts: error: no such file/);
});

test('writeAtomically leaves no temporary file behind when it cannot write', () => {
  scratch((dir) => {
    assert.throws(() => writeAtomically(join(dir, 'missing-dir', 'x.dtb'), new Uint8Array(4)), /cannot write/);
    writeAtomically(join(dir, 'x.dtb'), new Uint8Array([1, 2]));
    assert.deepEqual(readdirSync(dir), ['x.dtb']);
    assert.ok(existsSync(join(dir, 'x.dtb')));
  });
});

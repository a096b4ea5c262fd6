// Loading schemas: a malformed binding is refused with a BindingError naming the file and the fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceTree } from '../../dt';
import { BindingError, DEFAULT_SCHEMA_DIR, formatViolation, loadBindings } from '../../bindings';

function withDir(files: Record<string, string>, fn: (dir: string) => void, copyDefaults = false): void {
  const dir = mkdtempSync(join(tmpdir(), 'bindings-load-'));
  try {
    if (copyDefaults) cpSync(DEFAULT_SCHEMA_DIR, dir, { recursive: true });
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), text);
    }
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const widget = (over: Record<string, string> = {}) => {
  const parts: Record<string, string> = {
    head: '$id: http://devicetree.org/schemas/acme/widget.yaml#\n$schema: http://devicetree.org/meta-schemas/core.yaml#\n',
    title: 'title: Acme widget\n',
    maint: 'maintainers:\n  - A Person <a@example.org>\n',
    props: 'properties:\n  compatible:\n    const: acme,widget\n  reg:\n    maxItems: 1\n  acme,speed:\n    $ref: /schemas/types.yaml#/definitions/uint32\n    maximum: 10\n',
    req: 'required: [compatible, reg]\n',
    add: 'additionalProperties: false\n',
    ...over,
  };
  return Object.values(parts).join('');
};

function rejects(files: Record<string, string>, pattern: RegExp): void {
  withDir(files, (dir) => {
    assert.throws(() => loadBindings(dir), (err: unknown) => {
      assert.ok(err instanceof BindingError, String(err));
      assert.match(err.message, pattern);
      return true;
    });
  }, true);
}

test('the shipped bindings load, and a second load is the same compiled set', () => {
  assert.equal(loadBindings(), loadBindings(DEFAULT_SCHEMA_DIR));
});

test('a missing or empty schema directory is refused', () => {
  assert.throws(() => loadBindings('/nonexistent/schemas'), /schema directory \/nonexistent\/schemas does not exist/);
  withDir({}, (dir) => assert.throws(() => loadBindings(dir), /no \*\.yaml schema/));
});

test('YAML that does not parse names the file and line', () => {
  rejects({ 'acme/widget.yaml': widget({ title: 'title: [unclosed\n' }) }, /acme\/widget\.yaml: YAML error at line \d+/);
});

test('a binding without title, or with a misspelt keyword, does not follow the meta-schema', () => {
  rejects({ 'acme/widget.yaml': widget({ title: '' }) }, /widget\.yaml: does not follow .*core\.yaml#: must have required property 'title'/);
  rejects({ 'acme/widget.yaml': widget({ req: 'requird: [compatible]\n' }) }, /'requird' is not a keyword bindings may use/);
  rejects({ 'acme/widget.yaml': widget({ add: '' }) }, /widget\.yaml: does not follow/);
});

test('a property typed with a JSON type instead of a cell type is refused', () => {
  rejects(
    { 'acme/widget.yaml': widget({ props: 'properties:\n  compatible:\n    const: acme,widget\n  acme,speed:\n    type: integer\n' }) },
    /properties\/acme,speed\/type: must be equal to one of the allowed values/,
  );
});

test('an $id that does not match the file path is refused', () => {
  rejects({ 'acme/gadget.yaml': widget() }, /gadget\.yaml: \$id http:\/\/devicetree\.org\/schemas\/acme\/widget\.yaml# does not match the file's path/);
});

test('a schema that cannot compile (bad regex, dangling $ref) is refused', () => {
  rejects({ 'acme/widget.yaml': widget({ req: "patternProperties:\n  '^(unclosed$': true\n" }) }, /widget\.yaml: schema (rejected|does not compile)/);
  rejects({ 'acme/widget.yaml': widget({ req: 'allOf:\n  - $ref: /schemas/acme/nothing.yaml#\n' }) }, /widget\.yaml: schema (rejected|does not compile).*nothing\.yaml/);
});

test('a schema directory with a binding of its own validates with it', () => {
  withDir({ 'acme/widget.yaml': widget() }, (dir) => {
    const b = loadBindings(dir);
    const t = new DeviceTree();
    t.root.setU32('#address-cells', 1);
    t.root.setU32('#size-cells', 1);
    const w = t.root.addChild('widget@1000');
    w.setStringList('compatible', ['acme,widget']);
    w.setU32('reg', [0x1000, 0x10]);
    w.setU32('acme,speed', 11);
    assert.deepEqual(b.validateNode(t, w).map(formatViolation), [
      '/widget@1000: acme,speed: 0xb is greater than the maximum of 0xa (http://devicetree.org/schemas/acme/widget.yaml#: properties/acme,speed/maximum)',
    ]);
    assert.equal(b.schemaFor('acme,widget')?.relPath, 'acme/widget.yaml');
  }, true);
});

test('a keyword with a value JSON Schema does not allow is refused', () => {
  rejects({ 'acme/widget.yaml': widget({ req: 'required: reg\n' }) }, /widget\.yaml: does not follow .*: required: must be array/);
  rejects(
    { 'acme/widget.yaml': widget({ props: 'properties:\n  compatible:\n    const: acme,widget\n  reg:\n    maxItems: many\n' }) },
    /properties\/reg\/maxItems: must be integer/,
  );
});

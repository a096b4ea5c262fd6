// loadBindings: reads a schema directory, checks every file against the binding meta-schemas, and
// compiles the set once (cached per directory: the set is immutable).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2019 from 'ajv/dist/2019.js';
import type { ErrorObject } from 'ajv';
import { BindingSet } from './binding-set';
import { BindingError } from './errors';
import { expectedId, parseSchemaText, readSchemaDir, type SchemaFile } from './schema-files';

/** bindings/schemas, where this project's bindings live. */
export const DEFAULT_SCHEMA_DIR = fileURLToPath(new URL('./schemas', import.meta.url));
const META_DIR = fileURLToPath(new URL('./meta-schemas', import.meta.url));

const cache = new Map<string, BindingSet>();

let metaAjv: Ajv2019 | undefined;
function metaValidator(): Ajv2019 {
  if (metaAjv) return metaAjv;
  const ajv = new Ajv2019({ allErrors: true, strict: false, unicodeRegExp: false });
  for (const name of readdirSync(META_DIR).filter((n) => n.endsWith('.yaml')).sort()) {
    const file = join(META_DIR, name);
    ajv.addMetaSchema(parseSchemaText(readFileSync(file, 'utf8'), file));
  }
  metaAjv = ajv;
  return ajv;
}

function describe(e: ErrorObject): string {
  if (e.propertyName !== undefined) return `'${e.propertyName}' is not a keyword bindings may use`;
  const where = e.instancePath === '' ? '' : `${e.instancePath.slice(1)}: `;
  const p = e.params as Record<string, unknown>;
  const extra = p['allowedValues'] ? ` ${JSON.stringify(p['allowedValues'])}` : p['additionalProperty'] ? ` ('${String(p['additionalProperty'])}')` : '';
  return `${where}${e.message ?? e.keyword}${extra}`;
}

/** Check one schema file's form: its meta-schema, and an `$id` that matches where the file is. */
export function checkSchemaFile(f: SchemaFile): void {
  const ajv = metaValidator();
  const meta = f.schema['$schema'];
  if (typeof meta !== 'string') throw new BindingError("'$schema' is missing", f.file);
  const validate = ajv.getSchema(meta.replace(/#$/, ''));
  if (!validate) throw new BindingError(`unknown $schema ${meta}`, f.file);
  if (!validate(f.schema)) {
    const all = validate.errors ?? [];
    // The most specific error: not a summary of combinators or of propertyNames.
    const best = all.find((e) => !['if', 'allOf', 'anyOf', 'oneOf', 'propertyNames'].includes(e.keyword)) ?? all[0];
    throw new BindingError(`does not follow ${meta}: ${best ? describe(best) : 'invalid'}`, f.file);
  }
  const id = f.schema['$id'];
  if (id !== expectedId(f.relPath)) throw new BindingError(`$id ${String(id)} does not match the file's path (expected ${expectedId(f.relPath)})`, f.file);
}

/**
 * The bindings under `dir` (default: this project's bindings/schemas), checked and compiled.
 * Throws BindingError naming the file when a schema is malformed.
 */
export function loadBindings(dir: string = DEFAULT_SCHEMA_DIR): BindingSet {
  const key = resolve(dir);
  const hit = cache.get(key);
  if (hit) return hit;
  const files = readSchemaDir(key);
  const ids = new Map<string, string>();
  for (const f of files) {
    checkSchemaFile(f);
    const id = String(f.schema['$id']);
    const dup = ids.get(id);
    if (dup) throw new BindingError(`duplicate $id ${id} (also in ${dup})`, f.file);
    ids.set(id, f.file);
  }
  const set = new BindingSet(files);
  cache.set(key, set);
  return set;
}

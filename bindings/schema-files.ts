// Reads binding schemas: every *.yaml under a directory, parsed, with $id checked against the file's place.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parseDocument } from 'yaml';
import { BindingError } from './errors';
import { isObject, type JsonObject } from './json';

/** Where schema `$id`s live, as in dt-schema: `http://devicetree.org/schemas/<path>.yaml#`. */
export const SCHEMA_BASE = 'http://devicetree.org/schemas/';
export const META_SCHEMA_BASE = 'http://devicetree.org/meta-schemas/';

/** Limits that keep a bad schema directory from costing without bound. */
export const MAX_SCHEMA_FILES = 2000;
export const MAX_SCHEMA_FILE_BYTES = 1 << 20;
const MAX_DIR_DEPTH = 16;

export interface SchemaFile {
  /** Absolute path of the YAML file. */
  file: string;
  /** Path relative to the schema directory, with `/` separators (`arm/psci.yaml`). */
  relPath: string;
  schema: JsonObject;
}

function* yamlFiles(dir: string, depth: number): Generator<string> {
  if (depth > MAX_DIR_DEPTH) throw new BindingError(`directories nested deeper than ${MAX_DIR_DEPTH}`, dir);
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) yield* yamlFiles(p, depth + 1);
    else if (name.endsWith('.yaml')) yield p;
  }
}

/** Parse one YAML schema file; YAML errors become a BindingError naming the file and line. */
export function parseSchemaText(text: string, file: string): JsonObject {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new BindingError(`YAML error${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${what}`, file);
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!isObject(value)) throw new BindingError('a schema file must hold a YAML mapping', file);
  return value;
}

/** Every schema under `dir`, sorted by path. */
export function readSchemaDir(dir: string): SchemaFile[] {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new BindingError(`schema directory ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new BindingError(`${dir} is not a directory`);
  const out: SchemaFile[] = [];
  for (const file of yamlFiles(dir, 0)) {
    if (out.length >= MAX_SCHEMA_FILES) throw new BindingError(`more than ${MAX_SCHEMA_FILES} schema files`, dir);
    const size = statSync(file).size;
    if (size > MAX_SCHEMA_FILE_BYTES) throw new BindingError(`${size} bytes is over the ${MAX_SCHEMA_FILE_BYTES}-byte limit`, file);
    const relPath = relative(dir, file).split(sep).join('/');
    out.push({ file, relPath, schema: parseSchemaText(readFileSync(file, 'utf8'), file) });
  }
  if (out.length === 0) throw new BindingError(`no *.yaml schema in ${dir}`);
  return out;
}

/** The `$id` a schema at `relPath` must carry. */
export function expectedId(relPath: string, base = SCHEMA_BASE): string {
  return `${base}${relPath}#`;
}

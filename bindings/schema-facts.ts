// Facts read off fixed-up schemas: the compatibles they name, the properties they define, and which
// select-everything schemas can be skipped for a node.
import type { NodeInstance } from './instance';
import { isObject, type Json, type JsonObject } from './json';

/** The property names (and name patterns) a select-everything schema's rules are about. */
export interface Triggers {
  names: ReadonlySet<string>;
  patterns: readonly RegExp[];
}

/** The compatible strings (const/enum values) a `compatible` property schema names. */
export function compatiblesIn(s: Json | undefined, out: Set<string>): void {
  if (Array.isArray(s)) {
    for (const e of s) compatiblesIn(e, out);
    return;
  }
  if (!isObject(s)) return;
  for (const [k, v] of Object.entries(s)) {
    if (k === 'const' && typeof v === 'string') out.add(v);
    else if (k === 'enum' && Array.isArray(v)) for (const e of v) typeof e === 'string' && out.add(e);
    else if (k !== 'pattern') compatiblesIn(v, out);
  }
}

/** Keywords a schema may use and still only ever fail on a property it names. */
const PROPERTY_ONLY = new Set(['$id', 'type', 'select', 'properties', 'patternProperties', 'dependentRequired', 'dependentSchemas', 'additionalProperties', 'definitions', '$defs']);

/**
 * A select-everything schema (dt-core's companions: reg, interrupts, clocks, ...) whose rules are
 * all about properties it names cannot fail on a node that has none of them, so it need not run there.
 */
export function triggersOf(schema: JsonObject): { triggers?: Triggers } {
  if (Object.keys(schema).some((k) => !PROPERTY_ONLY.has(k))) return {};
  if (schema['additionalProperties'] !== undefined && schema['additionalProperties'] !== true) return {};
  const names = new Set<string>();
  for (const k of ['properties', 'dependentRequired', 'dependentSchemas'] as const) {
    const m = schema[k];
    if (isObject(m)) for (const n of Object.keys(m)) if (n !== '$nodename') names.add(n);
  }
  const patterns: RegExp[] = [];
  const pp = schema['patternProperties'];
  if (isObject(pp)) for (const p of Object.keys(pp)) patterns.push(new RegExp(p));
  return { triggers: { names, patterns } };
}

export function triggered(t: Triggers, inst: NodeInstance): boolean {
  for (const k in inst) {
    if (t.names.has(k)) return true;
    for (const re of t.patterns) if (re.test(k)) return true;
  }
  return false;
}

/** Every property name a schema defines, following its references (types.yaml aside). */
export function knownProperties(schema: JsonObject, resolve: (ref: string) => Json | undefined): Set<string> {
  const out = new Set<string>();
  const seen = new Set<Json>();
  const walk = (s: Json | undefined, depth: number): void => {
    if (depth > 32 || s === undefined || seen.has(s)) return;
    if (Array.isArray(s)) {
      for (const e of s) walk(e, depth + 1);
      return;
    }
    if (!isObject(s)) return;
    seen.add(s);
    for (const [k, v] of Object.entries(s)) {
      if (k === 'properties' && isObject(v)) for (const name of Object.keys(v)) out.add(name);
      if (k === '$ref' && typeof v === 'string' && !v.includes('/types.yaml#')) walk(resolve(v), depth + 1);
      else if (k !== 'const' && k !== 'enum') walk(v, depth + 1);
    }
  };
  walk(schema, 0);
  return out;
}

/** Compatibles named under any `compatible` key, nested node schemas included. */
export function nestedCompatibles(s: Json | undefined, out: Set<string>): void {
  if (Array.isArray(s)) {
    for (const e of s) nestedCompatibles(e, out);
    return;
  }
  if (!isObject(s)) return;
  for (const [k, v] of Object.entries(s)) {
    if (k === 'compatible' && isObject(v)) compatiblesIn(v, out);
    else if (k !== 'select') nestedCompatibles(v, out);
  }
}

/** The value at a JSON pointer fragment (`/properties/reg`) of `doc`. */
export function pointer(doc: Json | undefined, fragment: string): Json | undefined {
  let cur = doc;
  for (const raw of fragment.split('/').slice(1)) {
    const seg = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (isObject(cur)) cur = cur[seg];
    else return undefined;
  }
  return cur;
}

// The type every property name has across the loaded bindings, which is how a property's bytes are decoded.
//
// A flattened tree has no types: `<1>` and "\0\0\0\x01" are the same four bytes. dt-schema decodes a
// property with the type the bindings give its name (a `$ref` into types.yaml anywhere a schema defines
// it), and so does this table. Matrix types also carry the row/column counts a binding fixes, so a
// matrix can be split into rows when nothing else says how.
import { isObject, type Json, type JsonObject } from './json';

export type DtType =
  | 'flag'
  | 'string'
  | 'string-array'
  | 'non-unique-string-array'
  | 'uint8' | 'uint8-array' | 'uint8-matrix'
  | 'int8' | 'int8-array' | 'int8-matrix'
  | 'uint16' | 'uint16-array' | 'uint16-matrix'
  | 'int16' | 'int16-array' | 'int16-matrix'
  | 'uint32' | 'uint32-array' | 'uint32-matrix'
  | 'int32' | 'int32-array' | 'int32-matrix'
  | 'uint64' | 'uint64-array' | 'uint64-matrix'
  | 'int64' | 'int64-array' | 'int64-matrix'
  | 'phandle'
  | 'phandle-array'
  | 'address'
  | 'node';

/** [min, max] rows and [min, max] columns; max 0 means unbounded. */
export type Dim = [[number, number], [number, number]];

export interface PropType {
  types: ReadonlySet<DtType>;
  dim?: Dim;
}

const TYPES_REF = /\/schemas\/types\.yaml#\/definitions\/([a-z0-9-]+)$/;
const KNOWN = new Set<string>([
  'flag', 'string', 'string-array', 'non-unique-string-array', 'phandle', 'phandle-array', 'address',
  ...['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'uint64', 'int64'].flatMap((t) => [t, `${t}-array`, `${t}-matrix`]),
]);

interface Entry {
  types: Set<DtType>;
  dim?: Dim;
}

function arrayRange(s: Json | undefined): [number, number] {
  if (!isObject(s)) return [1, 0];
  const items = s['items'];
  if (Array.isArray(items)) {
    const max = items.length;
    return [typeof s['minItems'] === 'number' ? s['minItems'] : max, max];
  }
  return [typeof s['minItems'] === 'number' ? s['minItems'] : 1, typeof s['maxItems'] === 'number' ? s['maxItems'] : 0];
}

function mergeDim(a: Dim, b: Dim): Dim {
  const out: Dim = [[0, 0], [0, 0]];
  for (const i of [0, 1] as const) {
    let min = Math.min(a[i][0], b[i][0]);
    let max = Math.max(a[i][1], b[i][1]);
    if (Math.min(a[i][1], b[i][1]) === 0) max = 0;
    if (max === 1) min = 1;
    out[i] = [min, max];
  }
  return out;
}

function isStringSchema(s: Json | undefined): boolean {
  if (!isObject(s)) return false;
  return ['const', 'enum', 'pattern'].some((k) => {
    const v = s[k];
    return typeof (Array.isArray(v) ? v[0] : v) === 'string';
  });
}

/** Builds the name -> type table from fixed-up schemas (whose $refs are absolute). */
export class PropTypeTable {
  private readonly exact = new Map<string, Entry>();
  private readonly patterns: { re: RegExp; source: string; entry: Entry }[] = [];
  private readonly cache = new Map<string, PropType | undefined>();

  constructor(
    schemas: readonly JsonObject[],
    private readonly resolve: (ref: string) => Json | undefined,
  ) {
    for (const s of schemas) this.walkNode(s, new Set());
    // Entries without a type that a typed pattern covers defer to the pattern.
    for (const [name, e] of this.exact) if (e.types.size === 0) this.exact.delete(name);
  }

  /** The type of property `name`, or undefined when no binding types it. */
  lookup(name: string): PropType | undefined {
    if (this.cache.has(name)) return this.cache.get(name);
    let found: PropType | undefined = this.exact.get(name);
    if (!found) {
      for (const p of this.patterns) {
        if (p.entry.types.size > 0 && p.re.test(name)) {
          found = p.entry;
          break;
        }
      }
    }
    this.cache.set(name, found);
    return found;
  }

  private entry(name: string, isPattern: boolean): Entry {
    if (!isPattern) {
      let e = this.exact.get(name);
      if (!e) this.exact.set(name, (e = { types: new Set() }));
      return e;
    }
    let p = this.patterns.find((x) => x.source === name);
    if (!p) {
      let re: RegExp;
      try {
        re = new RegExp(name);
      } catch {
        re = /(?!)/;
      }
      p = { re, source: name, entry: { types: new Set() } };
      this.patterns.push(p);
    }
    return p.entry;
  }

  /** Properties of a node schema (and the node schemas it contains or combines). */
  private walkNode(s: Json | undefined, seen: Set<Json>): void {
    if (!isObject(s) || seen.has(s)) return;
    seen.add(s);
    const ap = s['additionalProperties'];
    if (isObject(ap)) this.walkNode(ap, seen);
    for (const k of ['allOf', 'oneOf', 'anyOf'] as const) {
      const list = s[k];
      if (Array.isArray(list)) for (const e of list) this.walkNode(e, seen);
    }
    for (const k of ['then', 'else'] as const) this.walkNode(s[k], seen);
    if (typeof s['$ref'] === 'string' && !TYPES_REF.test(s['$ref'])) this.walkNode(this.resolve(s['$ref']), seen);
    for (const k of ['properties', 'patternProperties'] as const) {
      const map = s[k];
      if (!isObject(map)) continue;
      for (const [name, sub] of Object.entries(map)) {
        if (name.startsWith('$')) continue;
        this.addProperty(name, sub, k === 'patternProperties', seen);
      }
    }
  }

  private addProperty(name: string, sub: Json, isPattern: boolean, seen: Set<Json>): void {
    const e = this.entry(name, isPattern);
    const found = new Set<DtType>();
    this.typesOf(sub, found, seen, 0);
    for (const t of found) e.types.add(t);
    if (isObject(sub) && (sub['type'] === 'object' || 'properties' in sub || 'patternProperties' in sub)) {
      this.walkNode(sub, seen);
    }
    // Row/column counts given next to a matrix type in the same schema.
    const typed = [...found].filter((t) => t.endsWith('-matrix') || t === 'phandle-array');
    if (typed.length > 0 && isObject(sub) && ('items' in sub || 'minItems' in sub || 'maxItems' in sub)) {
      const items = sub['items'];
      const inner = Array.isArray(items) ? arrayRange(items.length === 1 ? items[0] : undefined) : items ? arrayRange(items) : ([0, 0] as [number, number]);
      const dim: Dim = [arrayRange(sub), inner];
      e.dim = e.dim ? mergeDim(e.dim, dim) : dim;
    }
  }

  private typesOf(s: Json | undefined, out: Set<DtType>, seen: Set<Json>, depth: number): void {
    if (!isObject(s) || depth > 16) return;
    const ref = s['$ref'];
    if (typeof ref === 'string') {
      const m = TYPES_REF.exec(ref);
      if (m && KNOWN.has(m[1]!)) out.add(m[1] as DtType);
      else if (!m) {
        const target = this.resolve(ref);
        if (isObject(target) && (target['type'] === 'object' || 'properties' in target)) out.add('node');
        else this.typesOf(target, out, seen, depth + 1);
      }
    }
    for (const k of ['allOf', 'oneOf', 'anyOf'] as const) {
      const list = s[k];
      if (Array.isArray(list)) for (const e of list) this.typesOf(e, out, seen, depth + 1);
    }
    for (const k of ['then', 'else'] as const) this.typesOf(s[k], out, seen, depth + 1);
    const type = s['type'];
    if (type === 'object' || 'properties' in s || 'patternProperties' in s) out.add('node');
    else if (type === 'boolean') out.add('flag');
    else if (out.size === 0 && 'items' in s) {
      const items = s['items'];
      if ((Array.isArray(items) && isStringSchema(items[0])) || isStringSchema(items)) out.add('string-array');
    }
  }
}

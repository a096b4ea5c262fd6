// Rewrites a binding as dt-schema does before it validates with it: shorthand to the decoded value model,
// implied properties, a select from $nodename, and every $ref made absolute so any piece compiles alone.
//
// Binding authors write a property as the person reading it thinks of it: `compatible: const: foo`,
// `reg: maxItems: 1`, `interrupts: items: [{description: tx}, {description: rx}]`. The decoded value of a
// string property is a list of strings and that of reg a list of rows, so these are rewritten
// (`items: [{const: foo}]`, an `items` list of descriptions becomes its length, a lone `maxItems` is also
// the `minItems`). The semantics follow dt-schema's fixups; the code is this project's own.
import { cloneJson, isObject, type Json, type JsonObject } from './json';

const SCALAR_KEYWORDS = ['const', 'enum', 'pattern', 'minimum', 'maximum', 'multipleOf'] as const;

/** Properties whose name ends in a unit are arrays of cells (property-units.yaml). */
const UNIT_ARRAY_SUFFIX =
  /-(bits|percent|bp|db|mhz|sec|ms|us|ns|ps|mm|kBps|celsius|millicelsius|kelvin|pascal|kpascal|microvolt|microamp|microwatt|ohms|micro-ohms)$/;

function firstOf(v: Json | undefined): Json | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function isIntSchema(s: Json | undefined): boolean {
  if (!isObject(s)) return false;
  return ['const', 'enum', 'minimum', 'maximum'].some((k) => typeof firstOf(s[k]) === 'number');
}

function isStringSchema(s: Json | undefined): boolean {
  if (!isObject(s)) return false;
  return ['const', 'enum', 'pattern'].some((k) => typeof firstOf(s[k]) === 'string');
}

function extractScalars(s: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of SCALAR_KEYWORDS) {
    if (k in s) {
      out[k] = s[k]!;
      delete s[k];
    }
  }
  return out;
}

/** `oneOf`/`anyOf` of bare constants (written that way to describe each) becomes an `enum`: better errors. */
function oneOfToEnum(s: JsonObject): void {
  const key = Array.isArray(s['anyOf']) ? 'anyOf' : Array.isArray(s['oneOf']) ? 'oneOf' : undefined;
  if (!key) {
    if (isObject(s['items'])) oneOfToEnum(s['items']);
    return;
  }
  const list = s[key] as Json[];
  const consts: Json[] = [];
  for (const e of list) {
    if (!isObject(e) || !('const' in e) || Object.keys(e).some((k) => k !== 'const' && k !== 'description')) return;
    consts.push(e['const']!);
  }
  delete s[key];
  s['enum'] = consts;
}

/** Integer constraints on a reg entry apply to its cells: `items: [{items: [...]}]`. */
function fixRegSchema(s: JsonObject, path: readonly string[]): void {
  if (!path.includes('reg')) return;
  let item: Json | undefined;
  if ('items' in s) {
    item = Array.isArray(s['items']) ? s['items'][0] : s['items'];
    if (!isIntSchema(item)) return;
  } else if (isIntSchema(s)) {
    item = s;
  } else {
    return;
  }
  s['items'] = [{ items: [extractScalars(item as JsonObject)] }];
}

/** An `items` list whose entries only describe (after removing descriptions) becomes its length. */
function removeEmptyItems(s: JsonObject): void {
  const items = s['items'];
  if (isObject(items)) {
    removeEmptyItems(items);
    return;
  }
  if (!Array.isArray(items)) return;
  for (const item of items) {
    if (!isObject(item)) return;
    delete item['description'];
    removeEmptyItems(item);
    if (Object.keys(item).length > 0) return;
  }
  if (!('type' in s)) s['type'] = 'array';
  if (!('maxItems' in s)) s['maxItems'] = items.length;
  if (!('minItems' in s)) s['minItems'] = items.length;
  delete s['items'];
}

function fixUnitSuffix(s: JsonObject, path: readonly string[]): void {
  let name: string | undefined;
  for (let i = path.length - 1; i > 0; i--) {
    const p = path[i - 1]!;
    if (p === 'properties' || p === '$defs' || p === 'definitions') {
      name = path[i];
      break;
    }
  }
  if (name === undefined || '$ref' in s) return;
  if (UNIT_ARRAY_SUFFIX.test(name) && isIntSchema(s)) s['items'] = [extractScalars(s)];
}

/** A string constraint on a string property applies to its one string. */
function stringToArray(s: JsonObject): void {
  if (isStringSchema(s)) s['items'] = [extractScalars(s)];
}

/** `items` lists have a fixed length unless told otherwise; a lone minItems/maxItems means both. */
function fixItemsSize(s: Json, path: readonly string[]): void {
  if (Array.isArray(s)) {
    for (const e of s) fixItemsSize(e, path);
    return;
  }
  if (!isObject(s)) return;
  delete s['description'];
  if ('items' in s) {
    s['type'] = 'array';
    const items = s['items']!;
    if (Array.isArray(items)) {
      if (!('minItems' in s)) s['minItems'] = items.length;
      if (!('maxItems' in s)) s['maxItems'] = items.length;
    }
    fixItemsSize(items, [...path, 'items']);
  } else if (!path.includes('then') && !path.includes('else')) {
    if ('maxItems' in s && !('minItems' in s)) s['minItems'] = s['maxItems']!;
    else if ('minItems' in s && !('maxItems' in s)) s['maxItems'] = s['minItems']!;
  }
}

/** Draft-07 `dependencies` split into 2019-09's dependentRequired / dependentSchemas. */
function splitDependencies(s: JsonObject): void {
  const deps = s['dependencies'];
  if (!isObject(deps)) return;
  delete s['dependencies'];
  for (const [k, v] of Object.entries(deps)) {
    const key = Array.isArray(v) ? 'dependentRequired' : 'dependentSchemas';
    const target = (isObject(s[key]) ? s[key] : (s[key] = {})) as JsonObject;
    target[k] = v;
  }
}

function fixValues(s: JsonObject, path: readonly string[]): void {
  delete s['description'];
  fixRegSchema(s, path);
  removeEmptyItems(s);
  fixUnitSuffix(s, path);
  stringToArray(s);
  fixItemsSize(s, path);
  splitDependencies(s);
}

function walkProperty(s: Json, path: readonly string[]): void {
  if (!isObject(s)) return;
  oneOfToEnum(s);
  for (const key of ['allOf', 'oneOf', 'anyOf'] as const) {
    const list = s[key];
    if (Array.isArray(list)) for (const e of list) walkProperty(e, [...path, key]);
  }
  if ('then' in s) walkProperty(s['then']!, [...path, 'then']);
  if ('else' in s) walkProperty(s['else']!, [...path, 'else']);
  fixValues(s, path);
}

/** interrupts implies interrupts-extended and interrupt-parent; "requires interrupts" means either form. */
function fixInterrupts(s: JsonObject, path: readonly string[]): void {
  const props = s['properties'];
  if (isObject(props)) {
    if (('interrupts' in props || 'interrupt-controller' in props) && !('interrupt-parent' in props)) {
      props['interrupt-parent'] = true;
    }
    if ('interrupts' in props && !('interrupts-extended' in props)) {
      props['interrupts-extended'] = cloneJson(props['interrupts']!);
    }
  }
  const req = s['required'];
  if (Array.isArray(req) && req.includes('interrupts') && path[path.length - 1] !== 'oneOf') {
    const either: Json = [{ required: ['interrupts'] }, { required: ['interrupts-extended'] }];
    if ('oneOf' in s) {
      const all = (Array.isArray(s['allOf']) ? s['allOf'] : (s['allOf'] = [])) as Json[];
      all.push({ oneOf: either });
    } else {
      s['oneOf'] = either;
    }
    const rest = req.filter((r) => r !== 'interrupts');
    if (rest.length > 0) s['required'] = rest;
    else delete s['required'];
  }
}

/** Properties any node may carry are allowed wherever unknown properties are not. */
function addImpliedProperties(s: JsonObject): void {
  if (!('additionalProperties' in s) && !('unevaluatedProperties' in s)) return;
  const props = isObject(s['properties']) ? s['properties'] : undefined;
  const keys = [...Object.keys(props ?? {}), ...Object.keys(isObject(s['patternProperties']) ? s['patternProperties'] : {})];
  if (props && keys.includes('clocks') && !keys.includes('assigned-clocks')) {
    for (const k of ['assigned-clocks', 'assigned-clock-rates', 'assigned-clock-parents']) props[k] = true;
  }
  if (props && keys.includes('ranges') && !('dma-ranges' in props)) props['dma-ranges'] = true;
  if (s['additionalProperties'] === true || s['unevaluatedProperties'] === true) return;
  const p = (props ?? (s['properties'] = {})) as JsonObject;
  for (const k of ['$nodename', 'phandle', 'linux,phandle', 'status', 'secure-status', 'pinctrl-names',
    'bootph-all', 'bootph-some-ram', 'bootph-pre-ram', 'bootph-pre-sram', 'bootph-verify']) {
    if (!(k in p)) p[k] = true;
  }
  if (!keys.some((k) => /^\^?pinctrl-\[?0/.test(k))) {
    const pp = (isObject(s['patternProperties']) ? s['patternProperties'] : (s['patternProperties'] = {})) as JsonObject;
    pp['^pinctrl-[0-9]+$'] = true;
  }
}

function fixSubSchema(s: Json, path: readonly string[]): void {
  if (!isObject(s)) return;
  delete s['description'];
  splitDependencies(s);
  fixInterrupts(s, path);
  addImpliedProperties(s);
  // `additionalProperties: true` would defeat an `unevaluatedProperties: false` of a schema that refers here.
  if (s['additionalProperties'] === true) delete s['additionalProperties'];

  for (const [k, v] of Object.entries(s)) {
    if (['select', 'if', 'then', 'else', 'not', 'additionalProperties'].includes(k)) {
      fixSubSchema(v, [...path, k]);
    } else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') {
      if (Array.isArray(v)) for (const e of v) fixSubSchema(e, [...path, k]);
    } else if (['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'].includes(k) && isObject(v)) {
      for (const [name, sub] of Object.entries(v)) {
        walkProperty(sub, [...path, k, name]);
        fixSubSchema(sub, [...path, k, name]);
      }
    }
  }
}

/** A select built from `$nodename` when the binding has neither a select nor a compatible. */
function addSelect(s: JsonObject): void {
  if ('select' in s) return;
  const props = s['properties'];
  if (!isObject(props) || 'compatible' in props) return;
  const nodename = props['$nodename'];
  if (nodename === undefined || nodename === true) return;
  s['select'] = { required: ['$nodename'], properties: { $nodename: cloneJson(nodename) } };
}

/** Resolve every `$ref` against `id`, so a subschema compiled on its own still finds its references. */
export function absolutizeRefs(s: Json, id: string): void {
  if (Array.isArray(s)) {
    for (const e of s) absolutizeRefs(e, id);
    return;
  }
  if (!isObject(s)) return;
  for (const [k, v] of Object.entries(s)) {
    if (k === '$ref' && typeof v === 'string') s[k] = resolveRef(v, id);
    else if (k !== 'const' && k !== 'enum' && k !== 'default' && k !== 'examples') absolutizeRefs(v, id);
  }
}

/** The absolute form of `ref` written in the schema whose `$id` is `id`. */
export function resolveRef(ref: string, id: string): string {
  const base = id.replace(/#.*$/, '');
  if (ref.startsWith('#')) return `${base}${ref}`;
  const url = new URL(ref, base);
  return url.hash ? url.href : `${url.href}#`;
}

/** The schema dt-schema would validate with: `raw` is left untouched. */
export function fixupSchema(raw: JsonObject): JsonObject {
  const s = cloneJson(raw);
  for (const k of ['examples', 'maintainers', '$schema', 'title']) delete s[k];
  addSelect(s);
  fixSubSchema(s, []);
  if (!('definitions' in s && !('properties' in s))) s['type'] = 'object';
  absolutizeRefs(s, String(s['$id']));
  return s;
}

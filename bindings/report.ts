// Turns ajv's errors into violations a person can act on: the node and property at fault (found by
// walking the instance path through child nodes), the schema location of the rule, and a message in
// the style of dt-schema's (python-jsonschema's) wording.
import type { ErrorObject, ValidateFunction } from 'ajv';
import { isRaw, RAW_PREFIX } from './decode';
import type { NodeInstance } from './instance';
import { isObject } from './json';
import type { Violation } from './violation';

const MAX_REPR_ITEMS = 12;

/** A value as messages show it: strings quoted, cells in hex, long lists cut short. */
export function repr(v: unknown): string {
  if (isRaw(v)) return `bytes <${v.slice(RAW_PREFIX.length)}>`;
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || Math.abs(v) < 10) return String(v);
    return v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
  }
  if (Array.isArray(v)) {
    const shown = v.slice(0, MAX_REPR_ITEMS).map(repr);
    if (v.length > MAX_REPR_ITEMS) shown.push(`... (${v.length} items)`);
    return `[${shown.join(', ')}]`;
  }
  if (isObject(v)) return '{node}';
  return String(v);
}

function lastSegment(instancePath: string): string | undefined {
  if (instancePath === '') return undefined;
  return unescapePointer(instancePath.slice(instancePath.lastIndexOf('/') + 1));
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function notMessage(v: string, schema: unknown): string {
  if (isObject(schema)) {
    const req = schema['required'];
    if (Array.isArray(req) && Object.keys(schema).length === 1) {
      return `${req.map((r) => `'${r}'`).join(' and ')} must not be present together with what is here`;
    }
    if ('const' in schema) return `${v} must not be ${repr(schema['const'])}`;
    if (isObject(schema['contains']) && 'const' in schema['contains']) return `${v} must not contain ${repr(schema['contains']['const'])}`;
  }
  return `${v} should not be valid under ${JSON.stringify(schema)}`;
}

/** The message for one ajv error (verbose mode: `data` and `schema` are set). */
export function messageFor(e: ErrorObject): string {
  const v = repr(e.data);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': return `'${String(p['missingProperty'])}' is a required property`;
    case 'dependentRequired': return `'${String(p['missingProperty'])}' is a dependency of '${String(p['property'])}'`;
    case 'additionalProperties': return `Additional properties are not allowed ('${String(p['additionalProperty'])}' was unexpected)`;
    case 'unevaluatedProperties': return `Unevaluated properties are not allowed ('${String(p['unevaluatedProperty'])}' was unexpected)`;
    case 'type': return `${v} is not of type '${String(p['type'])}'`;
    case 'const': return `${repr(p['allowedValue'])} was expected, not ${v}`;
    case 'enum': return `${v} is not one of ${repr(p['allowedValues'])}`;
    case 'minItems': return `${v} is too short (at least ${String(p['limit'])} expected)`;
    case 'maxItems': return `${v} is too long (at most ${String(p['limit'])} expected)`;
    case 'additionalItems':
    case 'items': return `${v} has too many items (at most ${String(p['limit'])} expected)`;
    case 'minimum': return `${v} is less than the minimum of ${repr(p['limit'])}`;
    case 'exclusiveMinimum': return `${v} is less than or equal to the minimum of ${repr(p['limit'])}`;
    case 'maximum': return `${v} is greater than the maximum of ${repr(p['limit'])}`;
    case 'exclusiveMaximum': return `${v} is greater than or equal to the maximum of ${repr(p['limit'])}`;
    case 'multipleOf': return `${v} is not a multiple of ${repr(p['multipleOf'])}`;
    case 'pattern': return `${v} does not match '${String(p['pattern'])}'`;
    case 'uniqueItems': return `${v} has non-unique elements`;
    case 'contains': {
      const s = e.schema;
      if (isObject(s) && 'const' in s) return `${v} does not contain ${repr(s['const'])}`;
      if (isObject(s) && Array.isArray(s['enum'])) return `${v} does not contain any of ${repr(s['enum'])}`;
      return `${v} does not contain items matching the given schema`;
    }
    case 'not': return notMessage(v, e.schema);
    case 'false schema': return `'${lastSegment(e.instancePath) ?? ''}' is not allowed here`;
    case 'propertyNames': return `'${String(p['propertyName'])}' is not an allowed name`;
    case 'oneOf':
      if (Array.isArray(p['passingSchemas'])) return `${v} is valid under more than one of the given schemas`;
      return `${v} is not valid under any of the given schemas`;
    case 'anyOf': return `${v} is not valid under any of the given schemas`;
    default: return `${v}: ${e.message ?? e.keyword}`;
  }
}

/** The schema location of the rule, relative to the schema it lives in (`properties/reg/maxItems`). */
export function ruleOf(schemaPath: string): string {
  if (schemaPath.startsWith('#/')) return decodeURIComponent(schemaPath.slice(2));
  return decodeURIComponent(schemaPath.replace(/^https?:\/\/devicetree\.org\/schemas\//, ''));
}

const keyOf = (instancePath: string, schemaPath: string, keyword: string) => `${instancePath}\0${schemaPath}\0${keyword}`;

export interface ReportContext {
  /** Path of the node whose instance was validated. */
  nodePath: string;
  instance: NodeInstance;
  schemaId: string;
  /** A validator for a schema object (a oneOf/anyOf branch), compiled once. */
  compile: (schema: object | boolean) => ValidateFunction;
  /** Property names the schema defines somewhere (in any branch). */
  knownProperties?: ReadonlySet<string>;
  /** The rule's location from the subschema holding the failing keyword, when known. */
  rule?: (parentSchema: unknown, keyword: string) => string | undefined;
}

/** Errors of each branch of a failing oneOf/anyOf, as they appear in the whole schema's error list. */
function branchErrors(e: ErrorObject, ctx: ReportContext): ErrorObject[][] {
  const branches = e.schema;
  if (!Array.isArray(branches)) return [];
  return branches.map((b, i) => {
    if (!isObject(b) && typeof b !== 'boolean') return [];
    const validate = ctx.compile(b);
    if (validate(e.data)) return [];
    return (validate.errors ?? []).map((be) => ({
      ...be,
      instancePath: e.instancePath + be.instancePath,
      schemaPath: be.schemaPath.startsWith('#') ? `${e.schemaPath}/${i}${be.schemaPath.slice(1)}` : be.schemaPath,
    }));
  });
}

function locate(ctx: ReportContext, e: ErrorObject): { path: string; property?: string } {
  let path = ctx.nodePath;
  let cur: unknown = ctx.instance;
  const segs = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map(unescapePointer);
  for (const seg of segs) {
    const next: unknown = isObject(cur) ? (cur as Record<string, unknown>)[seg] : undefined;
    if (isObject(next)) {
      path = path === '/' ? `/${seg}` : `${path}/${seg}`;
      cur = next;
      continue;
    }
    return { path, property: seg };
  }
  const p = e.params as Record<string, unknown>;
  const named = p['missingProperty'] ?? p['additionalProperty'] ?? p['unevaluatedProperty'] ?? p['propertyName'];
  return typeof named === 'string' ? { path, property: named } : { path };
}

/** The names of a oneOf/anyOf whose branches each only require properties: "one of these must be present". */
function requiredChoice(e: ErrorObject): string[] | undefined {
  const branches = e.schema;
  if (!Array.isArray(branches) || branches.length < 2) return undefined;
  const names: string[] = [];
  for (const b of branches) {
    if (!isObject(b) || Object.keys(b).length !== 1 || !Array.isArray(b['required']) || b['required'].length !== 1) return undefined;
    names.push(String(b['required'][0]));
  }
  return names;
}

/** Violations for the errors one schema reported about one node instance. */
export function explain(errors: readonly ErrorObject[], ctx: ReportContext): Violation[] {
  const consumed = new Set<string>();
  const details = new Map<ErrorObject, string>();
  const special = new Map<ErrorObject, { message: string; property: string }>();
  for (const e of errors) {
    if (e.keyword !== 'oneOf' && e.keyword !== 'anyOf') continue;
    const choice = requiredChoice(e);
    if (choice) {
      const passing = (e.params as Record<string, unknown>)['passingSchemas'];
      const list = choice.map((c) => `'${c}'`).join(', ');
      special.set(e, Array.isArray(passing)
        ? { message: `only one of ${list} may be present`, property: choice[passing[1] as number] ?? choice[0]! }
        : { message: `'${choice[0]}' is a required property${choice.length === 2 ? ` (or '${choice[1]}')` : ` (or one of ${choice.slice(1).map((c) => `'${c}'`).join(', ')})`}`, property: choice[0]! });
      for (let i = 0; i < choice.length; i++) consumed.add(keyOf(e.instancePath, `${e.schemaPath}/${i}/required`, 'required'));
      continue;
    }
    if (Array.isArray((e.params as Record<string, unknown>)['passingSchemas'])) continue;
    const perBranch = branchErrors(e, ctx);
    let best: ErrorObject[] | undefined;
    for (const list of perBranch) {
      for (const be of list) consumed.add(keyOf(be.instancePath, be.schemaPath, be.keyword));
      const leaves = list.filter((be) => be.keyword !== 'if');
      if (leaves.length > 0 && (!best || leaves.length < best.length)) best = leaves;
    }
    if (best && best.length <= 2) details.set(e, best.map(messageFor).join('; '));
  }

  // A property the schema defines is "unevaluated" only because the branch defining it failed for
  // another reason, already reported: leave that echo out.
  const failedAt = new Set(errors.filter((e) => e.keyword !== 'unevaluatedProperties' && e.keyword !== 'if').map((e) => e.instancePath));
  const out: Violation[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'if') continue;
    if (consumed.has(keyOf(e.instancePath, e.schemaPath, e.keyword))) continue;
    if (e.keyword === 'unevaluatedProperties' && failedAt.has(e.instancePath)) {
      const name = String((e.params as Record<string, unknown>)['unevaluatedProperty']);
      if (ctx.knownProperties?.has(name)) continue;
    }
    const sp = special.get(e);
    const where = locate(ctx, e);
    const path = where.path;
    const property = sp ? sp.property : where.property;
    const detail = details.get(e);
    const message = sp ? sp.message : detail ? `${messageFor(e)} (closest: ${detail})` : messageFor(e);
    const rule = ctx.rule?.(e.parentSchema, e.keyword) ?? ruleOf(e.schemaPath);
    const v: Violation = { path, rule, schemaId: ctx.schemaId, message };
    if (property !== undefined) v.property = property;
    const key = `${path}\0${property ?? ''}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(v);
  }
  return out;
}

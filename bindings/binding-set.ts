// A loaded set of bindings: schemas compiled once, selected per node by compatible or `select`, and run
// over node instances; failures come back as violations.
import Ajv2019 from 'ajv/dist/2019.js';
import type { ValidateFunction } from 'ajv';
import type { DeviceTree, DtNode } from '../dt';
import { BindingError } from './errors';
import { fixupSchema } from './fixups';
import { isGeneratedNode, TreeDecoder, type NodeInstance } from './instance';
import { isObject, type Json, type JsonObject } from './json';
import { PropTypeTable } from './prop-types';
import { explain } from './report';
import { compatiblesIn, knownProperties, nestedCompatibles, pointer, triggered, triggersOf, type Triggers } from './schema-facts';
import type { SchemaFile } from './schema-files';
import type { Violation } from './violation';

/** One binding as the set describes it. */
export interface BindingSchema {
  /** `$id`, e.g. `http://devicetree.org/schemas/arm/psci.yaml#`. */
  id: string;
  title: string;
  /** Absolute path of the YAML file. */
  file: string;
  /** Path under the schema directory (`arm/psci.yaml`). */
  relPath: string;
  /** The compatible strings the binding lists. */
  compatibles: readonly string[];
  /** The `examples`, DTS source as written in the file. */
  examples: readonly string[];
  /** How the binding is chosen for a node. */
  selectedBy: 'compatible' | 'select' | 'always' | 'reference';
}

export interface ValidateOptions {
  /** Also report nodes whose compatible no binding documents (dt-validate's -m). */
  unmatched?: boolean;
}

/** Generic fallback strings that must not pick a binding on their own (dt-schema drops the first three). */
const GENERIC_COMPATIBLES = new Set(['syscon', 'simple-mfd', 'simple-bus', 'arm,primecell', 'qcom,gunyah-capability']);
const UNMATCHED_ID = 'generated-compatibles';

interface Compiled {
  info: BindingSchema;
  known: ReadonlySet<string>;
  validate: ValidateFunction;
  select?: ValidateFunction;
  always: boolean;
  /** Its select looks at compatible: a match documents the node's compatible. */
  selectsCompatible: boolean;
  /** For a select-everything schema that only constrains the properties it names: those names. */
  triggers?: Triggers;
}

export class BindingSet {
  readonly schemas: readonly BindingSchema[];
  private readonly ajv: Ajv2019;
  private readonly byCompatible = new Map<string, Compiled>();
  private readonly documented = new Map<string, BindingSchema>();
  /** Every compatible any binding names, nested ones (an ITS in the GIC binding) included. */
  private readonly anywhere = new Set<string>();
  private readonly always: Compiled[] = [];
  private readonly types: PropTypeTable;
  private readonly branchCache = new WeakMap<object, ValidateFunction>();
  /** Where each subschema object sits: its schema's $id and JSON pointer (rules name the real spot). */
  private readonly places = new WeakMap<object, { id: string; pointer: string }>();

  constructor(files: readonly SchemaFile[]) {
    this.ajv = new Ajv2019({
      allErrors: true,
      verbose: true,
      strict: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      allowMatchingProperties: true,
      allowUnionTypes: true,
      unicodeRegExp: false,
      validateFormats: false,
      validateSchema: false,
    });
    this.ajv.addVocabulary(['select']);

    const fixed = new Map<string, { file: SchemaFile; schema: JsonObject }>();
    for (const f of files) {
      const id = String(f.schema['$id']);
      const schema = fixupSchema(f.schema);
      fixed.set(id.replace(/#$/, ''), { file: f, schema });
      this.index(schema, id, '');
      try {
        this.ajv.addSchema(schema);
      } catch (err) {
        throw new BindingError(`schema rejected: ${(err as Error).message}`, f.file);
      }
    }
    const resolve = (ref: string): Json | undefined => {
      const hash = ref.indexOf('#');
      const base = hash < 0 ? ref : ref.slice(0, hash);
      const doc = fixed.get(base)?.schema;
      return hash < 0 || hash === ref.length - 1 ? doc : pointer(doc, ref.slice(hash + 1));
    };
    this.types = new PropTypeTable([...fixed.values()].map((x) => x.schema), resolve);

    const infos: BindingSchema[] = [];
    for (const { file, schema } of fixed.values()) {
      const id = String(schema['$id']);
      const props = schema['properties'];
      const compatibles = new Set<string>();
      if (isObject(props)) compatiblesIn(props['compatible'], compatibles);
      nestedCompatibles(schema, this.anywhere);
      const select = schema['select'];
      const selectedBy: BindingSchema['selectedBy'] =
        select === true ? 'always' : select !== undefined && select !== false ? 'select' : select === undefined && compatibles.size > 0 ? 'compatible' : 'reference';
      const info: BindingSchema = {
        id,
        title: String(file.schema['title'] ?? ''),
        file: file.file,
        relPath: file.relPath,
        compatibles: [...compatibles],
        examples: Array.isArray(file.schema['examples']) ? file.schema['examples'].map(String) : [],
        selectedBy,
      };
      infos.push(info);
      if (selectedBy === 'reference') continue;
      let validate: ValidateFunction;
      let selectFn: ValidateFunction | undefined;
      try {
        validate = this.ajv.getSchema(id.replace(/#$/, '')) ?? this.ajv.compile(schema);
        if (selectedBy === 'select') selectFn = this.ajv.compile(select as object);
      } catch (err) {
        throw new BindingError(`schema does not compile: ${(err as Error).message}`, file.file);
      }
      const selectsCompatible = isObject(select) && JSON.stringify(select).includes('"compatible"');
      const c: Compiled = {
        info,
        known: knownProperties(schema, resolve),
        validate,
        always: selectedBy !== 'compatible',
        selectsCompatible,
        ...(selectFn ? { select: selectFn } : {}),
        ...(select === true ? triggersOf(schema) : {}),
      };
      if (c.always) this.always.push(c);
      const specific = compatibles.size > 1 ? [...compatibles].filter((x) => !GENERIC_COMPATIBLES.has(x)) : [...compatibles];
      for (const compat of specific) {
        if (selectedBy === 'compatible' && !this.byCompatible.has(compat)) this.byCompatible.set(compat, c);
        if (!this.documented.has(compat)) this.documented.set(compat, info);
      }
    }
    this.schemas = infos;
  }

  /** The binding documenting `compatible`, if any. */
  schemaFor(compatible: string): BindingSchema | undefined {
    return this.byCompatible.get(compatible)?.info ?? this.documented.get(compatible);
  }

  /** The decoded form of a node (children nested), as the bindings see it. */
  instanceOf(tree: DeviceTree, node: DtNode): NodeInstance {
    return new TreeDecoder(tree, this.types).instance(node);
  }

  /** Every rule every node of `tree` breaks, in tree order. */
  validateTree(tree: DeviceTree, opts: ValidateOptions = {}): Violation[] {
    const decoder = new TreeDecoder(tree, this.types);
    const cache = new Map<DtNode, NodeInstance>();
    decoder.instance(tree.root, cache);
    const out: Violation[] = [];
    const issuesByNode = new Map<DtNode, Violation[]>();
    for (const i of decoder.issues) {
      const list = issuesByNode.get(i.node) ?? [];
      list.push({ path: i.node.path, property: i.property, rule: i.rule, schemaId: i.schemaId, message: i.message });
      issuesByNode.set(i.node, list);
    }
    for (const node of tree.walk()) {
      const inst = cache.get(node);
      if (!inst) continue; // inside a generated node
      out.push(...(issuesByNode.get(node) ?? []));
      out.push(...this.check(node, inst, opts));
    }
    return out;
  }

  /** The rules `node` breaks (its own bindings, which may constrain its children too). */
  validateNode(tree: DeviceTree, node: DtNode, opts: ValidateOptions = {}): Violation[] {
    for (let n: DtNode | undefined = node; n; n = n.parent) if (isGeneratedNode(n)) return [];
    const decoder = new TreeDecoder(tree, this.types);
    const inst = decoder.instance(node);
    const out: Violation[] = decoder.issues
      .filter((i) => i.node === node)
      .map((i) => ({ path: i.node.path, property: i.property, rule: i.rule, schemaId: i.schemaId, message: i.message }));
    out.push(...this.check(node, inst, opts));
    return out;
  }

  /** The bindings that apply to `node`: the one its compatible picks, then every `select` that matches. */
  schemasFor(tree: DeviceTree, node: DtNode): BindingSchema[] {
    return this.selected(this.instanceOf(tree, node)).list.map((c) => c.info);
  }

  private selected(inst: NodeInstance): { list: Compiled[]; matched: boolean } {
    const list: Compiled[] = [];
    let matched = false;
    const compat = inst['compatible'];
    if (Array.isArray(compat)) {
      for (const c of compat) {
        const hit = typeof c === 'string' ? this.byCompatible.get(c) : undefined;
        if (hit) {
          matched = true;
          list.push(hit);
          break;
        }
      }
    }
    for (const c of this.always) {
      if (c.triggers && !triggered(c.triggers, inst)) continue;
      if (c.select && !c.select(inst)) continue;
      if (c.selectsCompatible) matched = true;
      list.push(c);
    }
    return { list, matched };
  }

  private check(node: DtNode, inst: NodeInstance, opts: ValidateOptions): Violation[] {
    const out: Violation[] = [];
    const { list, matched } = this.selected(inst);
    for (const c of list) this.run(c, node, inst, out);
    const compat = inst['compatible'];
    if (opts.unmatched && !matched && Array.isArray(compat) && !compat.some((c) => typeof c === 'string' && this.anywhere.has(c))) {
      out.push({
        path: node.path,
        property: 'compatible',
        rule: 'select',
        schemaId: UNMATCHED_ID,
        message: `failed to match any schema with compatible: ${JSON.stringify(compat)}`,
      });
    }
    return out;
  }

  private run(c: Compiled, node: DtNode, inst: NodeInstance, out: Violation[]): void {
    if (c.validate(inst)) return;
    out.push(
      ...explain(c.validate.errors ?? [], {
        nodePath: node.path,
        instance: inst,
        schemaId: c.info.id,
        compile: (s) => this.compileBranch(s),
        knownProperties: c.known,
        rule: (parent, keyword) => this.ruleFor(parent, keyword, c.info.id),
      }),
    );
  }

  private index(s: Json, id: string, pointer: string): void {
    if (Array.isArray(s)) {
      s.forEach((e, i) => this.index(e, id, `${pointer}/${i}`));
      return;
    }
    if (!isObject(s)) return;
    this.places.set(s, { id, pointer });
    for (const [k, v] of Object.entries(s)) {
      if (k !== 'const' && k !== 'enum' && k !== 'default') this.index(v, id, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    }
  }

  /** `properties/reg/maxItems`, or `serial.yaml#/properties/$nodename/...` when the rule lives in another schema. */
  private ruleFor(parentSchema: unknown, keyword: string, ownId: string): string | undefined {
    if (typeof parentSchema !== 'object' || parentSchema === null) return undefined;
    const place = this.places.get(parentSchema);
    if (!place) return undefined;
    const rel = `${place.pointer}/${keyword}`.replace(/^\//, '');
    return place.id === ownId ? rel : `${place.id.replace(/^http:\/\/devicetree\.org\/schemas\//, '')}/${rel}`;
  }

  private compileBranch(s: object | boolean): ValidateFunction {
    if (typeof s === 'boolean') return this.ajv.compile(s);
    let v = this.branchCache.get(s);
    if (!v) {
      v = this.ajv.compile(s);
      this.branchCache.set(s, v);
    }
    return v;
  }
}

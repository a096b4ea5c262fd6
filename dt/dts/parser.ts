// The grammar of dtc's source language (dtc-parser.y), read by recursive descent into a LiveTree, with the
// same tree-building actions dtc takes (merges, deletes, labels, plugin fragments) in the same order.
import { diagnostic, type DtsDiagnostic, type SourcePosition } from './dts-error';
import { toU64 } from './expressions';
import type { Lexer } from './lexer';
import { addLabel, deleteNode, LiveNode, LiveProp, NO_LABELS, type LiveTree } from './live-tree';
import { PropData } from './prop-data';
import type { SourceLoader } from './source-files';
import { describeToken, type Token } from './token';
import { isCppDirective } from './token-stream';
import { ValueParser } from './value-parser';

/** Deepest node nesting accepted in one block (the finished tree is checked again after merges). */
export const MAX_NODE_DEPTH = 1000;

export interface ParsedReserve {
  address: bigint;
  size: bigint;
  labels: string[];
}

export interface ParseResult {
  plugin: boolean;
  reserves: ParsedReserve[];
  bootCpuid: number;
}

export class Parser extends ValueParser {
  private plugin = false;
  private depth = 0;
  /** Deepest nesting reached in the current top-level block, to bound the depth of the merged tree. */
  private blockHeight = 0;

  constructor(
    lexer: Lexer,
    private readonly tree: LiveTree,
    loader: SourceLoader,
    errors: DtsDiagnostic[],
    private readonly warnings: DtsDiagnostic[],
  ) {
    super(lexer, errors, loader);
  }

  // ---- sourcefile: headers memreserves devicetree ----

  parse(): ParseResult {
    this.headers();
    const reserves = this.memreserves();
    this.devicetree();
    return { plugin: this.plugin, reserves, bootCpuid: this.tree.guessBootCpuid() };
  }

  private headers(): void {
    if (this.tok.kind !== 'v1') this.unexpected("'/dts-v1/;' (a dtc source starts with it)");
    let first: boolean | undefined;
    while (this.tok.kind === 'v1') {
      const at = this.advance();
      this.expect(';');
      let plugin = false;
      if (this.is('plugin')) {
        this.advance();
        this.expect(';');
        plugin = true;
      }
      if (first === undefined) first = plugin;
      else if (plugin !== first) this.error(at, "Header flags don't match earlier ones");
    }
    this.plugin = first ?? false;
  }

  private memreserves(): ParsedReserve[] {
    const out: ParsedReserve[] = [];
    for (;;) {
      const labels = this.labels();
      if (this.tok.kind !== 'memreserve') {
        if (labels.length > 0) this.unexpected('/memreserve/ after a label at the top level');
        return out;
      }
      this.advance();
      const address = toU64(this.prim());
      const sizeAt = this.tok;
      const size = toU64(this.prim());
      this.expect(';', "';' after the /memreserve/ address and size");
      // dtc writes such an entry, but a zero size is the map's terminator: readers would drop it and all after it.
      if (size === 0n) this.error(sizeAt, '/memreserve/ size 0: a zero size ends the reservation map, so readers would lose this entry and every one after it');
      const holder = { labels: NO_LABELS };
      for (let i = labels.length - 1; i >= 0; i--) addLabel(holder, labels[i]!.name, labels[i]!);
      out.push({ address, size, labels: holder.labels.map((l) => l.name) });
    }
  }

  private devicetree(): void {
    const tree = this.tree;
    if (this.tok.kind === '/') {
      const at = this.advance();
      const root = this.topBlock(at, 'the root node');
      root.name = '';
      root.pos = at;
      tree.root = root;
    } else if (this.isRef()) {
      const ref = this.advance();
      const block = this.topBlock(ref, ref.text);
      if (!this.plugin) this.error(ref, `Label or path ${ref.name} not found`);
      tree.root = new LiveNode('', ref);
      tree.addOrphan(block, ref.name, ref);
    } else {
      this.unexpected("'/ {' (the root node) or a &reference");
    }

    for (;;) {
      const t = this.tok;
      switch (t.kind) {
        case 'eof':
          return;
        case '/': {
          this.advance();
          tree.merge(tree.root, this.topBlock(t, 'the root node'));
          break;
        }
        case 'label': {
          this.advance();
          if (!this.isRef()) this.unexpected(`a &reference after label '${t.name}:' at the top level`);
          const ref = this.advance();
          const block = this.topBlock(ref, ref.text);
          const target = tree.nodeByRef(ref.name);
          if (target) {
            this.fits(target, ref);
            tree.addNodeLabel(target, t.name, t);
            tree.merge(target, block);
          } else {
            this.error(ref, `Label or path ${ref.name} not found`);
          }
          break;
        }
        case 'labelref':
        case 'pathref': {
          const ref = this.advance();
          const block = this.topBlock(ref, ref.text);
          // A plugin's &{/path} always makes a fragment; a plugin's &label does when the label is not here.
          const target = t.kind === 'pathref' && this.plugin ? undefined : tree.nodeByRef(ref.name);
          if (target) {
            this.fits(target, ref);
            tree.merge(target, block);
          } else if (this.plugin) {
            this.fits(tree.root, ref, 2);
            tree.addOrphan(block, ref.name, ref);
          }
          else this.error(ref, `Label or path ${ref.name} not found`);
          break;
        }
        case 'delnode':
        case 'omit': {
          this.advance();
          if (!this.isRef()) this.unexpected(`a &reference after ${describeToken(t)} at the top level`);
          const ref = this.advance();
          this.expect(';', `';' after ${describeToken(t)} ${ref.text}`);
          const target = tree.nodeByRef(ref.name);
          if (!target) this.error(ref, `Label or path ${ref.name} not found`);
          // dtc would write a blob without a root node; a device tree always has one.
          else if (target === tree.root) this.error(ref, `${describeToken(t)} ${ref.text}: the root node cannot be deleted`);
          else if (t.kind === 'delnode') deleteNode(target);
          else target.omitIfUnused = true;
          break;
        }
        case 'memreserve':
        case 'v1':
        case 'plugin':
          return this.fatal(t, `${describeToken(t)} must come before the first node (dtc's order: /dts-v1/; /plugin/; /memreserve/ ...; then nodes)`);
        default:
          this.unexpected("'/ {', '&ref {', /delete-node/ or the end of the file");
      }
    }
  }

  /** A top-level block; its height is measured so that merging it cannot make the tree too deep. */
  private topBlock(at: SourcePosition, what: string): LiveNode {
    this.blockHeight = 0;
    return this.nodedef(at, what);
  }

  /** Fails when the block just read, merged at `target` (plus `extra` levels), would nest too deeply. */
  private fits(target: LiveNode, at: SourcePosition, extra = 0): void {
    let depth = extra;
    for (let n = target.parent; n; n = n.parent) depth++;
    if (depth + this.blockHeight > MAX_NODE_DEPTH) {
      this.fatal(at, `nodes nested too deeply: merging this block makes the tree more than ${MAX_NODE_DEPTH} levels deep`);
    }
  }

  // ---- nodedef: '{' proplist subnodes '}' ';' ----

  private nodedef(at: SourcePosition, what: string): LiveNode {
    const open = this.expect('{', `'{' to open ${what}`);
    if (++this.depth > MAX_NODE_DEPTH) this.fatal(open, `nodes nested too deeply (more than ${MAX_NODE_DEPTH} levels)`);
    if (this.depth > this.blockHeight) this.blockHeight = this.depth;
    const node = new LiveNode('', at);
    let seenChild = false;
    for (;;) {
      const labels = this.labels();
      const t = this.tok;
      if (t.kind === '}' && labels.length === 0) break;
      if (t.kind === 'name') {
        this.advance();
        const next = this.tok.kind;
        if (next === '{') {
          node.addChild(this.subnode(t, labels));
          seenChild = true;
        } else if (next === '=' || next === ';') {
          if (seenChild) this.propertyAfterChild(labels[0] ?? t, t.name);
          node.addProp(this.propdef(t, labels));
        } else {
          if (isCppDirective(t.name)) this.cppDirective(t);
          this.unexpected(`'=', ';' or '{' after ${describeToken(t)}`);
        }
      } else if (t.kind === 'delprop') {
        this.advance();
        const name = this.expect('name', 'a property name after /delete-property/');
        this.expect(';', `';' after /delete-property/ ${name.name}`);
        if (seenChild) this.propertyAfterChild(labels[0] ?? t, name.name);
        if (node.props.some((q) => !q.deleted && q.name === name.name)) {
          this.warnings.push(
            diagnostic(t, 'warning', `/delete-property/ ${name.name} has no effect: it deletes properties of earlier blocks only, not of the block it is in (as in dtc)`),
          );
        }
        const p = new LiveProp(name.name, new PropData(0), name);
        p.deleted = true;
        for (let i = labels.length - 1; i >= 0; i--) addLabel(p, labels[i]!.name, labels[i]!);
        node.addProp(p);
      } else if (t.kind === 'delnode' || t.kind === 'omit') {
        node.addChild(this.subnodeWithKeywords(labels));
        seenChild = true;
      } else if (t.kind === 'eof') {
        this.fatal(t, `end of input inside ${what} (opened at ${open.line}:${open.column}): expected '}'`);
      } else {
        this.unexpected(
          labels.length > 0
            ? `a property or node name after label '${labels[labels.length - 1]!.name}:'`
            : `a property, a child node or '}' in ${what}`,
        );
      }
    }
    this.advance();
    this.expect(';', `';' after the '}' that closes ${what}`);
    this.depth--;
    return node;
  }

  private propertyAfterChild(at: SourcePosition, name: string): never {
    this.fatal(at, `property '${name}' after a child node: properties must precede subnodes`);
  }

  /** `name { ... };` with its labels (the nearest label is added first, as dtc's right recursion does). */
  private subnode(nameTok: Token, labels: readonly Token[]): LiveNode {
    const n = this.nodedef(nameTok, `node '${nameTok.name}'`);
    n.name = nameTok.name;
    for (let i = labels.length - 1; i >= 0; i--) this.tree.addNodeLabel(n, labels[i]!.name, labels[i]!);
    return n;
  }

  /** A subnode introduced by /delete-node/ or /omit-if-no-ref/, possibly mixed with labels. */
  private subnodeWithKeywords(outer: readonly Token[]): LiveNode {
    const t = this.tok;
    if (t.kind === 'delnode') {
      this.advance();
      const name = this.expect('name', 'a node name after /delete-node/');
      this.expect(';', `';' after /delete-node/ ${name.name}`);
      const n = new LiveNode(name.name, t);
      n.deleted = true;
      for (let i = outer.length - 1; i >= 0; i--) this.tree.addNodeLabel(n, outer[i]!.name, outer[i]!);
      return n;
    }
    let n: LiveNode;
    if (t.kind === 'omit') {
      this.advance();
      const inner = this.labels();
      n = this.subnodeWithKeywords(inner);
      n.omitIfUnused = true;
    } else {
      const name = this.expect('name', 'a node name');
      if (this.tok.kind !== '{') this.unexpected(`'{' after node name '${name.name}'`);
      n = this.subnode(name, []);
    }
    for (let i = outer.length - 1; i >= 0; i--) this.tree.addNodeLabel(n, outer[i]!.name, outer[i]!);
    return n;
  }

  // ---- propdef ----

  private propdef(nameTok: Token, labels: readonly Token[]): LiveProp {
    let data: PropData;
    if (this.tok.kind === ';') {
      this.advance();
      data = new PropData(0);
    } else {
      this.advance(); // '='
      data = this.propdata();
      if (this.tok.kind !== ';') this.unexpected(`';' or ',' after the value of property '${nameTok.name}'`);
      this.advance();
    }
    const p = new LiveProp(nameTok.name, data, nameTok);
    for (let i = labels.length - 1; i >= 0; i--) addLabel(p, labels[i]!.name, labels[i]!);
    return p;
  }

}

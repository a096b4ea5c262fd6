// The grammar of dtc's source language (dtc-parser.y), read by recursive descent into a LiveTree, with the
// same tree-building actions dtc takes (merges, deletes, labels, plugin fragments) in the same order.
import { diagnostic, DtsError, type DtsDiagnostic, type SourcePosition } from './dts-error';
import { evalBinary, MAX_EXPRESSION_DEPTH, type IntValue, toU64 } from './expressions';
import { type Lexer } from './lexer';
import { addLabel, deleteNode, LiveNode, LiveProp, NO_LABELS, type LiveTree } from './live-tree';
import { ByteArena, PropData } from './prop-data';
import type { SourceLoader } from './source-files';
import { describeToken, type Token } from './token';
import { latin1OrUtf8 } from './token';

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

const MAX_U64 = (1n << 64n) - 1n;
const NO_TOKENS: readonly Token[] = Object.freeze([]);

/** Binary operator levels from loosest to tightest, as dtc's grammar nests integer_or ... integer_mul. */
const LEVELS: ReadonlyArray<readonly string[]> = [
  ['||'],
  ['&&'],
  ['|'],
  ['^'],
  ['&'],
  ['==', '!='],
  ['<', '>', '<=', '>='],
  ['<<', '>>'],
  ['+', '-'],
  ['*', '/', '%'],
];

const CPP_DIRECTIVES = new Set([
  '#include',
  '#define',
  '#undef',
  '#if',
  '#ifdef',
  '#ifndef',
  '#elif',
  '#else',
  '#endif',
  '#error',
  '#pragma',
]);

export class Parser {
  private tok: Token;
  private plugin = false;
  private depth = 0;
  /** Deepest nesting reached in the current top-level block, to bound the depth of the merged tree. */
  private blockHeight = 0;
  private exprDepth = 0;
  /** Where every property value is built before it gets an exactly sized buffer of its own. */
  private readonly scratch = new PropData(256);
  private readonly arena = new ByteArena();

  constructor(
    private readonly lexer: Lexer,
    private readonly tree: LiveTree,
    private readonly loader: SourceLoader,
    private readonly errors: DtsDiagnostic[],
    private readonly warnings: DtsDiagnostic[],
  ) {
    this.tok = lexer.next();
  }

  // ---- helpers ----

  private advance(): Token {
    const t = this.tok;
    this.tok = this.lexer.next();
    return t;
  }

  private error(pos: SourcePosition, message: string): void {
    this.errors.push(diagnostic(pos, 'error', message));
  }

  private fatal(pos: SourcePosition, message: string): never {
    throw new DtsError([...this.errors, diagnostic(pos, 'error', message)]);
  }

  /** A syntax error at the current token: what was expected, and what was found. */
  private unexpected(expected: string): never {
    const t = this.tok;
    if (t.kind === 'name' && CPP_DIRECTIVES.has(t.name)) this.cppDirective(t);
    this.fatal(t, `expected ${expected}, found ${describeToken(t)}`);
  }

  private cppDirective(t: Token): never {
    this.fatal(t, `C preprocessor directive '${t.name}': dtc's language has no ${t.name}; run the source through cpp first (or use /include/)`);
  }

  private expect(kind: string, what = `'${kind}'`): Token {
    if (this.tok.kind !== kind) this.unexpected(what);
    return this.advance();
  }

  private labels(): readonly Token[] {
    if (this.tok.kind !== 'label') return NO_TOKENS;
    const out: Token[] = [];
    while (this.tok.kind === 'label') out.push(this.advance());
    return out;
  }

  /** The current token's kind is `kind` (a call, so that TypeScript does not narrow across advance()). */
  private is(kind: string): boolean {
    return this.tok.kind === kind;
  }

  private isRef(): boolean {
    return this.tok.kind === 'labelref' || this.tok.kind === 'pathref';
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
          if (CPP_DIRECTIVES.has(t.name)) this.cppDirective(t);
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

  private propdata(): PropData {
    const d = this.scratch;
    for (;;) {
      while (this.tok.kind === 'label') {
        const l = this.advance();
        d.addMarker('label', l.name, l);
      }
      const t = this.tok;
      switch (t.kind) {
        case 'string':
          this.advance();
          d.appendBytes(t.bytes!);
          d.appendByte(0);
          break;
        case 'bits':
        case '<':
          this.cells(d);
          break;
        case '[':
          this.bytestring(d);
          break;
        case 'labelref':
        case 'pathref':
          this.advance();
          d.addMarker('path', t.name, t);
          break;
        case 'incbin':
          this.incbin(d);
          break;
        default:
          this.unexpected('a value ("string", <cells>, [bytes], &reference or /incbin/)');
      }
      while (this.tok.kind === 'label') {
        const l = this.advance();
        d.addMarker('label', l.name, l);
      }
      if (this.tok.kind !== ',') return d.take(this.arena);
      this.advance();
    }
  }

  /** `[/bits/ N] < cells >`. */
  private cells(d: PropData): void {
    let bits: 8 | 16 | 32 | 64 = 32;
    if (this.tok.kind === 'bits') {
      this.advance();
      const size = this.tok;
      if (size.kind !== 'literal') this.unexpected('the element size (8, 16, 32 or 64) after /bits/');
      this.advance();
      const v = size.value;
      if (v === 8 || v === 16 || v === 32 || v === 64) bits = v;
      else this.error(size, 'Array elements must be 8, 16, 32 or 64-bits');
    }
    this.expect('<', `'<' to start the cell list`);
    for (;;) {
      const t = this.tok;
      const k = t.kind;
      if (k === 'literal' && bits === 32 && typeof t.value === 'number' && t.value <= 0xffffffff) {
        // The common case: a plain 32-bit cell.
        this.advance();
        d.appendU32(t.value);
      } else if (k === '>') {
        this.advance();
        return;
      } else if (k === 'label') {
        this.advance();
        d.addMarker('label', t.name, t);
      } else if (k === 'labelref' || k === 'pathref') {
        this.advance();
        if (bits === 32) d.addMarker('phandle', t.name, t);
        else this.error(t, 'References are only allowed in arrays with 32-bit elements.');
        d.appendInteger(MAX_U64 >> BigInt(64 - bits), bits);
      } else if (k === 'literal' || k === 'char' || k === '(') {
        const v = toU64(this.prim());
        if (bits < 64) {
          const mask = (1n << BigInt(bits)) - 1n;
          // Above the mask, bits must be all zero (in range) or all one (a sign-extended negative value).
          if (v > mask && (v | mask) !== MAX_U64) this.error(t, `Value out of range for ${bits}-bit array element`);
        }
        d.appendInteger(v, bits);
      } else {
        this.unexpected(`a number, a (expression), a &reference or '>' in a cell list`);
      }
    }
  }

  private bytestring(d: PropData): void {
    this.advance(); // '['
    for (;;) {
      const t = this.tok;
      if (t.kind === 'byte') {
        this.advance();
        d.appendByte(t.value as number);
      } else if (t.kind === 'label') {
        this.advance();
        d.addMarker('label', t.name, t);
      } else if (t.kind === ']') {
        this.advance();
        return;
      } else {
        this.unexpected(`a byte (two hex digits) or ']' in a byte string`);
      }
    }
  }

  /** `/incbin/("file")` or `/incbin/("file", offset, length)`: the file's bytes, found as includes are. */
  private incbin(d: PropData): void {
    this.advance();
    this.expect('(', `'(' after /incbin/`);
    const nameTok = this.expect('string', 'a quoted file name in /incbin/(...)');
    let offset = 0n;
    let length: bigint | undefined;
    if (this.tok.kind === ',') {
      this.advance();
      offset = toU64(this.prim());
      this.expect(',', "',' and a length after the /incbin/ offset");
      length = toU64(this.prim());
    }
    this.expect(')', "')' to close /incbin/(...)");
    const raw = nameTok.bytes!;
    const nul = raw.indexOf(0);
    const nameBytes = nul < 0 ? raw : raw.subarray(0, nul);
    const name = latin1OrUtf8(nameBytes, 0, nameBytes.length);
    const opened = this.loader.open(name, nameTok.dir);
    if (!opened.ok) this.fatal(nameTok, `/incbin/ "${name}": ${opened.reason}`);
    const bytes = opened.file.bytes;
    const size = BigInt(bytes.length);
    const start = offset < size ? offset : size;
    const end = length === undefined || start + length > size ? size : start + length;
    d.appendBytes(bytes.subarray(Number(start), Number(end)));
  }

  // ---- integer expressions ----

  /** integer_prim: a literal, a character literal or a parenthesized expression. */
  private prim(): IntValue {
    const t = this.tok;
    if (t.kind === 'literal' || t.kind === 'char') {
      this.advance();
      return t.value;
    }
    if (t.kind !== '(') this.unexpected("a number, a character literal or '('");
    this.advance();
    this.enterExpr(t);
    const v = this.expr();
    this.exprDepth--;
    this.expect(')', "')' to close the expression");
    return v;
  }

  private enterExpr(at: SourcePosition): void {
    if (++this.exprDepth > MAX_EXPRESSION_DEPTH) {
      this.fatal(at, `expression nested too deeply (more than ${MAX_EXPRESSION_DEPTH} levels)`);
    }
  }

  /** integer_trinary: `c ? a : b`, right-associative; every operand is evaluated, as dtc's parser does. */
  private expr(): bigint {
    const cond = this.binary(0);
    if (this.tok.kind !== '?') return cond;
    const q = this.advance();
    this.enterExpr(q);
    const a = this.expr();
    this.expect(':', "':' in a ?: expression");
    const b = this.expr();
    this.exprDepth--;
    return cond !== 0n ? a : b;
  }

  private binary(level: number): bigint {
    if (level === LEVELS.length) return this.unary();
    const ops = LEVELS[level]!;
    const start = this.tok;
    let left = this.binary(level + 1);
    while (ops.includes(this.tok.kind)) {
      const op = this.advance().kind;
      const right = this.binary(level + 1);
      const v = evalBinary(op, left, right);
      if (v === undefined) {
        // dtc reports a division by zero at the start of the whole term and goes on with 0.
        this.error(start, 'Division by zero');
        left = 0n;
      } else {
        left = v;
      }
    }
    return left;
  }

  private unary(): bigint {
    const t = this.tok;
    if (t.kind === '-' || t.kind === '~' || t.kind === '!') {
      this.advance();
      this.enterExpr(t);
      const v = this.unary();
      this.exprDepth--;
      if (t.kind === '-') return BigInt.asUintN(64, -v);
      if (t.kind === '~') return BigInt.asUintN(64, ~v);
      return v === 0n ? 1n : 0n;
    }
    return toU64(this.prim());
  }
}

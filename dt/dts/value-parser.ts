// Property values and integer expressions (dtc-parser.y's propdata, arrayprefix, bytestring and integer_*):
// strings, <cells> with /bits/, [bytes], references, /incbin/, and C expressions on unsigned 64-bit values.
import type { DtsDiagnostic, SourcePosition } from './dts-error';
import { evalBinary, MAX_EXPRESSION_DEPTH, type IntValue, toU64 } from './expressions';
import type { Lexer } from './lexer';
import { ByteArena, PropData } from './prop-data';
import type { SourceLoader } from './source-files';
import { latin1OrUtf8 } from './token';
import { TokenStream } from './token-stream';

const MAX_U64 = (1n << 64n) - 1n;

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

export class ValueParser extends TokenStream {
  private exprDepth = 0;
  /** Where every property value is built before it gets an exactly sized buffer of its own. */
  private readonly scratch = new PropData(256);
  private readonly arena = new ByteArena();

  constructor(
    lexer: Lexer,
    errors: DtsDiagnostic[],
    private readonly loader: SourceLoader,
  ) {
    super(lexer, errors);
  }

  protected propdata(): PropData {
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
  protected prim(): IntValue {
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

// The tokenizer of dtc's source language (dtc-lexer.l): its start conditions, /include/ and cpp line markers.
//
// dtc's lexer has modes that change what a run of characters means: after `{` or `;` it reads a property or
// node name (`0x10` is a name there, `cpu@0` one token), elsewhere integers; inside `[ ]` it reads bytes as pairs
// of hex digits. The mode follows the tokens read, not the grammar, so this class keeps it the same way.
import type { SourcePosition } from './dts-error';
import { decodeEscapes } from './escapes';
import { type OpenResult, type SourceFile } from './source-files';
import { NameTable } from './name-table';
import { Token, latin1OrUtf8 } from './token';

export interface LexReporter {
  /** An error after which lexing can go on (dtc's lexical_error). */
  error(pos: SourcePosition, message: string): void;
  /** An error that ends the compile. */
  fatal(pos: SourcePosition, message: string): never;
}

export interface IncludeOpener {
  open(name: string, fromDir: string | undefined): OpenResult;
}

/** dtc's MAX_SRCFILE_DEPTH. */
export const MAX_INCLUDE_DEPTH = 200;

type Mode = 'v1' | 'name' | 'bytes';

function charTable(spec: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < spec.length; i++) {
    if (spec[i + 1] === '-' && i + 2 < spec.length) {
      for (let c = spec.charCodeAt(i); c <= spec.charCodeAt(i + 2); c++) t[c] = 1;
      i += 2;
    } else {
      t[spec.charCodeAt(i)] = 1;
    }
  }
  return t;
}

const PROPNODECHAR = charTable('a-zA-Z0-9,._+*#?@-');
const PATHCHAR = charTable('a-zA-Z0-9,._+*#?@/-');
const LABEL_START = charTable('a-zA-Z_');
const LABEL_CHAR = charTable('a-zA-Z0-9_');
const HEX = charTable('0-9a-fA-F');
const DIGIT = charTable('0-9');
const SPACE = charTable(' \t\n\v\f\r');

const enc = new TextEncoder();
const SLASH_KEYWORDS: ReadonlyArray<readonly [Uint8Array, string, Mode | undefined]> = [
  [enc.encode('/dts-v1/'), 'v1', 'v1'],
  [enc.encode('/plugin/'), 'plugin', undefined],
  [enc.encode('/memreserve/'), 'memreserve', 'v1'],
  [enc.encode('/bits/'), 'bits', 'v1'],
  [enc.encode('/delete-property/'), 'delprop', 'name'],
  [enc.encode('/delete-node/'), 'delnode', 'name'],
  [enc.encode('/omit-if-no-ref/'), 'omit', 'name'],
];
const INCBIN = enc.encode('/incbin/');
const INCLUDE = enc.encode('/include/');
const TWO_CHAR_OPS = new Set(['<<', '>>', '<=', '>=', '==', '!=', '&&', '||']);
const MAX_U64 = (1n << 64n) - 1n;

interface Frame {
  readonly file: SourceFile;
  readonly src: Uint8Array;
  /** The name messages use; a cpp line marker can change it. */
  name: string;
  pos: number;
  line: number;
  lineStart: number;
}

export class Lexer {
  private readonly frames: Frame[] = [];
  private mode: Mode = 'v1';
  private readonly names = new NameTable();

  constructor(
    main: SourceFile,
    private readonly opener: IncludeOpener,
    private readonly report: LexReporter,
  ) {
    this.frames.push(this.frameOf(main));
  }

  private frameOf(file: SourceFile): Frame {
    return { file, src: file.bytes, name: file.name, pos: 0, line: 1, lineStart: 0 };
  }

  private posAt(f: Frame, at: number): SourcePosition {
    return { file: f.name, line: f.line, column: at - f.lineStart + 1 };
  }

  private token(kind: string, f: Frame, start: number, end: number, line = f.line, lineStart = f.lineStart): Token {
    return new Token(kind, f.name, line, start - lineStart + 1, f.file.dir, f.src, start, end);
  }

  /** Advance over `src[from..to)`, counting lines. */
  private advance(f: Frame, from: number, to: number): void {
    const src = f.src;
    for (let i = from; i < to; i++) {
      if (src[i] === 0x0a) {
        f.line++;
        f.lineStart = i + 1;
      }
    }
    f.pos = to;
  }

  next(): Token {
    for (;;) {
      const f = this.frames[this.frames.length - 1]!;
      const src = f.src;
      const len = src.length;
      let p = f.pos;

      // Whitespace and comments.
      while (p < len) {
        const c = src[p]!;
        if (c === 0x0a) {
          f.line++;
          f.lineStart = ++p;
        } else if (SPACE[c]) {
          p++;
        } else if (c === 0x2f && src[p + 1] === 0x2a) {
          const close = findCommentEnd(src, p + 2);
          if (close < 0) {
            f.pos = p;
            this.report.fatal(this.posAt(f, p), 'unterminated comment: no */ before the end of the file');
          }
          this.advance(f, p, close);
          p = close;
        } else if (c === 0x2f && src[p + 1] === 0x2f) {
          while (p < len && src[p] !== 0x0a) p++;
        } else if (c === 0x23 && p === f.lineStart && this.lineMarker(f, p)) {
          p = f.pos;
        } else {
          break;
        }
      }
      f.pos = p;

      if (p >= len) {
        if (this.frames.length > 1) {
          this.frames.pop();
          continue;
        }
        return this.token('eof', f, p, p);
      }

      const c = src[p]!;

      if (c === 0x2f) {
        if (matchAt(src, p, INCLUDE)) {
          this.include(f, p);
          continue;
        }
        const t = this.slashKeyword(f, p);
        if (t) return t;
      }

      if (c === 0x22) return this.string(f, p);
      if (c === 0x27) return this.charLiteral(f, p);

      // A label: an identifier directly followed by ':' (the longest match in every mode).
      if (LABEL_START[c]) {
        let e = p + 1;
        while (e < len && LABEL_CHAR[src[e]!]) e++;
        if (src[e] === 0x3a) {
          const t = this.token('label', f, p, e + 1);
          t.name = this.names.get(src, p, e);
          f.pos = e + 1;
          return t;
        }
      }

      if (c === 0x26) {
        const t = this.reference(f, p);
        if (t) return t;
      }

      if (this.mode === 'bytes') {
        if (HEX[c] && p + 1 < len && HEX[src[p + 1]!]) {
          const t = this.token('byte', f, p, p + 2);
          t.value = (hexValue(c) << 4) | hexValue(src[p + 1]!);
          f.pos = p + 2;
          return t;
        }
        if (c === 0x5d) {
          this.mode = 'v1';
          f.pos = p + 1;
          return this.token(']', f, p, p + 1);
        }
      } else if (this.mode === 'name') {
        const start = c === 0x5c && PROPNODECHAR[src[p + 1] ?? 0] ? p + 1 : p;
        if (PROPNODECHAR[src[start]!]) {
          let e = start + 1;
          while (e < len && PROPNODECHAR[src[e]!]) e++;
          const t = this.token('name', f, p, e);
          t.name = this.names.get(src, start, e);
          f.pos = e;
          this.mode = 'v1';
          return t;
        }
      } else if (DIGIT[c]) {
        return this.literal(f, p);
      }

      if (p + 1 < len) {
        const two = String.fromCharCode(c, src[p + 1]!);
        if (TWO_CHAR_OPS.has(two)) {
          f.pos = p + 2;
          return this.token(two, f, p, p + 2);
        }
      }

      // Any other character is a token of its own; some of them change the mode.
      const ch = String.fromCharCode(c);
      if (c === 0x5b) this.mode = 'bytes';
      else if (c === 0x7b || c === 0x3b) this.mode = 'name';
      f.pos = p + 1;
      if (c >= 0x80) {
        // A UTF-8 sequence outside a string: one token, so that messages show the character.
        let e = p + 1;
        while (e < len && (src[e]! & 0xc0) === 0x80) e++;
        f.pos = e;
        return this.token(latin1OrUtf8(src, p, e), f, p, e);
      }
      return this.token(ch, f, p, p + 1);
    }
  }

  private slashKeyword(f: Frame, p: number): Token | undefined {
    const src = f.src;
    for (const [word, kind, mode] of SLASH_KEYWORDS) {
      if (matchAt(src, p, word)) {
        f.pos = p + word.length;
        if (mode) this.mode = mode;
        return this.token(kind, f, p, f.pos);
      }
    }
    // /incbin/ is not a keyword inside a name or a byte string (dtc's rule has no <*>).
    if (this.mode === 'v1' && matchAt(src, p, INCBIN)) {
      f.pos = p + INCBIN.length;
      return this.token('incbin', f, p, f.pos);
    }
    return undefined;
  }

  /** `/include/ "file"`: continue in that file, then come back. */
  private include(f: Frame, p: number): void {
    const src = f.src;
    const at = this.posAt(f, p);
    let q = p + INCLUDE.length;
    while (q < src.length && SPACE[src[q]!]) q++;
    if (src[q] !== 0x22) {
      this.report.fatal(at, 'expected a quoted file name after /include/');
    }
    const close = findStringEnd(src, q + 1);
    if (close < 0) this.report.fatal(this.posAt(f, q), 'unterminated string');
    const nameBytes = decodeEscapes(src, q + 1, close, () => {});
    const name = latin1OrUtf8(nameBytes, 0, nameBytes.length);
    this.advance(f, p, close + 1);
    if (this.frames.length >= MAX_INCLUDE_DEPTH) {
      this.report.fatal(at, `/include/ "${name}": includes nested too deeply (more than ${MAX_INCLUDE_DEPTH} levels)`);
    }
    const opened = this.opener.open(name, f.file.dir);
    if (!opened.ok) this.report.fatal(at, `/include/ "${name}": ${opened.reason}`);
    const cycle = this.frames.findIndex((fr) => fr.file.key === opened.file.key);
    if (cycle >= 0) {
      const chain = [...this.frames.slice(cycle).map((fr) => fr.file.name), opened.file.name].join(' -> ');
      this.report.fatal(at, `/include/ "${name}": include cycle (${chain})`);
    }
    this.frames.push(this.frameOf(opened.file));
  }

  /** cpp's line markers (`# 12 "file.dts" 1`, `#line 12 "file.dts"`), as dtc honours them. */
  private lineMarker(f: Frame, p: number): boolean {
    const src = f.src;
    let q = p + 1;
    if (src[q] === 0x6c && src[q + 1] === 0x69 && src[q + 2] === 0x6e && src[q + 3] === 0x65) q += 4;
    const ws = (): number => {
      const s = q;
      while (src[q] === 0x20 || src[q] === 0x09) q++;
      return q - s;
    };
    if (ws() === 0) return false;
    const numStart = q;
    while (DIGIT[src[q] ?? 0]) q++;
    if (q === numStart) return false;
    const lineNo = Number(latin1OrUtf8(src, numStart, q));
    if (ws() === 0 || src[q] !== 0x22) return false;
    const close = findStringEnd(src, q + 1);
    if (close < 0) return false;
    const nameBytes = decodeEscapes(src, q + 1, close, () => {});
    q = close + 1;
    // Trailing flags (`1`, `3 4`); anything else means this is not a line marker.
    for (;;) {
      const save = q;
      if (ws() === 0) break;
      const s = q;
      while (DIGIT[src[q] ?? 0]) q++;
      if (q === s) {
        q = save;
        break;
      }
    }
    if (q < src.length && src[q] !== 0x0a && src[q] !== 0x0d) return false;
    if (nameBytes.includes(0)) this.report.error(this.posAt(f, p), 'nul in line number directive');
    f.name = latin1OrUtf8(nameBytes, 0, nameBytes.length);
    f.pos = q;
    // The marker names the number of the next line; the newline after it counts that line.
    f.line = lineNo - 1;
    return true;
  }

  private string(f: Frame, p: number): Token {
    const src = f.src;
    const close = findStringEnd(src, p + 1);
    if (close < 0) {
      f.pos = p;
      this.report.fatal(
        this.posAt(f, p),
        close === BACKSLASH_NEWLINE
          ? 'unterminated string: a backslash cannot escape a line break'
          : 'unterminated string: no closing \'"\' before the end of the file',
      );
    }
    const line = f.line;
    const lineStart = f.lineStart;
    const bytes = decodeEscapes(src, p + 1, close, (at) =>
      this.report.fatal(this.posAt(f, at), '\\x used with no following hex digits'),
    );
    this.advance(f, p, close + 1);
    const t = this.token('string', f, p, close + 1, line, lineStart);
    t.bytes = bytes;
    return t;
  }

  private charLiteral(f: Frame, p: number): Token {
    const src = f.src;
    let q = p + 1;
    while (q < src.length && src[q] !== 0x27) q += src[q] === 0x5c ? 2 : 1;
    if (q >= src.length) {
      f.pos = p;
      this.report.fatal(this.posAt(f, p), "unterminated character literal: no closing \"'\"");
    }
    const line = f.line;
    const lineStart = f.lineStart;
    const bytes = decodeEscapes(src, p + 1, q, (at) =>
      this.report.fatal(this.posAt(f, at), '\\x used with no following hex digits'),
    );
    this.advance(f, p, q + 1);
    const t = this.token('char', f, p, q + 1, line, lineStart);
    if (bytes.length === 0) {
      this.report.error(t, 'Empty character literal');
    } else {
      t.value = bytes[0]!;
      if (bytes.length > 1) this.report.error(t, `Character literal has ${bytes.length} characters instead of 1`);
    }
    return t;
  }

  /** `&label`, `&{/path}`, or undefined for a lone `&` (or `&&`). */
  private reference(f: Frame, p: number): Token | undefined {
    const src = f.src;
    const c = src[p + 1] ?? 0;
    if (LABEL_START[c]) {
      let e = p + 2;
      while (e < src.length && LABEL_CHAR[src[e]!]) e++;
      const t = this.token('labelref', f, p, e);
      t.name = this.names.get(src, p + 1, e);
      f.pos = e;
      return t;
    }
    if (c === 0x7b && src[p + 2] === 0x2f) {
      let e = p + 3;
      while (e < src.length && PATHCHAR[src[e]!]) e++;
      if (src[e] !== 0x7d) {
        this.report.fatal(
          this.posAt(f, e),
          `bad path reference: expected '}' after '${latin1OrUtf8(src, p, e)}' (a path holds letters, digits, ",._+*#?@-" and '/')`,
        );
      }
      const t = this.token('pathref', f, p, e + 1);
      t.name = this.names.get(src, p + 2, e);
      f.pos = e + 1;
      return t;
    }
    return undefined;
  }

  /** `([0-9]+|0[xX][0-9a-fA-F]+)(U|L|UL|LL|ULL)?`, read as strtoull(…, 0) reads it. */
  private literal(f: Frame, p: number): Token {
    const src = f.src;
    const len = src.length;
    let e = p;
    let hex = false;
    if (src[p] === 0x30 && (src[p + 1] === 0x78 || src[p + 1] === 0x58) && HEX[src[p + 2] ?? 0]) {
      hex = true;
      e = p + 2;
      while (e < len && HEX[src[e]!]) e++;
    } else {
      while (e < len && DIGIT[src[e]!]) e++;
    }
    const digitsEnd = e;
    for (const suffix of ['ULL', 'UL', 'LL', 'U', 'L']) {
      if (matchText(src, e, suffix)) {
        e += suffix.length;
        break;
      }
    }
    f.pos = e;
    const t = this.token('literal', f, p, e);
    let radix: number;
    let from: number;
    if (hex) {
      radix = 16;
      from = p + 2;
    } else if (src[p] === 0x30 && digitsEnd - p > 1) {
      radix = 8;
      from = p + 1;
      for (let i = from; i < digitsEnd; i++) {
        if (src[i]! > 0x37) {
          this.report.error(t, `Bad integer literal '${t.text}'`);
          return t;
        }
      }
    } else {
      radix = 10;
      from = p;
    }
    const safeDigits = radix === 16 ? 13 : radix === 8 ? 17 : 15;
    if (radix !== 8 && digitsEnd - p <= 9) {
      // Short decimal or hex literals (nearly all of them): read straight from the bytes.
      let v = 0;
      for (let i = hex ? p + 2 : p; i < digitsEnd; i++) v = v * radix + hexValue(src[i]!);
      t.value = v;
    } else if (digitsEnd - from <= safeDigits) {
      t.value = parseInt(latin1OrUtf8(src, from, digitsEnd), radix);
    } else {
      const digits = latin1OrUtf8(src, from, digitsEnd);
      const prefix = radix === 16 ? '0x' : radix === 8 ? '0o' : '';
      const v = BigInt(prefix + digits);
      if (v > MAX_U64) this.report.error(t, `Integer literal '${t.text}' out of range`);
      t.value = v > MAX_U64 ? MAX_U64 : v;
    }
    return t;
  }
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10;
}

function matchAt(src: Uint8Array, p: number, word: Uint8Array): boolean {
  if (p + word.length > src.length) return false;
  for (let i = 0; i < word.length; i++) if (src[p + i] !== word[i]) return false;
  return true;
}

function matchText(src: Uint8Array, p: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) if (src[p + i] !== word.charCodeAt(i)) return false;
  return true;
}

/** The index just past the star-slash that closes a comment, or -1. */
function findCommentEnd(src: Uint8Array, from: number): number {
  for (let i = from; i + 1 < src.length; i++) if (src[i] === 0x2a && src[i + 1] === 0x2f) return i + 2;
  return -1;
}

const BACKSLASH_NEWLINE = -2;

/**
 * The index of the closing quote of a string whose text starts at `from`; -1 at the end of the file. A backslash
 * escapes the next character but not a line break (dtc's `\\.` does not match one): that is BACKSLASH_NEWLINE.
 */
function findStringEnd(src: Uint8Array, from: number): number {
  for (let i = from; i < src.length; i++) {
    const c = src[i];
    if (c === 0x22) return i;
    if (c === 0x5c) {
      if (i + 1 >= src.length) return -1;
      if (src[i + 1] === 0x0a) return BACKSLASH_NEWLINE;
      i++;
    }
  }
  return -1;
}

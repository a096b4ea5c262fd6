// Tokens of dtc's source language, with where they start, and how a message names them.
import type { SourcePosition } from './dts-error';

/**
 * Keyword and value tokens have names; operators are their text (`<<`, `&&`, ...); any other single character is
 * a token of its own whose kind is that character (`{`, `;`, `<`, ...), as in dtc's lexer.
 */
export type TokenKind =
  | 'v1' // /dts-v1/
  | 'plugin' // /plugin/
  | 'memreserve' // /memreserve/
  | 'bits' // /bits/
  | 'delprop' // /delete-property/
  | 'delnode' // /delete-node/
  | 'omit' // /omit-if-no-ref/
  | 'incbin' // /incbin/
  | 'label' // name:
  | 'literal' // 12, 0x1f, 017, 1ULL
  | 'char' // 'a'
  | 'labelref' // &name
  | 'pathref' // &{/path}
  | 'byte' // two hex digits inside [ ]
  | 'string' // "..."
  | 'name' // a property or node name
  | 'eof'
  | string;

export class Token implements SourcePosition {
  /** Integer value of a literal, character literal or byte (a bigint only above 2^53). */
  value: number | bigint = 0;
  /** A string's bytes (escapes decoded, no terminating NUL). */
  bytes: Uint8Array | undefined = undefined;
  /** A label, reference or name (a path reference's path, without `&{` and `}`). */
  name = '';

  constructor(
    readonly kind: TokenKind,
    readonly file: string,
    readonly line: number,
    readonly column: number,
    /** Directory of the file the token came from (where /incbin/ looks first). */
    readonly dir: string | undefined,
    private readonly src: Uint8Array,
    readonly start: number,
    readonly end: number,
  ) {}

  /** The source text of the token (for messages). */
  get text(): string {
    return latin1OrUtf8(this.src, this.start, this.end);
  }
}

const utf8d = new TextDecoder();

/** Text of a byte range: ASCII the fast way, anything else as UTF-8. */
export function latin1OrUtf8(src: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      if (c >= 0x80) return utf8d.decode(src.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8d.decode(src.subarray(start, end));
}

const KEYWORDS: Record<string, string> = {
  v1: '/dts-v1/',
  plugin: '/plugin/',
  memreserve: '/memreserve/',
  bits: '/bits/',
  delprop: '/delete-property/',
  delnode: '/delete-node/',
  omit: '/omit-if-no-ref/',
  incbin: '/incbin/',
};

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** How an error message names a token: `'}'`, `name 'reg'`, `string "abc"`, `end of input`. */
export function describeToken(t: Token): string {
  const kw = KEYWORDS[t.kind];
  if (kw) return kw;
  switch (t.kind) {
    case 'eof':
      return 'end of input';
    case 'label':
      return `label '${t.name}:'`;
    case 'literal':
      return `number ${t.text}`;
    case 'char':
      return `character literal ${t.text}`;
    case 'labelref':
    case 'pathref':
      return `reference ${t.text}`;
    case 'byte':
      return `byte ${t.text}`;
    case 'string':
      return `string ${clip(t.text)}`;
    case 'name':
      return `name '${t.name}'`;
    default:
      return `'${t.text}'`;
  }
}

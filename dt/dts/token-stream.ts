// The parser's view of the token stream: one token of lookahead, and how syntax errors are worded
// (the token found, what was expected) and reported (collected, or fatal).
import { diagnostic, DtsError, type DtsDiagnostic, type SourcePosition } from './dts-error';
import type { Lexer } from './lexer';
import { describeToken, type Token } from './token';

export const NO_TOKENS: readonly Token[] = Object.freeze([]);

/** Names cpp would have handled: seen in a source, they mean it was not preprocessed. */
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

export function isCppDirective(name: string): boolean {
  return CPP_DIRECTIVES.has(name);
}

export class TokenStream {
  protected tok: Token;

  constructor(
    private readonly lexer: Lexer,
    protected readonly errors: DtsDiagnostic[],
  ) {
    this.tok = lexer.next();
  }

  protected advance(): Token {
    const t = this.tok;
    this.tok = this.lexer.next();
    return t;
  }

  protected error(pos: SourcePosition, message: string): void {
    this.errors.push(diagnostic(pos, 'error', message));
  }

  protected fatal(pos: SourcePosition, message: string): never {
    throw new DtsError([...this.errors, diagnostic(pos, 'error', message)]);
  }

  /** A syntax error at the current token: what was expected, and what was found. */
  protected unexpected(expected: string): never {
    const t = this.tok;
    if (t.kind === 'name' && isCppDirective(t.name)) this.cppDirective(t);
    this.fatal(t, `expected ${expected}, found ${describeToken(t)}`);
  }

  protected cppDirective(t: Token): never {
    this.fatal(t, `C preprocessor directive '${t.name}': dtc's language has no ${t.name}; run the source through cpp first (or use /include/)`);
  }

  protected expect(kind: string, what = `'${kind}'`): Token {
    if (this.tok.kind !== kind) this.unexpected(what);
    return this.advance();
  }

  protected labels(): readonly Token[] {
    if (this.tok.kind !== 'label') return NO_TOKENS;
    const out: Token[] = [];
    while (this.tok.kind === 'label') out.push(this.advance());
    return out;
  }

  /** The current token's kind is `kind` (a call, so that TypeScript does not narrow across advance()). */
  protected is(kind: string): boolean {
    return this.tok.kind === kind;
  }

  protected isRef(): boolean {
    return this.tok.kind === 'labelref' || this.tok.kind === 'pathref';
  }
}

// Many consoles on one terminal, as `docker compose logs` shows services: each line prefixed with its
// source's name, padded to a common width and coloured per source. Bytes arrive in arbitrary chunks:
// each source keeps its partial line (and a partial UTF-8 sequence) until the newline comes, and a
// line longer than MAX_LINE is cut so one chatty VM cannot grow the buffer without bound.

/** Compose's palette order: cyan, yellow, green, magenta, blue, then the bright ones. */
const PALETTE = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94];
export const MAX_LINE = 4096;

export interface ConsoleMuxOptions {
  color: boolean;
  /** Known names (for the column width and stable colours); others are added as they come. */
  names: readonly string[];
}

interface Source {
  decoder: InstanceType<typeof TextDecoder>;
  partial: string;
  color: number;
}

/** Control characters other than tab are shown as ^X so a guest cannot drive the terminal. */
function sanitize(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => (c === '\x7f' ? '^?' : `^${String.fromCharCode(c.charCodeAt(0) + 64)}`));
}

export class ConsoleMux {
  private readonly sources = new Map<string, Source>();
  private width: number;
  /** Bytes received per source. */
  readonly bytes = new Map<string, number>();

  constructor(
    private readonly out: (text: string) => void,
    private readonly opts: ConsoleMuxOptions,
  ) {
    this.width = Math.max(0, ...opts.names.map((n) => n.length));
    for (const n of opts.names) this.source(n);
  }

  private source(name: string): Source {
    let s = this.sources.get(name);
    if (!s) {
      s = { decoder: new TextDecoder('utf-8'), partial: '', color: PALETTE[this.sources.size % PALETTE.length]! };
      this.sources.set(name, s);
      this.width = Math.max(this.width, name.length);
    }
    return s;
  }

  prefix(name: string): string {
    const s = this.source(name);
    const label = `${name.padEnd(this.width)} |`;
    return this.opts.color ? `\x1b[${s.color}m${label}\x1b[0m ` : `${label} `;
  }

  /** A whole line from `name` (no newline). */
  line(name: string, text: string): void {
    this.out(`${this.prefix(name)}${sanitize(text)}\n`);
  }

  write(name: string, bytes: Uint8Array): void {
    const s = this.source(name);
    this.bytes.set(name, (this.bytes.get(name) ?? 0) + bytes.length);
    let text = s.partial + s.decoder.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      this.line(name, text.slice(0, nl).replace(/\r$/, ''));
      text = text.slice(nl + 1);
    }
    while (text.length > MAX_LINE) {
      this.line(name, text.slice(0, MAX_LINE));
      text = text.slice(MAX_LINE);
    }
    s.partial = text;
  }

  /** The source ended: print what is left of its last line. */
  end(name: string): void {
    const s = this.sources.get(name);
    if (!s) return;
    const rest = s.partial + s.decoder.decode();
    s.partial = '';
    if (rest.length > 0) this.line(name, rest.replace(/\r$/, ''));
  }
}

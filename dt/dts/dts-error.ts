// Diagnostics of the DTS compiler: where (file, 1-based line and column, as dtc counts them) and what.
import { DtError } from '../errors';

/** A place in a source file. Lines and columns are 1-based; a column counts bytes, a tab is one column (as dtc). */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export type DtsSeverity = 'error' | 'warning';

/** One error or warning of a compile. `check` names the dtc check that raised it, when one did. */
export interface DtsDiagnostic extends SourcePosition {
  readonly severity: DtsSeverity;
  readonly message: string;
  readonly check?: string;
}

/** `file:line:col: error: message`, the form compilers and editors understand. */
export function formatDiagnostic(d: DtsDiagnostic): string {
  const tag = d.check ? ` [${d.check}]` : '';
  return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}${tag}`;
}

export function diagnostic(
  pos: SourcePosition,
  severity: DtsSeverity,
  message: string,
  check?: string,
): DtsDiagnostic {
  const d = { file: pos.file, line: pos.line, column: pos.column, severity, message };
  return check === undefined ? d : { ...d, check };
}

/**
 * Source that does not compile. `message` is the first error formatted as `file:line:col: error: message`;
 * `diagnostics` holds every error found (dtc reports them all before giving up), then the warnings.
 */
export class DtsError extends DtError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly diagnostics: readonly DtsDiagnostic[];

  constructor(diagnostics: readonly DtsDiagnostic[]) {
    const first = diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0];
    if (!first) throw new RangeError('DtsError needs at least one diagnostic');
    super(formatDiagnostic(first));
    this.name = 'DtsError';
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.diagnostics = diagnostics;
  }

  /** The errors only, in the order they were found. */
  get errors(): DtsDiagnostic[] {
    return this.diagnostics.filter((d) => d.severity === 'error');
  }
}

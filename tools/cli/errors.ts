// How the CLI reports failure: one line on stderr and a status, never a stack trace unless --debug.

/** An error meant for a person: printed as-is (one line), then the process exits with `status`. */
export class CliError extends Error {
  constructor(message: string, readonly status = 1) {
    super(message);
    this.name = 'CliError';
  }
}

let debug = false;
export function setDebug(on: boolean): void {
  debug = on;
}

/** Print an error the way the CLI does and return the exit status to use. */
export function reportError(err: unknown, prefix = 'gunyah'): number {
  if (debug && err instanceof Error && err.stack) {
    process.stderr.write(`${err.stack}\n`);
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${prefix}: ${msg.split('\n')[0]}\n`);
  }
  return err instanceof CliError ? err.status : 1;
}

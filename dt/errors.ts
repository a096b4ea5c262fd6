// Typed errors of the device-tree layer: a bad blob, bad source, or a misused tree API.

/** Base of every error dt/ throws on purpose. */
export class DtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DtError';
  }
}

/** A flattened blob that is malformed, truncated, or over a limit; `offset` is the byte offset at fault. */
export class DtbError extends DtError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte offset ${offset})`);
    this.name = 'DtbError';
  }
}

/** A tree operation that would make an invalid tree (duplicate child, bad name, missing node). */
export class DtTreeError extends DtError {
  constructor(message: string) {
    super(message);
    this.name = 'DtTreeError';
  }
}

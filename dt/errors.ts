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

/**
 * A device-tree query met content it cannot use: `code` is the errno Linux's of_* helpers return in the
 * same case (EINVAL: malformed, ENODATA: empty value, EOVERFLOW: value too short, ENOENT: a phandle or
 * node that does not exist).
 */
export class DtQueryError extends DtError {
  constructor(
    readonly code: 'EINVAL' | 'ENODATA' | 'EOVERFLOW' | 'ENOENT',
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'DtQueryError';
  }
}

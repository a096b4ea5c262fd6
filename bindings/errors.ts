// Typed errors of the bindings layer: a schema file that cannot be read, parsed, or compiled.

/** A binding schema (or the schema directory) is unusable; `file` names the schema file at fault. */
export class BindingError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'BindingError';
  }
}

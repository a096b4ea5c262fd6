// bindings/: devicetree binding schemas (YAML, dt-schema form) and the validator that applies them.
export { loadBindings, DEFAULT_SCHEMA_DIR, checkSchemaFile } from './load';
export { BindingSet, type BindingSchema, type ValidateOptions } from './binding-set';
export { BindingError } from './errors';
export { formatViolation, type Violation } from './violation';
export type { NodeInstance } from './instance';
export { exampleSources, type ExampleSource } from './examples';

// What a failed check reports, and the one-line form `gunyah dt check` prints.

/** One rule a node breaks, as dtbs_check reports it. */
export interface Violation {
  /** Path of the node at fault (`/cpus/cpu@0`). */
  path: string;
  /** The property at fault, when the rule is about one (`reg`, `$nodename` for the node's name). */
  property?: string;
  /** The rule: the schema location of the failing keyword (`properties/reg/maxItems`). */
  rule: string;
  /** `$id` of the schema the node was checked against. */
  schemaId: string;
  /** What is wrong, for a person. */
  message: string;
}

/** `<path>: <property>: <message> (<schema id>: <rule>)`, the property part left out when there is none. */
export function formatViolation(v: Violation): string {
  const prop = v.property !== undefined ? `${v.property}: ` : '';
  return `${v.path}: ${prop}${v.message} (${v.schemaId}: ${v.rule})`;
}

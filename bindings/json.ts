// JSON values as the schemas and the decoded node instances hold them.

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A deep copy of a JSON value. */
export function cloneJson<T extends Json>(v: T): T {
  return structuredClone(v);
}

// Capability lookups for handlers, in the caller's cspace, reading the cap ID from a register.
import { ObjectState, type ObjectType } from '../abi/objects';
import { GhError } from '../abi/errors';
import type { KObject } from '../objects/kobject';
import { ANY_TYPE } from '../objects/cspace';
import type { Vcpu } from '../vm/vcpu';
import type { Regs } from './regs';

/** Look up the cap in x[i]: an object, or an error code (spec §4 order). */
export function cap<T extends KObject = KObject>(v: Vcpu, r: Regs, i: number, type: ObjectType, rights: number, activeOnly = true): T | number {
  return v.cspace!.lookup(r[2 * i]!, r[2 * i + 1]!, type, rights, activeOnly) as T | number;
}

/**
 * The "configure" lookup: any type with Object Activate, then the type check, then INIT
 * (cspace_lookup_object_any + WRONG_OBJECT_TYPE + OBJECT_STATE, as every configure call does).
 */
export function capInit<T extends KObject>(v: Vcpu, r: Regs, i: number, type: ObjectType, rights: number): T | number {
  const o = v.cspace!.lookup(r[2 * i]!, r[2 * i + 1]!, ANY_TYPE, rights, false);
  if (typeof o === 'number') return o;
  if (o.type !== type) return GhError.CSPACE_WRONG_OBJECT_TYPE;
  return o as T;
}

/** OBJECT_STATE unless `o` is in INIT. */
export function inInit(o: KObject): number {
  return o.state === ObjectState.INIT ? GhError.OK : GhError.OBJECT_STATE;
}

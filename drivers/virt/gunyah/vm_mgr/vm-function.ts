// VM functions (vm_mgr.c's function registry, DECLARE_GH_VM_FUNCTION_INIT): the vcpu, irqfd and
// ioeventfd drivers contribute themselves by type through the GhVmFunction token (multi-injection),
// and each GH_VM_ADD_FUNCTION creates an instance bound to one VM.
import type { IoContext } from '../../../../core/index';
import type { GhVm } from './vm';

export interface GhVmFunctionInstance {
  readonly vm: GhVm;
  readonly fn: GhVmFunction;
  /** The argument copied from userspace (arg_size bytes). */
  readonly arg: Uint8Array;
  /** The driver's per-instance data. */
  data: unknown;
}

/** struct gh_vm_function. */
export const GhVmFunction = Symbol('GhVmFunction');
export interface GhVmFunction {
  /** GH_FN_* type. */
  readonly type: number;
  readonly name: string;
  /** Returns the ioctl's result (the vcpu function: a new fd). Throws Errno. */
  bind(inst: GhVmFunctionInstance, ctx: IoContext): Promise<number> | number;
  unbind(inst: GhVmFunctionInstance): Promise<void> | void;
  /** Whether `arg` (from GH_VM_REMOVE_FUNCTION) names this instance. */
  compare(inst: GhVmFunctionInstance, arg: Uint8Array): boolean;
}

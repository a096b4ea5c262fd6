// VM_SET_BOOT_CONTEXT (0x56000031; the open-source RM's VM_SET_CONTEXT, defined there but unhandled):
// a gunyah-ts extension so that Linux v17's GUNYAH_VM_SET_BOOT_CONTEXT works. The owner sets boot
// registers of a VM in READY (after VM_INIT, before VM_START, as the v17 driver sends them); VM_START
// writes them into the boot vCPU with vcpu_register_write before powering it on, a PC replacing the
// entry point and X0 replacing the DT address.
import { RmMsg } from '../abi/message-ids';
import { RmErr, RmError } from '../abi/rm-error';
import { VmState } from '../abi/vm-state';
import type { ResourceManager } from '../resource-manager';

/** Register sets (vcpu_register_write's): X0..X30, PC, SP_EL0/SP_EL1. */
export const BootRegSet = { X: 0, PC: 1, SP: 2 } as const;
/** Registers a VM may have set (every X, PC, both SPs). */
const MAX_BOOT_REGS = 34;

export const bootRegKey = (set: number, index: number): number => (set << 8) | index;

export function registerBootContext(rm: ResourceManager): void {
  rm.rpc.handle(RmMsg.VM_SET_CONTEXT, (req) => {
    if (req.body.remaining !== 16) throw new RmError(RmErr.MSG_INVALID, `payload of ${req.body.remaining} bytes, expected 16`);
    const vm = rm.vms.require(req.body.u16('vmid'));
    const set = req.body.u8('reg_set');
    const index = req.body.u8('reg_index');
    req.body.u32('reserved');
    const value = req.body.u64('value');
    if (req.client !== vm.owner) throw new RmError(RmErr.DENIED, 'not the owner');
    if (vm.state !== VmState.READY) throw new RmError(RmErr.VM_STATE, 'boot registers are set between VM_INIT and VM_START');
    const ok = (set === BootRegSet.X && index <= 30) || (set === BootRegSet.PC && index === 0 && (value & 3n) === 0n) || (set === BootRegSet.SP && index <= 1);
    if (!ok) throw new RmError(RmErr.ARGUMENT_INVALID, `register set ${set} index ${index}`);
    vm.bootContext ??= new Map();
    if (vm.bootContext.size >= MAX_BOOT_REGS && !vm.bootContext.has(bootRegKey(set, index))) throw new RmError(RmErr.NORESOURCE, 'too many boot registers');
    vm.bootContext.set(bootRegKey(set, index), value);
  });
}

/** The boot vCPU's entry and context with the boot registers applied (the others written first). */
export async function applyBootContext(rm: ResourceManager, bootCap: bigint, ctx: Map<number, bigint> | undefined, entry: bigint, x0: bigint): Promise<{ entry: bigint; x0: bigint }> {
  if (!ctx) return { entry, x0 };
  for (const [key, value] of ctx) {
    if (key === bootRegKey(BootRegSet.PC, 0) || key === bootRegKey(BootRegSet.X, 0)) continue;
    await rm.hyp.vcpuRegisterWrite(bootCap, key >> 8, key & 0xff, value);
  }
  return { entry: ctx.get(bootRegKey(BootRegSet.PC, 0)) ?? entry, x0: ctx.get(bootRegKey(BootRegSet.X, 0)) ?? x0 };
}

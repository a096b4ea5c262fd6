// The smaller services (spec §15): firmware milestones and images, VM firmware memory, the time
// base of a VM's vRTC, and IPA reservations (RM's vm_firmware.c, vm_mgnt.c, vm_ipa.c).
import { RmMsg } from '../abi/message-ids';
import { RmErr, RmError } from '../abi/rm-error';
import { AuthType, VmState, Vmid } from '../abi/vm-state';
import type { ResourceManager } from '../resource-manager';
import { RmErrorWithData, type RmRequest } from '../server/rpc-server';
import { PayloadWriter } from '../wire/payload-writer';

/** GH_ERROR_ARGUMENT_INVALID, the hypervisor error VM_SET_TIME_BASE/SET_FIRMWARE_MEM report by default. */
const HYP_ARGUMENT_INVALID = 1;
/** IPA_RESERVE lists hold at most 30 entries (vm_ipa.c's MAX_LIST_ENTRIES). */
export const IPA_RESERVE_MAX = 30;
export const IpaReserveType = { FIXED_LIST: 0, ALLOC_LIST: 1 } as const;
/** Generic constraint bits (vm_ipa_message.h): ECC .. base-memory-compatible. */
const IPA_GENERIC_KNOWN = 0x7f;

/** Errors of these two requests carry the hypervisor's error word after the RM's (rm_reply_error). */
async function withHypError<T>(f: () => Promise<T> | T): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof RmError && !(e instanceof RmErrorWithData)) {
      throw new RmErrorWithData(e.code, new PayloadWriter(4).u32(HYP_ARGUMENT_INVALID).finish(), e.message);
    }
    throw e;
  }
}

export function registerMiscHandlers(rm: ResourceManager): void {
  const rpc = rm.rpc;
  let firmwareLoadingDisabled = false;
  let androidFirmware: { handle: number; size: bigint } | undefined;

  rpc.handle(RmMsg.FW_MILESTONE, (req) => {
    if (firmwareLoadingDisabled || req.client !== Vmid.HLOS) throw new RmError(RmErr.DENIED, 'firmware loading is over, or not the primary VM');
    if (req.body.remaining !== 0) throw new RmError(RmErr.MSG_INVALID, 'payload must be empty');
    firmwareLoadingDisabled = true;
  });

  rpc.handle(RmMsg.FW_SET_VM_FIRMWARE, (req) => {
    if (firmwareLoadingDisabled || req.client !== Vmid.HLOS) throw new RmError(RmErr.DENIED, 'firmware loading is over, or not the primary VM');
    if (req.body.remaining !== 24) throw new RmError(RmErr.MSG_INVALID, 'payload must be 24 bytes');
    const auth = req.body.u16('auth_type');
    const res0 = req.body.u16();
    const handle = req.body.u32('handle');
    const offset = req.body.u64('offset');
    const size = req.body.u64('size');
    if (res0 !== 0) throw new RmError(RmErr.UNIMPLEMENTED, 'reserved field set');
    if (auth !== AuthType.ANDROID) throw new RmError(RmErr.ARGUMENT_INVALID, 'only the Android pVM firmware exists');
    if (androidFirmware) throw new RmError(RmErr.BUSY, 'firmware already set');
    const mp = rm.memparcels.get(handle);
    if (!mp || !mp.acl.some((a) => a.vmid === Vmid.RM)) throw new RmError(RmErr.HANDLE_INVALID, 'no memparcel for the RM');
    if (size === 0n || offset !== 0n || size > mp.totalSize) throw new RmError(RmErr.ARGUMENT_INVALID, 'firmware range');
    androidFirmware = { handle, size };
  });

  rpc.handle(RmMsg.VM_SET_FIRMWARE_MEM, (req) =>
    withHypError(() => {
      if (req.body.remaining !== 24) throw new RmError(RmErr.MSG_INVALID, 'payload must be 24 bytes');
      const target = req.body.u16('vmid');
      if (req.body.u16() !== 0) throw new RmError(RmErr.MSG_INVALID, 'reserved field set');
      const handle = req.body.u32('handle');
      const offset = req.body.u64('fw_offset');
      const size = req.body.u64('fw_size');
      const vm = rm.vms.get(target);
      if (!vm) throw new RmError(RmErr.NORESOURCE, `no VM ${target}`);
      if (!rm.vms.queryAllowed(vm, req.client)) throw new RmError(RmErr.DENIED, 'not self, owner or peer');
      if (vm.state !== VmState.INIT) throw new RmError(RmErr.VM_STATE, 'VM is not in INIT');
      const mp = rm.memparcels.get(handle);
      if (!mp || !mp.acl.some((a) => a.vmid === vm.vmid)) throw new RmError(RmErr.MEM_INVALID, 'memparcel does not target the VM');
      if (size === 0n || offset + size > mp.totalSize) throw new RmError(RmErr.ARGUMENT_INVALID, 'firmware range outside the memparcel');
      vm.firmware = { handle, offset, size };
    }),
  );

  rpc.handle(RmMsg.VM_SET_TIME_BASE, (req) =>
    withHypError(() => {
      if (req.body.remaining !== 20) throw new RmError(RmErr.MSG_INVALID, 'payload must be 20 bytes');
      const id = req.body.u16('vmid');
      const vm = rm.vms.get(id === 0 ? req.client : id);
      if (!vm) throw new RmError(RmErr.NORESOURCE, `no VM ${id}`);
      if (!rm.vms.queryAllowed(vm, req.client)) throw new RmError(RmErr.DENIED, 'not self, owner or peer');
      if (vm.state !== VmState.INIT && vm.state !== VmState.READY) throw new RmError(RmErr.VM_STATE, 'VM is not in INIT or READY');
      // The QEMU featureset has no vRTC object: there is no time base to set.
      throw new RmError(RmErr.ARGUMENT_INVALID, 'the VM has no vRTC');
    }),
  );

  rpc.handle(RmMsg.IPA_RESERVE, (req: RmRequest) => {
    const vm = rm.vm(req.client);
    if (!vm.objects) throw new RmError(RmErr.DENIED, 'VM has no address space yet');
    if (req.body.remaining < 12) throw new RmError(RmErr.MSG_INVALID, 'payload shorter than its header');
    const type = req.body.u8('alloc_type');
    req.body.skip(3);
    const generic = req.body.u32('generic_constraints');
    const platform = req.body.u32('platform_constraints');
    if (type !== IpaReserveType.FIXED_LIST && type !== IpaReserveType.ALLOC_LIST) throw new RmError(RmErr.MSG_INVALID, `alloc_type ${type}`);
    if ((generic & ~IPA_GENERIC_KNOWN) !== 0 || platform !== 0) throw new RmError(RmErr.ARGUMENT_INVALID, 'unknown constraints');
    const entrySize = type === IpaReserveType.FIXED_LIST ? 16 : 32;
    const { count, entries } = req.body.list(entrySize, 'IPA range', IPA_RESERVE_MAX);
    if (req.body.remaining !== 0) throw new RmError(RmErr.MSG_INVALID, 'trailing bytes');
    const done: { base: bigint; size: bigint }[] = [];
    const undo = () => done.forEach((d) => vm.ipa.remove(d.base, d.size));
    for (let i = 0; i < count; i++) {
      let base: bigint;
      let size: bigint;
      if (type === IpaReserveType.FIXED_LIST) {
        base = entries.u64();
        size = entries.u64();
      } else {
        const regionBase = entries.u64();
        const regionSize = entries.u64();
        size = entries.u64();
        const align = entries.u64();
        const b = align > 0n && (align & (align - 1n)) === 0n ? vm.ipa.findFree(size, align, regionBase, regionBase + regionSize) : undefined;
        if (b === undefined) {
          undo();
          throw new RmError(RmErr.DENIED, 'no room in the region');
        }
        base = b;
      }
      if (size === 0n || base % 4096n !== 0n || size % 4096n !== 0n || !vm.ipa.insert(base, size, { kind: 'reserved' })) {
        undo();
        throw new RmError(RmErr.DENIED, `IPA range 0x${base.toString(16)}+0x${size.toString(16)} is not free`);
      }
      done.push({ base, size });
    }
    if (type === IpaReserveType.FIXED_LIST) return undefined;
    const w = new PayloadWriter(4 + done.length * 8).u32(done.length);
    for (const d of done) w.u64(d.base);
    return w.finish();
  });
}

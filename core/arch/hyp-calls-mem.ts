// Typed wrappers: address spaces and memory extents (spec §11; encodings in linux-drivers.md §1.6).
import { HypercallInvoker, type CapId, type Ipa } from './hypercall-abi';

/** Access rights (bits 2:0 of memextent attrs, user/kernel fields of map attrs). */
export const PGACCESS = { NONE: 0, X: 1, W: 2, R: 4, RX: 5, RW: 6, RWX: 7 } as const;

/** addrspace_map flags. */
export const ADDRSPACE_MAP_FLAG = { PARTIAL: 1n << 0n, PRIVATE: 1n << 1n, VMMIO: 1n << 2n, NOSYNC: 1n << 31n } as const;

/** memextent_donate option types (bits 7:0); bit 31 is NOSYNC. */
export const MEMEXTENT_DONATE = { TO_CHILD: 0, TO_PARENT: 1, TO_SIBLING: 2, TO_PROTECTED: 3, FROM_PROTECTED: 4 } as const;

export interface AddrspaceLookup {
  offset: bigint;
  size: bigint;
  mapAttrs: bigint;
}

export class HypMemCalls {
  constructor(private readonly h: HypercallInvoker) {}

  addrspaceConfigure(as: CapId, vmid: number): Promise<unknown> {
    return this.h.checked('addrspace_configure', [as, BigInt(vmid & 0xffff)]);
  }

  addrspaceAttachThread(as: CapId, thread: CapId): Promise<unknown> {
    return this.h.checked('addrspace_attach_thread', [as, thread]);
  }

  addrspaceAttachVdma(as: CapId, dma: CapId, index: number): Promise<unknown> {
    return this.h.checked('addrspace_attach_vdma', [as, dma, BigInt(index)]);
  }

  addrspaceAttachVdevice(as: CapId, vdev: CapId, index: number, vbase: Ipa, size: bigint, flags = 0n): Promise<unknown> {
    return this.h.checked('addrspace_attach_vdevice', [as, vdev, BigInt(index), vbase, size, flags]);
  }

  addrspaceConfigureInfoArea(as: CapId, infoMe: CapId, ipa: Ipa): Promise<unknown> {
    return this.h.checked('addrspace_configure_info_area', [as, infoMe, ipa]);
  }

  /** op 0 adds the VMMIO range, 1 removes it. */
  addrspaceConfigureVmmio(as: CapId, vbase: Ipa, size: bigint, op: 0 | 1): Promise<unknown> {
    return this.h.checked('addrspace_configure_vmmio', [as, vbase, size, BigInt(op)]);
  }

  addrspaceMap(as: CapId, me: CapId, vbase: Ipa, mapAttrs: bigint, mapFlags: bigint, offset: bigint, size: bigint): Promise<unknown> {
    return this.h.checked('addrspace_map', [as, me, vbase, mapAttrs, mapFlags, offset, size]);
  }

  addrspaceUnmap(as: CapId, me: CapId, vbase: Ipa, mapFlags: bigint, offset: bigint, size: bigint): Promise<unknown> {
    return this.h.checked('addrspace_unmap', [as, me, vbase, mapFlags, offset, size]);
  }

  addrspaceUpdateAccess(as: CapId, me: CapId, vbase: Ipa, accessAttrs: bigint, mapFlags: bigint, offset: bigint, size: bigint): Promise<unknown> {
    return this.h.checked('addrspace_update_access', [as, me, vbase, accessAttrs, mapFlags, offset, size]);
  }

  async addrspaceLookup(as: CapId, me: CapId, vbase: Ipa, size: bigint): Promise<AddrspaceLookup> {
    const [offset, sz, attrs] = await this.h.checked('addrspace_lookup', [as, me, vbase, size]);
    return { offset: offset!, size: sz!, mapAttrs: attrs! };
  }

  memextentConfigure(me: CapId, physBase: bigint, size: bigint, attrs: bigint): Promise<unknown> {
    return this.h.checked('memextent_configure', [me, physBase, size, attrs]);
  }

  memextentConfigureDerive(me: CapId, parent: CapId, offset: bigint, size: bigint, attrs: bigint): Promise<unknown> {
    return this.h.checked('memextent_configure_derive', [me, parent, offset, size, attrs]);
  }

  /** flags: op (0 UNMAP_ALL, 1 ZERO_RANGE, 2 CACHE_CLEAN, 3 CACHE_FLUSH, 255 SYNC_ALL) | NOSYNC bit 31. */
  memextentModify(me: CapId, flags: bigint, offset: bigint, size: bigint): Promise<unknown> {
    return this.h.checked('memextent_modify', [me, flags, offset, size]);
  }

  memextentDonate(options: bigint, from: CapId, to: CapId, offset: bigint, size: bigint): Promise<unknown> {
    return this.h.checked('memextent_donate', [options, from, to, offset, size]);
  }
}

// Memory ABI: page size, access encodings, memextent/addrspace attribute bitfields (spec §11).

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

/** pgtable_access: 0 none, 1 X, 2 W, 4 R and their unions. */
export const Access = { NONE: 0, X: 1, W: 2, R: 4, RX: 5, RW: 6, RWX: 7 } as const;

/** memextent_attrs fields. */
export const MemextentType = { BASIC: 0, SPARSE: 1 } as const;
export const MemextentMemtype = { ANY: 0, DEVICE: 1, UNCACHED: 2, CACHED: 3 } as const;
export const MEMEXTENT_ATTRS_RES0 = 0x7ffc_fc78; // bits 30:18, 15:10, 7:3
export const MEMEXTENT_ATTRS_APPEND = 0x8000_0000;

/** memextent_mapping_attrs: user access 2:0, kernel access 6:4, stage-2 memtype 23:16; the rest res0. */
export const MAPPING_ATTRS_RES0 = 0xff00_ff88;
/** memextent_access_attrs: user 2:0, kernel 6:4. */
export const ACCESS_ATTRS_RES0 = 0xffff_ff88;
/** addrspace_map_flags: bit0 partial, bit31 no_sync. */
export const MAP_FLAG_PARTIAL = 1;
export const MAP_FLAGS_RES0 = 0x7fff_fffe;

/** Stage-2 memory types (pgtable_vm_memtype). */
export const S2Memtype = {
  DEVICE_nGnRnE: 0,
  DEVICE_nGnRE: 1,
  DEVICE_nGRE: 2,
  DEVICE_GRE: 3,
  NORMAL_NC: 5,
  NORMAL_WB: 15,
} as const;
/** Memtypes the hypervisor accepts in a mapping (the mixed Normal encodings included). */
export const VALID_S2_MEMTYPES = new Set([0, 1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15]);
export function isDeviceMemtype(m: number): boolean {
  return m <= 3;
}

/** memextent_donate option types; bit31 NoSync, bits 30:8 res0. */
export const DonateType = { TO_CHILD: 0, TO_PARENT: 1, TO_SIBLING: 2 } as const;
export const DONATE_RES0 = 0x7fff_ff00;
/** memextent_modify ops; bit31 NoSync, bits 30:8 res0. */
export const ModifyOp = { UNMAP_ALL: 0, ZERO_RANGE: 1, CACHE_CLEAN_RANGE: 2, CACHE_FLUSH_RANGE: 3, SYNC_ALL: 255 } as const;
export const MODIFY_RES0 = 0x7fff_ff00;
export const NO_SYNC = 0x8000_0000;

/** Each extent may be mapped into at most this many address spaces (MEMEXTENT_MAX_MAPS). */
export const MEMEXTENT_MAX_MAPS = 4;
/** VMMIO ranges per address space (ADDRSPACE_MAX_VMMIO_RANGES). */
export const ADDRSPACE_MAX_VMMIO_RANGES = 128;
/** VMIDs are 8-bit in this build (NUM_VMIDS = 256); 0 is reserved, 255 is the root VM. */
export const NUM_VMIDS = 256;
export const ROOT_VM_VMID = 255;
/** Sparse mapping vbase limit (GPT_VBASE_BITS). */
export const GPT_VBASE_BITS = 48;

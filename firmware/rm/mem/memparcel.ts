// Memparcel records and their wire constants (spec §16; RM's memparcel.c, memparcel_msg.h).

export const MemType = { NORMAL: 0, IO: 1 } as const;
export const TransType = { DONATE: 0, LEND: 1, SHARE: 2 } as const;
export const MemRights = { X: 1, W: 2, R: 4, RX: 5, RW: 6, RWX: 7 } as const;
export const MemAttr = { NORMAL: 0, DEVICE: 1, UNCACHED: 2, CACHED: 3 } as const;

export const CreateFlag = { SANITIZE: 1, APPEND: 2 } as const;
export const AppendFlag = { DONE: 1 } as const;
export const AcceptFlag = {
  VALIDATE_SANITIZED: 1,
  VALIDATE_ACL_ATTR: 2,
  VALIDATE_LABEL: 4,
  MAP_OTHER: 8,
  MAP_CONTIGUOUS: 16,
  SANITIZE: 32,
  DONE: 128,
} as const;
export const ReleaseFlag = { SANITIZE: 1 } as const;
export const NotifyFlag = { SHARED: 1, RELEASED: 2, ACCEPTED: 4, RECALL: 8 } as const;
export const ACCEPT_RESP_INCOMPLETE = 1;

/** Memparcels one VM may own (MAX_MEMPARCEL_PER_VM). */
export const MAX_MEMPARCELS_PER_VM = 64;
/** 0xFFFFFFFF is never a handle (MEMPARCEL_INVALID_HANDLE). */
export const INVALID_HANDLE = 0xffff_ffff;
export const PAGE = 4096n;
/** Addresses must be below this (ADDR_LIMIT: a 48-bit IPA space). */
export const ADDR_LIMIT = 1n << 48n;

export type ParcelState = 'INIT' | 'SHARING' | 'SHARED';

export interface Region {
  pa: bigint;
  size: bigint;
  /** Where the owner had it. */
  ownerIpa: bigint;
}

/** One ACL entry and what its VM did with the parcel (vm_meminfo_t). */
export interface AclEntry {
  vmid: number;
  rights: number;
  attr: number;
  /** IPAs allocated in that VM (per region, or one base when contiguous). */
  ipas: bigint[];
  contiguous: boolean;
  /** Accepted (IPAs allocated): counts in share_count. */
  shared: boolean;
  /** Accepted with DONE: mapped in the VM. */
  mapped: boolean;
}

export interface Memparcel {
  handle: number;
  owner: number;
  memType: number;
  transType: number;
  label: number;
  labelValid: boolean;
  sanitizeCreate: boolean;
  sanitizeReclaim: boolean;
  acl: AclEntry[];
  attrs: { attr: number; vmid: number }[];
  regions: Region[];
  totalSize: bigint;
  /** The parcel's own sparse extent (a sibling of its owner's). */
  me: bigint;
  state: ParcelState;
  shareCount: number;
  memInfoTag: number;
  memInfoTagSet: boolean;
}

export function rightsValid(r: number): boolean {
  return r === MemRights.R || r === MemRights.RX || r === MemRights.RW || r === MemRights.RWX;
}

export function attrValid(a: number): boolean {
  return a === MemAttr.NORMAL || a === MemAttr.DEVICE || a === MemAttr.UNCACHED || a === MemAttr.CACHED;
}

export function addrValid(a: bigint): boolean {
  return a < ADDR_LIMIT && a % PAGE === 0n;
}

/** Stage-2 memory type for an attribute (mem_attr_to_map_memtype): device nGnRE, NC or WB. */
export function attrMemtype(attr: number): number {
  if (attr === MemAttr.DEVICE) return 1;
  if (attr === MemAttr.UNCACHED) return 5;
  return 15;
}

/** addrspace_map attrs: user access 2:0, kernel access 6:4, stage-2 memtype 23:16. */
export function mapAttrs(rights: number, memtype: number): number {
  return (rights & 7) | ((rights & 7) << 4) | ((memtype & 0xff) << 16);
}

/** Private to `vmid`: not shared and `vmid` is the only borrower (memparcel_is_private). */
export function isPrivate(mp: Memparcel, vmid: number): boolean {
  return mp.transType !== TransType.SHARE && mp.acl.length === 1 && mp.acl[0]!.vmid === vmid;
}

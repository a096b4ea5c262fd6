// Typed RM calls for memory parcels (lend, share, donate, accept, release, reclaim, notify, append),
// firmware and IPA reservations (spec/hypervisor-and-rm.md §15-16, linux-drivers.md §4.5).
import { Errno } from '../../../core/index';
import { RM_MSG } from './rm-abi';
import { PayloadReader, PayloadWriter } from './rm-payload';
import type { GhRmRpc } from './rm-rpc';

/** Entries an ACL, SGL or attribute list may hold in one message. */
export const GH_RM_MEM_MAX_ENTRIES = 512;

export const GH_RM_MEM_TYPE = { NORMAL: 0, IO: 1 } as const;
export const GH_RM_ACL = { X: 1, W: 2, R: 4 } as const;
export const GH_RM_MEM_FLAG = { SANITIZE: 1, APPEND: 2 } as const;
export const GH_RM_MEM_ATTR = { NORMAL: 0, DEVICE: 1, UNCACHED: 2, CACHED: 3 } as const;
export const GH_RM_TRANS_TYPE = { DONATE: 0, LEND: 1, SHARE: 2 } as const;
export const GH_RM_MEM_NOTIFY = { SHARED: 1, RELEASED: 2, ACCEPTED: 4, RECALL: 8 } as const;

export interface GhRmAclEntry {
  vmid: number;
  perms: number;
}

export interface GhRmSglEntry {
  ipa: bigint;
  size: bigint;
}

export interface GhRmAttrEntry {
  attr: number;
  vmid: number;
}

/** A memory parcel as MEM_LEND/SHARE/DONATE describe it. */
export interface GhRmMemParcel {
  memType: number;
  flags?: number;
  label: number;
  acl: readonly GhRmAclEntry[];
  sgl: readonly GhRmSglEntry[];
  attrs?: readonly GhRmAttrEntry[];
}

function checkList(n: number, what: string): void {
  if (n > GH_RM_MEM_MAX_ENTRIES) throw new Errno('EINVAL', `${what} of ${n} entries (max ${GH_RM_MEM_MAX_ENTRIES})`);
}

const acl = (w: PayloadWriter, e: GhRmAclEntry) => void w.u16(e.vmid).u8(e.perms).u8(0);
const sgl = (w: PayloadWriter, e: GhRmSglEntry) => void w.u64(e.ipa).u64(e.size);
const attr = (w: PayloadWriter, e: GhRmAttrEntry) => void w.u16(e.attr).u16(e.vmid);

function parcelPayload(p: GhRmMemParcel): Uint8Array {
  checkList(p.acl.length, 'ACL');
  checkList(p.sgl.length, 'SGL');
  checkList(p.attrs?.length ?? 0, 'attribute list');
  return new PayloadWriter()
    .u8(p.memType)
    .u8(0)
    .u8(p.flags ?? 0)
    .u8(0)
    .u32(p.label)
    .list(p.acl, acl)
    .list(p.sgl, sgl)
    .list(p.attrs ?? [], attr)
    .finish();
}

export interface GhRmAcceptRequest {
  handle: number;
  memType: number;
  transType: number;
  flags: number;
  label: number;
  acl: readonly GhRmAclEntry[];
  /** Empty: the RM picks IPAs and returns them. */
  sgl: readonly GhRmSglEntry[];
  attrs: readonly GhRmAttrEntry[];
}

export class GhRmMemCalls {
  constructor(private readonly rpc: GhRmRpc) {}

  private async handleReply(msgId: number, what: string, payload: Uint8Array): Promise<number> {
    return new PayloadReader(await this.rpc.call(msgId, payload), what).u32();
  }

  /** MEM_LEND: returns the memparcel handle. */
  async lend(p: GhRmMemParcel): Promise<number> {
    return this.handleReply(RM_MSG.MEM_LEND, 'MEM_LEND', parcelPayload(p));
  }

  async share(p: GhRmMemParcel): Promise<number> {
    return this.handleReply(RM_MSG.MEM_SHARE, 'MEM_SHARE', parcelPayload(p));
  }

  async donate(p: GhRmMemParcel): Promise<number> {
    return this.handleReply(RM_MSG.MEM_DONATE, 'MEM_DONATE', parcelPayload(p));
  }

  /** MEM_QCOM_LOOKUP_SGL: a parcel description (the create layout) looked up to a handle. */
  async qcomLookupSgl(p: GhRmMemParcel): Promise<number> {
    return this.handleReply(RM_MSG.MEM_QCOM_LOOKUP_SGL, 'MEM_QCOM_LOOKUP_SGL', parcelPayload(p));
  }

  /** MEM_APPEND: more SGL entries for a parcel created with the APPEND flag; `end` closes it. */
  async append(handle: number, entries: readonly GhRmSglEntry[], end: boolean): Promise<void> {
    checkList(entries.length, 'SGL');
    await this.rpc.call(RM_MSG.MEM_APPEND, new PayloadWriter().u32(handle).u8(end ? 1 : 0).u8(0).u8(0).u8(0).list(entries, sgl).finish());
  }

  async reclaim(handle: number, sanitize = false): Promise<void> {
    await this.rpc.call(RM_MSG.MEM_RECLAIM, new PayloadWriter().u32(handle).u8(sanitize ? 1 : 0).u8(0).u8(0).u8(0).finish());
  }

  async release(handle: number, sanitize = false): Promise<void> {
    await this.rpc.call(RM_MSG.MEM_RELEASE, new PayloadWriter().u32(handle).u8(sanitize ? 1 : 0).u8(0).u8(0).u8(0).finish());
  }

  /** MEM_NOTIFY: SHARED carries the VMIDs to tell. */
  async notify(handle: number, flags: number, memInfoTag: number, vmids: readonly number[] = []): Promise<void> {
    const w = new PayloadWriter().u32(handle).u8(flags).u8(0).u8(0).u8(0).u32(memInfoTag);
    if (flags & GH_RM_MEM_NOTIFY.SHARED) w.list(vmids, (x, v) => x.u16(v).u16(0));
    await this.rpc.call(RM_MSG.MEM_NOTIFY, w.finish());
  }

  /**
   * MEM_ACCEPT: without an SGL the RM chooses IPAs and returns them (possibly incomplete); with one it
   * returns nothing.
   */
  async accept(r: GhRmAcceptRequest): Promise<{ sgl: GhRmSglEntry[]; incomplete: boolean }> {
    checkList(r.acl.length, 'ACL');
    checkList(r.sgl.length, 'SGL');
    checkList(r.attrs.length, 'attribute list');
    const w = new PayloadWriter().u32(r.handle).u8(r.memType).u8(r.transType).u8(r.flags).u8(0).u32(r.label).list(r.acl, acl).list(r.sgl, sgl, 0).list(r.attrs, attr);
    const reply = await this.rpc.call(RM_MSG.MEM_ACCEPT, w.finish());
    if (reply.length === 0) return { sgl: [], incomplete: false };
    const p = new PayloadReader(reply, 'MEM_ACCEPT');
    const n = p.u16();
    const flags = p.u8();
    p.skip(1);
    p.count(n, 16, GH_RM_MEM_MAX_ENTRIES);
    const out: GhRmSglEntry[] = [];
    for (let i = 0; i < n; i++) out.push({ ipa: p.u64(), size: p.u64() });
    return { sgl: out, incomplete: (flags & 1) !== 0 };
  }

  // ---- firmware ----

  async fwMilestone(): Promise<void> {
    await this.rpc.call(RM_MSG.FW_MILESTONE);
  }

  async fwSetVmFirmware(authType: number, memHandle: number, offset: bigint, size: bigint): Promise<void> {
    await this.rpc.call(RM_MSG.FW_SET_VM_FIRMWARE, new PayloadWriter().u16(authType).u16(0).u32(memHandle).u64(offset).u64(size).finish());
  }

  // ---- IPA reservations ----

  /**
   * IPA_RESERVE: a fixed list of {base, size} (allocType 0) or an allocation list of {regionBase,
   * regionSize, size, alignment} (1). The reply's layout is not specified; it is returned raw.
   */
  async ipaReserve(
    allocType: 0 | 1,
    genericConstraints: number,
    platformConstraints: number,
    entries: readonly bigint[][],
  ): Promise<Uint8Array> {
    const per = allocType === 0 ? 2 : 4;
    checkList(entries.length, 'IPA list');
    const w = new PayloadWriter().u8(allocType).u8(0).u8(0).u8(0).u32(genericConstraints).u32(platformConstraints).u32(entries.length);
    for (const e of entries) {
      if (e.length !== per) throw new Errno('EINVAL', `IPA_RESERVE entry of ${e.length} values (expected ${per})`);
      for (const v of e) w.u64(v);
    }
    return this.rpc.call(RM_MSG.IPA_RESERVE, w.finish());
  }

  /** IPA_UNRESERVE: the same list shape as the reservation it undoes; the payload is passed as built. */
  async ipaUnreserve(ranges: readonly GhRmSglEntry[]): Promise<void> {
    checkList(ranges.length, 'IPA list');
    const w = new PayloadWriter().u32(ranges.length);
    for (const r of ranges) w.u64(r.ipa).u64(r.size);
    await this.rpc.call(RM_MSG.IPA_UNRESERVE, w.finish());
  }
}

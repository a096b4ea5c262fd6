// Memparcels (spec §16; RM's memparcel.c): create (lend, share, donate), append, accept, release,
// reclaim, notify and lookup, with pages moved by memextent_donate between the owner's extent and
// the parcel's own sparse extent, and mapped with addrspace_map. Every failure rolls back what the
// request had done, so an error changes nothing.
import { RmNotif } from '../abi/message-ids';
import { memOwnerPayload, memRecallPayload, memSharedPayload } from '../abi/notifications';
import { RmErr, RmError } from '../abi/rm-error';
import { VmState, Vmid, isSecondaryVmid } from '../abi/vm-state';
import { HypCallError } from '../hyp/hypercalls';
import type { ResourceManager } from '../resource-manager';
import type { Vm } from '../vm/vm';
import {
  AcceptFlag,
  INVALID_HANDLE,
  MAX_MEMPARCELS_PER_VM,
  MemAttr,
  MemType,
  NotifyFlag,
  TransType,
  addrValid,
  attrMemtype,
  attrValid,
  mapAttrs,
  rightsValid,
  type AclEntry,
  type Memparcel,
  type Region,
} from './memparcel';
import { RM_MAX_LIST_ENTRIES } from '../wire/payload-reader';

/** memextent_donate types and the map flag the RM uses (spec §11). */
const DONATE_TO_CHILD = 0;
const DONATE_TO_SIBLING = 2;
const MAP_PARTIAL = 1;
/** memextent attrs for a parcel extent: access RWX, memtype ANY, type SPARSE (bits 17:16 = 1). */
const SPARSE_RWX = 7 | (1 << 16);
const ZERO_RANGE_NOSYNC = 1 | 0x8000_0000;
/** Where the RM allocates IPAs for parcels accepted without an SGL (above the 1 GiB VMMIO window and low RAM). */
export const ACCEPT_IPA_BASE = 0x1_0000_0000n;
const SIZE_2M = 0x20_0000n;

export interface CreateRequest {
  memType: number;
  transType: number;
  flags: number;
  label: number;
  acl: { vmid: number; rights: number }[];
  sgl: { ipa: bigint; size: bigint }[];
  attrs: { attr: number; vmid: number }[];
}

export interface AcceptRequest {
  handle: number;
  memType: number;
  transType: number;
  flags: number;
  label: number;
  acl: { vmid: number; rights: number }[];
  mapVmid: number;
  sgl: { ipa: bigint; size: bigint }[];
  attrs: { attr: number; vmid: number }[];
}

function mustHyp<T>(p: Promise<T>, code: number): Promise<T> {
  return p.catch((e: unknown) => {
    if (e instanceof HypCallError) throw new RmError(code, e.message);
    throw e;
  });
}

export class MemparcelService {
  private readonly parcels = new Map<number, Memparcel>();
  private nextHandle = 0;

  constructor(private readonly rm: ResourceManager) {}

  get count(): number {
    return this.parcels.size;
  }

  get(handle: number): Memparcel | undefined {
    return this.parcels.get(handle);
  }

  *all(): IterableIterator<Memparcel> {
    yield* this.parcels.values();
  }

  /** Parcels whose ACL names `vmid`, in handle order. */
  forTarget(vmid: number): Memparcel[] {
    return [...this.parcels.values()].filter((mp) => mp.acl.some((a) => a.vmid === vmid));
  }

  private require(handle: number): Memparcel {
    const mp = this.parcels.get(handle);
    if (!mp) throw new RmError(RmErr.HANDLE_INVALID, `no memparcel ${handle}`);
    return mp;
  }

  private allocateHandle(): number {
    for (;;) {
      const h = this.nextHandle;
      this.nextHandle = (this.nextHandle + 1) >>> 0;
      if (h !== INVALID_HANDLE && !this.parcels.has(h)) return h;
    }
  }

  /** vmid_valid: the HLOS, the RM, a platform secondary VMID, or an allocated dynamic one. */
  private vmidValid(vmid: number): boolean {
    if (vmid === Vmid.HLOS || vmid === Vmid.RM || isSecondaryVmid(vmid)) return true;
    return vmid >= Vmid.DYNAMIC_BASE && vmid < Vmid.DYNAMIC_END && this.rm.vms.get(vmid) !== undefined;
  }

  private offsetOf(pa: bigint): bigint {
    return pa - this.rm.env.rootBase;
  }

  /** A new empty sparse extent over the root range for a parcel. */
  private async createExtent(): Promise<bigint> {
    const { hyp, env } = this.rm;
    const me = await mustHyp(hyp.create('memextent', env.partition, env.cspace), RmErr.NOMEM);
    try {
      await hyp.memextentConfigureDerive(me, env.rootMe, 0n, env.rootSize, SPARSE_RWX);
      await hyp.activate(me);
    } catch (e) {
      await hyp.deleteCap(env.cspace, me);
      throw e instanceof HypCallError ? new RmError(RmErr.NOMEM, e.message) : e;
    }
    return me;
  }

  // ---- owner memory lookup (vm_memory_lookup) ----

  /** The physical range behind the start of [ipa, ipa + size) in `vm`'s own RAM. */
  private lookupOwned(vm: Vm, ipa: bigint, size: bigint): { pa: bigint; size: bigint } {
    const r = vm.ipa.find(ipa);
    if (!r || r.value.kind !== 'own') throw new RmError(RmErr.MEM_INVALID, `VM ${vm.vmid} does not own IPA 0x${ipa.toString(16)}`);
    const off = ipa - r.base;
    const avail = r.size - off;
    return { pa: r.value.pa + off, size: avail < size ? avail : size };
  }

  private mark(vm: Vm, ipa: bigint, size: bigint, kind: 'lent' | 'shared' | 'own', handle: number): void {
    const r = vm.ipa.find(ipa);
    if (!r) return;
    const pa = r.value.kind === 'vdevice' || r.value.kind === 'reserved' ? 0n : r.value.pa + (ipa - r.base);
    vm.ipa.carve(ipa, size, (v, off) => ('pa' in v ? { ...v, pa: v.pa + off } : v));
    vm.ipa.insert(ipa, size, kind === 'own' ? { kind, pa } : { kind, pa, handle });
  }

  private ownerObjects(vm: Vm): { as: bigint; me: bigint } {
    const o = vm.objects;
    if (!o || o.addrspace === undefined) throw new RmError(RmErr.VM_STATE, `VM ${vm.vmid} has no address space`);
    return { as: o.addrspace, me: o.ramMe };
  }

  // ---- create / append ----

  async create(ownerVmid: number, req: CreateRequest): Promise<number> {
    const owner = this.rm.vm(ownerVmid);
    const { acl, sgl, attrs, transType, memType } = req;
    if (acl.length === 0 || sgl.length === 0) throw new RmError(RmErr.ARGUMENT_INVALID, 'ACL and SGL must not be empty');
    if (transType === TransType.DONATE && acl.length > 1) throw new RmError(RmErr.ARGUMENT_INVALID, 'donate to one VM only');
    if (owner.mpCount >= MAX_MEMPARCELS_PER_VM) throw new RmError(RmErr.DENIED, `VM ${ownerVmid} owns ${MAX_MEMPARCELS_PER_VM} memparcels`);
    if (memType !== MemType.NORMAL && memType !== MemType.IO) throw new RmError(RmErr.ARGUMENT_INVALID, `mem_type ${memType}`);
    const sanitize = (req.flags & 1) !== 0;
    if (sanitize && memType === MemType.IO) throw new RmError(RmErr.ARGUMENT_INVALID, 'IO memory cannot be sanitized');
    const append = (req.flags & 2) !== 0;
    const maxRights = memType === MemType.IO ? 6 : 7;
    const defaultAttr = memType === MemType.IO ? MemAttr.DEVICE : MemAttr.NORMAL;

    const entries: AclEntry[] = [];
    let ownerInAcl = false;
    for (const [i, a] of acl.entries()) {
      if (acl.slice(0, i).some((b) => b.vmid === a.vmid)) throw new RmError(RmErr.ARGUMENT_INVALID, `ACL names VM ${a.vmid} twice`);
      if (!this.vmidValid(a.vmid) || !rightsValid(a.rights)) throw new RmError(RmErr.ARGUMENT_INVALID, `ACL entry ${i}: VM ${a.vmid} rights ${a.rights}`);
      if (memType === MemType.IO && (a.rights & 1)) throw new RmError(RmErr.ARGUMENT_INVALID, 'IO memory cannot be executable');
      if (transType === TransType.DONATE && a.rights !== maxRights) throw new RmError(RmErr.DENIED, 'a donation gives full rights');
      if (a.vmid === ownerVmid) ownerInAcl = true;
      entries.push({ vmid: a.vmid, rights: a.rights, attr: defaultAttr, ipas: [], contiguous: false, shared: false, mapped: false });
    }
    if ((transType === TransType.SHARE) !== ownerInAcl) {
      throw new RmError(RmErr.ARGUMENT_INVALID, transType === TransType.SHARE ? 'a share includes its owner' : 'a lend or donate excludes its owner');
    }
    for (const [i, a] of attrs.entries()) {
      if (attrs.slice(0, i).some((b) => b.vmid === a.vmid)) throw new RmError(RmErr.ARGUMENT_INVALID, `attributes name VM ${a.vmid} twice`);
      if (!attrValid(a.attr)) throw new RmError(RmErr.ARGUMENT_INVALID, `attribute ${a.attr}`);
      if ((memType === MemType.IO) !== (a.attr === MemAttr.DEVICE)) throw new RmError(RmErr.ARGUMENT_INVALID, 'IO memory takes the device attribute and only it');
      if (transType === TransType.DONATE && a.attr !== defaultAttr) throw new RmError(RmErr.ARGUMENT_INVALID, 'a donation keeps default attributes');
      const e = entries.find((x) => x.vmid === a.vmid);
      if (!e) throw new RmError(RmErr.VMID_INVALID, `attribute for VM ${a.vmid} outside the ACL`);
      e.attr = a.attr;
    }
    this.ownerObjects(owner);

    const me = await this.createExtent();
    const mp: Memparcel = {
      handle: this.allocateHandle(),
      owner: ownerVmid,
      memType,
      transType,
      label: req.label,
      labelValid: true,
      sanitizeCreate: sanitize,
      sanitizeReclaim: false,
      acl: entries,
      attrs: attrs.map((a) => ({ ...a })),
      regions: [],
      totalSize: 0n,
      me,
      state: 'INIT',
      shareCount: 0,
      memInfoTag: 0,
      memInfoTagSet: false,
    };
    try {
      await this.addSgl(owner, mp, sgl, !append);
    } catch (e) {
      await this.rm.hyp.deleteCap(this.rm.env.cspace, me);
      throw e;
    }
    this.parcels.set(mp.handle, mp);
    owner.mpCount++;
    this.rm.trace(`memparcel ${mp.handle}: VM ${ownerVmid} ${['donates', 'lends', 'shares'][transType]} ${mp.totalSize} bytes to ${acl.map((a) => a.vmid).join(',')}`);
    return mp.handle;
  }

  /** add_sgl_to_mp: move the owner's pages into the parcel extent, region by region, rolling back on failure. */
  private async addSgl(owner: Vm, mp: Memparcel, sgl: readonly { ipa: bigint; size: bigint }[], done: boolean): Promise<void> {
    const { hyp } = this.rm;
    const { as, me: ownerMe } = this.ownerObjects(owner);
    const ownerEntry = mp.acl.find((a) => a.vmid === owner.vmid);
    const added: Region[] = [];
    try {
      for (const e of sgl) {
        if (!addrValid(e.ipa) || !addrValid(e.size) || e.size === 0n || e.ipa + e.size > 1n << 48n) {
          throw new RmError(RmErr.ARGUMENT_INVALID, `SGL entry 0x${e.ipa.toString(16)}+0x${e.size.toString(16)}`);
        }
        for (let off = 0n; off < e.size; ) {
          const ipa = e.ipa + off;
          const { pa, size } = this.lookupOwned(owner, ipa, e.size - off);
          const offset = this.offsetOf(pa);
          if (mp.transType === TransType.SHARE) {
            // The owner keeps access through the parcel's extent once the pages move into it.
            await mustHyp(hyp.addrspaceMap(as, mp.me, ipa, mapAttrs(ownerEntry!.rights, attrMemtype(ownerEntry!.attr)), MAP_PARTIAL, offset, size), RmErr.MAP_FAILED);
          }
          try {
            await hyp.memextentDonate(DONATE_TO_SIBLING, ownerMe, mp.me, offset, size);
          } catch (err) {
            if (mp.transType === TransType.SHARE) await hyp.addrspaceUnmap(as, mp.me, ipa, MAP_PARTIAL, offset, size);
            throw err instanceof HypCallError ? new RmError(RmErr.MEM_INVALID, err.message) : err;
          }
          const region = { pa, size, ownerIpa: ipa };
          added.push(region);
          this.mark(owner, ipa, size, mp.transType === TransType.SHARE ? 'shared' : 'lent', mp.handle);
          if (mp.sanitizeCreate) await hyp.memextentModify(mp.me, ZERO_RANGE_NOSYNC, offset, size);
          off += size;
        }
      }
    } catch (e) {
      for (const r of added.reverse()) await this.returnRegion(owner, mp, r);
      throw e;
    }
    mp.regions.push(...added);
    for (const r of added) mp.totalSize += r.size;
    if (done) mp.state = 'SHARING';
  }

  /** Give one region back to its owner: unmap the share mapping, donate the pages back, mark them owned. */
  private async returnRegion(owner: Vm, mp: Memparcel, r: Region): Promise<void> {
    const { hyp } = this.rm;
    const { as, me } = this.ownerObjects(owner);
    const offset = this.offsetOf(r.pa);
    if (mp.transType === TransType.SHARE) await hyp.addrspaceUnmap(as, mp.me, r.ownerIpa, MAP_PARTIAL, offset, r.size);
    await hyp.memextentDonate(DONATE_TO_SIBLING, mp.me, me, offset, r.size);
    this.mark(owner, r.ownerIpa, r.size, 'own', mp.handle);
  }

  async append(vmid: number, handle: number, flags: number, sgl: { ipa: bigint; size: bigint }[]): Promise<void> {
    if (sgl.length === 0) throw new RmError(RmErr.ARGUMENT_INVALID, 'empty SGL');
    const mp = this.require(handle);
    if (vmid !== mp.owner) throw new RmError(RmErr.DENIED, 'not the owner');
    if (mp.state !== 'INIT') throw new RmError(RmErr.DENIED, 'memparcel is complete');
    if (mp.regions.length + sgl.length > RM_MAX_LIST_ENTRIES * 64) throw new RmError(RmErr.NORESOURCE, 'too many regions');
    await this.addSgl(this.rm.vm(vmid), mp, sgl, (flags & 1) !== 0);
  }

  // ---- accept / release / reclaim ----

  /** IPA for a region or a whole parcel in `vm`: the fixed one asked for, or the next free one. */
  private allocIpa(vm: Vm, fixed: bigint | undefined, size: bigint): bigint {
    const limit = this.rm.env.ipaLimit;
    if (fixed !== undefined) {
      if (fixed + size > limit || vm.ipa.overlaps(fixed, size)) throw new RmError(RmErr.NORESOURCE, `IPA 0x${fixed.toString(16)} is not free`);
      return fixed;
    }
    const base = vm.ipa.findFree(size, size >= SIZE_2M ? SIZE_2M : 0x1000n, ACCEPT_IPA_BASE, limit);
    if (base === undefined) throw new RmError(RmErr.NORESOURCE, 'no free IPA range');
    return base;
  }

  /** memparcel_do_accept. Returns the allocated IPAs when the request carried no SGL. */
  async accept(vmid: number, req: AcceptRequest): Promise<{ sgl: { ipa: bigint; size: bigint }[]; incomplete: boolean } | undefined> {
    const { hyp } = this.rm;
    const mp = this.require(req.handle);
    if (req.memType !== mp.memType || req.transType !== mp.transType) throw new RmError(RmErr.ARGUMENT_INVALID, 'type mismatch');
    const f = req.flags;
    if (f & AcceptFlag.VALIDATE_SANITIZED && !mp.sanitizeCreate) throw new RmError(RmErr.VALIDATE_FAILED, 'not sanitized');
    if (f & AcceptFlag.VALIDATE_LABEL && req.label !== mp.label) throw new RmError(RmErr.VALIDATE_FAILED, 'label differs');
    if (f & AcceptFlag.VALIDATE_ACL_ATTR) {
      const same =
        req.acl.length === mp.acl.length &&
        req.attrs.length === mp.attrs.length &&
        req.acl.every((a, i) => a.vmid === mp.acl[i]!.vmid && a.rights === mp.acl[i]!.rights) &&
        req.attrs.every((a, i) => a.attr === mp.attrs[i]!.attr && a.vmid === mp.attrs[i]!.vmid);
      if (!same) throw new RmError(RmErr.VALIDATE_FAILED, 'ACL or attributes differ');
    }
    if (f & AcceptFlag.MAP_OTHER) throw new RmError(RmErr.DENIED, 'mapping into another VM is not supported');
    if (req.mapVmid !== 0) throw new RmError(RmErr.ARGUMENT_INVALID, 'map_vmid must be 0');
    const vm = this.rm.vms.get(vmid);
    if (!vm) throw new RmError(RmErr.VMID_INVALID, `no VM ${vmid}`);
    const info = mp.acl.find((a) => a.vmid === vmid);
    if (!info) throw new RmError(RmErr.VMID_INVALID, `VM ${vmid} is not in the ACL`);
    if (vmid === mp.owner || info.mapped) throw new RmError(RmErr.DENIED, 'owner, or already accepted');
    if (mp.state === 'INIT') throw new RmError(RmErr.ARGUMENT_INVALID, 'memparcel is still being appended to');
    const contiguous = (f & AcceptFlag.MAP_CONTIGUOUS) !== 0;
    if (contiguous) {
      if (mp.memType !== MemType.NORMAL) throw new RmError(RmErr.ARGUMENT_INVALID, 'IO memory cannot be mapped contiguously');
      if (info.ipas.length > 0 && !info.contiguous) throw new RmError(RmErr.ARGUMENT_INVALID, 'IPAs already allocated per region');
    }
    if (f & AcceptFlag.SANITIZE) {
      if (mp.memType === MemType.IO || !(info.rights & 2)) throw new RmError(RmErr.ARGUMENT_INVALID, 'sanitize needs writable normal memory');
    }
    const objects = this.ownerObjects(vm);
    const useContig = info.ipas.length > 0 ? info.contiguous : contiguous;
    const numMappings = useContig ? 1 : mp.regions.length;
    let numAlloc = Math.min(numMappings - info.ipas.length, RM_MAX_LIST_ENTRIES);
    let reply: { sgl: { ipa: bigint; size: bigint }[]; incomplete: boolean } | undefined;
    if (req.sgl.length === 0) reply = { sgl: [], incomplete: info.ipas.length + numAlloc < numMappings };
    else if (req.sgl.length <= numAlloc) numAlloc = req.sgl.length;
    else throw new RmError(RmErr.ARGUMENT_INVALID, `${req.sgl.length} SGL entries for ${numAlloc} regions`);

    // Allocate IPAs (tentatively: recorded in the VM's map, undone on failure).
    const fresh: { ipa: bigint; size: bigint; pa: bigint }[] = [];
    const undoAlloc = () => {
      for (const a of fresh) vm.ipa.remove(a.ipa, a.size);
    };
    try {
      for (let j = 0; j < numAlloc; j++) {
        const i = info.ipas.length + j;
        const size = useContig ? mp.totalSize : mp.regions[i]!.size;
        const want = req.sgl[j];
        if (want && (!addrValid(want.ipa) || want.size !== size)) throw new RmError(RmErr.ARGUMENT_INVALID, `SGL entry ${j} does not match region size 0x${size.toString(16)}`);
        const ipa = this.allocIpa(vm, want?.ipa, size);
        vm.ipa.insert(ipa, size, { kind: 'accepted', pa: useContig ? mp.regions[0]!.pa : mp.regions[i]!.pa, handle: mp.handle });
        fresh.push({ ipa, size, pa: 0n });
        reply?.sgl.push({ ipa, size });
      }
    } catch (e) {
      undoAlloc();
      throw e;
    }
    const ipas = [...info.ipas, ...fresh.map((a) => a.ipa)];

    if (f & AcceptFlag.DONE) {
      if (ipas.length !== numMappings) {
        undoAlloc();
        throw new RmError(RmErr.ARGUMENT_INVALID, 'all IPAs must be allocated before DONE');
      }
      const regionIpa = (i: number, offset: bigint) => (useContig ? ipas[0]! + offset : ipas[i]!);
      const mapMe = mp.transType === TransType.DONATE ? objects.me : mp.me;
      const donated: Region[] = [];
      const mapped: { ipa: bigint; r: Region }[] = [];
      try {
        if (mp.transType === TransType.DONATE) {
          for (const r of mp.regions) {
            await mustHyp(hyp.memextentDonate(DONATE_TO_SIBLING, mp.me, objects.me, this.offsetOf(r.pa), r.size), RmErr.MEM_INVALID);
            donated.push(r);
          }
        }
        let offset = 0n;
        for (const [i, r] of mp.regions.entries()) {
          const ipa = regionIpa(i, offset);
          await mustHyp(hyp.addrspaceMap(objects.as, mapMe, ipa, mapAttrs(info.rights, attrMemtype(info.attr)), MAP_PARTIAL, this.offsetOf(r.pa), r.size), RmErr.MAP_FAILED);
          mapped.push({ ipa, r });
          offset += r.size;
        }
      } catch (e) {
        for (const m of mapped) await hyp.addrspaceUnmap(objects.as, mapMe, m.ipa, MAP_PARTIAL, this.offsetOf(m.r.pa), m.r.size);
        for (const r of donated) await hyp.memextentDonate(DONATE_TO_SIBLING, objects.me, mp.me, this.offsetOf(r.pa), r.size);
        undoAlloc();
        throw e;
      }
      if (f & AcceptFlag.SANITIZE) {
        mp.sanitizeReclaim = true;
      }
      if (mp.transType === TransType.DONATE) {
        // The pages are the acceptor's now: its map says so, the donor's IPAs are gone, the parcel too.
        let offset = 0n;
        for (const [i, r] of mp.regions.entries()) {
          const ipa = regionIpa(i, offset);
          vm.ipa.carve(ipa, r.size, (v) => v);
          vm.ipa.insert(ipa, r.size, { kind: 'own', pa: r.pa });
          offset += r.size;
        }
        const donor = this.rm.vms.get(mp.owner);
        if (donor) {
          for (const r of mp.regions) {
            const o = donor.objects;
            if (o?.addrspace !== undefined) await hyp.addrspaceUnmap(o.addrspace, o.ramMe, r.ownerIpa, MAP_PARTIAL, this.offsetOf(r.pa), r.size).catch(() => undefined);
            donor.ipa.carve(r.ownerIpa, r.size, (v) => v);
          }
          donor.mpCount--;
        }
        await this.deleteParcel(mp);
        return reply;
      }
      info.mapped = true;
    }
    info.ipas = ipas;
    info.contiguous = useContig;
    if (!info.shared) {
      info.shared = true;
      mp.shareCount++;
      mp.state = 'SHARED';
    }
    if (f & AcceptFlag.SANITIZE) mp.sanitizeReclaim = true;
    return reply;
  }

  /** memparcel_do_release: the acceptor unmaps and frees its IPAs. */
  async release(vmid: number, handle: number, flags: number): Promise<void> {
    const mp = this.require(handle);
    const vm = this.rm.vms.get(vmid);
    if (!vm) throw new RmError(RmErr.VMID_INVALID, `no VM ${vmid}`);
    const info = mp.acl.find((a) => a.vmid === vmid);
    if (!info) throw new RmError(RmErr.HANDLE_INVALID, `VM ${vmid} is not in memparcel ${handle}'s ACL`);
    if (vmid === mp.owner) throw new RmError(RmErr.DENIED, 'the owner reclaims, it does not release');
    if (!info.shared) throw new RmError(RmErr.MEM_RELEASED, 'not accepted');
    if (flags & 1) {
      if (mp.memType === MemType.IO || !(info.rights & 2)) throw new RmError(RmErr.ARGUMENT_INVALID, 'sanitize needs writable normal memory');
      mp.sanitizeReclaim = true;
    }
    if (info.mapped) {
      const { as } = this.ownerObjects(vm);
      let offset = 0n;
      for (const [i, r] of mp.regions.entries()) {
        const ipa = info.contiguous ? info.ipas[0]! + offset : info.ipas[i]!;
        await mustHyp(this.rm.hyp.addrspaceUnmap(as, mp.me, ipa, MAP_PARTIAL, this.offsetOf(r.pa), r.size), RmErr.MAP_FAILED);
        offset += r.size;
      }
    }
    this.freeIpas(vm, mp, info);
    info.ipas = [];
    info.contiguous = false;
    info.shared = false;
    info.mapped = false;
    mp.shareCount--;
    if (mp.shareCount === 0) mp.state = 'SHARING';
  }

  private freeIpas(vm: Vm, mp: Memparcel, info: AclEntry): void {
    if (info.contiguous && info.ipas.length === 1) vm.ipa.remove(info.ipas[0]!, mp.totalSize);
    else info.ipas.forEach((ipa, i) => vm.ipa.remove(ipa, mp.regions[i]!.size));
  }

  /** memparcel_do_reclaim: the owner takes its pages back; only with no acceptor left. */
  async reclaim(vmid: number, handle: number, flags: number): Promise<void> {
    const mp = this.require(handle);
    if (vmid !== mp.owner) throw new RmError(RmErr.DENIED, 'not the owner');
    if (mp.state === 'SHARED') throw new RmError(RmErr.MEM_INUSE, 'still accepted');
    if (flags & 1) {
      if (mp.memType === MemType.IO) throw new RmError(RmErr.ARGUMENT_INVALID, 'IO memory cannot be sanitized');
      mp.sanitizeReclaim = true;
    }
    const owner = this.rm.vms.get(vmid);
    if (!owner) throw new RmError(RmErr.VMID_INVALID, `no VM ${vmid}`);
    for (const r of mp.regions) {
      await this.returnRegion(owner, mp, r);
      if (mp.sanitizeReclaim) await this.rm.hyp.memextentModify(owner.objects!.ramMe, ZERO_RANGE_NOSYNC, this.offsetOf(r.pa), r.size);
    }
    owner.mpCount--;
    await this.deleteParcel(mp);
  }

  private async deleteParcel(mp: Memparcel): Promise<void> {
    this.parcels.delete(mp.handle);
    await this.rm.hyp.deleteCap(this.rm.env.cspace, mp.me);
  }

  // ---- notify / lookup ----

  async notifyOwner(mp: Memparcel, vmid: number, accepted: boolean): Promise<void> {
    const info = mp.acl.find((a) => a.vmid === vmid);
    if (!info) throw new RmError(RmErr.HANDLE_INVALID, `VM ${vmid} is not in the ACL`);
    if (accepted !== info.shared) throw new RmError(info.shared ? RmErr.MEM_INUSE : RmErr.MEM_RELEASED, 'state differs from the notification');
    await this.rm.rpc.notify(mp.owner, accepted ? RmNotif.MEM_ACCEPTED : RmNotif.MEM_RELEASED, memOwnerPayload(mp.handle, vmid, mp.memInfoTag));
  }

  async notify(vmid: number, handle: number, flags: number, memInfoTag: number, vmids: number[] | undefined): Promise<void> {
    const mp = this.require(handle);
    if (mp.memInfoTagSet && mp.memInfoTag !== memInfoTag) throw new RmError(RmErr.ARGUMENT_INVALID, 'mem_info_tag differs');
    const targets = () => {
      if (!vmids) throw new RmError(RmErr.MSG_INVALID, 'no VMID list');
      if (vmids.length === 0 || vmids.length > mp.acl.length) throw new RmError(RmErr.ARGUMENT_INVALID, `${vmids.length} VMIDs`);
      for (const t of vmids) {
        if (!this.rm.vms.get(t)) throw new RmError(RmErr.VMID_INVALID, `no VM ${t}`);
        if (!mp.acl.some((a) => a.vmid === t)) throw new RmError(RmErr.ARGUMENT_INVALID, `VM ${t} is not in the ACL`);
      }
      return vmids;
    };
    if (flags === NotifyFlag.SHARED) {
      if (vmid !== mp.owner) throw new RmError(RmErr.DENIED, 'only the owner announces');
      const list = targets();
      if (!mp.memInfoTagSet) {
        mp.memInfoTag = memInfoTag;
        mp.memInfoTagSet = true;
      }
      const payload = memSharedPayload({
        handle: mp.handle,
        memType: mp.memType,
        transType: mp.transType,
        sanitized: mp.sanitizeCreate,
        owner: mp.owner,
        label: mp.label,
        memInfoTag: mp.memInfoTag,
        acl: mp.acl,
        regionSizes: mp.regions.slice(0, RM_MAX_LIST_ENTRIES).map((r) => r.size),
        attrs: mp.attrs,
      });
      for (const t of list) {
        const target = this.rm.vm(t);
        if (target.state === VmState.READY) {
          // Not yet running: the RM accepts it on the VM's behalf per its config, and tells the owner.
          const ok = await this.rm.creation.acceptForVm(target, mp).then(
            () => true,
            () => false,
          );
          await this.notifyOwner(mp, t, ok);
        } else await this.rm.rpc.notify(t, RmNotif.MEM_SHARED, payload);
      }
    } else if (flags === NotifyFlag.RELEASED) await this.notifyOwner(mp, vmid, false);
    else if (flags === NotifyFlag.ACCEPTED) await this.notifyOwner(mp, vmid, true);
    else if (flags === NotifyFlag.RECALL) {
      if (vmid !== mp.owner) throw new RmError(RmErr.DENIED, 'only the owner recalls');
      for (const t of targets()) await this.rm.rpc.notify(t, RmNotif.MEM_RECALL, memRecallPayload(mp.handle, mp.memInfoTag));
    } else throw new RmError(RmErr.ARGUMENT_INVALID, `notify flags ${flags}`);
  }

  /** memparcel_sgl_do_lookup: the owner's completed, unaccepted parcel with exactly these lists. */
  lookup(vmid: number, memType: number, label: number, acl: { vmid: number; rights: number }[], sgl: { ipa: bigint; size: bigint }[], attrs: { attr: number; vmid: number }[]): number {
    for (const mp of this.parcels.values()) {
      if (mp.owner !== vmid || mp.state !== 'SHARING' || mp.memType !== memType) continue;
      if (mp.acl.length !== acl.length || mp.regions.length !== sgl.length || mp.attrs.length !== attrs.length) continue;
      if (!acl.every((a, i) => a.vmid === mp.acl[i]!.vmid && a.rights === mp.acl[i]!.rights)) continue;
      if (!sgl.every((s, i) => s.ipa === mp.regions[i]!.ownerIpa && s.size === mp.regions[i]!.size)) continue;
      if (!attrs.every((a, i) => a.attr === mp.attrs[i]!.attr && a.vmid === mp.attrs[i]!.vmid)) continue;
      if (!mp.labelValid) {
        mp.label = label;
        mp.labelValid = true;
      }
      return mp.handle;
    }
    throw new RmError(RmErr.LOOKUP_FAILED, 'no matching memparcel');
  }

  // ---- VM lifetime hooks ----

  /** Nothing to do at exit itself: accepted parcels are released by the reset's stage. */
  async onVmExited(_vm: Vm): Promise<void> {}

  /** Reset stage: release one parcel the VM accepted and tell its owner; true when none is left. */
  async releaseOneAccepted(vm: Vm): Promise<boolean> {
    const mp = [...this.parcels.values()].reverse().find((p) => p.acl.some((a) => a.vmid === vm.vmid && a.shared));
    if (!mp) return true;
    await this.release(vm.vmid, mp.handle, 0);
    await this.notifyOwner(mp, vm.vmid, false).catch(() => undefined);
    return false;
  }

  /** Give the HLOS its RAM at boot: pages from the root extent into its own, identity mapped RWX. */
  async donateInitialRam(vm: Vm, base: bigint, size: bigint): Promise<void> {
    const { hyp } = this.rm;
    const { as, me } = this.ownerObjects(vm);
    await hyp.memextentDonate(DONATE_TO_CHILD, this.rm.env.rootMe, me, this.offsetOf(base), size);
    await hyp.addrspaceMap(as, me, base, mapAttrs(7, 15), MAP_PARTIAL, this.offsetOf(base), size);
    vm.ipa.insert(base, size, { kind: 'own', pa: base });
  }

  // ---- the RM's own window onto a parcel (memparcel_map_rm) ----

  /** Read or write bytes of a parcel (offset within it) through a temporary identity mapping in the RM. */
  async access(handle: number, offset: bigint, length: number, write?: Uint8Array): Promise<Uint8Array> {
    const mp = this.require(handle);
    const { hyp, env, plat } = this.rm;
    const out = new Uint8Array(write ? 0 : length);
    const end = offset + BigInt(length);
    if (end > mp.totalSize || offset < 0n) throw new RmError(RmErr.MEM_INVALID, 'outside the memparcel');
    let pos = 0n;
    const maps: Region[] = [];
    try {
      for (const r of mp.regions) {
        const rEnd = pos + r.size;
        if (rEnd > offset && pos < end) {
          await mustHyp(hyp.addrspaceMap(env.addrspace, mp.me, r.pa, mapAttrs(6, 15), MAP_PARTIAL, this.offsetOf(r.pa), r.size), RmErr.MAP_FAILED);
          maps.push(r);
          const from = offset > pos ? offset - pos : 0n;
          const to = end < rEnd ? end - pos : r.size;
          const dst = Number(pos + from - offset);
          if (write) plat.write(r.pa + from, write.subarray(dst, dst + Number(to - from)));
          else out.set(plat.read(r.pa + from, Number(to - from)), dst);
        }
        pos = rEnd;
      }
    } finally {
      for (const r of maps) await hyp.addrspaceUnmap(env.addrspace, mp.me, r.pa, MAP_PARTIAL, this.offsetOf(r.pa), r.size);
    }
    return out;
  }
}

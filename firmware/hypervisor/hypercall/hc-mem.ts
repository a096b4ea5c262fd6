// Handlers: address spaces and memory extents (spec §11).
import { GhError } from '../abi/errors';
import { Hvc } from '../abi/hypercalls';
import { ACCESS_ATTRS_RES0, DONATE_RES0, DonateType, MAP_FLAG_PARTIAL, MAP_FLAGS_RES0, MAPPING_ATTRS_RES0, MODIFY_RES0, ModifyOp, NO_SYNC } from '../abi/memory';
import { ObjectState, ObjectType, RIGHT_OBJECT_ACTIVATE, Rights } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import type { Vic } from '../irq/vic';
import type { Addrspace } from '../mem/addrspace';
import type { Memextent } from '../mem/memextent';
import type { Partition } from '../objects/partition';
import type { Vcpu } from '../vm/vcpu';
import type { HvcEntry } from './dispatcher';
import { cap, capInit, inInit } from './lookup';
import { big, num, setNum, setWords, u32, type Regs } from './regs';

const AS = ObjectType.ADDRSPACE;
const ME = ObjectType.MEMEXTENT;

function attachThread(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const t = capInit<Vcpu>(v, r, 1, ObjectType.THREAD, RIGHT_OBJECT_ACTIVATE);
  if (typeof t === 'number') return t;
  const as = cap<Addrspace>(v, r, 0, AS, Rights.addrspace.ATTACH);
  if (typeof as === 'number') return as;
  const st = inInit(t);
  if (st !== GhError.OK) return st;
  return t.attachAddrspace(as);
}

/** Both caps of a map/unmap/update call: the address space and the extent, each with Map. */
function asAndMe(v: Vcpu, r: Regs, asRight: number, meRight: number): [Addrspace, Memextent] | number {
  const as = cap<Addrspace>(v, r, 0, AS, asRight);
  if (typeof as === 'number') return as;
  const me = cap<Memextent>(v, r, 1, ME, meRight);
  if (typeof me === 'number') return me;
  return [as, me];
}

function map(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const attrs = u32(r, 3);
  const flags = u32(r, 4);
  if ((attrs & MAPPING_ATTRS_RES0) !== 0 || (flags & MAP_FLAGS_RES0) !== 0) return GhError.ARGUMENT_INVALID;
  const x = asAndMe(v, r, Rights.addrspace.MAP, Rights.memextent.MAP);
  if (typeof x === 'number') return x;
  const [as, me] = x;
  const a = { u: attrs & 7, k: (attrs >>> 4) & 7, mt: (attrs >>> 16) & 0xff };
  const vbase = num(r, 2);
  return (flags & MAP_FLAG_PARTIAL) !== 0 ? me.mapPartial(as, vbase, num(r, 5), num(r, 6), a) : me.map(as, vbase, a);
}

function unmap(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const flags = u32(r, 3);
  if ((flags & MAP_FLAGS_RES0) !== 0) return GhError.ARGUMENT_INVALID;
  const x = asAndMe(v, r, Rights.addrspace.MAP, Rights.memextent.MAP);
  if (typeof x === 'number') return x;
  const [as, me] = x;
  const vbase = num(r, 2);
  return (flags & MAP_FLAG_PARTIAL) !== 0 ? me.unmapPartial(as, vbase, num(r, 4), num(r, 5)) : me.unmap(as, vbase);
}

function updateAccess(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const access = u32(r, 3);
  const flags = u32(r, 4);
  if ((access & ACCESS_ATTRS_RES0) !== 0 || (flags & MAP_FLAGS_RES0) !== 0) return GhError.ARGUMENT_INVALID;
  const x = asAndMe(v, r, Rights.addrspace.MAP, Rights.memextent.MAP);
  if (typeof x === 'number') return x;
  const [as, me] = x;
  const partial = (flags & MAP_FLAG_PARTIAL) !== 0;
  const offset = partial ? num(r, 5) : 0;
  const size = partial ? num(r, 6) : me.size;
  return me.updateAccess(as, num(r, 2), offset, size, access & 7, (access >>> 4) & 7, partial);
}

function configure(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const as = capInit<Addrspace>(v, r, 0, AS, RIGHT_OBJECT_ACTIVATE);
  if (typeof as === 'number') return as;
  const st = inInit(as);
  if (st !== GhError.OK) return st;
  // vmid_t is 16 bits; the register's upper bits are not part of the argument.
  return as.configure(r[2]! & 0xffff);
}

function attachVdma(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const as = cap<Addrspace>(v, r, 0, AS, Rights.addrspace.ATTACH);
  if (typeof as === 'number') return as;
  // No virtual SMMU on this platform: nothing handles the attach event.
  return GhError.UNIMPLEMENTED;
}

function lookup(hv: Hypervisor, v: Vcpu, r: Regs): number {
  const x = asAndMe(v, r, Rights.addrspace.LOOKUP, Rights.memextent.LOOKUP);
  if (typeof x === 'number') return x;
  const [as, me] = x;
  const res = as.lookup(num(r, 2), num(r, 3));
  if (typeof res === 'number') return res;
  if (!hv.memdb.ownsAll(me, res.pa, res.pa + res.size)) return GhError.MEMDB_NOT_OWNER;
  setNum(r, 1, res.pa - me.physBase);
  setNum(r, 2, res.size);
  setWords(r, 3, (res.e.u & 7) | ((res.e.k & 7) << 4) | ((res.e.mt & 0xff) << 16), 0);
  return GhError.OK;
}

function infoArea(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const as = capInit<Addrspace>(v, r, 0, AS, RIGHT_OBJECT_ACTIVATE);
  if (typeof as === 'number') return as;
  const me = cap<Memextent>(v, r, 1, ME, Rights.memextent.ATTACH);
  if (typeof me === 'number') return me;
  const st = inInit(as);
  if (st !== GhError.OK) return st;
  return as.configureInfoArea(me, num(r, 2));
}

function configureVmmio(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const as = cap<Addrspace>(v, r, 0, AS, Rights.addrspace.ADD_VMMIO_RANGE, false);
  if (typeof as === 'number') return as;
  if (as.state !== ObjectState.INIT && as.state !== ObjectState.ACTIVE) return GhError.OBJECT_STATE;
  const op = u32(r, 3);
  if (op === 0) return as.addVmmio(num(r, 1), num(r, 2));
  if (op === 1) return as.removeVmmio(num(r, 1), num(r, 2));
  return GhError.UNIMPLEMENTED;
}

function attachVdevice(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const as = cap<Addrspace>(v, r, 0, AS, Rights.addrspace.MAP);
  if (typeof as === 'number') return as;
  // The vGIC is the only vdevice object type of this build.
  const vic = cap<Vic>(v, r, 1, ObjectType.VIC, Rights.vic.ATTACH_VDEVICE);
  if (typeof vic === 'number') return vic;
  return vic.attachVdevice(as, u32(r, 2), num(r, 3), num(r, 4), big(r, 5));
}

function modify(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const flags = u32(r, 1);
  if ((flags & MODIFY_RES0) !== 0) return GhError.ARGUMENT_INVALID;
  const me = cap<Memextent>(v, r, 0, ME, Rights.memextent.MAP);
  if (typeof me === 'number') return me;
  const noSync = (flags & NO_SYNC) !== 0;
  const op = flags & 0xff;
  if (op === ModifyOp.UNMAP_ALL) {
    me.unmapAll();
    return GhError.OK;
  }
  if (op === ModifyOp.ZERO_RANGE && noSync) return me.zeroRange(num(r, 2), num(r, 3));
  if ((op === ModifyOp.CACHE_CLEAN_RANGE || op === ModifyOp.CACHE_FLUSH_RANGE) && noSync) {
    // Caches are coherent in the emulator: only the range is validated.
    return me.rangeCheck(num(r, 2), num(r, 3));
  }
  if (op === ModifyOp.SYNC_ALL) return noSync ? GhError.ARGUMENT_INVALID : GhError.OK;
  return GhError.ARGUMENT_INVALID;
}

function meConfigure(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const me = capInit<Memextent>(v, r, 0, ME, RIGHT_OBJECT_ACTIVATE);
  if (typeof me === 'number') return me;
  const st = inInit(me);
  if (st !== GhError.OK) return st;
  return me.configure(num(r, 1), num(r, 2), u32(r, 3));
}

function meConfigureDerive(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const parent = cap<Memextent>(v, r, 1, ME, Rights.memextent.DERIVE);
  if (typeof parent === 'number') return parent;
  const me = capInit<Memextent>(v, r, 0, ME, RIGHT_OBJECT_ACTIVATE);
  if (typeof me === 'number') return me;
  const st = inInit(me);
  if (st !== GhError.OK) return st;
  return me.configureDerive(parent, num(r, 2), num(r, 3), u32(r, 4));
}

/** to_child / to_parent: `parentIdx` names the parent extent (or, for a root extent, its partition). */
function donateChild(v: Vcpu, r: Regs, parentIdx: number, childIdx: number, reverse: boolean): number {
  const child = cap<Memextent>(v, r, childIdx, ME, Rights.memextent.DONATE);
  if (typeof child === 'number') return child;
  if (child.parent) {
    const p = cap<Memextent>(v, r, parentIdx, ME, Rights.memextent.DONATE);
    if (typeof p === 'number') return p;
    if (p !== child.parent) return GhError.ARGUMENT_INVALID;
  } else {
    const p = cap<Partition>(v, r, parentIdx, ObjectType.PARTITION, Rights.partition.DONATE);
    if (typeof p === 'number') return p;
    if (p !== child.partition) return GhError.ARGUMENT_INVALID;
  }
  return child.donateChild(num(r, 3), num(r, 4), reverse);
}

function donate(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const options = u32(r, 0);
  if ((options & DONATE_RES0) !== 0) return GhError.ARGUMENT_INVALID;
  const type = options & 0xff;
  if (type === DonateType.TO_CHILD) return donateChild(v, r, 1, 2, false);
  if (type === DonateType.TO_PARENT) return donateChild(v, r, 2, 1, true);
  if (type === DonateType.TO_SIBLING) {
    const from = cap<Memextent>(v, r, 1, ME, Rights.memextent.DONATE);
    if (typeof from === 'number') return from;
    const to = cap<Memextent>(v, r, 2, ME, Rights.memextent.DONATE);
    if (typeof to === 'number') return to;
    return from.donateSibling(to, num(r, 3), num(r, 4));
  }
  return GhError.ARGUMENT_INVALID;
}

export const memCalls: HvcEntry[] = [
  { n: Hvc.ADDRSPACE_ATTACH_THREAD, nIn: 3, res0: [2], nOut: 1, fn: attachThread },
  { n: Hvc.ADDRSPACE_MAP, nIn: 7, nOut: 1, fn: map },
  { n: Hvc.ADDRSPACE_UNMAP, nIn: 6, nOut: 1, fn: unmap },
  { n: Hvc.ADDRSPACE_UPDATE_ACCESS, nIn: 7, nOut: 1, fn: updateAccess },
  { n: Hvc.ADDRSPACE_CONFIGURE, nIn: 3, res0: [2], nOut: 1, fn: configure },
  { n: Hvc.ADDRSPACE_ATTACH_VDMA, nIn: 4, res0: [3], nOut: 1, fn: attachVdma },
  { n: Hvc.ADDRSPACE_LOOKUP, nIn: 5, res0: [4], nOut: 4, fn: lookup },
  { n: Hvc.ADDRSPACE_CONFIGURE_INFO_AREA, nIn: 4, res0: [3], nOut: 1, fn: infoArea },
  { n: Hvc.ADDRSPACE_CONFIGURE_VMMIO, nIn: 5, res0: [4], nOut: 1, fn: configureVmmio },
  { n: Hvc.ADDRSPACE_ATTACH_VDEVICE, nIn: 6, nOut: 1, fn: attachVdevice },
  { n: Hvc.MEMEXTENT_MODIFY, nIn: 4, nOut: 1, fn: modify },
  { n: Hvc.MEMEXTENT_CONFIGURE, nIn: 5, res0: [4], nOut: 1, fn: meConfigure },
  { n: Hvc.MEMEXTENT_CONFIGURE_DERIVE, nIn: 6, res0: [5], nOut: 1, fn: meConfigureDerive },
  { n: Hvc.MEMEXTENT_DONATE, nIn: 6, res0: [5], nOut: 1, fn: donate },
];

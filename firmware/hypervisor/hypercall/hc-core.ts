// Handlers: identify, partition_create_*, object activation and reset, cspace operations, trace
// flags, PRNG entropy and scheduler_yield.
import { GhError } from '../abi/errors';
import { API_FLAGS0, Hvc, HYP_API_INFO } from '../abi/hypercalls';
import { ObjectType, RIGHT_OBJECT_ACTIVATE, Rights } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import { Vic } from '../irq/vic';
import { Addrspace } from '../mem/addrspace';
import { Memextent } from '../mem/memextent';
import { Doorbell } from '../ipc/doorbell';
import { Msgqueue } from '../ipc/msgqueue';
import { ANY_TYPE, CSPACE_MAX_CAPS, CSpace } from '../objects/cspace';
import { OBJECT_HEAP_COST, type KObject } from '../objects/kobject';
import { CHILD_PARTITION_HEAP, Partition } from '../objects/partition';
import { Vcpu } from '../vm/vcpu';
import { VpmGroup } from '../vm/vpm-group';
import type { HvcEntry } from './dispatcher';
import { cap, capInit, inInit } from './lookup';
import { big, setBig, setNum, setWords, u32, type Regs } from './regs';

const IDENT_INFO_LO = Number(HYP_API_INFO & 0xffff_ffffn);
const IDENT_INFO_HI = Number(HYP_API_INFO >> 32n);

function identify(_hv: Hypervisor, _v: Vcpu, r: Regs): number {
  r[0] = IDENT_INFO_LO;
  r[1] = IDENT_INFO_HI;
  r[2] = API_FLAGS0;
  r[3] = 0;
  r[4] = 0;
  r[5] = 0;
  r[6] = 0;
  r[7] = 0;
  return GhError.OK;
}

type Ctor = (hv: Hypervisor, p: Partition) => KObject | number;

/** partition_create_<type>(partition, cspace): a new INIT object and its master cap. */
function creator(make: Ctor, extraHeap = 0): HvcEntry['fn'] {
  return (hv, v, r) => {
    const p = cap<Partition>(v, r, 0, ObjectType.PARTITION, Rights.partition.OBJECT_CREATE);
    if (typeof p === 'number') return p;
    const cs = cap<CSpace>(v, r, 1, ObjectType.CSPACE, Rights.cspace.CAP_CREATE);
    if (typeof cs === 'number') return cs;
    if (p.heapAvailable < OBJECT_HEAP_COST + extraHeap) return GhError.NOMEM;
    const obj = make(hv, p);
    if (typeof obj === 'number') return obj;
    const val = cs.createMaster(obj);
    if (val < 0) {
      obj.maybeDestroy();
      return -val;
    }
    setWords(r, 1, cs.idLo(val), cs.idHi);
    return GhError.OK;
  };
}

const create = (n: number, make: Ctor, extraHeap = 0): HvcEntry => ({ n, nIn: 3, res0: [2], nOut: 2, fn: creator(make, extraHeap) });

function activate(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const o = cap(v, r, 0, ANY_TYPE, RIGHT_OBJECT_ACTIVATE, false);
  if (typeof o === 'number') return o;
  return o.activate();
}

function activateFrom(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const cs = cap<CSpace>(v, r, 0, ObjectType.CSPACE, Rights.cspace.CAP_CREATE);
  if (typeof cs === 'number') return cs;
  const o = cs.lookup(r[2]!, r[3]!, ANY_TYPE, RIGHT_OBJECT_ACTIVATE, false);
  if (typeof o === 'number') return o;
  return o.activate();
}

function cspaceConfigure(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const cs = capInit<CSpace>(v, r, 0, ObjectType.CSPACE, RIGHT_OBJECT_ACTIVATE);
  if (typeof cs === 'number') return cs;
  const st = inInit(cs);
  if (st !== GhError.OK) return st;
  const max = u32(r, 1);
  if (max > CSPACE_MAX_CAPS) return GhError.ARGUMENT_INVALID;
  cs.maxCaps = max;
  return GhError.OK;
}

function deleteCapFrom(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const cs = cap<CSpace>(v, r, 0, ObjectType.CSPACE, Rights.cspace.CAP_DELETE);
  if (typeof cs === 'number') return cs;
  return cs.deleteCap(r[2]!, r[3]!);
}

function copyCapFrom(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const src = cap<CSpace>(v, r, 0, ObjectType.CSPACE, Rights.cspace.CAP_COPY);
  if (typeof src === 'number') return src;
  const dst = cap<CSpace>(v, r, 2, ObjectType.CSPACE, Rights.cspace.CAP_CREATE);
  if (typeof dst === 'number') return dst;
  const val = dst.copyFrom(src, r[2]!, r[3]!, u32(r, 3));
  if (val < 0) return -val;
  setWords(r, 1, dst.idLo(val), dst.idHi);
  return GhError.OK;
}

function revokeCapsFrom(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const cs = cap<CSpace>(v, r, 0, ObjectType.CSPACE, Rights.cspace.CAP_REVOKE);
  if (typeof cs === 'number') return cs;
  return cs.revokeOthers(r[2]!, r[3]!);
}

function cspaceAttachThread(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const t = capInit<Vcpu>(v, r, 1, ObjectType.THREAD, RIGHT_OBJECT_ACTIVATE);
  if (typeof t === 'number') return t;
  const cs = cap<CSpace>(v, r, 0, ObjectType.CSPACE, Rights.cspace.ATTACH);
  if (typeof cs === 'number') return cs;
  const st = inInit(t);
  if (st !== GhError.OK) return st;
  return t.attachCspace(cs);
}

/** Trace classes a guest may change (the public ones). */
const TRACE_PUBLIC_CLASSES = 0xffffn;

function traceFlags(hv: Hypervisor, _v: Vcpu, r: Regs): number {
  const set = big(r, 0) & TRACE_PUBLIC_CLASSES;
  const clear = big(r, 1) & TRACE_PUBLIC_CLASSES;
  hv.trace.classFlags = (hv.trace.classFlags | set) & ~clear;
  setBig(r, 1, hv.trace.classFlags);
  return GhError.OK;
}

/** prng_get_entropy: 4..16 bytes in multiples of 4, at most 4 reads per 33 ms window per vCPU. */
const PRNG_WINDOW_NS = 33_000_000;
const prngWindows = new WeakMap<Vcpu, { start: number; reads: number }>();

function prngEntropy(hv: Hypervisor, v: Vcpu, r: Regs): number {
  const n = u32(r, 0);
  if (n === 0 || n > 16) return GhError.ARGUMENT_SIZE;
  if (n % 4 !== 0) return GhError.ARGUMENT_ALIGNMENT;
  const now = hv.localNow();
  const w = prngWindows.get(v);
  if (w && now - w.start < PRNG_WINDOW_NS) {
    if (w.reads >= 4) return GhError.BUSY;
    w.reads++;
  } else prngWindows.set(v, { start: now, reads: 1 });
  for (let i = 0; i < 4; i++) setNum(r, i + 1, i < n / 4 ? hv.machine.prng.u32() : 0);
  return GhError.OK;
}

function schedulerYield(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const control = u32(r, 0);
  if ((control & 0x8000_0000) !== 0) return GhError.ARGUMENT_INVALID;
  const hint = control & 0xffff;
  if (hint === 1) {
    const t = cap<Vcpu>(v, r, 1, ObjectType.THREAD, Rights.thread.YIELD_TO);
    if (typeof t === 'number') return t;
  } else if (hint !== 0 && hint !== 2) return GhError.ARGUMENT_INVALID;
  // Give up the rest of the timeslice at the next preemption point.
  v.syncRequested = true;
  v.yieldRequested = true;
  return GhError.OK;
}

const unimplemented = (): number => GhError.UNIMPLEMENTED;

export const coreCalls: HvcEntry[] = [
  { n: Hvc.HYPERVISOR_IDENTIFY, nIn: 0, nOut: 4, noError: true, fn: identify },
  create(Hvc.PARTITION_CREATE_PARTITION, (hv, p) => (p.allocHeap(CHILD_PARTITION_HEAP) ? new Partition(hv, p, CHILD_PARTITION_HEAP) : GhError.NOMEM), CHILD_PARTITION_HEAP),
  create(Hvc.PARTITION_CREATE_CSPACE, (hv, p) => {
    const cs = new CSpace(hv, p, hv.capIdScheme);
    return cs.chargeCreation() ? cs : (cs.maybeDestroy(), GhError.NOMEM);
  }),
  create(Hvc.PARTITION_CREATE_ADDRSPACE, (hv, p) => new Addrspace(hv, p)),
  create(Hvc.PARTITION_CREATE_MEMEXTENT, (hv, p) => new Memextent(hv, p)),
  create(Hvc.PARTITION_CREATE_THREAD, (hv, p) => new Vcpu(hv, p)),
  create(Hvc.PARTITION_CREATE_DOORBELL, (hv, p) => new Doorbell(hv, p)),
  create(Hvc.PARTITION_CREATE_MSGQUEUE, (hv, p) => new Msgqueue(hv, p)),
  create(Hvc.PARTITION_CREATE_VIC, (hv, p) => new Vic(hv, p)),
  create(Hvc.PARTITION_CREATE_VPM_GROUP, (hv, p) => new VpmGroup(hv, p)),
  { n: Hvc.OBJECT_ACTIVATE, nIn: 2, res0: [1], nOut: 1, fn: activate },
  { n: Hvc.OBJECT_ACTIVATE_FROM, nIn: 3, res0: [2], nOut: 1, fn: activateFrom },
  { n: Hvc.OBJECT_RESET, nIn: 2, res0: [1], nOut: 1, fn: unimplemented },
  { n: Hvc.OBJECT_RESET_FROM, nIn: 3, res0: [2], nOut: 1, fn: unimplemented },
  { n: Hvc.CSPACE_DELETE_CAP_FROM, nIn: 3, res0: [2], nOut: 1, fn: deleteCapFrom },
  { n: Hvc.CSPACE_COPY_CAP_FROM, nIn: 5, res0: [4], nOut: 2, fn: copyCapFrom },
  { n: Hvc.CSPACE_REVOKE_CAP_FROM, nIn: 3, res0: [2], nOut: 1, fn: unimplemented },
  { n: Hvc.CSPACE_CONFIGURE, nIn: 3, res0: [2], nOut: 1, fn: cspaceConfigure },
  { n: Hvc.CSPACE_ATTACH_THREAD, nIn: 3, res0: [2], nOut: 1, fn: cspaceAttachThread },
  { n: Hvc.CSPACE_REVOKE_CAPS_FROM, nIn: 3, res0: [2], nOut: 1, fn: revokeCapsFrom },
  { n: Hvc.TRACE_UPDATE_CLASS_FLAGS, nIn: 3, res0: [2], nOut: 2, fn: traceFlags },
  { n: Hvc.PRNG_GET_ENTROPY, nIn: 2, res0: [1], nOut: 5, fn: prngEntropy },
  { n: Hvc.SCHEDULER_YIELD, nIn: 3, res0: [2], nOut: 1, fn: schedulerYield },
];

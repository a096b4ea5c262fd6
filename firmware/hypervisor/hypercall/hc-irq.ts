// Handlers: virtual interrupt controllers, hardware IRQs, the vGIC MPIDR mapping and VPM groups.
import { GhError } from '../abi/errors';
import { Hvc } from '../abi/hypercalls';
import { ObjectType, RIGHT_OBJECT_ACTIVATE, Rights } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import type { Vic } from '../irq/vic';
import type { Hwirq } from '../objects/hwirq';
import type { Vcpu } from '../vm/vcpu';
import type { VpmGroup } from '../vm/vpm-group';
import type { HvcEntry } from './dispatcher';
import { virqNumber } from './hc-ipc';
import { cap, capInit, inInit } from './lookup';
import { big, setWords, u32, type Regs } from './regs';

function vicConfigure(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const vic = capInit<Vic>(v, r, 0, ObjectType.VIC, RIGHT_OBJECT_ACTIVATE);
  if (typeof vic === 'number') return vic;
  const options = big(r, 3);
  if ((options & ~3n) !== 0n) return GhError.ARGUMENT_INVALID;
  // max_msis counts only when option bit 0 says it is valid (backwards compatibility).
  const maxMsis = (options & 1n) !== 0n ? u32(r, 4) : 0;
  const st = inInit(vic);
  if (st !== GhError.OK) return st;
  return vic.configure(u32(r, 1), u32(r, 2), maxMsis, (options & 2n) === 0n);
}

function vicAttachVcpu(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const vic = cap<Vic>(v, r, 0, ObjectType.VIC, Rights.vic.ATTACH_VCPU);
  if (typeof vic === 'number') return vic;
  const t = capInit<Vcpu>(v, r, 1, ObjectType.THREAD, RIGHT_OBJECT_ACTIVATE);
  if (typeof t === 'number') return t;
  const st = inInit(t);
  if (st !== GhError.OK) return st;
  return vic.attachVcpu(t, u32(r, 2));
}

function vicBindMsiSource(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const vic = cap<Vic>(v, r, 0, ObjectType.VIC, Rights.vic.BIND_SOURCE);
  if (typeof vic === 'number') return vic;
  // No ITS in this vGIC (no LPIs): nothing can be an MSI source.
  return GhError.UNIMPLEMENTED;
}

function hwirqBind(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const h = cap<Hwirq>(v, r, 0, ObjectType.HWIRQ, Rights.hwirq.BIND_VIC);
  if (typeof h === 'number') return h;
  const vic = cap<Vic>(v, r, 1, ObjectType.VIC, Rights.vic.BIND_SOURCE);
  if (typeof vic === 'number') return vic;
  return h.bind(vic, virqNumber(r, 2));
}

function hwirqUnbind(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const h = cap<Hwirq>(v, r, 0, ObjectType.HWIRQ, Rights.hwirq.BIND_VIC);
  if (typeof h === 'number') return h;
  return h.unbind();
}

function setMpidrMapping(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const vic = capInit<Vic>(v, r, 0, ObjectType.VIC, RIGHT_OBJECT_ACTIVATE);
  if (typeof vic === 'number') return vic;
  const st = inInit(vic);
  if (st !== GhError.OK) return st;
  return vic.setMpidrMapping(big(r, 1), [u32(r, 2), u32(r, 3), u32(r, 4), u32(r, 5)], (r[12]! & 1) !== 0);
}

function vpmConfigure(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const flags = big(r, 1);
  if ((flags & ~1n) !== 0n) return GhError.UNIMPLEMENTED;
  const g = capInit<VpmGroup>(v, r, 0, ObjectType.VPM_GROUP, RIGHT_OBJECT_ACTIVATE);
  if (typeof g === 'number') return g;
  const st = inInit(g);
  if (st !== GhError.OK) return st;
  return g.configure(flags);
}

function vpmAttach(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const g = cap<VpmGroup>(v, r, 0, ObjectType.VPM_GROUP, Rights.vpmGroup.ATTACH_VCPU);
  if (typeof g === 'number') return g;
  const t = capInit<Vcpu>(v, r, 1, ObjectType.THREAD, RIGHT_OBJECT_ACTIVATE);
  if (typeof t === 'number') return t;
  const st = inInit(t);
  if (st !== GhError.OK) return st;
  return g.attach(t, u32(r, 2));
}

function vpmBind(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const g = cap<VpmGroup>(v, r, 0, ObjectType.VPM_GROUP, Rights.vpmGroup.BIND_VIRQ);
  if (typeof g === 'number') return g;
  const vic = cap<Vic>(v, r, 1, ObjectType.VIC, Rights.vic.BIND_SOURCE);
  if (typeof vic === 'number') return vic;
  return vic.bindShared(g.suspendSource, virqNumber(r, 2));
}

function vpmUnbind(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const g = cap<VpmGroup>(v, r, 0, ObjectType.VPM_GROUP, Rights.vpmGroup.BIND_VIRQ);
  if (typeof g === 'number') return g;
  g.suspendSource.vic?.unbind(g.suspendSource);
  return GhError.OK;
}

function vpmState(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const g = cap<VpmGroup>(v, r, 0, ObjectType.VPM_GROUP, Rights.vpmGroup.QUERY);
  if (typeof g === 'number') return g;
  setWords(r, 1, g.vpmState(), 0);
  return GhError.OK;
}

export const irqCalls: HvcEntry[] = [
  { n: Hvc.VIC_CONFIGURE, nIn: 5, nOut: 1, fn: vicConfigure },
  { n: Hvc.VIC_ATTACH_VCPU, nIn: 4, res0: [3], nOut: 1, fn: vicAttachVcpu },
  { n: Hvc.VIC_BIND_MSI_SOURCE, nIn: 3, res0: [2], nOut: 1, fn: vicBindMsiSource },
  { n: Hvc.HWIRQ_BIND_VIRQ, nIn: 4, res0: [3], nOut: 1, fn: hwirqBind },
  { n: Hvc.HWIRQ_UNBIND_VIRQ, nIn: 2, res0: [1], nOut: 1, fn: hwirqUnbind },
  { n: Hvc.VGIC_SET_MPIDR_MAPPING, nIn: 7, nOut: 1, fn: setMpidrMapping },
  { n: Hvc.VPM_GROUP_CONFIGURE, nIn: 3, res0: [2], nOut: 1, fn: vpmConfigure },
  { n: Hvc.VPM_GROUP_ATTACH_VCPU, nIn: 4, res0: [3], nOut: 1, fn: vpmAttach },
  { n: Hvc.VPM_GROUP_BIND_VIRQ, nIn: 4, res0: [3], nOut: 1, fn: vpmBind },
  { n: Hvc.VPM_GROUP_UNBIND_VIRQ, nIn: 2, res0: [1], nOut: 1, fn: vpmUnbind },
  { n: Hvc.VPM_GROUP_GET_STATE, nIn: 2, res0: [1], nOut: 2, fn: vpmState },
];

// Handlers: vCPU configuration, power, kill, affinity/priority/timeslice, register writes, vCPU
// VIRQs, vcpu_run and vcpu_run_check (spec §10).
import { GhError } from '../abi/errors';
import { Hvc } from '../abi/hypercalls';
import { ObjectType, RIGHT_OBJECT_ACTIVATE, Rights } from '../abi/objects';
import { CPU_INDEX_INVALID, RegisterSet, SCHED, VCPU_OPTIONS_KNOWN, VcpuRunState } from '../abi/vcpu';
import type { Hypervisor } from '../hypervisor';
import type { Vic } from '../irq/vic';
import { VState, type Vcpu } from '../vm/vcpu';
import { BLOCKED, type HvcEntry } from './dispatcher';
import { virqNumber } from './hc-ipc';
import { cap, capInit, inInit } from './lookup';
import { big, num, setBig, setWords, u32, type Regs } from './regs';

const TH = ObjectType.THREAD;

function configure(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  if ((big(r, 1) & ~VCPU_OPTIONS_KNOWN) !== 0n) return GhError.ARGUMENT_INVALID;
  const t = capInit<Vcpu>(v, r, 0, TH, RIGHT_OBJECT_ACTIVATE);
  if (typeof t === 'number') return t;
  const st = inInit(t);
  if (st !== GhError.OK) return st;
  return t.configure(big(r, 1));
}

function poweron(hv: Hypervisor, v: Vcpu, r: Regs): number {
  const flags = big(r, 3);
  if ((flags & ~3n) !== 0n) return GhError.ARGUMENT_INVALID;
  const t = cap<Vcpu>(v, r, 0, TH, Rights.thread.POWER);
  if (typeof t === 'number') return t;
  if (t.vstate !== VState.OFF) return GhError.BUSY;
  if (t.threadState !== 'ready') return GhError.FAILURE;
  if ((flags & 1n) === 0n) t.pc = big(r, 1);
  if ((flags & 2n) === 0n) t.regs[0] = big(r, 2);
  hv.sched.powerOn(t);
  return GhError.OK;
}

function poweroff(hv: Hypervisor, v: Vcpu, r: Regs): number {
  const flags = big(r, 1);
  if ((flags & ~1n) !== 0n) return GhError.ARGUMENT_INVALID;
  const t = cap<Vcpu>(v, r, 0, TH, Rights.thread.POWER);
  if (typeof t === 'number') return t;
  if (t !== v) return GhError.ARGUMENT_INVALID;
  const err = lastCpuCheck(t, (flags & 1n) !== 0n);
  if (err !== GhError.OK) return err;
  hv.sched.powerOff(t);
  return BLOCKED;
}

/** The last-CPU rule of a voluntary power-off (psci_handle_vcpu_poweroff). */
export function lastCpuCheck(t: Vcpu, last: boolean): number {
  const g = t.vpm;
  if (!g) return last ? GhError.OK : GhError.DENIED;
  return last === (g.onlineCount() === 1) ? GhError.OK : GhError.DENIED;
}

function kill(hv: Hypervisor, v: Vcpu, r: Regs): number {
  const t = cap<Vcpu>(v, r, 0, TH, Rights.thread.LIFECYCLE);
  if (typeof t === 'number') return t;
  if (t.threadState !== 'ready') return GhError.OBJECT_STATE;
  hv.sched.kill(t);
  return t === v ? BLOCKED : GhError.OK;
}

function setAffinity(hv: Hypervisor, v: Vcpu, r: Regs): number {
  const cpu = r[2]! & 0xffff;
  let rights: number = Rights.thread.AFFINITY;
  if (cpu === CPU_INDEX_INVALID) rights |= Rights.thread.DISABLE;
  else if (cpu >= hv.machine.cpus) return GhError.ARGUMENT_INVALID;
  const t = cap<Vcpu>(v, r, 0, TH, rights, false);
  if (typeof t === 'number') return t;
  if (!t.alive || (t.state !== 1 && t.state !== 2)) return GhError.OBJECT_STATE;
  t.affinity = cpu;
  if (t.active) hv.sched.affinityChanged(t);
  return GhError.OK;
}

function setPriority(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const t = cap<Vcpu>(v, r, 0, TH, Rights.thread.PRIORITY, false);
  if (typeof t === 'number') return t;
  const p = u32(r, 1);
  if (p > SCHED.VCPU_MAX_PRIORITY) return GhError.DENIED;
  const st = inInit(t);
  if (st !== GhError.OK) return st;
  return t.setPriority(p);
}

function setTimeslice(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const t = cap<Vcpu>(v, r, 0, TH, Rights.thread.TIMESLICE, false);
  if (typeof t === 'number') return t;
  const st = inInit(t);
  if (st !== GhError.OK) return st;
  return t.setTimeslice(num(r, 1));
}

function registerWrite(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const t = cap<Vcpu>(v, r, 0, TH, Rights.thread.WRITE_CONTEXT, false);
  if (typeof t === 'number') return t;
  if (t.threadState !== 'init' && t.threadState !== 'ready') return GhError.OBJECT_STATE;
  if (t.vstate !== VState.OFF) return GhError.BUSY;
  const set = u32(r, 1);
  const index = u32(r, 2);
  const value = big(r, 3);
  if (set === RegisterSet.X) {
    if (index >= 31) return GhError.ARGUMENT_INVALID;
    t.regs[index] = value;
  } else if (set === RegisterSet.PC) {
    if (index !== 0 || (value & 3n) !== 0n) return GhError.ARGUMENT_INVALID;
    t.pc = value;
  } else if (set === RegisterSet.SP_EL) {
    if (index > 1) return GhError.ARGUMENT_INVALID;
    t.sp[index] = value;
  } else return GhError.ARGUMENT_INVALID;
  return GhError.OK;
}

function bindVirq(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const t = cap<Vcpu>(v, r, 0, TH, Rights.thread.BIND_VIRQ);
  if (typeof t === 'number') return t;
  const vic = cap<Vic>(v, r, 1, ObjectType.VIC, Rights.vic.BIND_SOURCE);
  if (typeof vic === 'number') return vic;
  return t.bindVirq(vic, virqNumber(r, 2), u32(r, 3));
}

function unbindVirq(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const t = cap<Vcpu>(v, r, 0, TH, Rights.thread.BIND_VIRQ);
  if (typeof t === 'number') return t;
  return t.unbindVirq(u32(r, 1));
}

function writeTuple(r: Regs, tuple: readonly [number, bigint, bigint, bigint]): void {
  setWords(r, 1, tuple[0], 0);
  setBig(r, 2, tuple[1]);
  setBig(r, 3, tuple[2]);
  setBig(r, 4, tuple[3]);
}

function vcpuRun(hv: Hypervisor, v: Vcpu, r: Regs): number {
  const t = cap<Vcpu>(v, r, 0, TH, Rights.thread.AFFINITY | Rights.thread.YIELD_TO);
  if (typeof t === 'number') return t;
  // Not proxy-scheduled, being run by someone else, or the caller itself.
  if (!t.proxy || t.runner || t === v || t.runTarget) return GhError.BUSY;
  if (t.vstate === VState.BLOCKED && t.blockReason === 'vmmio' && t.vmmio) {
    // Resume data for an MMIO exit: the value the load returns (ignored for a store).
    if (!t.vmmio.write) t.vmmioResult = BigInt.asUintN(t.vmmio.size * 8, big(r, 1));
    t.vmmio = null;
    t.vstate = VState.READY;
  }
  if (t.threadState === 'killed') hv.sched.exitThread(t);
  if (t.vstate === VState.READY && t.threadState === 'ready') {
    hv.sched.runProxy(v, t);
    return BLOCKED;
  }
  const tuple = hv.sched.runState(t);
  t.lastRunState = tuple[0];
  writeTuple(r, tuple);
  return GhError.OK;
}

function vcpuRunCheck(hv: Hypervisor, v: Vcpu, r: Regs): number {
  const t = cap<Vcpu>(v, r, 0, TH, Rights.thread.BIND_VIRQ | Rights.thread.STATE);
  if (typeof t === 'number') return t;
  if (t.vstate === VState.READY || t.vstate === VState.RUNNING) return GhError.BUSY;
  const tuple = hv.sched.runState(t);
  if (tuple[0] === VcpuRunState.BLOCKED) return GhError.BUSY;
  writeTuple(r, tuple);
  return GhError.OK;
}

export const vcpuCalls: HvcEntry[] = [
  { n: Hvc.VCPU_CONFIGURE, nIn: 3, res0: [2], nOut: 1, fn: configure },
  { n: Hvc.VCPU_POWERON, nIn: 4, nOut: 1, fn: poweron },
  { n: Hvc.VCPU_POWEROFF, nIn: 2, nOut: 1, fn: poweroff },
  { n: Hvc.VCPU_KILL, nIn: 2, res0: [1], nOut: 1, fn: kill },
  { n: Hvc.VCPU_SET_AFFINITY, nIn: 3, res1: [2], nOut: 1, fn: setAffinity },
  { n: Hvc.VCPU_SET_PRIORITY, nIn: 2, nOut: 1, fn: setPriority },
  { n: Hvc.VCPU_SET_TIMESLICE, nIn: 2, nOut: 1, fn: setTimeslice },
  { n: Hvc.VCPU_REGISTER_WRITE, nIn: 5, res0: [4], nOut: 1, fn: registerWrite },
  { n: Hvc.VCPU_BIND_VIRQ, nIn: 5, res0: [4], nOut: 1, fn: bindVirq },
  { n: Hvc.VCPU_UNBIND_VIRQ, nIn: 3, res0: [2], nOut: 1, fn: unbindVirq },
  { n: Hvc.VCPU_RUN, nIn: 5, res0: [4], nOut: 5, fn: vcpuRun },
  { n: Hvc.VCPU_RUN_CHECK, nIn: 2, res0: [1], nOut: 5, fn: vcpuRunCheck },
];

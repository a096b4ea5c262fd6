// PSCI 1.1 for vCPUs in a VPM group, over the SMCCC conduit (spec §10.2; hyp/vm/psci).
import { AffinityInfo, Psci, PsciRet, VcpuOption } from '../abi/vcpu';
import { GhError } from '../abi/errors';
import type { Hypervisor } from '../hypervisor';
import { lastCpuCheck } from '../hypercall/hc-vcpu';
import { big, setSigned, setWords, type Regs } from '../hypercall/regs';
import { VState, type Vcpu } from './vcpu';

/** MPIDR affinity fields Aff3..Aff0 (MPIDR_HWID mask). */
const MPIDR_HWID = 0xff_00ff_ffffn;

const SUPPORTED = new Set<number>([
  Psci.VERSION,
  Psci.CPU_SUSPEND_32,
  Psci.CPU_SUSPEND_64,
  Psci.CPU_OFF,
  Psci.CPU_ON_32,
  Psci.CPU_ON_64,
  Psci.AFFINITY_INFO_32,
  Psci.AFFINITY_INFO_64,
  Psci.SYSTEM_OFF,
  Psci.SYSTEM_RESET,
  Psci.SYSTEM_RESET2_32,
  Psci.SYSTEM_RESET2_64,
  Psci.FEATURES,
  Psci.CPU_DEFAULT_SUSPEND_32,
  Psci.CPU_DEFAULT_SUSPEND_64,
]);

/** Handle PSCI function `fid` for `v` (in a VPM group). Returns false when the call blocked. */
export function handlePsci(hv: Hypervisor, v: Vcpu, r: Regs, fid: number): boolean {
  const is32 = (fid & 0x4000_0000) === 0;
  const arg = (i: number): bigint => (is32 ? BigInt(r[2 * i]!) : big(r, i));
  const ret = (code: number): boolean => {
    setSigned(r, 0, code);
    return true;
  };
  switch (fid) {
    case Psci.VERSION:
      setWords(r, 0, Psci.VERSION_1_1, 0);
      return true;
    case Psci.FEATURES: {
      const q = r[2]!;
      if (q === 0x8000_0000) return ret(PsciRet.SUCCESS); // SMCCC_VERSION
      return ret(SUPPORTED.has(q) ? PsciRet.SUCCESS : PsciRet.NOT_SUPPORTED);
    }
    case Psci.CPU_ON_32:
    case Psci.CPU_ON_64:
      return ret(cpuOn(hv, v, arg(1), arg(2), arg(3)));
    case Psci.CPU_OFF: {
      if (lastCpuCheck(v, false) !== GhError.OK) return ret(PsciRet.DENIED);
      hv.sched.powerOff(v);
      return false;
    }
    case Psci.CPU_SUSPEND_32:
    case Psci.CPU_SUSPEND_64:
    case Psci.CPU_DEFAULT_SUSPEND_32:
    case Psci.CPU_DEFAULT_SUSPEND_64: {
      // A pending interrupt makes the suspend return at once. Power-down states are treated as
      // standby: the vCPU resumes after the call rather than warm-resetting to an entry point.
      setSigned(r, 0, PsciRet.SUCCESS);
      if (v.gic.line) return true;
      v.suspendState = fid === Psci.CPU_SUSPEND_32 || fid === Psci.CPU_SUSPEND_64 ? arg(1) : 0n;
      hv.sched.block(v, 'suspend');
      return false;
    }
    case Psci.AFFINITY_INFO_32:
    case Psci.AFFINITY_INFO_64: {
      if (arg(2) !== 0n) return ret(PsciRet.INVALID_PARAMETERS);
      const t = v.vpm!.memberByMpidr(arg(1) & MPIDR_HWID);
      if (!t) return ret(PsciRet.INVALID_PARAMETERS);
      return ret(t.vstate === VState.OFF || t.vstate === VState.FAULT ? AffinityInfo.OFF : AffinityInfo.ON);
    }
    case Psci.SYSTEM_OFF:
      return systemDown(hv, v, null);
    case Psci.SYSTEM_RESET:
      return systemDown(hv, v, { data0: 1n << 63n, data1: 0n });
    case Psci.SYSTEM_RESET2_32:
    case Psci.SYSTEM_RESET2_64: {
      const type = arg(1) & 0xffff_ffffn;
      // Architectural reset types other than 0 (warm reset) do not exist; vendor types have bit 31.
      if ((type & 0x8000_0000n) === 0n && type !== 0n) return ret(PsciRet.INVALID_PARAMETERS);
      const smc64 = fid === Psci.SYSTEM_RESET2_64 ? 1n << 62n : 0n;
      return systemDown(hv, v, { data0: type | smc64, data1: arg(2) });
    }
    default:
      return ret(PsciRet.NOT_SUPPORTED);
  }
}

function cpuOn(hv: Hypervisor, v: Vcpu, mpidr: bigint, entry: bigint, ctx: bigint): number {
  const g = v.vpm!;
  const t = g.memberByMpidr(mpidr & MPIDR_HWID);
  if (!t) {
    // An MPIDR the VM's mapping knows but no vCPU answers to, versus one outside it.
    return v.vic && v.vic.indexOf(mpidr & MPIDR_HWID) >= 0 ? PsciRet.INTERNAL_FAILURE : PsciRet.INVALID_PARAMETERS;
  }
  if (t.vstate !== VState.OFF) return PsciRet.ALREADY_ON;
  if (t.threadState !== 'ready') return PsciRet.INTERNAL_FAILURE;
  if ((t.options & VcpuOption.PINNED) !== 0n && t.affinity >= hv.machine.cpus) return PsciRet.INTERNAL_FAILURE;
  t.pc = entry;
  t.regs[0] = ctx;
  hv.sched.powerOn(t);
  return PsciRet.SUCCESS;
}

/**
 * SYSTEM_OFF / SYSTEM_RESET(2). A critical (HLOS or root) vCPU forwards it to the platform; any
 * other VM records the request, kills its other vCPUs and halts the caller, raising the halt VIRQ
 * that the RM turns into a VM exit.
 */
function systemDown(hv: Hypervisor, v: Vcpu, reset: { data0: bigint; data1: bigint } | null): boolean {
  if (v.critical) {
    hv.platformPower(v, reset ? 'reset' : 'off');
    hv.sched.powerOff(v);
    return false;
  }
  for (const m of v.vpm!.members) if (m && m !== v && m.threadState === 'ready') hv.sched.kill(m);
  hv.sched.halt(v);
  v.resetRequest = reset;
  return false;
}

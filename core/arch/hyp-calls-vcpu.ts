// Typed wrappers: vCPUs and proxy scheduling, the scheduler, VPM groups, watchdogs, the virtual interrupt
// controller and hardware IRQs (spec §9, §10).
import { GH_ERROR, HypervisorError } from './hyp-error';
import { HypercallInvoker, type CapId } from './hypercall-abi';
import { RES1 } from './hyp-calls-object';

/** vcpu_run states (spec §10.1). */
export const VCPU_RUN_STATE = {
  READY: 0,
  EXPECTS_WAKEUP: 1,
  POWERED_OFF: 2,
  BLOCKED: 3,
  ADDRSPACE_VMMIO_READ: 4,
  ADDRSPACE_VMMIO_WRITE: 5,
  FAULT: 6,
  PSCI_SYSTEM_RESET: 0x100,
} as const;

/** The state tuple of vcpu_run / vcpu_run_check. */
export interface VcpuRunState {
  state: number;
  data: [bigint, bigint, bigint];
}

/** vcpu_run's outcome: the state tuple, or an error the caller is expected to handle (RETRY, BUSY). */
export type VcpuRunResult = ({ ok: true } & VcpuRunState) | { ok: false; error: number };

/** vcpu_bind_virq types. */
export const VCPU_VIRQ_TYPE = { HALT: 0, RUN_WAKEUP: 1 } as const;

/** vcpu_register_write register sets. */
export const VCPU_REG_SET = { X: 0, PC: 1, SP: 2 } as const;

export class HypVcpuCalls {
  constructor(private readonly h: HypercallInvoker) {}

  // ---- vCPUs ----

  configure(vcpu: CapId, optionFlags: bigint): Promise<unknown> {
    return this.h.checked('vcpu_configure', [vcpu, optionFlags]);
  }

  poweron(vcpu: CapId, entryPoint: bigint, context: bigint, flags = 0n): Promise<unknown> {
    return this.h.checked('vcpu_poweron', [vcpu, entryPoint, context, flags]);
  }

  /** Only the calling vCPU; on success it does not return (the call never resolves). */
  poweroff(vcpu: CapId, flags = 0n): Promise<unknown> {
    return this.h.checked('vcpu_poweroff', [vcpu, flags]);
  }

  kill(vcpu: CapId): Promise<unknown> {
    return this.h.checked('vcpu_kill', [vcpu]);
  }

  /** `cpuIndex` -1 detaches the vCPU from every CPU (needs the Disable right). */
  setAffinity(vcpu: CapId, cpuIndex: number): Promise<unknown> {
    return this.h.checked('vcpu_set_affinity', [vcpu, BigInt(cpuIndex), RES1]);
  }

  setPriority(vcpu: CapId, priority: number): Promise<unknown> {
    return this.h.checked('vcpu_set_priority', [vcpu, BigInt(priority)]);
  }

  setTimeslice(vcpu: CapId, ns: bigint): Promise<unknown> {
    return this.h.checked('vcpu_set_timeslice', [vcpu, ns]);
  }

  bindVirq(vcpu: CapId, vic: CapId, virq: bigint, virqType: number): Promise<unknown> {
    return this.h.checked('vcpu_bind_virq', [vcpu, vic, virq, BigInt(virqType)]);
  }

  unbindVirq(vcpu: CapId, virqType: number): Promise<unknown> {
    return this.h.checked('vcpu_unbind_virq', [vcpu, BigInt(virqType)]);
  }

  registerWrite(vcpu: CapId, regSet: number, index: number, value: bigint): Promise<unknown> {
    return this.h.checked('vcpu_register_write', [vcpu, BigInt(regSet), BigInt(index), value]);
  }

  /**
   * Run a proxy-scheduled vCPU until it exits. `resume` is the resume data for the state last returned.
   * RETRY and BUSY are expected outcomes and come back as data.
   */
  async run(vcpu: CapId, resume: readonly [bigint, bigint, bigint] = [0n, 0n, 0n]): Promise<VcpuRunResult> {
    const r = await this.h.raw('vcpu_run', [vcpu, resume[0], resume[1], resume[2]]);
    if (r.error === GH_ERROR.OK) return { ok: true, state: Number(r.out[0]!), data: [r.out[1]!, r.out[2]!, r.out[3]!] };
    if (r.error === GH_ERROR.RETRY || r.error === GH_ERROR.BUSY) return { ok: false, error: r.error };
    throw new HypervisorError(r.error, 'vcpu_run');
  }

  async runCheck(vcpu: CapId): Promise<VcpuRunState> {
    const out = await this.h.checked('vcpu_run_check', [vcpu]);
    return { state: Number(out[0]!), data: [out[1]!, out[2]!, out[3]!] };
  }

  // ---- scheduler ----

  /** control: 0 generic hint, 1 yield to the thread cap in arg1, 2 yield to priority arg1. */
  schedulerYield(control: number, arg1 = 0n): Promise<unknown> {
    return this.h.checked('scheduler_yield', [BigInt(control), arg1]);
  }

  // ---- VPM groups ----

  vpmGroupConfigure(vpm: CapId, optionFlags: bigint): Promise<unknown> {
    return this.h.checked('vpm_group_configure', [vpm, optionFlags]);
  }

  vpmGroupAttachVcpu(vpm: CapId, vcpu: CapId, index: number): Promise<unknown> {
    return this.h.checked('vpm_group_attach_vcpu', [vpm, vcpu, BigInt(index)]);
  }

  vpmGroupBindVirq(vpm: CapId, vic: CapId, virq: bigint): Promise<unknown> {
    return this.h.checked('vpm_group_bind_virq', [vpm, vic, virq]);
  }

  vpmGroupUnbindVirq(vpm: CapId): Promise<unknown> {
    return this.h.checked('vpm_group_unbind_virq', [vpm]);
  }

  /** 0 NO_STATE, 1 RUNNING, 2 CPUS_SUSPENDED, 3 SYSTEM_SUSPENDED. */
  async vpmGroupGetState(vpm: CapId): Promise<number> {
    const [s] = await this.h.checked('vpm_group_get_state', [vpm]);
    return Number(s!);
  }

  // ---- watchdog (absent from the QEMU build: expect UNIMPLEMENTED) ----

  watchdogConfigure(wd: CapId, optionFlags: bigint): Promise<unknown> {
    return this.h.checked('watchdog_configure', [wd, optionFlags]);
  }

  watchdogAttachVcpu(wd: CapId, vcpu: CapId): Promise<unknown> {
    return this.h.checked('watchdog_attach_vcpu', [wd, vcpu]);
  }

  watchdogBindVirq(wd: CapId, vic: CapId, virq: bigint, bindOptions: bigint): Promise<unknown> {
    return this.h.checked('watchdog_bind_virq', [wd, vic, virq, bindOptions]);
  }

  watchdogUnbindVirq(wd: CapId, unbindOptions: bigint): Promise<unknown> {
    return this.h.checked('watchdog_unbind_virq', [wd, unbindOptions]);
  }

  watchdogManage(wd: CapId, operation: number): Promise<unknown> {
    return this.h.checked('watchdog_manage', [wd, BigInt(operation)]);
  }

  // ---- virtual interrupt controller, hardware IRQs ----

  vicConfigure(vic: CapId, maxVcpus: number, maxVirqs: number, vicOptions = 0n, maxMsis = 0n): Promise<unknown> {
    return this.h.checked('vic_configure', [vic, BigInt(maxVcpus), BigInt(maxVirqs), vicOptions, maxMsis]);
  }

  vicAttachVcpu(vic: CapId, vcpu: CapId, index: number): Promise<unknown> {
    return this.h.checked('vic_attach_vcpu', [vic, vcpu, BigInt(index)]);
  }

  vicBindMsiSource(vic: CapId, msiSource: CapId): Promise<unknown> {
    return this.h.checked('vic_bind_msi_source', [vic, msiSource]);
  }

  vgicSetMpidrMapping(vic: CapId, mask: bigint, shifts: [number, number, number, number], mt: boolean): Promise<unknown> {
    return this.h.checked('vgic_set_mpidr_mapping', [vic, mask, ...shifts.map((s) => BigInt(s)), mt ? 1n : 0n]);
  }

  hwirqBindVirq(hwirq: CapId, vic: CapId, virq: bigint): Promise<unknown> {
    return this.h.checked('hwirq_bind_virq', [hwirq, vic, virq]);
  }

  hwirqUnbindVirq(hwirq: CapId): Promise<unknown> {
    return this.h.checked('hwirq_unbind_virq', [hwirq]);
  }
}

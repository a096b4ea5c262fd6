// Threads of kind vCPU: configuration (affinity, priority, timeslice, options, attachments), power
// state, registers, vGIC CPU interface, virtual timer and the halt / run-wakeup VIRQ sources
// (spec §10). Scheduling and execution live in sched/scheduler.ts.
import { GhError } from '../abi/errors';
import { ObjectState, ObjectType } from '../abi/objects';
import { CPU_INDEX_INVALID, SCHED, VcpuOption } from '../abi/vcpu';
import type { Hypervisor } from '../hypervisor';
import { GicCpu } from '../irq/gic-cpu';
import { VTIMER_PPI } from '../irq/irq-state';
import { Vic } from '../irq/vic';
import { SimpleVirqSource, VirqSource } from '../irq/virq-source';
import type { Addrspace } from '../mem/addrspace';
import type { CSpace } from '../objects/cspace';
import { KObject } from '../objects/kobject';
import type { Partition } from '../objects/partition';
import type { Pcpu } from '../sched/pcpu';
import type { GuestContext } from './guest-context';
import type { VpmGroup } from './vpm-group';

export const enum VState {
  /** Powered off (blocked vcpu_off). */
  OFF,
  /** Runnable: queued on its physical CPU, or (proxy-scheduled) waiting for vcpu_run. */
  READY,
  /** Current on a physical CPU (executing guest code or parked at a preemption point). */
  RUNNING,
  /** Waiting: WFI, idle, PSCI suspend, a VMMIO exit, or inside vcpu_run as its caller. */
  BLOCKED,
  /** Halted by an unrecoverable fault. */
  FAULT,
}

/** 'vdevice': waiting for a device emulated outside the trap (a stub VM) to answer an access. */
export type BlockReason = 'wfi' | 'idle' | 'suspend' | 'vmmio' | 'vdevice';

/** Work queued for the next time the vCPU runs: a call to perform and/or a promise to resolve. */
export interface Continuation {
  /**
   * Performs a call queued while the vCPU was not running. Returns true when the call completed
   * (the caller resolves), false when it took care of `resolve` itself (it blocked the vCPU).
   */
  op: ((resolve: () => void) => boolean) | null;
  resolve: () => void;
  /** Settle with the VMM's answer to a VMMIO read (the pending load's value). */
  vmmio?: true;
}

/** Timer-driven PPI source: asserted while CNTVCT >= CVAL and the timer is enabled. */
class TimerSource extends VirqSource {
  constructor(private readonly vcpu: Vcpu) {
    super('timer');
  }
  checkPending(): boolean {
    return this.vcpu.timerFired();
  }
}

export class Vcpu extends KObject {
  readonly type = ObjectType.THREAD;
  // ---- configuration (INIT) ----
  affinity = CPU_INDEX_INVALID;
  priority: number = SCHED.DEFAULT_PRIORITY;
  timeslice: number = SCHED.DEFAULT_TIMESLICE_NS;
  options = 0n;
  cspace: CSpace | null = null;
  addrspace: Addrspace | null = null;
  vic: Vic | null = null;
  vicIndex = 0;
  vpm: VpmGroup | null = null;
  vpmIndex = 0;
  /** vcpu_run enabled: runs only inside vcpu_run (option bit 9 or a bound run-wakeup VIRQ). */
  proxy = false;
  readonly haltSource = new SimpleVirqSource('vcpu-halt');
  readonly wakeupSource = new SimpleVirqSource('vcpu-run-wakeup');
  private readonly timerSource = new TimerSource(this);

  // ---- thread and power state ----
  threadState: 'init' | 'ready' | 'killed' | 'exited' = 'init';
  vstate: VState = VState.OFF;
  blockReason: BlockReason = 'idle';
  /** Registers of the next (or current) incarnation; the context shares this array. */
  regs = new BigUint64Array(31);
  pc = 0n;
  sp: [bigint, bigint] = [0n, 0n];
  ctx: GuestContext | null = null;
  /** The first dispatch after power-on resolves PC to code and calls it. */
  entryPending = false;
  readonly conts: Continuation[] = [];
  readonly wfiWaiters: (() => void)[] = [];
  readonly gic: GicCpu;

  // ---- scheduling ----
  pcpu: Pcpu | null = null;
  executing = false;
  /** Running its IRQ vector: calls complete in place, no preemption. */
  inVector = false;
  /** Interrupts acknowledged during the current IRQ entry (bounded: see MAX_ACKS_PER_IRQ_ENTRY). */
  vectorAcks = 0;
  sliceLeft: number = SCHED.DEFAULT_TIMESLICE_NS;
  /** A cross-vCPU effect happened: sync with the global clock at the next preemption point. */
  syncRequested = false;
  /** scheduler_yield: give up the rest of the timeslice at the next preemption point. */
  yieldRequested = false;
  /** Caller side of vcpu_run: the target it is running. */
  runTarget: Vcpu | null = null;
  /** Target side of vcpu_run: who is running it. */
  runner: Vcpu | null = null;
  lastRunState = 0;
  /** A pending VMMIO exit (target side): what the VMM must emulate. */
  vmmio: { ipa: number; size: number; write: boolean; value: bigint } | null = null;
  /** The VMM's answer to a VMMIO read, applied by the next vcpu_run. */
  vmmioResult = 0n;
  /** PSCI CPU_SUSPEND power_state while suspended. */
  suspendState = 0n;
  /** PSCI SYSTEM_RESET/RESET2 request recorded at halt (vcpu_run state 0x100). */
  resetRequest: { data0: bigint; data1: bigint } | null = null;
  /** The scheduler holds a reference while the vCPU is powered on. */
  runRef = false;
  /** Why the vCPU halted (fault message) for diagnostics. */
  faultReason: unknown;

  // ---- virtual timer ----
  private timerCval: bigint | undefined;
  /** When the timer condition becomes true (ns), Infinity when disabled. */
  timerDeadline = Infinity;
  /** The time of the pending timer event, Infinity when none: at most one is kept. */
  timerArmedAt = Infinity;
  /** The PPI has been raised for the current deadline. */
  timerAsserted = false;
  /** SGIs on their way to this vCPU (one bit each): repeated sends before delivery coalesce. */
  sgiInFlight = 0;

  constructor(hv: Hypervisor, partition: Partition) {
    super(hv, partition);
    this.gic = new GicCpu(this);
    this.gic.priv[VTIMER_PPI]!.source = this.timerSource;
  }

  get critical(): boolean {
    return (this.options & (VcpuOption.CRITICAL | VcpuOption.HLOS_VM)) !== 0n;
  }

  /** Index within its VM: the VIC attachment index (its MPIDR Aff0 by default). */
  get index(): number {
    return this.vicIndex;
  }

  get mpidr(): bigint {
    return this.vic ? this.vic.mpidrOf(this.vicIndex) : BigInt(this.vicIndex);
  }

  get vmid(): number {
    return this.addrspace?.vmid ?? 0;
  }

  // ---- configuration ----

  configure(options: bigint): number {
    this.options = options;
    return GhError.OK;
  }

  setPriority(p: number): number {
    if (p > SCHED.MAX_PRIORITY) return GhError.ARGUMENT_INVALID;
    this.priority = p;
    return GhError.OK;
  }

  setTimeslice(ns: number): number {
    if (ns > SCHED.MAX_TIMESLICE_NS || ns < SCHED.MIN_TIMESLICE_NS) return GhError.ARGUMENT_INVALID;
    this.timeslice = ns;
    this.sliceLeft = ns;
    return GhError.OK;
  }

  attachCspace(cs: CSpace): number {
    this.cspace?.put();
    cs.get();
    this.cspace = cs;
    return GhError.OK;
  }

  attachAddrspace(as: Addrspace): number {
    if (as.threads >= 8) return GhError.NOMEM;
    if (this.addrspace) {
      this.addrspace.threads--;
      this.addrspace.put();
    }
    as.get();
    as.threads++;
    this.addrspace = as;
    return GhError.OK;
  }

  protected override onActivate(): number {
    if (!this.cspace || !this.addrspace) return GhError.OBJECT_CONFIG;
    if (this.affinity !== CPU_INDEX_INVALID && this.affinity >= this.hv.machine.cpus) return GhError.OBJECT_CONFIG;
    if (this.critical && this.partition !== this.hv.rootPartition) return GhError.DENIED;
    const vic = this.vic;
    if (vic) {
      if (vic.gicrVcpus[this.vicIndex]) return GhError.BUSY;
      vic.gicrVcpus[this.vicIndex] = this;
    }
    if (this.vpm) {
      const err = this.vpm.activateMember(this);
      if (err !== GhError.OK) {
        if (vic) vic.gicrVcpus[this.vicIndex] = undefined;
        return err;
      }
    }
    this.gic.reset();
    if (vic) for (let i = 32; i < 32 + vic.sourcesCount; i++) {
      const s = vic.spi(i);
      if (s && s.route === this.vicIndex) vic.changed(s);
    }
    if ((this.options & VcpuOption.VCPU_RUN_SCHEDULED) !== 0n) this.proxy = true;
    this.threadState = 'ready';
    this.vstate = VState.OFF;
    return GhError.OK;
  }

  protected override onDeactivate(): void {
    this.hv.sched.retire(this);
    this.haltSource.vic?.unbind(this.haltSource);
    this.wakeupSource.vic?.unbind(this.wakeupSource);
    const vic = this.vic;
    if (vic && vic.gicrVcpus[this.vicIndex] === this) {
      vic.gicrVcpus[this.vicIndex] = undefined;
      for (const src of [...vic.boundSources()]) if (src.vcpuIndex === this.vicIndex) vic.unbind(src);
      vic.detachGicr(this);
    }
    this.vpm?.deactivateMember(this);
  }

  protected override onCleanup(): void {
    this.cspace?.put();
    this.cspace = null;
    if (this.addrspace) {
      this.addrspace.threads--;
      this.addrspace.put();
      this.addrspace = null;
    }
    this.vic?.put();
    this.vic = null;
    this.vpm?.put();
    this.vpm = null;
  }

  /** Whether the vCPU has been activated and not destroyed. */
  get active(): boolean {
    return this.state === ObjectState.ACTIVE;
  }

  // ---- VIRQs of the vCPU (halt = type 0, run wakeup = type 1) ----

  bindVirq(vic: Vic, virq: number, kind: number): number {
    if (kind === 0) return vic.bindShared(this.haltSource, virq);
    if (kind === 1) {
      if (this.vstate === VState.RUNNING && this.runner === null) return GhError.BUSY;
      const err = vic.bindShared(this.wakeupSource, virq);
      if (err === GhError.OK && !this.proxy) {
        this.proxy = true;
        this.hv.sched.becameProxy(this);
      }
      return err;
    }
    return GhError.ARGUMENT_INVALID;
  }

  unbindVirq(kind: number): number {
    if (kind === 0) this.haltSource.vic?.unbind(this.haltSource);
    else if (kind === 1) this.wakeupSource.vic?.unbind(this.wakeupSource);
    else return GhError.ARGUMENT_INVALID;
    return GhError.OK;
  }

  // ---- timer (CNTV_CVAL_EL0 / CNTV_CTL_EL0) ----

  /** Virtual counter value at a time in ns. */
  counterAt(ns: number): bigint {
    return BigInt(Math.floor((ns * this.hv.machine.counterFrequency) / 1e9));
  }

  /** Nanosecond time at which the counter reaches `cval`. */
  private timeOfCounter(cval: bigint): number {
    const f = BigInt(this.hv.machine.counterFrequency);
    return Number((cval * 1_000_000_000n + f - 1n) / f);
  }

  /**
   * CNTV_CVAL_EL0 / CNTV_CTL_EL0. No event is queued while the vCPU executes: its preemption
   * points check the deadline, and one event is armed when it stops (so a guest reprogramming the
   * timer in a loop costs no memory).
   */
  setTimer(cval: bigint | undefined, nowNs: number): void {
    this.timerCval = cval;
    this.timerAsserted = false;
    this.timerDeadline = cval === undefined ? Infinity : this.timeOfCounter(cval);
    const ppi = this.gic.priv[VTIMER_PPI]!;
    if (ppi.level && !this.timerFiredAt(nowNs)) {
      ppi.level = false;
      this.gic.track(ppi);
    }
    if (this.timerDeadline <= nowNs) this.fireTimer();
    else if (!this.executing) this.hv.sched.armTimer(this);
  }

  /** The timer condition holds: raise the (level) PPI. */
  fireTimer(): void {
    if (this.timerAsserted || this.threadState !== 'ready') return;
    this.timerAsserted = true;
    const ppi = this.gic.priv[VTIMER_PPI]!;
    ppi.level = true;
    this.gic.track(ppi);
    this.hv.trace.irq(this, VTIMER_PPI, 'assert');
  }

  private timerFiredAt(ns: number): boolean {
    return this.timerCval !== undefined && this.counterAt(ns) >= this.timerCval;
  }

  /** The timer condition now (used as the PPI's level check). */
  timerFired(): boolean {
    return this.timerFiredAt(this.hv.timeOf(this));
  }

  /** Stop the timer (power-off, kill). */
  resetTimer(): void {
    this.timerCval = undefined;
    this.timerDeadline = Infinity;
    this.timerAsserted = false;
  }

  // ---- interrupt line ----

  /** The vGIC raised this vCPU's interrupt line (an interrupt became deliverable). */
  irqLineRaised(): void {
    this.hv.sched.irqLineRaised(this);
  }
}

export { VState as VcpuState };

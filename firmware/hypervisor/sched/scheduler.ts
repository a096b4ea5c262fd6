// The FPRR scheduler and the execution engine: which vCPU runs on each physical CPU, dispatching
// guest code (entry, IRQ vector, parked calls), preemption points, blocking and waking, idle
// detection and vcpu_run's directed yield (ARCHITECTURE.md, "Execution model").
import { CONTEXT_SWITCH_NS, IRQ_ENTRY_NS, VCPU_RUN_SWITCH_NS } from '../costs';
import { Access } from '../abi/memory';
import { POWEROFF_FLAG_EXITED, VcpuRunState, WakeupFrom } from '../abi/vcpu';
import type { Hypervisor } from '../hypervisor';
import { Vic } from '../irq/vic';
import { VState, type BlockReason, type Vcpu } from '../vm/vcpu';
import { Pcpu } from './pcpu';

/** An already-settled promise: awaiting it costs one microtask hop and no allocation. */
export const RESOLVED: Promise<void> = Promise.resolve();
/** A promise that never settles: what a dead vCPU context's calls return. */
export const NEVER: Promise<never> = new Promise<never>(() => {});

/** vcpu_run's result tuple: state and three data words. */
export type RunTuple = readonly [number, bigint, bigint, bigint];

export class Scheduler {
  readonly pcpus: Pcpu[] = [];
  private readonly executingSet = new Set<Vcpu>();
  private readonly tickTime: number[] = [];
  /** One bound tick function per CPU: queuing a tick allocates nothing. */
  private readonly tickFns: (() => void)[] = [];

  constructor(private readonly hv: Hypervisor) {
    for (let i = 0; i < hv.machine.cpus; i++) {
      const p = new Pcpu(i);
      this.pcpus.push(p);
      this.tickTime.push(Infinity);
      this.tickFns.push(() => this.onTick(p));
    }
    hv.machine.observer = { onDrain: () => this.onDrain() };
  }

  // ---- time ----

  /** Whether `v` owns or is running on a CPU, so its time is that CPU's local time. */
  private onCpu(v: Vcpu): boolean {
    const p = v.pcpu;
    return p !== null && (p.current === v || p.target === v) && v.vstate === VState.RUNNING;
  }

  timeOf(v: Vcpu): number {
    return this.onCpu(v) ? v.pcpu!.localTime : this.hv.machine.now;
  }

  /** Charge `ns` of virtual time to the CPU `v` runs on. */
  charge(v: Vcpu, ns: number): void {
    const p = v.pcpu;
    if (p && (p.current === v || p.target === v)) p.localTime += ns;
  }

  // ---- ticks ----

  /** Queue a scheduling decision for `p` at `time` (an earlier request supersedes a later one). */
  private kick(p: Pcpu, time: number): void {
    const t = Math.max(time, this.hv.machine.now);
    if (p.tickQueued && this.tickTime[p.index]! <= t) return;
    this.tickTime[p.index] = t;
    p.tickQueued = true;
    this.hv.machine.at(t, this.tickFns[p.index]!);
  }

  /** A tick event fired: stale ones (superseded by an earlier request that already ran) do nothing. */
  private onTick(p: Pcpu): void {
    if (!p.tickQueued || this.hv.machine.now < this.tickTime[p.index]!) return;
    p.tickQueued = false;
    this.tickTime[p.index] = Infinity;
    this.tick(p);
  }

  private higherReady(p: Pcpu, prio: number): boolean {
    return p.topPriority() > prio;
  }

  private newQuantum(p: Pcpu): void {
    p.quantumEnd = Math.min(p.sliceEnd, p.localTime + this.hv.machine.quantumNs);
  }

  private tick(p: Pcpu): void {
    const now = this.hv.machine.now;
    if (p.localTime < now) p.localTime = now;
    p.needResched = false;
    const t = p.target;
    if (t) {
      const c = p.current!;
      if (t.executing) return;
      if (t.vstate === VState.READY) {
        // vcpu_run's directed yield: the target runs on the caller's CPU and timeslice.
        t.vstate = VState.RUNNING;
        t.pcpu = p;
        p.localTime += VCPU_RUN_SWITCH_NS;
        this.traceRun(p);
        this.newQuantum(p);
        this.resume(t);
        return;
      }
      if (t.vstate === VState.RUNNING) {
        if (p.localTime >= p.sliceEnd || c.gic.irqReady || this.higherReady(p, c.priority)) {
          t.vstate = VState.READY;
          t.pcpu = null;
          this.endRun(p, [VcpuRunState.READY, 0n, 0n, 0n]);
        } else {
          this.newQuantum(p);
          this.resume(t);
          return;
        }
      }
    }
    const cur = p.current;
    if (cur && p.target === null && cur.vstate === VState.RUNNING && !cur.executing) {
      if (cur.yieldRequested) {
        cur.yieldRequested = false;
        p.current = null;
        this.requeue(p, cur, false);
      } else if (p.localTime >= p.sliceEnd) {
        cur.sliceLeft = cur.timeslice;
        p.current = null;
        this.requeue(p, cur, false);
      } else if (this.higherReady(p, cur.priority) || cur.affinity !== p.index) {
        cur.sliceLeft = p.sliceEnd - p.localTime;
        p.current = null;
        this.requeue(p, cur, true);
      } else {
        this.newQuantum(p);
        this.resume(cur);
        return;
      }
    }
    if (p.current && p.current.vstate !== VState.RUNNING) p.current = null;
    if (!p.current) {
      const next = p.pop();
      if (next) this.start(p, next);
    }
    this.traceRun(p);
  }

  /** Report on the trace stream what now runs on `p` (a vcpu_run target in its caller's place), when it changed. */
  private traceRun(p: Pcpu): void {
    if (!this.hv.trace.enabled) return;
    const t = p.target;
    const c = p.current;
    const occupant = t && t.vstate === VState.RUNNING ? t : c && c.vstate === VState.RUNNING && !c.runTarget ? c : null;
    if (occupant === p.traced) return;
    p.traced = occupant;
    this.hv.trace.run(p.index, occupant, p.localTime);
  }

  /** Put a preempted vCPU back on its queue without kicking `p` (the caller decides next). */
  private requeue(p: Pcpu, v: Vcpu, head: boolean): void {
    v.vstate = VState.READY;
    if (v.affinity === p.index) {
      p.enqueue(v, head);
      return;
    }
    this.enqueue(v, head);
  }

  private start(p: Pcpu, v: Vcpu): void {
    p.current = v;
    v.pcpu = p;
    v.vstate = VState.RUNNING;
    if (p.lastVcpu !== v) {
      if (p.lastVcpu !== null) p.localTime += CONTEXT_SWITCH_NS;
      p.lastVcpu = v;
      p.switches++;
      this.hv.trace.sched(p.index, v);
    }
    if (v.sliceLeft <= 0) v.sliceLeft = v.timeslice;
    this.traceRun(p);
    p.sliceEnd = p.localTime + v.sliceLeft;
    this.newQuantum(p);
    this.resume(v);
  }

  // ---- queueing and waking ----

  /** Queue a runnable, hypervisor-scheduled vCPU on its affinity CPU. */
  private enqueue(v: Vcpu, head: boolean): void {
    v.vstate = VState.READY;
    if (v.affinity >= this.pcpus.length) {
      // No CPU (affinity invalid): runnable but never scheduled.
      v.pcpu = null;
      return;
    }
    const p = this.pcpus[v.affinity]!;
    v.pcpu = p;
    p.enqueue(v, head);
    if (!p.current) this.kick(p, this.hv.localNow());
    else if (v.priority > p.current.priority) p.needResched = true;
    this.hv.noteCrossEffect();
  }

  /** `v` has something to do: queue it, or for a proxy-scheduled vCPU raise its run-wakeup VIRQ. */
  makeReady(v: Vcpu): void {
    if (v.proxy) {
      v.vstate = VState.READY;
      v.pcpu = null;
      if (!v.runner) this.hv.defer(() => Vic.assert(v.wakeupSource, true));
      return;
    }
    this.enqueue(v, false);
  }

  /** The vGIC raised `v`'s interrupt line. */
  irqLineRaised(v: Vcpu): void {
    // A vcpu_run caller with an interrupt to take gets control back at its target's next
    // preemption point (vcpu_run returns READY).
    if (v.runTarget && v.pcpu && v.gic.masked === false) v.pcpu.needResched = true;
    if (v.vstate !== VState.BLOCKED) return;
    const r = v.blockReason;
    const wakes = r === 'wfi' || r === 'suspend' ? v.gic.line : r === 'idle' ? v.gic.irqReady : false;
    if (!wakes) return;
    if (this.hv.cur) this.hv.defer(() => this.wakeIfBlocked(v));
    else this.wakeIfBlocked(v);
  }

  private wakeIfBlocked(v: Vcpu): void {
    if (v.vstate !== VState.BLOCKED) return;
    const r = v.blockReason;
    if (r === 'vmmio' || r === 'vdevice') return;
    if ((r === 'wfi' || r === 'suspend') && !v.gic.line) return;
    if (r === 'idle' && !v.gic.irqReady) return;
    this.makeReady(v);
  }

  /** Guest code of a vCPU that is not executing made a call: queue it for the next dispatch. */
  queueWork(v: Vcpu, op: ((resolve: (x?: unknown) => void) => boolean) | null, resolve: (x?: unknown) => void): void {
    v.conts.push({ op: op as never, resolve: resolve as () => void });
    if (v.vstate === VState.BLOCKED && (v.blockReason === 'idle' || v.blockReason === 'wfi')) this.makeReady(v);
  }

  // ---- execution ----

  /** Give `v` control on its CPU: start its entry, take a pending IRQ, finish parked calls. */
  private resume(v: Vcpu): void {
    v.executing = true;
    this.executingSet.add(v);
    this.hv.machine.beginExecution();
    if (v.timerDeadline <= v.pcpu!.localTime) v.fireTimer();
    const ctx = v.ctx;
    let did = false;
    const wfiWake = v.wfiWaiters.length > 0 && v.gic.line;
    if (v.entryPending) {
      v.entryPending = false;
      did = true;
      this.startEntry(v);
    }
    if (v.executing && v.ctx === ctx && v.gic.irqReady) {
      did = true;
      this.takeIrq(v);
    }
    if (v.executing && v.ctx === ctx && wfiWake) {
      did = true;
      for (const w of v.wfiWaiters.splice(0)) w();
    }
    if (v.executing && v.ctx === ctx && v.conts.length > 0) {
      did = true;
      this.runConts(v);
    }
    if (!did && v.executing) {
      // Woken with nothing left to do (the interrupt went away): straight back to sleep.
      this.block(v, v.wfiWaiters.length > 0 ? 'wfi' : 'idle');
    }
  }

  private runConts(v: Vcpu): void {
    const ctx = v.ctx;
    while (v.executing && v.ctx === ctx && v.conts.length > 0) {
      const c = v.conts.shift()!;
      if (c.op && !(c.op as (r: () => void) => boolean)(c.resolve)) return;
      if (c.vmmio) (c.resolve as (x: bigint) => void)(v.vmmioResult);
      else c.resolve();
    }
  }

  private startEntry(v: Vcpu): void {
    const ctx = v.ctx!;
    const as = v.addrspace!;
    const pc = Number(v.pc);
    const i = as.s2.indexOf(pc);
    if (i < 0 || (as.s2.valueAt(i).k & Access.X) === 0) {
      this.fault(v, new Error(`vCPU ${v.index} of VM ${v.vmid}: PC 0x${v.pc.toString(16)} is not mapped executable`));
      return;
    }
    const pa = as.s2.valueAt(i).pa + (pc - as.s2.startAt(i));
    const fn = this.hv.machine.resolveEntry(pa, { vm: as, vmid: as.vmid, ipa: v.pc, fetch: (a, into) => as.fetch(a, into) });
    if (!fn) {
      this.fault(v, new Error(`vCPU ${v.index} of VM ${v.vmid}: no code at PC 0x${v.pc.toString(16)} (PA 0x${pa.toString(16)})`));
      return;
    }
    let r: unknown;
    try {
      r = fn(ctx);
    } catch (e) {
      this.fault(v, e);
      return;
    }
    if (r && typeof (r as Promise<void>).then === 'function') {
      (r as Promise<void>).then(undefined, (e: unknown) => {
        if (v.ctx === ctx) this.fault(v, e);
      });
    }
  }

  /** Take the IRQ exception: run the vector with IRQs masked, as the exception entry does. */
  takeIrq(v: Vcpu): void {
    const ctx = v.ctx!;
    this.charge(v, IRQ_ENTRY_NS);
    const vec = ctx.vector;
    if (!vec) {
      this.fault(v, new Error(`vCPU ${v.index} of VM ${v.vmid} took an IRQ with no vector installed`));
      return;
    }
    v.gic.masked = true;
    v.inVector = true;
    v.vectorAcks = 0;
    try {
      vec();
    } catch (e) {
      v.inVector = false;
      if (v.ctx === ctx) this.fault(v, e);
      return;
    }
    v.inVector = false;
    if (v.ctx === ctx) v.gic.masked = false;
  }

  /**
   * A preemption point after a completed call: yield if the quantum or timeslice is used up, a
   * cross-vCPU effect needs the clock to catch up, or a higher-priority vCPU waits; else take a
   * pending IRQ and continue at once.
   */
  preemptionPoint(v: Vcpu): Promise<void> {
    // Calls made by an IRQ vector complete in place: the handler is synchronous code.
    if (v.inVector) return RESOLVED;
    const p = v.pcpu!;
    if (v.timerDeadline <= p.localTime) v.fireTimer();
    if (p.localTime >= p.quantumEnd || v.syncRequested || p.needResched) {
      v.syncRequested = false;
      return this.yieldCpu(v);
    }
    if (v.gic.irqReady) this.takeIrq(v);
    return RESOLVED;
  }

  /** Park `v` at a preemption point; it continues when its CPU's clock comes round. */
  yieldCpu(v: Vcpu): Promise<void> {
    this.stopExecuting(v);
    const p = v.pcpu!;
    this.kick(p, p.localTime);
    return new Promise<void>((res) => v.conts.push({ op: null, resolve: res }));
  }

  /** A call blocked the vCPU inside the hypervisor: its promise settles when it next runs. */
  pendingResult(v: Vcpu): Promise<void> {
    if (!v.ctx) return NEVER;
    return new Promise<void>((res) => v.conts.unshift({ op: null, resolve: res }));
  }

  private stopExecuting(v: Vcpu): void {
    if (!v.executing) return;
    v.executing = false;
    this.executingSet.delete(v);
    if (v.timerDeadline !== Infinity) this.armTimer(v);
    this.hv.machine.endExecution();
  }

  /** Keep one timer event queued for `v`'s deadline while it is not executing. */
  armTimer(v: Vcpu): void {
    const d = v.timerDeadline;
    if (d === Infinity || v.timerAsserted || d >= v.timerArmedAt) return;
    v.timerArmedAt = d;
    this.hv.machine.at(d, () => {
      if (v.timerArmedAt === d) v.timerArmedAt = Infinity;
      if (v.timerDeadline <= this.hv.machine.now) v.fireTimer();
      else this.armTimer(v);
    });
  }

  /** `v` waits (WFI, idle, suspend, VMMIO exit): it leaves its CPU. */
  block(v: Vcpu, reason: BlockReason): void {
    v.vstate = VState.BLOCKED;
    v.blockReason = reason;
    this.stopExecuting(v);
    this.leaveCpu(v);
  }

  /** The vCPU stops using its CPU (blocked, off, halted): end a vcpu_run or free the CPU. */
  private leaveCpu(v: Vcpu): void {
    const p = v.pcpu;
    if (!p) return;
    if (p.target === v) {
      this.endRun(p, this.runState(v));
      v.pcpu = null;
      this.traceRun(p);
      return;
    }
    if (p.current === v) {
      if (v.runTarget) {
        // The caller of vcpu_run goes away: its target stops with it.
        const t = v.runTarget;
        this.stopExecuting(t);
        if (t.vstate === VState.RUNNING) t.vstate = VState.READY;
        t.runner = null;
        t.pcpu = null;
        p.target = null;
        v.runTarget = null;
      }
      v.sliceLeft = p.sliceEnd - p.localTime;
      p.current = null;
      v.pcpu = null;
      this.traceRun(p);
      this.kick(p, p.localTime);
      return;
    }
    p.remove(v);
    v.pcpu = null;
  }

  /** Found idle by the run loop: the code stopped calling the machine (ARCHITECTURE.md item 5). */
  private onDrain(): void {
    for (const v of [...this.executingSet]) {
      this.block(v, 'idle');
      if (v.gic.irqReady) this.makeReady(v);
    }
  }

  // ---- vcpu_run ----

  /** Start running proxy target `t` in caller `c`'s place. The caller's call stays pending. */
  runProxy(c: Vcpu, t: Vcpu): void {
    const p = c.pcpu!;
    t.runner = c;
    c.runTarget = t;
    p.target = t;
    t.pcpu = p;
    this.stopExecuting(c);
    this.kick(p, p.localTime);
  }

  /** vcpu_run returns: the caller gets the tuple in x0..x4 and resumes on its CPU. */
  private endRun(p: Pcpu, tuple: RunTuple): void {
    const t = p.target!;
    const c = p.current!;
    p.target = null;
    t.runner = null;
    c.runTarget = null;
    t.lastRunState = tuple[0];
    this.stopExecuting(t);
    const x = c.ctx?.x;
    if (x) {
      x[0] = 0n;
      x[1] = BigInt(tuple[0]);
      x[2] = tuple[1];
      x[3] = tuple[2];
      x[4] = tuple[3];
    }
    p.localTime += VCPU_RUN_SWITCH_NS;
    this.hv.trace.runExit(c, t, tuple);
    this.traceRun(p);
    this.kick(p, p.localTime);
  }

  /** The vcpu_run tuple describing why `v` is not running (do_vcpu_run_check). */
  runState(v: Vcpu): RunTuple {
    if (v.threadState === 'exited') return [VcpuRunState.POWERED_OFF, POWEROFF_FLAG_EXITED, 0n, 0n];
    if (v.threadState === 'killed') return [VcpuRunState.BLOCKED, 0n, 0n, 0n];
    switch (v.vstate) {
      case VState.FAULT:
        return [VcpuRunState.FAULT, 0n, 0n, 0n];
      case VState.OFF:
        if (v.resetRequest) return [VcpuRunState.PSCI_SYSTEM_RESET, v.resetRequest.data0, v.resetRequest.data1, 0n];
        return [VcpuRunState.POWERED_OFF, 0n, 0n, 0n];
      case VState.BLOCKED:
        if (v.blockReason === 'vmmio' && v.vmmio) {
          const m = v.vmmio;
          return m.write
            ? [VcpuRunState.ADDRSPACE_VMMIO_WRITE, BigInt(m.ipa), BigInt(m.size), m.value]
            : [VcpuRunState.ADDRSPACE_VMMIO_READ, BigInt(m.ipa), BigInt(m.size), 0n];
        }
        if (v.blockReason === 'suspend') return [VcpuRunState.EXPECTS_WAKEUP, v.suspendState, BigInt(WakeupFrom.PSCI_CPU_SUSPEND), 0n];
        return [VcpuRunState.EXPECTS_WAKEUP, 0n, BigInt(WakeupFrom.WFI), 0n];
      default:
        return [VcpuRunState.READY, 0n, 0n, 0n];
    }
  }

  // ---- power and lifecycle ----

  /** The context's pending calls and waits are dropped: it will never run again. */
  private killContext(v: Vcpu): void {
    if (v.ctx) v.ctx.dead = true;
    v.ctx = null;
    v.conts.length = 0;
    v.wfiWaiters.length = 0;
    v.entryPending = false;
    v.vmmio = null;
    v.resetTimer();
  }

  /** Power on with a fresh context (vcpu_poweron, PSCI CPU_ON). */
  powerOn(v: Vcpu): void {
    v.resetRequest = null;
    v.faultReason = undefined;
    v.entryPending = true;
    v.gic.masked = true;
    v.sliceLeft = v.timeslice;
    this.hv.newContext(v);
    this.hv.trace.power(v, 'on');
    // A powered-on vCPU is referenced by the scheduler: deleting its caps does not destroy it.
    if (!v.runRef) {
      v.runRef = true;
      v.get();
    }
    this.makeReady(v);
  }

  /** Drop the scheduler's reference (the vCPU is off); may destroy it when no caps remain. */
  private releaseRunRef(v: Vcpu): void {
    if (!v.runRef) return;
    v.runRef = false;
    v.put();
  }

  /** Power off (vcpu_poweroff, PSCI CPU_OFF, forced off by SYSTEM_OFF/RESET). */
  powerOff(v: Vcpu): void {
    this.killContext(v);
    this.stopExecuting(v);
    v.vstate = VState.OFF;
    this.leaveCpu(v);
    this.hv.trace.power(v, 'off');
    this.releaseRunRef(v);
  }

  /** Unrecoverable fault: halt, raise the halt VIRQ; a critical vCPU brings the machine down. */
  fault(v: Vcpu, err: unknown): void {
    if (v.vstate === VState.FAULT || !v.ctx) return;
    v.faultReason = err;
    this.killContext(v);
    this.stopExecuting(v);
    v.vstate = VState.FAULT;
    this.leaveCpu(v);
    this.hv.trace.power(v, 'fault', err);
    this.hv.defer(() => Vic.assert(v.haltSource, true));
    if (v.critical) this.hv.crash(v, err);
  }

  /** Forced halt (PSCI SYSTEM_OFF/RESET of a non-critical VM): off, with the halt VIRQ. */
  halt(v: Vcpu): void {
    this.powerOff(v);
    this.hv.defer(() => Vic.assert(v.haltSource, true));
  }

  /** vcpu_kill: the thread is killed; it exits at once unless it must be run (proxy) to exit. */
  kill(v: Vcpu): void {
    v.threadState = 'killed';
    if (v.proxy && v.vstate !== VState.OFF) {
      this.killContext(v);
      this.stopExecuting(v);
      this.leaveCpu(v);
      v.vstate = VState.READY;
      if (!v.runner) this.hv.defer(() => Vic.assert(v.wakeupSource, true));
      return;
    }
    this.exitThread(v);
  }

  exitThread(v: Vcpu): void {
    v.threadState = 'exited';
    this.powerOff(v);
    this.hv.trace.power(v, 'exited');
  }

  /** The vCPU object is being destroyed. */
  retire(v: Vcpu): void {
    this.killContext(v);
    this.stopExecuting(v);
    this.leaveCpu(v);
    v.vstate = VState.OFF;
    v.runRef = false;
  }

  /** Proxy scheduling was enabled (run-wakeup VIRQ bound): leave the run queue. */
  becameProxy(v: Vcpu): void {
    if (v.vstate === VState.READY && v.pcpu) {
      v.pcpu.remove(v);
      v.pcpu = null;
      if (!v.runner) this.hv.defer(() => Vic.assert(v.wakeupSource, true));
    }
  }

  /** The affinity of an active vCPU changed: move it if it is queued. */
  affinityChanged(v: Vcpu): void {
    if (v.vstate === VState.READY && v.pcpu && !v.proxy) {
      v.pcpu.remove(v);
      this.enqueue(v, false);
    } else if (v.vstate === VState.RUNNING && v.pcpu && v.pcpu.current === v) {
      v.pcpu.needResched = true;
    }
  }

  /** vCPUs marked executing (tests, invariants). */
  get executingCount(): number {
    return this.executingSet.size;
  }
}

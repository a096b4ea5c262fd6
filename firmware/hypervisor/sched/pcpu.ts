// A physical CPU: the vCPU it runs, its local time (temporal decoupling), the current timeslice and
// quantum, and its fixed-priority round-robin run queues.
import { SCHED } from '../abi/vcpu';
import type { Vcpu } from '../vm/vcpu';

export class Pcpu {
  /** The vCPU that owns this CPU (for vcpu_run: the caller). */
  current: Vcpu | null = null;
  /** vcpu_run's target, running in `current`'s place. */
  target: Vcpu | null = null;
  /** Virtual time up to which this CPU has executed. */
  localTime = 0;
  sliceEnd = 0;
  quantumEnd = 0;
  /** A higher-priority vCPU became ready: reschedule at the next preemption point. */
  needResched = false;
  /** A scheduling tick is queued. */
  tickQueued = false;
  /** Vcpus switched in (statistics). */
  switches = 0;
  /** The vCPU last reported running here on the trace stream (null: idle). */
  traced: Vcpu | null = null;
  /** The vCPU whose context the CPU last held (a switch away from it costs time). */
  lastVcpu: Vcpu | null = null;
  private readonly queues: Vcpu[][] = [];
  private readyCount = 0;
  /** Highest priority that may have a queued vCPU (scan hint). */
  private top = -1;

  constructor(readonly index: number) {
    for (let i = 0; i <= SCHED.MAX_PRIORITY; i++) this.queues.push([]);
  }

  get ready(): number {
    return this.readyCount;
  }

  enqueue(v: Vcpu, head: boolean): void {
    const q = this.queues[v.priority]!;
    if (head) q.unshift(v);
    else q.push(v);
    this.readyCount++;
    if (v.priority > this.top) this.top = v.priority;
  }

  remove(v: Vcpu): boolean {
    const q = this.queues[v.priority]!;
    const i = q.indexOf(v);
    if (i < 0) return false;
    q.splice(i, 1);
    this.readyCount--;
    return true;
  }

  /** Highest priority with a queued vCPU, or -1. */
  topPriority(): number {
    while (this.top >= 0 && this.queues[this.top]!.length === 0) this.top--;
    return this.top;
  }

  /** Remove and return the first vCPU of the highest non-empty priority. */
  pop(): Vcpu | undefined {
    const p = this.topPriority();
    if (p < 0) return undefined;
    this.readyCount--;
    return this.queues[p]!.shift();
  }

  *queued(): Generator<Vcpu> {
    for (const q of this.queues) yield* q;
  }
}

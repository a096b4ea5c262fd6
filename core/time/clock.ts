// The kernel's clock and timers on virtual time: a clocksource (the vCPU's virtual counter), a timer
// queue, and the clock-event device that fires it (the arch timer driver registers one). Timer callbacks
// run from the timer interrupt (or a microtask when already due); they must not block.
import type { Cpu } from '../arch/cpu';
import { Errno } from '../errno';
import { TimerHeap, type TimerEntry } from './timer-heap';
import { ClockScheduler } from './clock-scheduler';

/** What fires the timer queue: programs the next deadline (in counter ticks), or disables with undefined. */
export interface ClockEventDevice {
  readonly name: string;
  program(cval: bigint | undefined): void;
}

/** A queued timer; pass it to `cancel`. */
export type TimerHandle = TimerEntry;

export const Clock = Symbol('Clock');
export type Clock = ClockImpl;

export class ClockImpl {
  private readonly timers = new TimerHeap();
  private device: ClockEventDevice | undefined;
  private programmed: number | undefined;
  private drainQueued = false;
  private readonly bootNs: number;
  private readonly nsPerTick: number;
  /** An rxjs scheduler on this clock (milliseconds of virtual time). */
  readonly scheduler: ClockScheduler;
  /** Where an exception thrown by a timer callback goes (the kernel logs it); timers keep running. */
  onCallbackError: (e: unknown) => void = (e) => {
    queueMicrotask(() => {
      throw e;
    });
  };

  constructor(private readonly cpu: Cpu) {
    this.nsPerTick = 1e9 / cpu.counterFrequency;
    this.bootNs = Number(cpu.counter()) * this.nsPerTick;
    this.scheduler = new ClockScheduler(this);
  }

  /** Virtual ns since this kernel booted. */
  now(): number {
    return Number(this.cpu.counter()) * this.nsPerTick - this.bootNs;
  }

  /** The counter value at which `ns`-since-boot is reached (rounded up, so a timer never fires early). */
  counterAt(ns: number): bigint {
    return BigInt(Math.ceil((ns + this.bootNs) / this.nsPerTick));
  }

  get eventDevice(): ClockEventDevice | undefined {
    return this.device;
  }

  /** Install the clock-event device (the arch timer on the boot CPU) and program pending timers. */
  setEventDevice(dev: ClockEventDevice | undefined): void {
    this.device?.program(undefined);
    this.device = dev;
    this.programmed = undefined;
    this.reprogram();
  }

  /** Run `fn` once `deadlineNs` (since boot) has passed. */
  addTimer(deadlineNs: number, fn: () => void): TimerHandle {
    const e = this.timers.push(deadlineNs, fn);
    if (this.timers.peek() === e) this.reprogram();
    return e;
  }

  /** Run `fn` after `ns`. */
  after(ns: number, fn: () => void): TimerHandle {
    return this.addTimer(this.now() + Math.max(0, ns), fn);
  }

  /** Cancel a timer; false when it already ran or was cancelled. The device is reprogrammed when it was next. */
  cancel(t: TimerHandle): boolean {
    const wasNext = this.timers.peek() === t;
    const removed = this.timers.remove(t);
    if (removed && wasNext) this.reprogram();
    return removed;
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** The clock-event interrupt: run every expired timer, then program the next deadline. */
  runExpired(): void {
    this.programmed = undefined;
    const now = this.now();
    for (let t = this.timers.peek(); t && t.deadline <= now; t = this.timers.peek()) {
      this.timers.pop();
      try {
        t.fn();
      } catch (e) {
        this.onCallbackError(e);
      }
    }
    this.reprogram();
  }

  private reprogram(): void {
    const next = this.timers.peek();
    if (!next) {
      if (this.programmed !== undefined) this.device?.program(undefined);
      this.programmed = undefined;
      return;
    }
    if (next.deadline <= this.now()) {
      // Already due: run from a microtask rather than a timer interrupt round trip.
      if (!this.drainQueued) {
        this.drainQueued = true;
        queueMicrotask(() => {
          this.drainQueued = false;
          this.runExpired();
        });
      }
      return;
    }
    if (this.programmed === next.deadline || !this.device) return;
    this.programmed = next.deadline;
    this.device.program(this.counterAt(next.deadline));
  }

  /** Resolve after `ns` of virtual time; rejects with EINTR when `signal` aborts first. */
  sleep(ns: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new Errno('EINTR'));
      const onAbort = () => {
        this.cancel(t);
        reject(new Errno('EINTR'));
      };
      const t = this.after(ns, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * `p`, or `Errno(errnoName)` once `ns` of virtual time pass first. The timer is cancelled either way,
   * so a settled call leaves nothing queued.
   */
  withTimeout<T>(p: Promise<T>, ns: number, errnoName: 'ETIMEDOUT' | 'ETIME' = 'ETIMEDOUT'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = this.after(ns, () => reject(new Errno(errnoName, `after ${ns} ns`)));
      p.then(
        (v) => {
          this.cancel(t);
          resolve(v);
        },
        (e: unknown) => {
          this.cancel(t);
          reject(e);
        },
      );
    });
  }
}

// The emulated machine: a virtual clock with a deterministic event queue, physical CPUs, sparse
// physical memory, a seeded PRNG, the "ROM table" of host-linked guest entry points, and the run
// loop that drives the discrete-event simulation (ARCHITECTURE.md, "Execution model").
import type { GuestCpu } from '../guest-cpu';
import { EventQueue, type EventFn } from './event-queue';
import { PhysMem, type RamRegion } from './phys-mem';
import { Prng } from './prng';

/** Code a vCPU runs: called as `entry(cpu)` when the vCPU first runs at the entry's address. */
export type GuestEntry = (cpu: GuestCpu) => void | Promise<void>;

/**
 * What the machine tells an image decoder about the VM whose vCPU is entering code: which VM instance
 * it is (so a decoder can keep per-VM state: every vCPU of one VM sees the same `vm` object, a new VM
 * on the same pages a new one) and how to fetch from its memory through stage 2.
 */
export interface DecodeContext {
  /** Identity of the VM instance (its address space object); use it as a WeakMap key. */
  readonly vm: object;
  readonly vmid: number;
  /** The entry's IPA (the vCPU's PC). */
  readonly ipa: bigint;
  /**
   * Instruction fetch: copy guest memory at `ipa` through the VM's stage 2 into `into`. False (and
   * `into` partly written) when any byte is not mapped executable.
   */
  fetch(ipa: bigint, into: Uint8Array): boolean;
}

/**
 * Resolves the code at a physical address from memory (a guest image format), or says no. `ctx` is
 * given when a vCPU enters the code (the scheduler); decoders that need the VM read through it.
 */
export type ImageDecoder = (pa: number, mem: PhysMem, ctx?: DecodeContext) => GuestEntry | undefined;

export interface MachineConfig {
  /** Number of physical CPUs (1..64). */
  cpus: number;
  /** Physical RAM regions. */
  ram: readonly RamRegion[];
  /** Seed for every arbitrary choice; same seed, same run. Default 1. */
  seed?: number;
  /**
   * Temporal-decoupling quantum in ns: a vCPU runs ahead of the global clock by at most this much
   * before it syncs (default 100 µs; never more than its timeslice).
   */
  quantumNs?: number;
  /** CNTFRQ_EL0 in Hz (default 62.5 MHz, QEMU virt's generic timer). */
  counterFrequency?: number;
}

/** Hooks the hypervisor installs so the run loop can tell running guest code from idle code. */
export interface ExecutionObserver {
  /** The microtask queue drained while guest code was marked executing: that code is idle. */
  onDrain(): void;
}

interface RunState {
  resolve: () => void;
  reject: (e: unknown) => void;
  until?: () => boolean;
  untilTime?: number;
  forever: boolean;
}

export const MAX_CPUS = 64;

export class Machine {
  readonly cpus: number;
  readonly mem: PhysMem;
  readonly prng: Prng;
  readonly seed: number;
  readonly quantumNs: number;
  readonly counterFrequency: number;
  /** Virtual time in ns of the event being processed. */
  now = 0;
  /** Events processed so far (a measure of simulation work). */
  eventsProcessed = 0;

  private readonly queue = new EventQueue();
  private readonly entries = new Map<number, GuestEntry>();
  private readonly decoders: ImageDecoder[] = [];
  private executing = 0;
  private inStep = false;
  private kicked = false;
  private sentinelArmed = false;
  private waitingForInput = false;
  private run: RunState | undefined;
  observer?: ExecutionObserver;

  constructor(config: MachineConfig) {
    if (!Number.isInteger(config.cpus) || config.cpus < 1 || config.cpus > MAX_CPUS) {
      throw new RangeError(`cpus must be an integer in 1..${MAX_CPUS}, got ${config.cpus}`);
    }
    this.cpus = config.cpus;
    this.mem = new PhysMem(config.ram);
    this.seed = config.seed ?? 1;
    this.prng = new Prng(this.seed);
    this.quantumNs = config.quantumNs ?? 100_000;
    if (!(this.quantumNs >= 1000)) throw new RangeError('quantumNs must be at least 1000');
    this.counterFrequency = config.counterFrequency ?? 62_500_000;
  }

  // ---- code resolution ----

  /** Register host-linked guest code at a physical address (how the platform starts the RM and kernels). */
  registerEntry(pa: bigint | number, fn: GuestEntry): void {
    const n = Number(pa);
    if (!Number.isSafeInteger(n) || n < 0 || n % 4 !== 0) throw new RangeError(`entry address 0x${pa.toString(16)} is not a valid aligned physical address`);
    this.entries.set(n, fn);
  }

  /** Add a decoder that recognises guest images in memory (tried after the ROM table). */
  addImageDecoder(decoder: ImageDecoder): void {
    this.decoders.push(decoder);
  }

  /** The code at a physical address: the ROM table first, then the image decoders. */
  resolveEntry(pa: number, ctx?: DecodeContext): GuestEntry | undefined {
    const e = this.entries.get(pa);
    if (e) return e;
    for (const d of this.decoders) {
      const r = d(pa, this.mem, ctx);
      if (r) return r;
    }
    return undefined;
  }

  // ---- events ----

  /** Schedule `fn` at virtual time `time` (clamped to now). */
  at(time: number, fn: EventFn): void {
    this.queue.push(time > this.now ? time : this.now, fn);
    if (this.waitingForInput) this.kick();
  }

  /** Host input: run `fn` as an event at the current time; wakes an idle long-running loop. */
  post(fn: EventFn): void {
    this.at(this.now, fn);
  }

  get pendingEvents(): number {
    return this.queue.size;
  }

  // ---- guest execution accounting (used by the scheduler) ----

  /** Guest code has been given control (a vCPU dispatched). */
  beginExecution(): void {
    this.executing++;
  }

  /** Guest code gave control back (parked at a preemption point, blocked, or found idle). */
  endExecution(): void {
    this.executing--;
    if (this.executing === 0 && this.run && !this.inStep) this.kick();
  }

  get executingCount(): number {
    return this.executing;
  }

  // ---- run modes ----

  /** Run until nothing is left to do: no events and every vCPU idle. */
  runUntilQuiescent(): Promise<void> {
    return this.start({ forever: false });
  }

  /** Run until `pred()` holds (checked between events) or, given a number, until that virtual time. */
  runUntil(stop: (() => boolean) | number): Promise<void> {
    return typeof stop === 'number' ? this.start({ forever: false, untilTime: stop }) : this.start({ forever: false, until: stop });
  }

  /** Run until `stop()`: when quiescent, wait for host posts instead of returning. */
  runForever(): Promise<void> {
    return this.start({ forever: true });
  }

  /** End a run started with any mode (its promise resolves). */
  stop(): void {
    const r = this.run;
    if (!r) return;
    this.run = undefined;
    this.waitingForInput = false;
    r.resolve();
  }

  /** End the current run with an error (a critical vCPU crashed the machine). */
  fail(err: unknown): void {
    this.finish(err);
  }

  get running(): boolean {
    return this.run !== undefined;
  }

  private start(opts: Omit<RunState, 'resolve' | 'reject'>): Promise<void> {
    if (this.run) return Promise.reject(new Error('the machine is already running'));
    return new Promise<void>((resolve, reject) => {
      this.run = { ...opts, resolve, reject };
      this.kick();
    });
  }

  private kick(): void {
    this.waitingForInput = false;
    if (this.kicked) return;
    this.kicked = true;
    queueMicrotask(this.step);
  }

  private finish(err?: unknown): void {
    const r = this.run;
    this.run = undefined;
    this.waitingForInput = false;
    if (!r) return;
    if (err !== undefined) r.reject(err);
    else r.resolve();
  }

  private readonly step = (): void => {
    this.kicked = false;
    const r = this.run;
    if (!r) return;
    this.inStep = true;
    try {
      while (this.executing === 0) {
        if (r.until?.()) return this.finish();
        const t = this.queue.peekTime();
        if (t === Infinity) {
          if (r.forever) {
            this.waitingForInput = true;
            return;
          }
          return this.finish();
        }
        if (r.untilTime !== undefined && t > r.untilTime) {
          if (r.untilTime > this.now) this.now = r.untilTime;
          return this.finish();
        }
        if (t > this.now) this.now = t;
        this.eventsProcessed++;
        this.queue.pop()!();
        // Simultaneous events form one batch even once guest code has been dispatched.
        while (this.executing > 0 && this.queue.peekTime() === this.now) {
          this.eventsProcessed++;
          this.queue.pop()!();
        }
      }
    } catch (e) {
      return this.finish(e);
    } finally {
      this.inStep = false;
    }
    this.armSentinel();
  };

  private armSentinel(): void {
    if (this.sentinelArmed) return;
    this.sentinelArmed = true;
    setImmediate(this.sentinel);
  }

  // setImmediate runs once the microtask queue is empty: any guest code still marked executing has
  // stopped calling the machine (it awaits something else) and is idle.
  private readonly sentinel = (): void => {
    this.sentinelArmed = false;
    if (!this.run) return;
    if (this.executing > 0) {
      try {
        this.observer?.onDrain();
      } catch (e) {
        return this.finish(e);
      }
    }
    if (this.executing > 0) this.armSentinel();
    else if (!this.kicked) this.kick();
  };
}

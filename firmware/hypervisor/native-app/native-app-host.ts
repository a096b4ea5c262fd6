// Placement A: device emulators running inside the hypervisor as native apps. An app claims an MMIO
// window of one VM; an access to it pauses the trapping vCPU, calls the app's entry point with a
// function code and arguments on that vCPU's time, takes the result of the app's return call, and
// resumes the vCPU. The app's work is charged to that vCPU on the virtual clock (timer and host-input
// calls run between traps and are charged to the VM's next access).
//
// Containment: an app that throws, breaks the call protocol (no return call, two of them), or
// overruns its per-call budget (host service calls and modelled time) is stopped: the access fails
// as a bus error would (a read returns all ones, a write is dropped), the app is restarted as a fresh
// instance and re-initialised, and all of it is counted. An app that keeps failing to initialise is
// disabled. The guest is never harmed beyond the failed access.
import { GhError, HypervisorError } from '../abi/errors';
import { ObjectState } from '../abi/objects';
import type { Hypervisor, VirqLine } from '../hypervisor';
import type { VdeviceAccess } from '../mem/addrspace';
import {
  APP_CALL_NS,
  APP_COPY_NS_PER_BYTE,
  APP_DEFAULT_BUDGET_NS,
  APP_DEFAULT_STEP_BUDGET,
  APP_MAX_FAILED_RESTARTS,
  APP_MAX_TIMERS,
  APP_SERVICE_NS,
  AppStopped,
  NativeAppFn,
  type AppCall,
  type AppEntry,
  type AppHost,
  type AppLogLevel,
  type NativeAppFnCode,
} from './abi';
import { AppMemory, type AppGrant } from './app-memory';
import { appFromImage, type NativeAppImage } from './app-image';

export interface NativeAppConfig {
  vmid: number;
  /** The device's MMIO window in the guest's IPA space. */
  base: bigint;
  size: bigint;
  /** The guest INTID (an SPI) of the device's interrupt line. */
  spi: number;
  /** Guest memory the app may touch (default: all RAM the VM has at attach time). */
  grants?: readonly AppGrant[];
  /** Per-call budgets (defaults APP_DEFAULT_BUDGET_NS, APP_DEFAULT_STEP_BUDGET). */
  budgetNs?: number;
  stepBudget?: number;
  /** Where the app's character output goes. */
  chardev?: (bytes: Uint8Array) => void;
  /** Where its log lines go (default: kept in `NativeApp.logs`, the last 64). */
  log?: (level: AppLogLevel, message: string) => void;
}

export interface NativeAppStats {
  /** Calls made into the app, by kind. */
  calls: number;
  reads: number;
  writes: number;
  timers: number;
  inputs: number;
  /** Calls stopped: the app threw, overran its budget or broke the protocol. */
  faults: number;
  budgetOverruns: number;
  /** Fresh instances started after a fault. */
  restarts: number;
  /** MMIO accesses answered as bus errors (all ones / dropped). */
  failedAccesses: number;
  disabled: boolean;
  lastFault: string | undefined;
  /** Virtual time charged for app work (ns). */
  chargedNs: number;
}

const LOG_KEEP = 64;

/** The mutable state of the call in progress. */
interface CallState {
  steps: number;
  ns: number;
  returned: boolean;
  value: bigint;
  stopped: string | undefined;
}

export class NativeApp {
  readonly stats: NativeAppStats = {
    calls: 0,
    reads: 0,
    writes: 0,
    timers: 0,
    inputs: 0,
    faults: 0,
    budgetOverruns: 0,
    restarts: 0,
    failedAccesses: 0,
    disabled: false,
    lastFault: undefined,
    chargedNs: 0,
  };
  readonly logs: string[] = [];
  private entry: AppEntry | undefined;
  private readonly memory: AppMemory;
  private readonly line: VirqLine;
  private lineLevel = false;
  private readonly removeHandler: () => void;
  private readonly timerGen = new Uint32Array(APP_MAX_TIMERS);
  private detached = false;
  /** Charge for work done between traps, paid by the VM's next access. */
  private debtNs = 0;
  private readonly budgetNs: number;
  private readonly stepBudget: number;
  private cs: CallState = { steps: 0, ns: 0, returned: false, value: 0n, stopped: undefined };
  private readonly host: AppHost;
  private readonly callArgs: bigint[] = [0n, 0n, 0n];
  private readonly call: AppCall & { fn: NativeAppFnCode; data: Uint8Array | undefined };
  /** True while the app runs (re-entry guard). */
  private inCall = false;

  constructor(
    private readonly hv: Hypervisor,
    readonly image: NativeAppImage,
    readonly config: NativeAppConfig,
  ) {
    const as = hv.vmids.get(config.vmid);
    if (!as || as.state !== ObjectState.ACTIVE) throw new HypervisorError(GhError.ARGUMENT_INVALID, `no active VM with VMID ${config.vmid}`);
    this.budgetNs = config.budgetNs ?? APP_DEFAULT_BUDGET_NS;
    this.stepBudget = config.stepBudget ?? APP_DEFAULT_STEP_BUDGET;
    if (!(this.budgetNs > 0) || !(this.stepBudget > 0)) throw new RangeError('native app budgets must be positive');
    this.memory = new AppMemory(hv, as, config.grants ?? AppMemory.allRam(hv, as));
    this.host = this.makeHost();
    const self = this;
    this.call = {
      fn: NativeAppFn.INIT,
      args: this.callArgs,
      data: undefined,
      host: this.host,
      ret(value: bigint): void {
        const s = self.cs;
        if (s.returned) {
          s.stopped ??= 'second return call';
          throw new AppStopped('second return call');
        }
        s.returned = true;
        s.value = typeof value === 'bigint' ? value : BigInt(value as number);
      },
    };
    this.line = hv.createVirqLine(config.vmid, config.spi);
    try {
      this.removeHandler = hv.attachDeviceHandler(config.vmid, config.base, config.size, {
        read: (off, size, acc) => this.mmio(NativeAppFn.MMIO_READ, off, size, 0n, acc),
        write: (off, size, value, acc) => void this.mmio(NativeAppFn.MMIO_WRITE, off, size, value, acc),
      });
    } catch (e) {
      this.line.release();
      throw e;
    }
    this.start(undefined);
  }

  // ---- the call machinery ----

  private makeHost(): AppHost {
    const step = (ns: number): void => {
      const s = this.cs;
      if (s.stopped) throw new AppStopped(s.stopped);
      s.steps++;
      s.ns += ns;
      if (s.steps > this.stepBudget || s.ns > this.budgetNs) {
        s.stopped = `budget exceeded (${s.steps} steps, ${Math.round(s.ns)} ns)`;
        throw new AppStopped(s.stopped);
      }
    };
    return {
      memRead: (gpa, into) => {
        step(APP_SERVICE_NS + into.length * APP_COPY_NS_PER_BYTE);
        return this.memory.copy(gpa, into, false);
      },
      memWrite: (gpa, from) => {
        step(APP_SERVICE_NS + from.length * APP_COPY_NS_PER_BYTE);
        return this.memory.copy(gpa, from, true);
      },
      setIrq: (level) => {
        step(APP_SERVICE_NS);
        this.setLine(level);
      },
      now: () => {
        step(APP_SERVICE_NS);
        return this.hv.localNow();
      },
      armTimer: (id, deadlineNs) => {
        step(APP_SERVICE_NS);
        if (!Number.isInteger(id) || id < 0 || id >= APP_MAX_TIMERS) throw new RangeError(`timer id ${id} (0..${APP_MAX_TIMERS - 1})`);
        if (!Number.isFinite(deadlineNs)) throw new RangeError(`timer deadline ${deadlineNs}`);
        const gen = ++this.timerGen[id]!;
        this.hv.machine.at(Math.max(deadlineNs, this.hv.localNow()), () => {
          if (this.timerGen[id] === gen && !this.detached) this.eventCall(NativeAppFn.TIMER, BigInt(id), undefined);
        });
      },
      cancelTimer: (id) => {
        step(APP_SERVICE_NS);
        if (Number.isInteger(id) && id >= 0 && id < APP_MAX_TIMERS) this.timerGen[id]!++;
      },
      charge: (ns) => {
        if (!(ns >= 0) || !Number.isFinite(ns)) throw new RangeError(`charge(${ns})`);
        step(ns);
      },
      log: (level, message) => {
        step(APP_SERVICE_NS);
        this.log(level, String(message));
      },
      chardevWrite: (bytes) => {
        step(APP_SERVICE_NS + bytes.length * APP_COPY_NS_PER_BYTE);
        this.config.chardev?.(bytes.slice());
      },
    };
  }

  private log(level: AppLogLevel, message: string): void {
    if (this.config.log) return this.config.log(level, message);
    this.logs.push(`${level}: ${message}`);
    if (this.logs.length > LOG_KEEP) this.logs.shift();
  }

  private setLine(level: boolean): void {
    if (level === this.lineLevel || this.detached) return;
    this.lineLevel = level;
    if (level) this.line.assert();
    else this.line.deassert();
  }

  /**
   * One call into the app. Returns the value of its return call, or undefined when the call was
   * stopped (the app is then restarted). `ns` of the call is in `this.cs.ns` afterwards.
   */
  private invoke(fn: NativeAppFnCode, a0: bigint, a1: bigint, a2: bigint, data: Uint8Array | undefined): bigint | undefined {
    const entry = this.entry;
    if (!entry || this.inCall) return undefined;
    this.cs = { steps: 0, ns: APP_CALL_NS, returned: false, value: 0n, stopped: undefined };
    const call = this.call;
    call.fn = fn;
    this.callArgs[0] = a0;
    this.callArgs[1] = a1;
    this.callArgs[2] = a2;
    call.data = data;
    this.stats.calls++;
    this.inCall = true;
    let err: unknown;
    try {
      entry(call);
    } catch (e) {
      err = e;
    } finally {
      this.inCall = false;
    }
    const s = this.cs;
    let why = s.stopped;
    if (why?.startsWith('budget')) this.stats.budgetOverruns++;
    if (!why && err !== undefined) why = `threw: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
    if (!why && !s.returned) why = 'returned without a return call';
    if (why) {
      this.stats.faults++;
      this.stats.lastFault = `${fnName(fn)}: ${why}`;
      this.log('err', `${this.image.name}: stopped in ${fnName(fn)}: ${why}`);
      return undefined;
    }
    return s.value;
  }

  /** Start (or restart) a fresh instance and INIT it; gives up after repeated failures. */
  private start(acc: VdeviceAccess | undefined): void {
    for (let attempt = 0; attempt < APP_MAX_FAILED_RESTARTS; attempt++) {
      for (let i = 0; i < APP_MAX_TIMERS; i++) this.timerGen[i]!++;
      this.setLine(false);
      try {
        this.entry = this.image.instantiate();
      } catch (e) {
        this.entry = undefined;
        this.stats.faults++;
        this.stats.lastFault = `load: ${e instanceof Error ? e.message : String(e)}`;
        continue;
      }
      const r = this.invoke(NativeAppFn.INIT, 0n, 0n, 0n, undefined);
      this.pay(acc);
      if (r === 0n) return;
      if (r !== undefined) {
        this.stats.faults++;
        this.stats.lastFault = `INIT: returned ${r}`;
      }
    }
    this.entry = undefined;
    this.stats.disabled = true;
    this.setLine(false);
    this.log('err', `${this.image.name}: disabled after ${APP_MAX_FAILED_RESTARTS} failed starts`);
  }

  /** Charge the call just made (and any debt) to the trapping vCPU, or carry it as debt. */
  private pay(acc: VdeviceAccess | undefined): void {
    const ns = this.cs.ns;
    this.cs.ns = 0;
    this.stats.chargedNs += ns;
    if (acc) {
      acc.charge(ns + this.debtNs);
      this.debtNs = 0;
    } else this.debtNs += ns;
  }

  private fault(acc: VdeviceAccess | undefined): void {
    this.stats.restarts++;
    this.pay(acc);
    this.start(acc);
  }

  private mmio(fn: NativeAppFnCode, off: number, size: number, value: bigint, acc: VdeviceAccess): bigint {
    const allOnes = (1n << BigInt(size * 8)) - 1n;
    if (this.stats.disabled || this.detached) {
      this.stats.failedAccesses++;
      return allOnes;
    }
    if (fn === NativeAppFn.MMIO_READ) this.stats.reads++;
    else this.stats.writes++;
    const r = this.invoke(fn, BigInt(off), BigInt(size), value, undefined);
    if (r === undefined) {
      this.stats.failedAccesses++;
      this.fault(acc);
      return allOnes;
    }
    this.pay(acc);
    return BigInt.asUintN(size * 8, r);
  }

  /** A call made between traps (timer, host input), in event context. */
  private eventCall(fn: NativeAppFnCode, a0: bigint, data: Uint8Array | undefined): bigint | undefined {
    if (this.stats.disabled || this.detached) return undefined;
    if (fn === NativeAppFn.TIMER) this.stats.timers++;
    else this.stats.inputs++;
    const r = this.invoke(fn, a0, 0n, 0n, data);
    if (r === undefined) this.fault(undefined);
    else this.pay(undefined);
    return r;
  }

  // ---- host side ----

  /** Host bytes for the app's character backend; resolves with how many it accepted. */
  input(bytes: Uint8Array): Promise<number> {
    const copy = bytes.slice();
    return new Promise((resolve) => {
      this.hv.machine.post(() => {
        const r = this.eventCall(NativeAppFn.INPUT, BigInt(copy.length), copy);
        resolve(r === undefined ? 0 : Number(BigInt.asUintN(32, r)));
      });
    });
  }

  /** Remove the device from the VM: the window is unclaimed and the line released. */
  detach(): void {
    if (this.detached) return;
    this.removeHandler();
    this.setLine(false);
    this.detached = true;
    this.line.release();
    for (let i = 0; i < APP_MAX_TIMERS; i++) this.timerGen[i]!++;
    this.entry = undefined;
  }
}

function fnName(fn: NativeAppFnCode): string {
  return ['INIT', 'MMIO_READ', 'MMIO_WRITE', 'TIMER', 'INPUT'][fn] ?? `fn ${fn}`;
}

/** The hypervisor's native apps (one host per hypervisor). */
export class NativeAppHost {
  readonly apps: NativeApp[] = [];

  constructor(private readonly hv: Hypervisor) {}

  /**
   * Load a native-app image (its bytes, as the platform read them) as the emulator of a device of
   * VM `config.vmid`: checked, compiled, started (INIT) on the VM's behalf. NativeAppLoadError for an
   * image that is not a valid native app.
   */
  load(name: string, image: Uint8Array, config: NativeAppConfig): NativeApp {
    return this.attach(appFromImage(name, image), config);
  }

  /** Attach an already loaded app as the emulator of a device of VM `config.vmid`. */
  attach(image: NativeAppImage, config: NativeAppConfig): NativeApp {
    const app = new NativeApp(this.hv, image, config);
    this.apps.push(app);
    return app;
  }

  detach(app: NativeApp): void {
    app.detach();
    const i = this.apps.indexOf(app);
    if (i >= 0) this.apps.splice(i, 1);
  }
}

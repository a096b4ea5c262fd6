// The native-app ABI: how the hypervisor calls a device emulator that runs inside it, on the
// trapping vCPU's time (placement A). The hypervisor calls the app's entry point with a function
// code and arguments; the app answers through one return call. While it runs, the app can use only
// the small set of host services below: no capability table and no hypercalls of its own.

/** Function codes of a call into an app. */
export const NativeAppFn = {
  /** (Re)initialise: forget everything. ret(0) = ready, anything else = failed. */
  INIT: 0,
  /** args [offset, size]: ret(value of the load). */
  MMIO_READ: 1,
  /** args [offset, size, value]: ret(0). */
  MMIO_WRITE: 2,
  /** args [timer id]: a timer the app armed expired. ret(0). */
  TIMER: 3,
  /** `data` holds host bytes for the app's character backend: ret(bytes accepted). */
  INPUT: 4,
} as const;
export type NativeAppFnCode = (typeof NativeAppFn)[keyof typeof NativeAppFn];

/** Log levels an app may use. */
export type AppLogLevel = 'err' | 'warn' | 'info' | 'debug';

/**
 * The services an app may use during a call. Every one counts against the call's step and time
 * budget; once the budget is spent, each throws `AppStopped` and the call's result is discarded.
 */
export interface AppHost {
  /** Copy granted guest memory at guest physical address `gpa`; false when not granted or not RAM. */
  memRead(gpa: bigint, into: Uint8Array): boolean;
  memWrite(gpa: bigint, from: Uint8Array): boolean;
  /** Drive the device's interrupt line (level). */
  setIrq(level: boolean): void;
  /** Virtual time (ns) at the point of the call. */
  now(): number;
  /** Arm timer `id` (0..APP_MAX_TIMERS-1) for virtual time `deadlineNs`; re-arming replaces it. */
  armTimer(id: number, deadlineNs: number): void;
  cancelTimer(id: number): void;
  /** Account modelled work (ns) to this call. */
  charge(ns: number): void;
  log(level: AppLogLevel, message: string): void;
  /** Bytes for the host's character backend (console output). */
  chardevWrite(bytes: Uint8Array): void;
}

/** One call into an app. */
export interface AppCall {
  readonly fn: NativeAppFnCode;
  /** Up to four integer arguments (see NativeAppFn). */
  readonly args: readonly bigint[];
  /** Payload of INPUT. */
  readonly data: Uint8Array | undefined;
  readonly host: AppHost;
  /** The return call: exactly once per call. */
  ret(value: bigint): void;
}

/** An app's entry point (what an app image exports as `app`). */
export type AppEntry = (call: AppCall) => void;

/** Thrown into an app whose call overran its budget or broke the protocol. */
export class AppStopped extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppStopped';
  }
}

/** Timers an app may hold. */
export const APP_MAX_TIMERS = 8;

/** Default budget of one call: modelled time, and host service calls ("steps"). */
export const APP_DEFAULT_BUDGET_NS = 100_000;
export const APP_DEFAULT_STEP_BUDGET = 20_000;

/**
 * Modelled costs (ns) charged to the trapping vCPU for a call: entering and leaving the app (a
 * function-call boundary inside EL2, far cheaper than a world switch), each host service, and guest
 * memory copies per byte.
 */
export const APP_CALL_NS = 60;
export const APP_SERVICE_NS = 10;
export const APP_COPY_NS_PER_BYTE = 0.25;

/** Consecutive failed restarts after which an app is disabled (its device reads all ones). */
export const APP_MAX_FAILED_RESTARTS = 3;

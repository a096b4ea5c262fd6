// The contract between the emulated machine and code that runs inside a VM: what guest code holds
// while it executes on a vCPU. The hypervisor implements it; the RM, the guest kernel (core/, which
// declares a structurally identical `Cpu` of its own because it must not import firmware/) and guest
// programs use nothing else to reach the machine.
//
// Execution model (ARCHITECTURE.md, "Execution model", is the long form):
// - Guest code is ordinary async TypeScript. It runs only while its vCPU is scheduled on a physical
//   CPU; every async method below is a preemption point where the scheduler may switch vCPUs.
// - Guest work takes no virtual time except what it is charged: each trap (hvc, smc, MMIO trap)
//   costs a fixed, documented amount, and `spin(ns)` models computation.
// - A vCPU whose code stops calling into this interface (it awaits something else) is idle, as if
//   in WFI: an interrupt wakes it and runs its vector.
// - Interrupts are taken at preemption points or on wake-up, never inside the call that raised them.
// - A call's effect and its results (in `x`) are in place before the async method returns; the
//   returned promise is the preemption point. An IRQ vector is synchronous code: calls it makes
//   complete in place and never preempt (do not block in one).
// - A vCPU starts as hardware does: PC at its entry, x0.. per the boot protocol, IRQs masked
//   (PSTATE.I set: call `setIrqMasked(false)` to take interrupts).

/** Size of a single-register load or store. */
export type AccessSize = 1 | 2 | 4 | 8;

/** Called when the vCPU takes an IRQ exception; read `gicAcknowledge()` to learn which interrupt. */
export type IrqVector = () => void;

export interface GuestCpu {
  /** Index of this vCPU within its VM (its MPIDR Aff0). */
  readonly index: number;
  /** MPIDR_EL1 as PSCI CPU_ON and AFFINITY_INFO expect it. */
  readonly mpidr: bigint;

  /**
   * General registers x0..x30. `hvc`/`smc` read their arguments from x0..x7 and write results back
   * to x0..x7 (SMCCC: x0 is the function ID in, the error/status out). 64-bit values are exact.
   */
  readonly x: BigUint64Array;

  /**
   * `HVC #imm`. imm 0 is the SMCCC conduit (function ID in x0: Gunyah hypercalls 0xC6008000|N,
   * PSCI, SMCCC arch/vendor calls); imm 0x6000+N is the native Gunyah ABI (arguments from x0).
   */
  hvc(imm?: number): Promise<void>;

  /** `SMC #0`: PSCI and SMCCC arch calls only; anything else returns SMCCC NOT_SUPPORTED (-1) in x0. */
  smc(imm?: number): Promise<void>;

  // ---- memory through stage 2 ----
  // The synchronous accessors reach RAM only (the fast path). An access stage 2 does not allow, or
  // one that lands in an MMIO range, throws a GuestAbort: the vCPU has taken a synchronous abort
  // and the hypervisor decides its fate (fault exit, halt). They are not preemption points.

  read(ipa: bigint, into: Uint8Array): void;
  write(ipa: bigint, from: Uint8Array): void;
  read8(ipa: bigint): number;
  read16(ipa: bigint): number;
  read32(ipa: bigint): number;
  read64(ipa: bigint): bigint;
  write8(ipa: bigint, value: number): void;
  write16(ipa: bigint, value: number): void;
  write32(ipa: bigint, value: number): void;
  write64(ipa: bigint, value: bigint): void;

  /**
   * A single-register device load (little-endian value) that may trap: RAM is read directly, a
   * registered VMMIO range becomes a vcpu_run MMIO exit, a vdevice (vGIC, in-hypervisor emulator)
   * is emulated in the hypervisor. A preemption point.
   */
  mmioRead(ipa: bigint, size: AccessSize): Promise<bigint>;
  /** The store counterpart of `mmioRead`. */
  mmioWrite(ipa: bigint, size: AccessSize, value: bigint): Promise<void>;

  // ---- time and waiting ----

  /** Wait for interrupt: returns once an interrupt is pending for this vCPU (its vector has run). */
  wfi(): Promise<void>;
  /** Busy for `ns` of virtual time (models computation); preemptible at timeslice boundaries. */
  spin(ns: number): Promise<void>;
  /** CNTVCT_EL0: the virtual counter, in ticks of `counterFrequency`. */
  counter(): bigint;
  /** CNTFRQ_EL0 in Hz. */
  readonly counterFrequency: number;
  /**
   * CNTV_CVAL_EL0 with CNTV_CTL enabled: the virtual timer PPI (INTID 27) becomes pending once the
   * counter reaches `cval`; `undefined` disables the timer.
   */
  setTimer(cval: bigint | undefined): void;

  // ---- GICv3 CPU interface (system registers) ----
  // Distributor and redistributor state (enable, trigger, routing) is programmed through the vGIC's
  // MMIO frames at the addresses the DT gives, with mmioRead/mmioWrite.

  /** VBAR_EL1's IRQ entry: the function run when this vCPU takes an interrupt. */
  setIrqVector(vector: IrqVector | undefined): void;
  /** ICC_IAR1_EL1: acknowledge the highest-priority pending interrupt; 1023 when none. */
  gicAcknowledge(): number;
  /** ICC_EOIR1_EL1 (with EOImode 0: priority drop and deactivate). */
  gicEndOfInterrupt(intid: number): void;
  /** ICC_SGI1R_EL1: send SGI `intid` (0..15) to the listed vCPU indices of this VM. */
  gicSendSgi(intid: number, targets: readonly number[]): void;
  /** PSTATE.I: mask or unmask IRQs on this vCPU (a masked vCPU is not interrupted, and wfi still wakes). */
  setIrqMasked(masked: boolean): void;
}

/** Thrown by a synchronous memory accessor when the access aborts (stage-2 fault, MMIO on the fast path). */
export class GuestAbort extends Error {
  constructor(
    readonly ipa: bigint,
    readonly write: boolean,
    readonly reason: 'translation' | 'permission' | 'mmio' | 'alignment' | 'size',
  ) {
    super(`guest ${write ? 'write' : 'read'} abort at IPA 0x${ipa.toString(16)} (${reason})`);
    this.name = 'GuestAbort';
  }
}

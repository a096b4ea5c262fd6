// The machine as the guest kernel sees it: one vCPU. Structurally identical to firmware/hypervisor's
// GuestCpu (core/ must not import firmware/; tests/core/cpu-contract.test.ts checks both directions),
// so the hypervisor's vCPU objects are passed to the kernel as they are.

/** Size of a single-register load or store. */
export type AccessSize = 1 | 2 | 4 | 8;

/** Run when the vCPU takes an IRQ exception (VBAR_EL1 IRQ entry). */
export type IrqVector = () => void;

export interface Cpu {
  /** Index of this vCPU within its VM (MPIDR Aff0). */
  readonly index: number;
  /** MPIDR_EL1, as PSCI CPU_ON and AFFINITY_INFO expect it. */
  readonly mpidr: bigint;
  /** x0..x30; hvc/smc take arguments from x0..x7 and return results there. */
  readonly x: BigUint64Array;

  /** HVC #imm (0 = the SMCCC conduit). A preemption point. */
  hvc(imm?: number): Promise<void>;
  /** SMC #imm (PSCI and SMCCC arch calls). A preemption point. */
  smc(imm?: number): Promise<void>;

  // RAM through stage 2; an access stage 2 does not allow throws (a synchronous abort).
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

  /** Device load (little-endian value) that may trap. A preemption point. */
  mmioRead(ipa: bigint, size: AccessSize): Promise<bigint>;
  /** Device store that may trap. A preemption point. */
  mmioWrite(ipa: bigint, size: AccessSize, value: bigint): Promise<void>;

  /** Wait for an interrupt (its vector has run when this returns). */
  wfi(): Promise<void>;
  /** Busy for `ns` of virtual time. */
  spin(ns: number): Promise<void>;
  /** CNTVCT_EL0. */
  counter(): bigint;
  /** CNTFRQ_EL0 in Hz. */
  readonly counterFrequency: number;
  /** CNTV_CVAL_EL0 (+ enable); undefined disables the virtual timer (PPI 27). */
  setTimer(cval: bigint | undefined): void;

  /** VBAR_EL1's IRQ entry. */
  setIrqVector(vector: IrqVector | undefined): void;
  /** ICC_IAR1_EL1: the acknowledged INTID, 1023 when none is pending. */
  gicAcknowledge(): number;
  /** ICC_EOIR1_EL1 (EOImode 0: priority drop and deactivate). */
  gicEndOfInterrupt(intid: number): void;
  /** ICC_SGI1R_EL1: SGI `intid` (0..15) to the listed vCPU indices of this VM. */
  gicSendSgi(intid: number, targets: readonly number[]): void;
  /** PSTATE.I. */
  setIrqMasked(masked: boolean): void;
}

/** ICC_IAR1_EL1's "no pending interrupt" value; 1020..1023 are all special INTIDs. */
export const INTID_SPURIOUS = 1023;

/** The affinity fields of an MPIDR (Aff3..Aff0), as GICR_TYPER and PSCI compare them. */
export function mpidrAffinity(mpidr: bigint): bigint {
  return mpidr & 0xff_00ff_ffffn;
}

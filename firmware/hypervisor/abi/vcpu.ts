// vCPU-facing ABI values: option flags, vcpu_run states, VIRQ types, PSCI (spec §10).

/** vcpu_configure option flags [code] (hyp/interfaces/vcpu/vcpu.tc, aarch64/vcpu.tc, vm/vcpu_run/vcpu_run.tc). */
export const VcpuOption = {
  PINNED: 1n << 0n,
  RAS_ERROR_HANDLER: 1n << 1n,
  AMU_COUNTING_DISABLED: 1n << 2n,
  SVE_ALLOWED: 1n << 3n,
  DEBUG_ALLOWED: 1n << 4n,
  TRACE_ALLOWED: 1n << 5n,
  CRITICAL: 1n << 8n,
  VCPU_RUN_SCHEDULED: 1n << 9n,
  HLOS_VM: 1n << 63n,
} as const;
export const VCPU_OPTIONS_KNOWN = Object.values(VcpuOption).reduce((a, b) => a | b, 0n);

/** vcpu_run / vcpu_run_check states (spec §10.1). */
export const VcpuRunState = {
  READY: 0,
  EXPECTS_WAKEUP: 1,
  POWERED_OFF: 2,
  BLOCKED: 3,
  ADDRSPACE_VMMIO_READ: 4,
  ADDRSPACE_VMMIO_WRITE: 5,
  FAULT: 6,
  PSCI_SYSTEM_RESET: 0x100,
} as const;

/** EXPECTS_WAKEUP data1: what the vCPU is sleeping in. */
export const WakeupFrom = { UNSPECIFIED: 0, WFI: 1, PSCI_CPU_SUSPEND: 2, PSCI_SYSTEM_SUSPEND: 3 } as const;

/** POWERED_OFF data0 bit0: the vCPU has exited for good (until its VM is reset). */
export const POWEROFF_FLAG_EXITED = 1n;

/** vcpu_bind_virq types. */
export const VcpuVirqType = { HALT: 0, RUN_WAKEUP: 1 } as const;

/** vcpu_register_write register sets. */
export const RegisterSet = { X: 0, PC: 1, SP_EL: 2 } as const;

export const SCHED = {
  MIN_PRIORITY: 0,
  MAX_PRIORITY: 63,
  /** vcpu_set_priority above this is DENIED (VCPU_MAX_PRIORITY). */
  VCPU_MAX_PRIORITY: 62,
  DEFAULT_PRIORITY: 32,
  MIN_TIMESLICE_NS: 100_000,
  MAX_TIMESLICE_NS: 100_000_000,
  DEFAULT_TIMESLICE_NS: 5_000_000,
} as const;

/** CPU_INDEX_INVALID: "no physical CPU" (cpu_index_t is 16 bits, so -1 is 0xFFFF). */
export const CPU_INDEX_INVALID = 0xffff;

/** PSCI 1.1 function IDs (Arm DEN0022) and return codes. */
export const Psci = {
  VERSION: 0x84000000,
  CPU_SUSPEND_32: 0x84000001,
  CPU_SUSPEND_64: 0xc4000001,
  CPU_OFF: 0x84000002,
  CPU_ON_32: 0x84000003,
  CPU_ON_64: 0xc4000003,
  AFFINITY_INFO_32: 0x84000004,
  AFFINITY_INFO_64: 0xc4000004,
  MIGRATE_32: 0x84000005,
  MIGRATE_64: 0xc4000005,
  MIGRATE_INFO_TYPE: 0x84000006,
  MIGRATE_INFO_UP_CPU_32: 0x84000007,
  MIGRATE_INFO_UP_CPU_64: 0xc4000007,
  SYSTEM_OFF: 0x84000008,
  SYSTEM_RESET: 0x84000009,
  FEATURES: 0x8400000a,
  CPU_FREEZE: 0x8400000b,
  CPU_DEFAULT_SUSPEND_32: 0x8400000c,
  CPU_DEFAULT_SUSPEND_64: 0xc400000c,
  NODE_HW_STATE_32: 0x8400000d,
  NODE_HW_STATE_64: 0xc400000d,
  SYSTEM_SUSPEND_32: 0x8400000e,
  SYSTEM_SUSPEND_64: 0xc400000e,
  SET_SUSPEND_MODE: 0x8400000f,
  STAT_RESIDENCY_32: 0x84000010,
  STAT_RESIDENCY_64: 0xc4000010,
  STAT_COUNT_32: 0x84000011,
  STAT_COUNT_64: 0xc4000011,
  SYSTEM_RESET2_32: 0x84000012,
  SYSTEM_RESET2_64: 0xc4000012,
  MEM_PROTECT: 0x84000013,
  MEM_PROTECT_CHECK_RANGE_32: 0x84000014,
  MEM_PROTECT_CHECK_RANGE_64: 0xc4000014,
  /** PSCI 1.1 = 0x10001. */
  VERSION_1_1: 0x10001,
} as const;

export const PsciRet = {
  SUCCESS: 0,
  NOT_SUPPORTED: -1,
  INVALID_PARAMETERS: -2,
  DENIED: -3,
  ALREADY_ON: -4,
  ON_PENDING: -5,
  INTERNAL_FAILURE: -6,
  NOT_PRESENT: -7,
  DISABLED: -8,
  INVALID_ADDRESS: -9,
} as const;

/** AFFINITY_INFO results. */
export const AffinityInfo = { ON: 0, OFF: 1, ON_PENDING: 2 } as const;

/** vpm_group_get_state values. */
export const VpmState = { NO_STATE: 0, RUNNING: 1, CPUS_SUSPENDED: 2, SYSTEM_SUSPENDED: 3 } as const;

// VM identities, lifecycle states, exit types and codes (spec §13, §17; RM `include/vm_mgnt.h`,
// `rm_types.h`), and the RM's transition validator (vm_mgnt_state_change_valid).

export const Vmid = {
  /** The hypervisor (platform messages; a legacy VM_START from it is refused). */
  HYP: 0x0,
  /** The primary VM (HLOS). */
  HLOS: 0x3,
  /** Dynamic VMIDs 0x80..0xBE (VMID_DYNAMIC_END 0xBF is exclusive: 63 of them), lowest free first. */
  DYNAMIC_BASE: 0x80,
  DYNAMIC_END: 0xbf,
  RM: 0xff,
  /** "Any" VM in configs (VMID_ANY) and the default peer (VMID_PEER_DEFAULT). */
  ANY: 0xfffe,
  PEER_DEFAULT: 0xffff,
} as const;

/** QEMU platform's secondary VMIDs, allocated only by explicit request (platform_get_secondary_vmids). */
export const SECONDARY_VMID_MASK = 0xffff_fff0;
export function isSecondaryVmid(vmid: number): boolean {
  return vmid < 32 && ((SECONDARY_VMID_MASK >>> vmid) & 1) === 1;
}

export const VmState = {
  NONE: 0,
  INIT: 1,
  READY: 2,
  RUNNING: 3,
  PAUSED: 4,
  LOAD: 5,
  AUTH: 6,
  INIT_FAILED: 8,
  EXITED: 9,
  RESETTING: 10,
  RESET: 11,
} as const;
export type VmStateCode = (typeof VmState)[keyof typeof VmState];
const stateNames = new Map<number, string>(Object.entries(VmState).map(([k, v]) => [v, k]));
export function vmStateName(s: number): string {
  return stateNames.get(s) ?? `STATE_${s}`;
}

export const OsState = { NONE: 0, EARLY_BOOT: 1, BOOT: 2, INIT: 3, RUN: 4, SHUTDOWN: 5, HALTED: 6, CRASHED: 7 } as const;

export const ExitType = {
  VM_EXIT: 0,
  PLATFORM_OFF: 1,
  PLATFORM_RESET: 2,
  PSCI_SYSTEM_RESET2: 3,
  WATCHDOG_BITE: 4,
  SOFTWARE_ERROR: 5,
  ASYNC_HW_ERROR: 6,
  VM_STOP_FORCED: 7,
} as const;

export const ExitCode = { NORMAL: 0, SOFTWARE_ERROR: 1, UNKNOWN_ERROR: 2, BUS_ERROR: 3, DEVICE_ERROR: 4 } as const;

/** VM_STOP flags and VM_SHUTDOWN stop reasons. */
export const VM_STOP_FLAG_FORCE = 1;

/** VM_CONFIG_IMAGE auth types (rm_types.h). */
export const AuthType = { NONE: 0, PLATFORM: 1, ANDROID: 2 } as const;

/** Guards that forbid transitions (vm-attrs of the VM's config). */
export interface TransitionGuards {
  noShutdown: boolean;
  noReset: boolean;
  crashFatal: boolean;
}

/**
 * Whether `from -> to` is allowed (RM's vm_mgnt_state_change_valid; linux-drivers.md §4.8 lists the
 * same table). A request that would make any other transition gets VM_STATE and changes nothing.
 */
export function stateChangeValid(from: number, to: number, g: TransitionGuards): boolean {
  switch (to) {
    case VmState.INIT:
      return from === VmState.LOAD || from === VmState.AUTH || from === VmState.RESET;
    case VmState.READY:
      return from === VmState.INIT;
    case VmState.RUNNING:
      return from === VmState.READY || from === VmState.PAUSED;
    case VmState.PAUSED:
      return !g.noShutdown && from === VmState.RUNNING;
    case VmState.LOAD:
      return from === VmState.NONE;
    case VmState.AUTH:
      return from === VmState.LOAD || from === VmState.RESET;
    case VmState.INIT_FAILED:
      return from === VmState.INIT || from === VmState.READY || from === VmState.LOAD || from === VmState.AUTH || from === VmState.RESET;
    case VmState.EXITED:
      return !g.noShutdown && !g.crashFatal && (from === VmState.RUNNING || from === VmState.PAUSED);
    case VmState.RESETTING:
      return !g.noReset && (from === VmState.EXITED || from === VmState.READY || from === VmState.INIT_FAILED);
    case VmState.RESET:
      return from === VmState.RESETTING;
    case VmState.NONE:
      return from === VmState.RESET;
    default:
      return false;
  }
}

// tools/vmm: the VMM's public face (the CLI and other programs use only this). A VMM is a program of
// the primary VM: `Vmm.create(process, description, image)` builds a VM through /dev/gunyah,
// `start()` runs it (one loop per vCPU over GH_VCPU_RUN), `console$` streams its console,
// `writeConsole` feeds it, `exited` resolves with its exit, `stop()`/`close()` end it.
export { Vmm, VmmError, DTB_REGION, CONSOLE_INPUT_LIMIT, EXIT_TYPE_NAMES, type VmExit, type VmmOptions, type MmioDevice, type VmmDeviceProvider, type VmmDeviceContext } from './vmm';
export {
  parseVmDescription,
  vmDescription,
  findVmDescriptions,
  VmDescriptionError,
  DEFAULT_MEMORY_BASE,
  VMMIO_LIMIT,
  MAX_VCPUS,
  MAX_MEMORY,
  type VmDescription,
  type DeviceDescription,
  type ConsoleKind,
  type Placement,
} from './vm-description';
export { readVmDescriptionFile, parseVmDescriptionSource, type VmDescriptionFile } from './vm-description-file';
export { buildGuestDtb, GUEST_GICD_BASE, GUEST_GICR_BASE, GUEST_GICR_STRIDE, type GuestDtb, type GuestDtbOptions, type DeviceIrq } from './guest-dtb';
export { GunyahUser, VcpuRunPage, type MemRegion } from './gunyah-user';
export { bootPrimaryKernel, runOnPrimary, vmManager, PRIMARY_DRIVERS, PRIMARY_IMAGE_SIZE, PRIMARY_SECONDARY_ENTRY_OFFSET, type RunOnPrimaryOptions, VmConsoleGlue, vmConsoleGlueModule } from './primary-kernel';
export { defaultBoard, type DefaultBoardOptions } from './default-board';

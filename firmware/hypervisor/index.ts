// firmware/hypervisor: the emulated machine and Gunyah hypervisor's public face.
//
// Host side (platform, tests, CLI):  Machine, Hypervisor, coldBoot, checkInvariants, trace$.
// Guest side (RM, guest programs):   GuestCpu, GuestAbort, the ABI constants (hypercall numbers,
// error codes, rights, vcpu_run states, PSCI), decodeBootEnv, and the CBOR codec.
export * from './guest-cpu';
export { GhError, ghErrorName, HypervisorError, errorFromRegister, type GhErrorCode } from './abi/errors';
export { Hvc, HVC_IMM_BASE, HVC_MAX, hvcName, Smccc, GUNYAH_UID, HYP_API_INFO, ApiFlags0, API_FLAGS0 } from './abi/hypercalls';
export { ObjectType, ObjectState, Rights, RIGHT_OBJECT_ACTIVATE, ALL_RIGHTS } from './abi/objects';
export * from './abi/memory';
export * from './abi/vcpu';
export * from './abi/types';
export { Machine, MAX_CPUS, type MachineConfig, type GuestEntry, type ImageDecoder, type DecodeContext } from './machine/machine';
export type { RamRegion } from './machine/phys-mem';
export { Hypervisor, type HypervisorOptions, type SystemEvent, type DeviceHandler, type VirqLine } from './hypervisor';
export type { VdeviceAccess } from './mem/addrspace';
export type { TraceEvent } from './trace';
export { coldBoot, ROOT_CSPACE_CAPS, ROOT_VCPU_PRIORITY, type ColdBootConfig, type ColdBootResult } from './boot/cold-boot';
export { decodeBootEnv, encodeBootEnv, BOOT_ENV_MAX, type BootEnv } from './boot/boot-env';
export { cborDecode, cborEncode, CborError, type CborValue, type CborLimits } from './boot/cbor';
export { GICD_SIZE, GICR_STRIDE, GIC_IIDR, GIC_PIDR2 } from './irq/gic-mmio';
export { GIC_SPURIOUS, VTIMER_PPI, GIC_SPI_BASE, GIC_SPI_NUM, PLATFORM_MAX_CORES } from './irq/irq-state';
export { CSPACE_MAX_CAPS, CAP_TABLE_SLOTS, type CapIdScheme } from './objects/cspace';
export { MSGQUEUE_MAX_QUEUE_DEPTH, MSGQUEUE_MAX_MAX_MSG_SIZE, THRESHOLD_UNCHANGED, THRESHOLD_MAXIMUM, DELAY_UNCHANGED } from './ipc/msgqueue';
export * as costs from './costs';
export { hypercall, smccc, gicInit, gicEnable, type HvcResult, type GicFrames } from './guest/hypercall';
export * from './native-app/index';
export { encodeImage, parseImage, parseImageHeader, ImageError, IMAGE_MAGIC, IMAGE_VERSION, IMAGE_FLAG_NATIVE_APP, IMAGE_ENTRY0, IMAGE_CODE0, IMAGE_HEADER_SIZE, IMAGE_ENTRY_SIZE, IMAGE_MAX_ENTRIES, IMAGE_MAX_TEXT, entryOffset, type ImageErrorCode, type ImageKind, type ImageHeader, type ImageEntry } from './image/image-format';
export { guestImageDecoder, imageDecoderStats, type GuestImage, type GuestProgramEntry } from './image/image-decoder';
export { crc32 } from './image/crc32';
export * from './stub-vm/index';

// include/uapi/linux/gunyah.h, the gh_ v14 profile (spec/linux-drivers.md §6) plus v17's
// GH_VM_SET_BOOT_CONTEXT: ioctl numbers, argument structs and the vcpu_run page, byte for byte.
import { _IO, _IOW, defineStruct } from '../../../../core/index';

/** ioctl type 'G' (Android extensions use 'A'). */
export const GH_IOCTL_TYPE = 0x47;

export const gh_userspace_memory_region = defineStruct('gh_userspace_memory_region', [
  ['label', 'u32'],
  ['flags', 'u32'],
  ['guest_phys_addr', 'u64'],
  ['memory_size', 'u64'],
  ['userspace_addr', 'u64'],
] as const);

export const gh_vm_dtb_config = defineStruct('gh_vm_dtb_config', [
  ['guest_phys_addr', 'u64'],
  ['size', 'u64'],
] as const);

export const gh_fn_desc = defineStruct('gh_fn_desc', [
  ['type', 'u32'],
  ['arg_size', 'u32'],
  ['arg', 'u64'],
] as const);

export const gh_fn_vcpu_arg = defineStruct('gh_fn_vcpu_arg', [['id', 'u32']] as const);

export const gh_fn_irqfd_arg = defineStruct('gh_fn_irqfd_arg', [
  ['fd', 'u32'],
  ['label', 'u32'],
  ['flags', 'u32'],
  ['padding', 'u32'],
] as const);

export const gh_fn_ioeventfd_arg = defineStruct('gh_fn_ioeventfd_arg', [
  ['datamatch', 'u64'],
  ['addr', 'u64'],
  ['len', 'u32'],
  ['fd', 's32'],
  ['flags', 'u32'],
  ['padding', 'u32'],
] as const);

/** v17 struct gunyah_vm_boot_context: reg = (reg_set << 8) | index. */
export const gh_vm_boot_context = defineStruct('gh_vm_boot_context', [
  ['reg', 'u32'],
  ['reserved', 'u32'],
  ['value', 'u64'],
] as const);

export const GH_CREATE_VM = _IO(GH_IOCTL_TYPE, 0x0); // 0x4700
export const GH_VM_SET_USER_MEM_REGION = _IOW(GH_IOCTL_TYPE, 0x1, gh_userspace_memory_region); // 0x40204701
export const GH_VM_SET_DTB_CONFIG = _IOW(GH_IOCTL_TYPE, 0x2, gh_vm_dtb_config); // 0x40104702
export const GH_VM_START = _IO(GH_IOCTL_TYPE, 0x3); // 0x4703
export const GH_VM_ADD_FUNCTION = _IOW(GH_IOCTL_TYPE, 0x4, gh_fn_desc); // 0x40104704
export const GH_VCPU_RUN = _IO(GH_IOCTL_TYPE, 0x5); // 0x4705
export const GH_VCPU_MMAP_SIZE = _IO(GH_IOCTL_TYPE, 0x6); // 0x4706
export const GH_VM_REMOVE_FUNCTION = _IOW(GH_IOCTL_TYPE, 0x7, gh_fn_desc); // 0x40104707
export const GH_VM_SET_BOOT_CONTEXT = _IOW(GH_IOCTL_TYPE, 0xa, gh_vm_boot_context); // 0x4010470a
/**
 * Android's GH_VM_ANDROID_LEND_USER_MEM (android14-6.1, 'A' 0x11): SET_USER_MEM_REGION whose region is
 * lent (the VM's private memory, unmapped from this VM) instead of shared. v11..v14 upstream only share,
 * and the RM describes shared memory as a no-map reserved buffer, not as the VM's RAM.
 */
export const GH_VM_ANDROID_LEND_USER_MEM = _IOW(0x41, 0x11, gh_userspace_memory_region); // 0x40204111
/**
 * gunyah-ts extension (no Linux version has it): the VM's VMID as the return value. A VMM needs it to
 * open the VM's RM console, /dev/ttyGH<vmid>; Linux VMMs use their own virtual consoles instead.
 */
export const GH_VM_GET_VMID = _IO(GH_IOCTL_TYPE, 0x80); // 0x4780

/** Memory region flags (v11..v14; other bits EINVAL). */
export const GH_MEM_ALLOW_READ = 1 << 0;
export const GH_MEM_ALLOW_WRITE = 1 << 1;
export const GH_MEM_ALLOW_EXEC = 1 << 2;

/** Function types (module alias ghfunc:<n>). */
export const GH_FN_VCPU = 1;
export const GH_FN_IRQFD = 2;
export const GH_FN_IOEVENTFD = 3;
/** GH_FN_MAX_ARG_SIZE. */
export const GH_FN_MAX_ARG_SIZE = 256;

export const GH_IRQFD_LEVEL = 1 << 0;
export const GH_IOEVENTFD_DATAMATCH = 1 << 0;

/** Boot context register sets: X0..X30, PC, SP_EL0..SP_EL2 (index 0..2). */
export const GH_VM_BOOT_CONTEXT_REG_SET = { X: 0, PC: 1, SP: 2 } as const;
export const GH_VM_BOOT_CONTEXT_REG = (set: number, index: number): number => ((set & 0xff) << 8) | (index & 0xff);

/** enum gh_vm_status (uapi): what a STATUS exit reports. */
export const GH_VM_STATUS = { LOAD_FAILED: 1, EXITED: 2, CRASHED: 3 } as const;
/** enum gh_vcpu_exit. */
export const GH_VCPU_EXIT = { UNKNOWN: 0, MMIO: 1, STATUS: 2, PAGE_FAULT: 3 } as const;
/** v17 enum gunyah_vm_mmio_resume action in gh_vcpu_run.mmio.resume_action. */
export const GH_VCPU_RESUME = { HANDLED: 0, FAULT: 1, RETRY: 2 } as const;
/** GH_VM_MAX_EXIT_REASON_SIZE. */
export const GH_VM_MAX_EXIT_REASON_SIZE = 8;

/**
 * struct gh_vcpu_run, 40 bytes at offset 0 of the page GH_VCPU_MMAP_SIZE reports:
 *   0 immediate_exit u8, 1 padding[7], 8 exit_reason u32, (4 bytes of alignment), then the union at 16:
 *   mmio   {16 phys_addr u64, 24 data[8], 32 len u32, 36 is_write u8, 37 resume_action u8}
 *   status {16 status u32, 20 exit_info {20 type u16, 22 padding u16, 24 reason_size u32, 28 reason[8]}}
 */
export const VCPU_RUN = {
  IMMEDIATE_EXIT: 0,
  EXIT_REASON: 8,
  MMIO_PHYS_ADDR: 16,
  MMIO_DATA: 24,
  MMIO_LEN: 32,
  MMIO_IS_WRITE: 36,
  MMIO_RESUME_ACTION: 37,
  STATUS: 16,
  EXIT_INFO_TYPE: 20,
  EXIT_INFO_REASON_SIZE: 24,
  EXIT_INFO_REASON: 28,
  SIZE: 40,
} as const;

// The userspace side of /dev/gunyah for programs in the primary VM (what a VMM links against): each
// call builds the uapi struct in the process's memory and issues the ioctl, exactly as a C VMM
// would, and the vcpu_run page is read and written through the process's mapping of it.
import { MAP, PROT, type Process } from '../../core';
import {
  GH_CREATE_VM,
  GH_FN_IOEVENTFD,
  GH_FN_IRQFD,
  GH_FN_VCPU,
  GH_IOEVENTFD_DATAMATCH,
  GH_IRQFD_LEVEL,
  GH_VCPU_MMAP_SIZE,
  GH_VCPU_RUN,
  GH_VM_ADD_FUNCTION,
  GH_VM_ANDROID_LEND_USER_MEM,
  GH_VM_GET_VMID,
  GH_VM_REMOVE_FUNCTION,
  GH_VM_SET_BOOT_CONTEXT,
  GH_VM_SET_DTB_CONFIG,
  GH_VM_SET_USER_MEM_REGION,
  GH_VM_START,
  VCPU_RUN,
  gh_fn_desc,
  gh_fn_ioeventfd_arg,
  gh_fn_irqfd_arg,
  gh_fn_vcpu_arg,
  gh_userspace_memory_region,
  gh_vm_boot_context,
  gh_vm_dtb_config,
} from '../../drivers/virt';

const SCRATCH = 4096;
/** Where in the scratch page a function's argument goes (the descriptor sits at 0). */
const ARG_OFF = 256n;

/** A mapped gh_vcpu_run page, read and written through the process's CPU (identity mapped). */
export class VcpuRunPage {
  constructor(
    readonly proc: Process,
    readonly addr: bigint,
  ) {}

  private get cpu() {
    return this.proc.cpu;
  }

  set immediateExit(on: boolean) {
    this.cpu.write8(this.addr + BigInt(VCPU_RUN.IMMEDIATE_EXIT), on ? 1 : 0);
  }
  get immediateExit(): boolean {
    return this.cpu.read8(this.addr + BigInt(VCPU_RUN.IMMEDIATE_EXIT)) !== 0;
  }
  get exitReason(): number {
    return this.cpu.read32(this.addr + BigInt(VCPU_RUN.EXIT_REASON));
  }
  get mmioAddr(): bigint {
    return this.cpu.read64(this.addr + BigInt(VCPU_RUN.MMIO_PHYS_ADDR));
  }
  get mmioLen(): number {
    return this.cpu.read32(this.addr + BigInt(VCPU_RUN.MMIO_LEN));
  }
  get mmioIsWrite(): boolean {
    return this.cpu.read8(this.addr + BigInt(VCPU_RUN.MMIO_IS_WRITE)) !== 0;
  }
  /** mmio.data as a little-endian value (the first len bytes matter). */
  get mmioData(): bigint {
    return this.cpu.read64(this.addr + BigInt(VCPU_RUN.MMIO_DATA));
  }
  set mmioData(v: bigint) {
    this.cpu.write64(this.addr + BigInt(VCPU_RUN.MMIO_DATA), BigInt.asUintN(64, v));
  }
  set resumeAction(a: number) {
    this.cpu.write8(this.addr + BigInt(VCPU_RUN.MMIO_RESUME_ACTION), a);
  }
  get status(): number {
    return this.cpu.read32(this.addr + BigInt(VCPU_RUN.STATUS));
  }
  get exitInfo(): { type: number; reasonSize: number; reason: Uint8Array } {
    const reason = new Uint8Array(8);
    this.cpu.read(this.addr + BigInt(VCPU_RUN.EXIT_INFO_REASON), reason);
    return { type: this.cpu.read16(this.addr + BigInt(VCPU_RUN.EXIT_INFO_TYPE)), reasonSize: this.cpu.read32(this.addr + BigInt(VCPU_RUN.EXIT_INFO_REASON_SIZE)), reason };
  }
}

export interface MemRegion {
  label: number;
  flags: number;
  guestPhysAddr: bigint;
  size: bigint;
  userspaceAddr: bigint;
}

export class GunyahUser {
  private scratchAddr: bigint | undefined;

  constructor(readonly proc: Process) {}

  /** A page of the process's memory for ioctl arguments. */
  private get scratch(): bigint {
    this.scratchAddr ??= this.proc.mm.mmapAnon(BigInt(SCRATCH), PROT.READ | PROT.WRITE);
    return this.scratchAddr;
  }

  private put(at: bigint, bytes: Uint8Array): bigint {
    this.proc.copyToUser(at, bytes);
    return at;
  }

  async ioctlNum(fd: number, cmd: number, arg: bigint | number = 0n): Promise<number> {
    return Number(await this.proc.ioctl(fd, cmd, arg));
  }

  openDev(path = '/dev/gunyah'): Promise<number> {
    return this.proc.open(path);
  }

  createVm(devFd: number, arg = 0n): Promise<number> {
    return this.ioctlNum(devFd, GH_CREATE_VM, arg);
  }

  vmid(vmFd: number): Promise<number> {
    return this.ioctlNum(vmFd, GH_VM_GET_VMID);
  }

  /** Anonymous memory of the process for guest RAM (VA = IPA in the primary VM). */
  async allocGuestMemory(size: bigint): Promise<bigint> {
    return this.proc.mmap(size, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  }

  /** GH_VM_SET_USER_MEM_REGION (shared with the VM), or with `lend` Android's LEND_USER_MEM. */
  setUserMemRegion(vmFd: number, r: MemRegion, lend = false): Promise<number> {
    const s = this.put(this.scratch, gh_userspace_memory_region.encode({ label: r.label, flags: r.flags, guest_phys_addr: r.guestPhysAddr, memory_size: r.size, userspace_addr: r.userspaceAddr }));
    return this.ioctlNum(vmFd, lend ? GH_VM_ANDROID_LEND_USER_MEM : GH_VM_SET_USER_MEM_REGION, s);
  }

  setDtbConfig(vmFd: number, guestPhysAddr: bigint, size: bigint): Promise<number> {
    return this.ioctlNum(vmFd, GH_VM_SET_DTB_CONFIG, this.put(this.scratch, gh_vm_dtb_config.encode({ guest_phys_addr: guestPhysAddr, size })));
  }

  setBootContext(vmFd: number, reg: number, value: bigint): Promise<number> {
    return this.ioctlNum(vmFd, GH_VM_SET_BOOT_CONTEXT, this.put(this.scratch, gh_vm_boot_context.encode({ reg, reserved: 0, value })));
  }

  start(vmFd: number): Promise<number> {
    return this.ioctlNum(vmFd, GH_VM_START);
  }

  /** GH_VM_ADD_FUNCTION with raw argument bytes (bad-input tests pass any size). */
  addFunction(vmFd: number, type: number, arg: Uint8Array, argSize = arg.length): Promise<number> {
    const argAddr = this.scratch + ARG_OFF;
    this.put(argAddr, arg);
    return this.ioctlNum(vmFd, GH_VM_ADD_FUNCTION, this.put(this.scratch, gh_fn_desc.encode({ type, arg_size: argSize, arg: argAddr })));
  }

  removeFunction(vmFd: number, type: number, arg: Uint8Array, argSize = arg.length): Promise<number> {
    const argAddr = this.scratch + ARG_OFF;
    this.put(argAddr, arg);
    return this.ioctlNum(vmFd, GH_VM_REMOVE_FUNCTION, this.put(this.scratch, gh_fn_desc.encode({ type, arg_size: argSize, arg: argAddr })));
  }

  addVcpu(vmFd: number, id: number): Promise<number> {
    return this.addFunction(vmFd, GH_FN_VCPU, gh_fn_vcpu_arg.encode({ id }));
  }

  addIrqfd(vmFd: number, eventFd: number, label: number, level: boolean): Promise<number> {
    return this.addFunction(vmFd, GH_FN_IRQFD, gh_fn_irqfd_arg.encode({ fd: eventFd, label, flags: level ? GH_IRQFD_LEVEL : 0, padding: 0 }));
  }

  addIoeventfd(vmFd: number, a: { eventFd: number; addr: bigint; len: number; datamatch?: bigint }): Promise<number> {
    return this.addFunction(
      vmFd,
      GH_FN_IOEVENTFD,
      gh_fn_ioeventfd_arg.encode({ datamatch: a.datamatch ?? 0n, addr: a.addr, len: a.len, fd: a.eventFd, flags: a.datamatch === undefined ? 0 : GH_IOEVENTFD_DATAMATCH, padding: 0 }),
    );
  }

  vcpuMmapSize(vcpuFd: number): Promise<number> {
    return this.ioctlNum(vcpuFd, GH_VCPU_MMAP_SIZE);
  }

  async mapRunPage(vcpuFd: number): Promise<VcpuRunPage> {
    const size = await this.vcpuMmapSize(vcpuFd);
    const addr = await this.proc.mmap(BigInt(size), PROT.READ | PROT.WRITE, MAP.SHARED, vcpuFd, 0n);
    return new VcpuRunPage(this.proc, addr);
  }

  vcpuRun(vcpuFd: number): Promise<number> {
    return this.ioctlNum(vcpuFd, GH_VCPU_RUN);
  }

  /** Read an eventfd's counter (8 bytes); the fd should be non-blocking when it may be zero. */
  async readEventfd(fd: number): Promise<bigint> {
    const b = await this.proc.readBytes(fd, 8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  }

  async writeEventfd(fd: number, v = 1n): Promise<void> {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    await this.proc.writeBytes(fd, b);
  }
}

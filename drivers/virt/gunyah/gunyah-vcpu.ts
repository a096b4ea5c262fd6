// The vCPU function (gunyah_vcpu.c, v14 + v17's resume_action): GH_VM_ADD_FUNCTION(GH_FN_VCPU, {id})
// returns a "gh-vcpu:<id>" fd whose mmap'd page is the gh_vcpu_run struct; GH_VCPU_RUN runs the
// proxy-scheduled vCPU through the vcpu_run hypercall on the caller's CPU until something needs
// userspace (an MMIO access no in-kernel handler claims, or the VM going down), waiting on the vCPU's
// run-wakeup IRQ while the vCPU sleeps.
import { inject, injectable } from 'inversify';
import type { Subscription } from 'rxjs';
import {
  Clock,
  Cpus,
  Errno,
  GH_ERROR,
  IrqCore,
  IRQ_HANDLED,
  Mm,
  O,
  PAGE_SIZE,
  Printk,
  Ratelimit,
  Vfs,
  VCPU_RUN_STATE,
  type ClockImpl,
  type CpusImpl,
  type File,
  type FileOperations,
  type IoContext,
  type IrqCoreImpl,
  type MmImpl,
  type PrintkImpl,
  type VfsImpl,
} from '../../../core/index';
import { Completion, Mutex } from './vm_mgr/sync';
import type { GhVmFunction, GhVmFunctionInstance } from './vm_mgr/vm-function';
import { GH_RESOURCE_TYPE, type GhResource, type GhResourceTicket } from './vm_mgr/vm-resource';
import { GH_RM_VM_STATUS, toErrno, type GhVm } from './vm_mgr/vm';
import {
  GH_FN_VCPU,
  GH_VCPU_EXIT,
  GH_VCPU_MMAP_SIZE,
  GH_VCPU_RESUME,
  GH_VCPU_RUN,
  GH_VM_MAX_EXIT_REASON_SIZE,
  GH_VM_STATUS,
  VCPU_RUN,
  gh_fn_vcpu_arg,
} from './vm_mgr/uapi';

/** Why vcpu_run left last time (enum in gunyah_vcpu.c). */
const enum VcpuState {
  UNKNOWN,
  READY,
  MMIO_READ,
  SYSTEM_DOWN,
}

/** remap_vm_status: RM status to the uapi's. */
function remapVmStatus(st: number): number {
  if (st === GH_RM_VM_STATUS.INIT_FAILED) return GH_VM_STATUS.LOAD_FAILED;
  if (st === GH_RM_VM_STATUS.EXITED) return GH_VM_STATUS.EXITED;
  return GH_VM_STATUS.CRASHED;
}

export interface GhVcpuServices {
  readonly irq: IrqCoreImpl;
  readonly vfs: VfsImpl;
  readonly mm: MmImpl;
  readonly cpus: CpusImpl;
  readonly printk: PrintkImpl;
  readonly warnLimit: Ratelimit;
}

export class GhVcpu implements GhResourceTicket {
  readonly resourceType = GH_RESOURCE_TYPE.VCPU;
  readonly label: number;
  rsc: GhResource | undefined;
  private state = VcpuState.UNKNOWN;
  private mmioReadLen = 0;
  private readonly runLock = new Mutex();
  private readonly ready = new Completion();
  /** The gh_vcpu_run page (kernel memory, identity mapped into the VMM by mmap). */
  readonly page: bigint;
  private refs = 2; // the function instance and the fd
  private statusSub: Subscription | undefined;
  private bound = true;
  /** Exits to userspace and vcpu_run calls (benchmarks). */
  readonly stats = { runs: 0, hypercalls: 0, mmioExits: 0, ioHandled: 0, wakeups: 0 };

  constructor(
    readonly vm: GhVm,
    readonly s: GhVcpuServices,
    id: number,
  ) {
    this.label = id;
    this.page = s.mm.pages.allocExact(PAGE_SIZE, { zero: true });
    // VM_EXITED wakes a waiting run to report the status (gh_vcpu_rm_notification).
    this.statusSub = vm.status$.subscribe(() => this.ready.complete());
  }

  private cpu() {
    return this.s.cpus.boot.cpu;
  }

  // ---- the resource ticket ----

  async populate(r: GhResource): Promise<boolean> {
    const unlock = await this.runLock.lock();
    try {
      if (this.rsc) {
        this.s.printk.warn(`gh_vcpu: vcpu${this.label} already has a Gunyah resource (several with one label?)`);
        return false;
      }
      this.rsc = r;
      this.ready.reinit();
      if (r.irq) {
        try {
          await this.s.irq.requestIrq(r.irq, () => (this.stats.wakeups++, this.ready.complete(), IRQ_HANDLED), { name: 'gh_vcpu', devId: this });
        } catch (e) {
          this.s.printk.warn(`gh_vcpu: failed to request vcpu irq ${r.irq}: ${toErrno(e).message}`);
          this.rsc = undefined;
          return false;
        }
      }
      return true;
    } finally {
      unlock();
    }
  }

  async unpopulate(r: GhResource): Promise<void> {
    this.cpu().write8(this.page + BigInt(VCPU_RUN.IMMEDIATE_EXIT), 1);
    this.ready.completeAll();
    const unlock = await this.runLock.lock();
    try {
      if (r.irq) await this.s.irq.freeIrq(r.irq, this).catch(() => undefined);
      this.rsc = undefined;
    } finally {
      unlock();
    }
  }

  // ---- lifetime ----

  unbind(): void {
    this.bound = false;
    this.statusSub?.unsubscribe();
    this.statusSub = undefined;
    this.put();
  }

  put(): void {
    if (--this.refs === 0) this.s.mm.pages.freeRange(this.page, 1);
  }

  // ---- the vCPU fd ----

  static readonly fops: FileOperations = {
    owner: 'gh_vcpu',
    ioctl: async (file, cmd, _arg, ctx) => {
      const v = file.privateData as GhVcpu;
      switch (cmd) {
        case GH_VCPU_RUN:
          return v.run(ctx);
        case GH_VCPU_MMAP_SIZE:
          return PAGE_SIZE;
        default:
          // gh_vcpu_ioctl's default is EINVAL, not ENOTTY.
          throw new Errno('EINVAL', `gh-vcpu: unknown ioctl 0x${cmd.toString(16)}`);
      }
    },
    mmap: (file, req) => {
      const v = file.privateData as GhVcpu;
      // Only page 0 exists (a fault beyond it is SIGBUS on Linux; the mapping is refused here).
      if (req.pgoff !== 0n || req.length > BigInt(PAGE_SIZE)) throw new Errno('EINVAL', 'the vcpu_run page is one page at offset 0');
      return v.page;
    },
    release: (file: File) => {
      const v = file.privateData as GhVcpu;
      v.vm.put();
      v.put();
    },
  };

  // ---- GH_VCPU_RUN ----

  private checkSystem(): boolean {
    if (this.vm.status === GH_RM_VM_STATUS.RUNNING) return true;
    const cpu = this.cpu();
    const p = this.page;
    cpu.write32(p + BigInt(VCPU_RUN.STATUS), remapVmStatus(this.vm.status));
    const info = this.vm.exitInfo;
    cpu.write16(p + BigInt(VCPU_RUN.EXIT_INFO_TYPE), info.type);
    cpu.write16(p + BigInt(VCPU_RUN.EXIT_INFO_TYPE + 2), 0);
    cpu.write32(p + BigInt(VCPU_RUN.EXIT_INFO_REASON_SIZE), info.reasonSize);
    cpu.write(p + BigInt(VCPU_RUN.EXIT_INFO_REASON), info.reason.subarray(0, GH_VM_MAX_EXIT_REASON_SIZE));
    cpu.write32(p + BigInt(VCPU_RUN.EXIT_REASON), GH_VCPU_EXIT.STATUS);
    this.state = VcpuState.SYSTEM_DOWN;
    return false;
  }

  /** An MMIO exit: true when an in-kernel handler took it (resume at once), false to exit to userspace. */
  private handleMmio(read: boolean, addr: bigint, len: number, data: bigint): boolean {
    const cpu = this.cpu();
    const p = this.page;
    if (len < 1 || len > 8) len = 8;
    if (read) {
      cpu.write8(p + BigInt(VCPU_RUN.MMIO_IS_WRITE), 0);
      this.state = VcpuState.MMIO_READ;
      this.mmioReadLen = len;
    } else {
      if (this.vm.io.write(addr, len, data)) {
        this.stats.ioHandled++;
        return true;
      }
      cpu.write8(p + BigInt(VCPU_RUN.MMIO_IS_WRITE), 1);
      cpu.write64(p + BigInt(VCPU_RUN.MMIO_DATA), BigInt.asUintN(len * 8, data));
    }
    cpu.write64(p + BigInt(VCPU_RUN.MMIO_PHYS_ADDR), addr);
    cpu.write32(p + BigInt(VCPU_RUN.MMIO_LEN), len);
    cpu.write8(p + BigInt(VCPU_RUN.MMIO_RESUME_ACTION), GH_VCPU_RESUME.HANDLED);
    cpu.write32(p + BigInt(VCPU_RUN.EXIT_REASON), GH_VCPU_EXIT.MMIO);
    this.stats.mmioExits++;
    return false;
  }

  /** gh_vcpu_run. Returns 0 with the page filled in; throws Errno (EINTR for a signal or immediate_exit). */
  async run(ctx: IoContext): Promise<number> {
    if (!this.bound) throw new Errno('ENODEV', 'the vCPU function was removed');
    const unlock = await this.runLock.lock(ctx.signal);
    this.stats.runs++;
    try {
      if (!this.rsc) throw new Errno('ENODEV', `vcpu${this.label} has no resource (is the VM started?)`);
      const cpu = ctx.cpu;
      const p = this.page;
      const resume: [bigint, bigint, bigint] = [0n, 0n, 0n];
      switch (this.state) {
        case VcpuState.UNKNOWN:
          if (this.vm.status !== GH_RM_VM_STATUS.RUNNING && !this.checkSystem()) return 0;
          this.state = VcpuState.READY;
          break;
        case VcpuState.MMIO_READ: {
          const action = cpu.read8(p + BigInt(VCPU_RUN.MMIO_RESUME_ACTION));
          // The v14 hypervisor takes the loaded value only: it cannot inject an abort or retry.
          if (action !== GH_VCPU_RESUME.HANDLED) throw new Errno('EINVAL', `mmio resume_action ${action} (only HANDLED with this hypervisor)`);
          resume[0] = BigInt.asUintN(this.mmioReadLen * 8, cpu.read64(p + BigInt(VCPU_RUN.MMIO_DATA)));
          this.state = VcpuState.READY;
          break;
        }
        case VcpuState.SYSTEM_DOWN:
          return 0;
        default:
          break;
      }
      const hyp = this.s.cpus.attach(cpu).hyp;
      for (;;) {
        if (ctx.signal.aborted) throw new Errno('EINTR', 'interrupted');
        if (cpu.read8(p + BigInt(VCPU_RUN.IMMEDIATE_EXIT)) !== 0) throw new Errno('EINTR', 'immediate_exit');
        const rsc = this.rsc;
        if (!rsc) throw new Errno('ENODEV', `vcpu${this.label} lost its resource`);
        this.stats.hypercalls++;
        let r;
        try {
          r = await hyp.vcpu.run(rsc.capid, resume);
        } catch (e) {
          throw toErrno(e);
        }
        resume[0] = 0n;
        if (!r.ok) {
          // RETRY: schedule() and try again; BUSY (being run elsewhere) is gh_error_remap's EBUSY.
          if (r.error === GH_ERROR.RETRY) continue;
          throw new Errno('EBUSY', 'vcpu_run: the vCPU is busy');
        }
        switch (r.state) {
          case VCPU_RUN_STATE.READY:
          case VCPU_RUN_STATE.BLOCKED:
            // The hypercall's return was a preemption point; go round.
            continue;
          case VCPU_RUN_STATE.POWERED_OFF:
          case VCPU_RUN_STATE.PSCI_SYSTEM_RESET:
          case VCPU_RUN_STATE.EXPECTS_WAKEUP:
          case VCPU_RUN_STATE.FAULT:
            // Off because the VM went down: it will not run again. Otherwise another vCPU may power
            // it on (PSCI) or an interrupt wake it, and the hypervisor raises its wakeup IRQ. (A
            // faulted vCPU is halted: wait, do not spin, until the RM turns it into a VM exit.)
            if (r.state !== VCPU_RUN_STATE.EXPECTS_WAKEUP && !this.checkSystem()) return 0;
            await this.ready.wait(ctx.signal);
            this.ready.reinit();
            if (!this.checkSystem()) return 0;
            continue;
          case VCPU_RUN_STATE.ADDRSPACE_VMMIO_READ:
          case VCPU_RUN_STATE.ADDRSPACE_VMMIO_WRITE:
            if (!this.handleMmio(r.state === VCPU_RUN_STATE.ADDRSPACE_VMMIO_READ, r.data[0], Number(r.data[1]), r.data[2])) return 0;
            continue;
          default: {
            const rl = this.s.warnLimit.allow();
            if (rl.ok) this.s.printk.warn(`gh_vcpu: unknown vCPU state 0x${r.state.toString(16)}`);
            continue;
          }
        }
      }
    } finally {
      unlock();
    }
  }
}

/** The vcpu VM function (DECLARE_GH_VM_FUNCTION_INIT(vcpu, GH_FN_VCPU, ...)). */
@injectable()
export class GhVcpuFunction implements GhVmFunction {
  readonly type = GH_FN_VCPU;
  readonly name = 'vcpu';
  private readonly s: GhVcpuServices;

  constructor(
    @inject(IrqCore) irq: IrqCoreImpl,
    @inject(Vfs) vfs: VfsImpl,
    @inject(Mm) mm: MmImpl,
    @inject(Cpus) cpus: CpusImpl,
    @inject(Printk) printk: PrintkImpl,
    @inject(Clock) clock: ClockImpl,
  ) {
    this.s = { irq, vfs, mm, cpus, printk, warnLimit: new Ratelimit(() => clock.now()) };
  }

  async bind(inst: GhVmFunctionInstance, ctx: IoContext): Promise<number> {
    if (inst.arg.length !== gh_fn_vcpu_arg.size) throw new Errno('EINVAL', `vcpu arg_size ${inst.arg.length} (expected ${gh_fn_vcpu_arg.size})`);
    const { id } = gh_fn_vcpu_arg.decode(inst.arg);
    const vcpu = new GhVcpu(inst.vm, this.s, id);
    const undo: (() => Promise<void> | void)[] = [() => (vcpu.unbind(), vcpu.put())];
    try {
      await inst.vm.resources.addTicket(vcpu);
      undo.push(() => inst.vm.resources.removeTicket(vcpu));
      if (!inst.vm.get()) throw new Errno('ENODEV', 'the VM is going away');
      undo.push(() => inst.vm.put());
      const fd = this.s.vfs.anonInodeGetFd(ctx, `gh-vcpu:${id}`, GhVcpu.fops, vcpu, O.RDWR | O.CLOEXEC);
      inst.data = vcpu;
      return fd;
    } catch (e) {
      for (const u of undo.reverse()) await u();
      throw e;
    }
  }

  async unbind(inst: GhVmFunctionInstance): Promise<void> {
    const vcpu = inst.data as GhVcpu;
    await inst.vm.resources.removeTicket(vcpu);
    vcpu.unbind();
  }

  compare(inst: GhVmFunctionInstance, arg: Uint8Array): boolean {
    if (arg.length !== gh_fn_vcpu_arg.size) return false;
    return gh_fn_vcpu_arg.decode(arg).id === (inst.data as GhVcpu).label;
  }
}

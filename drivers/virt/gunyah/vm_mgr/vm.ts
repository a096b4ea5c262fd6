// One VM of the VM manager (vm_mgr.c, v14): the "gunyah-vm" file's ioctls, the START sequence that
// turns the recorded memory regions, DTB and boot registers into RM calls, function instances and
// resources, status tracking from RM notifications, and the teardown when the last reference (the
// VM fd and every vCPU fd hold one) goes away: stop, VM_RESET, wait for RESET, reclaim every parcel,
// deallocate the VMID.
import { Subject, type Observable, type Subscription } from 'rxjs';
import { Errno, HypervisorError, PAGE_SIZE, type ClockImpl, type CpusImpl, type File, type FileOperations, type HypercallsImpl, type IoContext, type MmImpl, type PrintkImpl, type VfsImpl } from '../../../../core/index';
import { RM_NOTIF, RmError } from '../rm-abi';
import type { GhRm } from '../rsc-mgr';
import { IoHandlers } from './io-handlers';
import { Mutex } from './sync';
import type { GhVmFunction, GhVmFunctionInstance } from './vm-function';
import { GH_MEM_HANDLE_INVAL, VmMemory } from './vm-mem';
import { allocResource, ResourceTable, type RmIrqMapper } from './vm-resource';
import {
  GH_FN_MAX_ARG_SIZE,
  GH_VM_ADD_FUNCTION,
  GH_VM_ANDROID_LEND_USER_MEM,
  GH_VM_GET_VMID,
  GH_VM_MAX_EXIT_REASON_SIZE,
  GH_VM_REMOVE_FUNCTION,
  GH_VM_SET_BOOT_CONTEXT,
  GH_VM_SET_DTB_CONFIG,
  GH_VM_SET_USER_MEM_REGION,
  GH_VM_START,
  GH_VM_BOOT_CONTEXT_REG_SET,
  gh_fn_desc,
  gh_userspace_memory_region,
  gh_vm_boot_context,
  gh_vm_dtb_config,
} from './uapi';

/** The RM's VM states (enum gh_rm_vm_status). */
export const GH_RM_VM_STATUS = {
  NO_STATE: 0,
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

/** Authentication of VM images (GH_RM_VM_AUTH_NONE: the v14 default). */
const GH_RM_VM_AUTH_NONE = 0;
/** How long teardown waits for the RM's RESET status (Linux waits forever; a lost notification hung it). */
export const GH_VM_RESET_TIMEOUT_NS = 10e9;

const PAGE = BigInt(PAGE_SIZE);
const U64_MASK = (1n << 64n) - 1n;

export interface GhVmExitInfo {
  type: number;
  reasonSize: number;
  reason: Uint8Array;
}

/** What happened to a VM (kernel-internal stream; the VMM sees status exits on its vCPUs). */
export interface GhVmEvent {
  vmid: number;
  kind: 'created' | 'initialized' | 'running' | 'start-failed' | 'exited' | 'reset' | 'freed';
  detail?: string;
}

/**
 * Kernel code that follows VMs (a console driver opening the owner's side of a VM's console once
 * the RM has created it, before the VM runs): multi-injected, all optional.
 */
export const GhVmListener = Symbol('GhVmListener');
export interface GhVmListener {
  /** After VM_INIT and before VM_START: the RM has created the VM's objects and console. */
  vmInitialized?(rm: GhRm, vmid: number): Promise<void> | void;
  /** The VM's teardown finished (its VMID is free). */
  vmFreed?(rm: GhRm, vmid: number): Promise<void> | void;
}

export interface GhVmServices {
  readonly rm: GhRm;
  readonly printk: PrintkImpl;
  readonly vfs: VfsImpl;
  readonly mm: MmImpl;
  readonly cpus: CpusImpl;
  /** The boot CPU's hypercalls (kernel work not tied to a caller's CPU). */
  readonly hyp: HypercallsImpl;
  readonly clock: ClockImpl;
  readonly irqMapper: RmIrqMapper;
  function(type: number): GhVmFunction | undefined;
  readonly listeners: readonly GhVmListener[];
  readonly events: Subject<GhVmEvent>;
  readonly resetTimeoutNs: number;
}

/** An Errno for anything an RM call or a hypercall threw. */
export function toErrno(e: unknown): Errno {
  if (e instanceof Errno) return e;
  if (e instanceof RmError) return e.toErrno();
  if (e instanceof HypervisorError) return e.toErrno();
  return new Errno('EIO', e instanceof Error ? e.message : String(e));
}

export class GhVm {
  status: number = GH_RM_VM_STATUS.LOAD;
  readonly exitInfo: GhVmExitInfo = { type: 0, reasonSize: 0, reason: new Uint8Array(GH_VM_MAX_EXIT_REASON_SIZE) };
  readonly mem: VmMemory;
  dtbConfig: { guestPhysAddr: bigint; size: bigint } = { guestPhysAddr: 0n, size: 0n };
  readonly bootContext = new Map<number, bigint>();
  readonly resources: ResourceTable;
  readonly io = new IoHandlers();
  private readonly instances: GhVmFunctionInstance[] = [];
  private readonly fnLock = new Mutex();
  private readonly statusLock = new Mutex();
  private readonly statusSubject = new Subject<number>();
  private readonly subs: Subscription[] = [];
  private refs = 1;
  /** Resolves once the teardown has finished (tests and the VMM wait on it). */
  readonly freed: Promise<void>;
  private resolveFreed!: () => void;

  private constructor(
    readonly s: GhVmServices,
    readonly vmid: number,
  ) {
    this.resources = new ResourceTable(s.printk);
    this.mem = new VmMemory(s.mm.pages);
    this.freed = new Promise((r) => (this.resolveFreed = r));
    this.subs.push(s.rm.notifications(RM_NOTIF.VM_STATUS).subscribe((p) => this.onStatus(p)));
    this.subs.push(s.rm.notifications(RM_NOTIF.VM_EXITED).subscribe((p) => this.onExited(p)));
  }

  /** gh_vm_alloc: VM_ALLOC_VMID(0), then follow the RM's notifications about it. */
  static async create(s: GhVmServices): Promise<GhVm> {
    let vmid: number;
    try {
      vmid = await s.rm.vm.allocVmid(0);
    } catch (e) {
      throw toErrno(e);
    }
    const vm = new GhVm(s, vmid);
    s.events.next({ vmid, kind: 'created' });
    return vm;
  }

  /** Status changes of this VM (vCPUs wake on them, as on Linux's notifier with priority -1). */
  get status$(): Observable<number> {
    return this.statusSubject.asObservable();
  }

  private setStatus(st: number): void {
    this.status = st;
    this.statusSubject.next(st);
  }

  // ---- references (kref) ----

  /** gh_vm_get: false once the VM is being torn down. */
  get(): boolean {
    if (this.refs === 0) return false;
    this.refs++;
    return true;
  }

  /** gh_vm_put: the last reference starts the teardown (in the background, like the free work). */
  put(): void {
    if (this.refs === 0) return;
    if (--this.refs > 0) return;
    void this.free().catch((e) => this.s.printk.err(`gh_vm_mgr: VM ${this.vmid} teardown failed: ${toErrno(e).message}`));
  }

  // ---- RM notifications ----

  private onStatus(p: Uint8Array): void {
    if (p.length < 8) return;
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    if (dv.getUint16(0, true) !== this.vmid) return;
    // All other transitions are synchronous to an RM call this driver makes.
    if (dv.getUint8(4) === GH_RM_VM_STATUS.RESET) {
      this.setStatus(GH_RM_VM_STATUS.RESET);
      this.s.events.next({ vmid: this.vmid, kind: 'reset' });
    }
  }

  private onExited(p: Uint8Array): void {
    if (p.length < 8) return;
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    if (dv.getUint16(0, true) !== this.vmid) return;
    const type = dv.getUint16(2, true);
    const size = dv.getUint32(4, true);
    this.exitInfo.type = type;
    this.exitInfo.reasonSize = size;
    this.exitInfo.reason.fill(0);
    this.exitInfo.reason.set(p.subarray(8, 8 + Math.min(GH_VM_MAX_EXIT_REASON_SIZE, size)));
    this.setStatus(GH_RM_VM_STATUS.EXITED);
    this.s.events.next({ vmid: this.vmid, kind: 'exited', detail: `exit type ${type}` });
  }

  // ---- the VM fd ----

  static readonly fops: FileOperations = {
    owner: 'gh_vm_mgr',
    ioctl: (file, cmd, arg, ctx) => (file.privateData as GhVm).ioctl(cmd, arg, ctx),
    release: (file: File) => (file.privateData as GhVm).put(),
  };

  async ioctl(cmd: number, arg: bigint, ctx: IoContext): Promise<number> {
    switch (cmd) {
      case GH_VM_SET_USER_MEM_REGION:
      case GH_VM_ANDROID_LEND_USER_MEM: {
        const r = gh_userspace_memory_region.decode(ctx.copyFromUser(arg, gh_userspace_memory_region.size));
        this.mem.add(r, ctx, cmd === GH_VM_ANDROID_LEND_USER_MEM);
        return 0;
      }
      case GH_VM_SET_DTB_CONFIG: {
        const d = gh_vm_dtb_config.decode(ctx.copyFromUser(arg, gh_vm_dtb_config.size));
        const size = (d.size + PAGE - 1n) & ~(PAGE - 1n) & U64_MASK;
        if (d.guest_phys_addr + size > U64_MASK) throw new Errno('EOVERFLOW', 'DTB guest_phys_addr + size overflows');
        this.dtbConfig = { guestPhysAddr: d.guest_phys_addr, size };
        return 0;
      }
      case GH_VM_START:
        return this.ensureStarted();
      case GH_VM_ADD_FUNCTION: {
        const f = gh_fn_desc.decode(ctx.copyFromUser(arg, gh_fn_desc.size));
        return this.addFunction(f, ctx);
      }
      case GH_VM_REMOVE_FUNCTION: {
        const f = gh_fn_desc.decode(ctx.copyFromUser(arg, gh_fn_desc.size));
        return this.removeFunction(f, ctx);
      }
      case GH_VM_SET_BOOT_CONTEXT: {
        const b = gh_vm_boot_context.decode(ctx.copyFromUser(arg, gh_vm_boot_context.size));
        this.setBootContext(b.reg, b.value);
        return 0;
      }
      case GH_VM_GET_VMID:
        return this.vmid;
      default:
        throw new Errno('ENOTTY', `gunyah-vm: unknown ioctl 0x${cmd.toString(16)}`);
    }
  }

  /** v17's boot context check (reg = set << 8 | index); only before the VM is started. */
  private setBootContext(reg: number, value: bigint): void {
    const set = (reg >>> 8) & 0xff;
    const index = reg & 0xff;
    const ok =
      (set === GH_VM_BOOT_CONTEXT_REG_SET.X && index <= 31) || (set === GH_VM_BOOT_CONTEXT_REG_SET.PC && index === 0) || (set === GH_VM_BOOT_CONTEXT_REG_SET.SP && index <= 2);
    if (!ok || reg >>> 16 !== 0) throw new Errno('EINVAL', `boot context register 0x${reg.toString(16)}`);
    if (this.status !== GH_RM_VM_STATUS.LOAD) throw new Errno('EINVAL', 'boot context after the VM started');
    this.bootContext.set(reg, value);
  }

  // ---- start ----

  /** gh_vm_ensure_started: START is idempotent; after a failed start it is ENODEV. */
  async ensureStarted(): Promise<number> {
    if (this.status === GH_RM_VM_STATUS.LOAD) await this.start();
    if (this.status !== GH_RM_VM_STATUS.RUNNING) throw new Errno('ENODEV', `VM ${this.vmid} is not running`);
    return 0;
  }

  /** gh_vm_start (v14 order): share parcels, CONFIG_IMAGE, INIT, boot context, resources, START. */
  private start(): Promise<void> {
    return this.statusLock.with(async () => {
      if (this.status !== GH_RM_VM_STATUS.LOAD) return;
      const { rm } = this.s;
      try {
        const self = await rm.getVmid();
        for (const m of this.mem.regions) m.handle = await (m.lend ? rm.mem.lend(VmMemory.parcel(m, this.vmid, self)) : rm.mem.share(VmMemory.parcel(m, this.vmid, self)));
        const dtb = this.mem.findByAddr(this.dtbConfig.guestPhysAddr, this.dtbConfig.size);
        if (!dtb) throw new Errno('EINVAL', `the DTB (0x${this.dtbConfig.guestPhysAddr.toString(16)}+0x${this.dtbConfig.size.toString(16)}) is not inside one memory region`);
        await rm.vm.configImage(this.vmid, GH_RM_VM_AUTH_NONE, dtb.handle, 0n, 0n, this.dtbConfig.guestPhysAddr - dtb.guestPhysAddr, this.dtbConfig.size);
        await rm.vm.init(this.vmid);
        // v14: from here a failure must tear down with VM_RESET (the status is no longer LOAD).
        this.setStatus(GH_RM_VM_STATUS.RESET);
        this.s.events.next({ vmid: this.vmid, kind: 'initialized' });
        for (const l of this.s.listeners) await l.vmInitialized?.(rm, this.vmid);
        for (const [reg, value] of this.bootContext) await rm.vm.setBootContext(this.vmid, reg >>> 8, reg & 0xff, value);
        const table = await rm.vm.getHypResources(this.vmid);
        for (const e of table) {
          let r;
          try {
            r = allocResource(e, this.s.irqMapper);
          } catch (err) {
            throw new Errno('ENOMEM', `resource type ${e.type} label ${e.resourceLabel}: ${toErrno(err).message}`);
          }
          await this.resources.addResource(r);
        }
        await rm.vm.start(this.vmid);
        this.setStatus(GH_RM_VM_STATUS.RUNNING);
        this.s.events.next({ vmid: this.vmid, kind: 'running' });
      } catch (e) {
        const err = toErrno(e);
        this.s.printk.warn(`gh_vm_mgr: VM ${this.vmid} failed to start: ${err.message}`);
        this.setStatus(GH_RM_VM_STATUS.INIT_FAILED);
        this.s.events.next({ vmid: this.vmid, kind: 'start-failed', detail: err.message });
        throw err;
      }
    });
  }

  // ---- functions ----

  private async addFunction(f: { type: number; arg_size: number; arg: bigint }, ctx: IoContext): Promise<number> {
    if (f.arg_size > GH_FN_MAX_ARG_SIZE) throw new Errno('EINVAL', `function arg_size ${f.arg_size} > ${GH_FN_MAX_ARG_SIZE}`);
    const arg = f.arg_size ? ctx.copyFromUser(f.arg, f.arg_size) : new Uint8Array(0);
    const fn = this.s.function(f.type);
    if (!fn) throw new Errno('ENOENT', `no VM function of type ${f.type}`);
    const inst: GhVmFunctionInstance = { vm: this, fn, arg, data: undefined };
    return this.fnLock.with(async () => {
      const r = await fn.bind(inst, ctx);
      this.instances.push(inst);
      return r;
    });
  }

  /** gh_vm_rm_function_instance; arg_size is bounded like ADD's (Linux allocates whatever it is told). */
  private async removeFunction(f: { type: number; arg_size: number; arg: bigint }, ctx: IoContext): Promise<number> {
    if (f.arg_size > GH_FN_MAX_ARG_SIZE) throw new Errno('EINVAL', `function arg_size ${f.arg_size} > ${GH_FN_MAX_ARG_SIZE}`);
    return this.fnLock.with(async () => {
      if (f.arg_size === 0) return 0;
      const arg = ctx.copyFromUser(f.arg, f.arg_size);
      let found = false;
      for (const inst of [...this.instances]) {
        if (inst.fn.type === f.type && inst.fn.compare(inst, arg)) {
          await this.removeInstance(inst);
          found = true;
        }
      }
      if (!found) throw new Errno('ENOENT', `no function of type ${f.type} matches`);
      return 0;
    });
  }

  private async removeInstance(inst: GhVmFunctionInstance): Promise<void> {
    const i = this.instances.indexOf(inst);
    if (i >= 0) this.instances.splice(i, 1);
    await inst.fn.unbind(inst);
  }

  /** A function removes itself (an irqfd whose eventfd closed). */
  async dropInstance(inst: GhVmFunctionInstance): Promise<void> {
    await this.fnLock.with(async () => {
      if (this.instances.includes(inst)) await this.removeInstance(inst);
    });
  }

  get functionCount(): number {
    return this.instances.length;
  }

  // ---- teardown ----

  private async waitForReset(): Promise<void> {
    if (this.status === GH_RM_VM_STATUS.RESET) return;
    let sub: Subscription | undefined;
    const reset = new Promise<void>((resolve) => {
      sub = this.statusSubject.subscribe((st) => st === GH_RM_VM_STATUS.RESET && resolve());
    });
    try {
      await this.s.clock.withTimeout(reset, this.s.resetTimeoutNs);
    } finally {
      sub?.unsubscribe();
    }
  }

  /** gh_vm_free. */
  private async free(): Promise<void> {
    const { rm, printk } = this.s;
    if (this.status === GH_RM_VM_STATUS.RUNNING) {
      await rm.vm.stop(this.vmid).catch((e) => printk.warn(`gh_vm_mgr: failed to stop VM ${this.vmid}: ${toErrno(e).message}`));
      this.setStatus(GH_RM_VM_STATUS.EXITED);
    }
    await this.fnLock.with(async () => {
      for (const inst of [...this.instances].reverse()) await this.removeInstance(inst);
    });
    await this.resources.clean();
    if (this.status !== GH_RM_VM_STATUS.LOAD && this.status !== GH_RM_VM_STATUS.NO_STATE) {
      // A VM the RM cannot reset (still in LOAD after a failed share) is not waited for: no RESET comes.
      let resetSent = true;
      await rm.vm.reset(this.vmid).catch((e) => {
        resetSent = false;
        printk.err(`gh_vm_mgr: failed to reset VM ${this.vmid}: ${toErrno(e).message}`);
      });
      if (resetSent) await this.waitForReset().catch(() => printk.err(`gh_vm_mgr: VM ${this.vmid} did not reach RESET`));
    }
    for (const m of this.mem.regions) {
      // A parcel that cannot be reclaimed keeps its pages pinned (they are not ours to reuse).
      if (m.handle !== GH_MEM_HANDLE_INVAL) {
        const ok = await rm.mem.reclaim(m.handle).then(
          () => true,
          (e) => (printk.warn(`gh_vm_mgr: failed to reclaim memory parcel for label ${m.label}: ${toErrno(e).message}`), false),
        );
        if (!ok) continue;
        m.handle = GH_MEM_HANDLE_INVAL;
      }
      this.mem.unpin(m);
    }
    await rm.vm.deallocVmid(this.vmid).catch((e) => printk.warn(`gh_vm_mgr: failed to deallocate VMID ${this.vmid}: ${toErrno(e).message}`));
    for (const s of this.subs.splice(0)) s.unsubscribe();
    for (const l of this.s.listeners) {
      try {
        await l.vmFreed?.(rm, this.vmid);
      } catch (e) {
        printk.warn(`gh_vm_mgr: VM ${this.vmid} listener failed: ${toErrno(e).message}`);
      }
    }
    this.setStatus(GH_RM_VM_STATUS.NO_STATE);
    this.statusSubject.complete();
    this.resolveFreed();
    this.s.events.next({ vmid: this.vmid, kind: 'freed' });
  }
}

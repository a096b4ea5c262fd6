// /dev/gunyah (rsc_mgr.c's misc device + vm_mgr.c's gh_dev_vm_mgr_ioctl): a client of the RM link
// that registers the misc device and answers GH_CREATE_VM with a new "gunyah-vm" fd. The VM functions
// (vcpu, irqfd, ioeventfd) contribute themselves through GhVmFunction.
import { inject, injectable, multiInject, optional } from 'inversify';
import { Subject, type Observable } from 'rxjs';
import {
  Clock,
  Cpus,
  Errno,
  Hypercalls,
  IrqCore,
  Mm,
  O,
  Printk,
  Vfs,
  type ClockImpl,
  type CpusImpl,
  type FileOperations,
  type HypercallsImpl,
  type IrqCoreImpl,
  type MiscDevice,
  type MmImpl,
  type PlatformDevice,
  type PrintkImpl,
  type VfsImpl,
} from '../../../../core/index';
import type { GhRm, GunyahRmClient } from '../rsc-mgr';
import { GH_CREATE_VM } from './uapi';
import { GhVmFunction } from './vm-function';
import { RmIrqMapper } from './vm-resource';
import { GH_VM_RESET_TIMEOUT_NS, GhVm, GhVmListener, type GhVmEvent, type GhVmServices } from './vm';

export const GhVmManagerToken = Symbol('GhVmManager');

@injectable()
export class GhVmManager implements GunyahRmClient {
  readonly name = 'gh_vm_mgr';
  private readonly events = new Subject<GhVmEvent>();
  private readonly functions = new Map<number, GhVmFunction>();
  private readonly vms = new Map<number, GhVm>();
  /** Teardown's wait for RESET (virtual ns); tests shorten it. */
  resetTimeoutNs = GH_VM_RESET_TIMEOUT_NS;

  constructor(
    @inject(Vfs) private readonly vfs: VfsImpl,
    @inject(Mm) private readonly mm: MmImpl,
    @inject(Cpus) private readonly cpus: CpusImpl,
    @inject(Hypercalls) private readonly hyp: HypercallsImpl,
    @inject(Clock) private readonly clock: ClockImpl,
    @inject(IrqCore) private readonly irq: IrqCoreImpl,
    @inject(Printk) private readonly printk: PrintkImpl,
    @multiInject(GhVmFunction) @optional() functions: readonly GhVmFunction[] | undefined,
    @multiInject(GhVmListener) @optional() private readonly listeners: readonly GhVmListener[] | undefined,
  ) {
    // gh_vm_function_register: one driver per type.
    for (const f of functions ?? []) {
      if (this.functions.has(f.type)) throw new Error(`VM function type ${f.type} registered twice (${this.functions.get(f.type)!.name}, ${f.name})`);
      this.functions.set(f.type, f);
    }
  }

  /** VMs created, started, exited and freed (kernel-internal; the CLI and tests watch it). */
  get events$(): Observable<GhVmEvent> {
    return this.events.asObservable();
  }

  /** The live VMs by VMID (until their teardown finished). */
  vm(vmid: number): GhVm | undefined {
    return this.vms.get(vmid);
  }

  get liveVms(): number {
    return this.vms.size;
  }

  async probe(rm: GhRm, dev: PlatformDevice): Promise<() => void> {
    const mgr = this;
    const services: GhVmServices = {
      rm,
      printk: this.printk,
      vfs: this.vfs,
      mm: this.mm,
      cpus: this.cpus,
      hyp: this.hyp,
      clock: this.clock,
      irqMapper: new RmIrqMapper(this.irq, dev.node),
      function: (type) => this.functions.get(type),
      listeners: this.listeners ?? [],
      events: this.events,
      get resetTimeoutNs() {
        return mgr.resetTimeoutNs;
      },
    };
    const fops: FileOperations = {
      owner: 'gh_rsc_mgr',
      ioctl: async (_file, cmd, arg, ctx) => {
        if (cmd !== GH_CREATE_VM) throw new Errno('ENOTTY', `/dev/gunyah: unknown ioctl 0x${cmd.toString(16)}`);
        // The argument is reserved for future use.
        if (arg !== 0n) throw new Errno('EINVAL', 'GH_CREATE_VM takes no argument');
        const vm = await GhVm.create(services);
        this.vms.set(vm.vmid, vm);
        void vm.freed.then(() => this.vms.get(vm.vmid) === vm && this.vms.delete(vm.vmid));
        try {
          return this.vfs.anonInodeGetFd(ctx, 'gunyah-vm', GhVm.fops, vm, O.RDWR | O.CLOEXEC);
        } catch (e) {
          vm.put();
          throw e;
        }
      },
    };
    const misc: MiscDevice = { name: 'gunyah', fops };
    this.vfs.miscRegister(misc);
    this.printk.info(`gh_vm_mgr: /dev/gunyah on ${dev.name}`);
    return () => this.vfs.miscDeregister(misc);
  }
}

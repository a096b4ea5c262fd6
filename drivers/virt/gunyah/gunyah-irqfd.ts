// The irqfd function (gunyah_irqfd.c, v14): GH_VM_ADD_FUNCTION(GH_FN_IRQFD, {fd, label, flags})
// hooks an eventfd's wakeups; each signal (POLLIN) rings the doorbell the RM gave this VM for
// `label` (resource BELL_TX), which raises the doorbell's interrupt in the guest. Level mode masks
// the doorbell (enable = NONBLOCK bit, ack = all) so the interrupt behaves as level-triggered.
// Closing the eventfd (POLLHUP) removes the irqfd, as KVM's irqfd does.
import { inject, injectable } from 'inversify';
import { Clock, Errno, Hypercalls, POLL, Printk, Ratelimit, eventfdCtx, type ClockImpl, type EventfdCtx, type HypercallsImpl, type IoContext, type PrintkImpl } from '../../../core/index';
import type { GhVmFunction, GhVmFunctionInstance } from './vm_mgr/vm-function';
import { GH_RESOURCE_TYPE, type GhResource, type GhResourceTicket } from './vm_mgr/vm-resource';
import { toErrno } from './vm_mgr/vm';
import { GH_FN_IRQFD, GH_IRQFD_LEVEL, gh_fn_irqfd_arg } from './vm_mgr/uapi';

/** GH_BELL_NONBLOCK (v8..v14): the flag bit each injection sets. */
export const GH_BELL_NONBLOCK = 1n << 32n;
const ALL_ONES = (1n << 64n) - 1n;

class GhIrqfd implements GhResourceTicket {
  readonly resourceType = GH_RESOURCE_TYPE.BELL_TX;
  rsc: GhResource | undefined;
  removeWait: (() => void) | undefined;
  /** Doorbell sends issued (tests, benchmarks). */
  injected = 0;

  constructor(
    readonly inst: GhVmFunctionInstance,
    readonly label: number,
    readonly level: boolean,
    readonly ctx: EventfdCtx,
    private readonly fn: GhIrqfdFunction,
  ) {}

  async populate(r: GhResource): Promise<boolean> {
    if (this.rsc) {
      this.fn.printk.warn(`gh_irqfd: irqfd${this.label} already has a Gunyah resource (several with one label?)`);
      return false;
    }
    this.rsc = r;
    if (this.level) {
      try {
        await this.fn.hyp.ipc.doorbellMask(r.capid, GH_BELL_NONBLOCK, ALL_ONES);
      } catch (e) {
        this.fn.printk.warn(`gh_irqfd: irq ${this.label} could not be set level triggered: ${toErrno(e).message}`);
      }
    }
    return true;
  }

  unpopulate(): void {
    this.removeWait?.();
    this.removeWait = undefined;
    this.rsc = undefined;
  }

  /** irqfd_wakeup. */
  wakeup(mask: number): void {
    if (mask & POLL.IN) {
      const r = this.rsc;
      if (!r) {
        this.fn.limited('gh_irqfd: premature injection of interrupt');
        return;
      }
      this.injected++;
      this.fn.hyp.ipc.doorbellSend(r.capid, GH_BELL_NONBLOCK).catch((e) => this.fn.limited(`gh_irqfd: failed to inject interrupt ${this.label}: ${toErrno(e).message}`));
    }
    if (mask & POLL.HUP) void this.inst.vm.dropInstance(this.inst);
  }
}

@injectable()
export class GhIrqfdFunction implements GhVmFunction {
  readonly type = GH_FN_IRQFD;
  readonly name = 'irqfd';
  private readonly rl: Ratelimit;

  constructor(
    @inject(Hypercalls) readonly hyp: HypercallsImpl,
    @inject(Printk) readonly printk: PrintkImpl,
    @inject(Clock) clock: ClockImpl,
  ) {
    this.rl = new Ratelimit(() => clock.now());
  }

  limited(msg: string): void {
    if (this.rl.allow().ok) this.printk.err(msg);
  }

  async bind(inst: GhVmFunctionInstance, ctx: IoContext): Promise<number> {
    if (inst.arg.length !== gh_fn_irqfd_arg.size) throw new Errno('EINVAL', `irqfd arg_size ${inst.arg.length} (expected ${gh_fn_irqfd_arg.size})`);
    const a = gh_fn_irqfd_arg.decode(inst.arg);
    if (a.flags & ~GH_IRQFD_LEVEL) throw new Errno('EINVAL', `irqfd flags 0x${a.flags.toString(16)}`);
    if (!ctx.fdget) throw new Errno('EBADF', 'no file table');
    const file = ctx.fdget(a.fd);
    const ev = eventfdCtx(file);
    const irqfd = new GhIrqfd(inst, a.label, (a.flags & GH_IRQFD_LEVEL) !== 0, ev, this);
    await inst.vm.resources.addTicket(irqfd);
    irqfd.removeWait = ev.wq.add((mask) => irqfd.wakeup(mask));
    if (ev.pollMask() & POLL.IN) this.printk.warn('gh_irqfd: premature injection of interrupt');
    inst.data = irqfd;
    return 0;
  }

  async unbind(inst: GhVmFunctionInstance): Promise<void> {
    const irqfd = inst.data as GhIrqfd;
    irqfd.removeWait?.();
    irqfd.removeWait = undefined;
    await inst.vm.resources.removeTicket(irqfd);
  }

  compare(inst: GhVmFunctionInstance, arg: Uint8Array): boolean {
    if (arg.length !== gh_fn_irqfd_arg.size) return false;
    return gh_fn_irqfd_arg.decode(arg).label === (inst.data as GhIrqfd).label;
  }
}

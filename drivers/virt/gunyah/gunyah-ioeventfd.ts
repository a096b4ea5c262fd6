// The ioeventfd function (gunyah_ioeventfd.c, v14): GH_VM_ADD_FUNCTION(GH_FN_IOEVENTFD, {datamatch,
// addr, len, fd, flags}) installs an MMIO write handler: a guest write to `addr` (of `len` bytes, any
// length when 0; with DATAMATCH only of that value) signals the eventfd and the vCPU resumes without
// an exit to userspace.
import { injectable } from 'inversify';
import { Errno, eventfdCtx, type EventfdCtx, type IoContext } from '../../../core/index';
import type { GhVmIoHandler } from './vm_mgr/io-handlers';
import type { GhVmFunction, GhVmFunctionInstance } from './vm_mgr/vm-function';
import { GH_FN_IOEVENTFD, GH_IOEVENTFD_DATAMATCH, gh_fn_ioeventfd_arg } from './vm_mgr/uapi';

const U64_END = 1n << 64n;

class GhIoeventfd implements GhVmIoHandler {
  /** Writes that signalled the eventfd. */
  hits = 0;

  constructor(
    readonly addr: bigint,
    readonly len: number,
    readonly datamatch: bigint | undefined,
    readonly ctx: EventfdCtx,
  ) {}

  write(): void {
    this.hits++;
    this.ctx.signal(1n);
  }
}

@injectable()
export class GhIoeventfdFunction implements GhVmFunction {
  readonly type = GH_FN_IOEVENTFD;
  readonly name = 'ioeventfd';

  bind(inst: GhVmFunctionInstance, ctx: IoContext): number {
    if (inst.arg.length !== gh_fn_ioeventfd_arg.size) throw new Errno('EINVAL', `ioeventfd arg_size ${inst.arg.length} (expected ${gh_fn_ioeventfd_arg.size})`);
    const a = gh_fn_ioeventfd_arg.decode(inst.arg);
    // Natural word sizes, or 0 to ignore the length.
    if (![0, 1, 2, 4, 8].includes(a.len)) throw new Errno('EINVAL', `ioeventfd len ${a.len}`);
    if (a.addr + BigInt(a.len) >= U64_END) throw new Errno('EINVAL', 'ioeventfd range overflows');
    if (a.len === 0 && a.flags & GH_IOEVENTFD_DATAMATCH) throw new Errno('EINVAL', 'ioeventfd DATAMATCH needs a length');
    if (a.flags & ~GH_IOEVENTFD_DATAMATCH) throw new Errno('EINVAL', `ioeventfd flags 0x${a.flags.toString(16)}`);
    if (!ctx.fdget) throw new Errno('EBADF', 'no file table');
    const ev = eventfdCtx(ctx.fdget(a.fd));
    const dm = a.flags & GH_IOEVENTFD_DATAMATCH;
    const h = new GhIoeventfd(a.addr, dm ? a.len : 0, dm ? BigInt.asUintN(a.len * 8, a.datamatch) : undefined, ev);
    inst.vm.io.add(h);
    inst.data = h;
    return 0;
  }

  unbind(inst: GhVmFunctionInstance): void {
    inst.vm.io.remove(inst.data as GhIoeventfd);
  }

  compare(inst: GhVmFunctionInstance, arg: Uint8Array): boolean {
    if (arg.length !== gh_fn_ioeventfd_arg.size) return false;
    return gh_fn_ioeventfd_arg.decode(arg).addr === (inst.data as GhIoeventfd).addr;
  }
}

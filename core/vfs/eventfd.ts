// eventfd (fs/eventfd.c): a 64-bit counter file. write adds, read returns the count and resets it (or,
// with EFD_SEMAPHORE, returns 1 and decrements); both block (or EAGAIN) at the limits; poll reports
// readability and writability. Kernel users signal it and hook its wakeups (irqfd).
import { Errno } from '../errno';
import { File, Inode, O, type FileOperations, type IoContext } from './file';
import { POLL, WaitQueue, type PollTable } from './wait-queue';

export const EFD_SEMAPHORE = 1;
export const EFD_CLOEXEC = O.CLOEXEC;
export const EFD_NONBLOCK = O.NONBLOCK;
const EFD_FLAGS = EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK;

/** ULLONG_MAX: the counter never reaches it; a write of it is EINVAL. */
export const EVENTFD_MAX = 0xffff_ffff_ffff_ffffn;

export class EventfdCtx {
  count: bigint;
  readonly wq = new WaitQueue();

  constructor(
    initval: bigint,
    readonly semaphore: boolean,
  ) {
    this.count = initval;
  }

  /** eventfd_signal: add `n`, saturating at ULLONG_MAX (which poll reports as POLLERR); wake readers. */
  signal(n = 1n): bigint {
    const room = EVENTFD_MAX - this.count;
    const add = n > room ? room : n;
    this.count += add;
    if (add > 0n) this.wq.wake(POLL.IN);
    return add;
  }

  pollMask(): number {
    let m = 0;
    if (this.count > 0n) m |= POLL.IN | POLL.RDNORM;
    if (this.count === EVENTFD_MAX) m |= POLL.ERR;
    if (this.count < EVENTFD_MAX - 1n) m |= POLL.OUT | POLL.WRNORM;
    return m;
  }
}

const u64le = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};

export const eventfdFops: FileOperations = {
  owner: 'eventfd',
  async read(file: File, count: number, ctx: IoContext): Promise<Uint8Array> {
    const e = file.privateData as EventfdCtx;
    if (count < 8) throw new Errno('EINVAL', 'eventfd read of fewer than 8 bytes');
    while (e.count === 0n) {
      if (file.nonblock) throw new Errno('EAGAIN');
      await e.wq.wait(ctx.signal);
    }
    const v = e.semaphore ? 1n : e.count;
    e.count -= v;
    e.wq.wake(POLL.OUT);
    return u64le(v);
  },
  async write(file: File, data: Uint8Array, ctx: IoContext): Promise<number> {
    const e = file.privateData as EventfdCtx;
    if (data.length < 8) throw new Errno('EINVAL', 'eventfd write of fewer than 8 bytes');
    const v = new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true);
    if (v === EVENTFD_MAX) throw new Errno('EINVAL', 'eventfd write of 0xffffffffffffffff');
    while (EVENTFD_MAX - 1n - e.count < v) {
      if (file.nonblock) throw new Errno('EAGAIN');
      await e.wq.wait(ctx.signal);
    }
    e.count += v;
    if (v > 0n) e.wq.wake(POLL.IN);
    return 8;
  },
  poll(file: File, pt: PollTable | undefined): number {
    const e = file.privateData as EventfdCtx;
    pt?.wait(e.wq);
    return e.pollMask();
  },
  release(file: File): void {
    // Consumers (irqfd) hooked on the wait queue see POLLHUP, as eventfd_release does.
    (file.privateData as EventfdCtx).wq.wake(POLL.HUP);
  },
};

/** eventfd2(initval, flags) as a File (the process installs it). EINVAL for unknown flags. */
export function eventfdFile(initval: number | bigint, flags: number): File {
  if (flags & ~EFD_FLAGS) throw new Errno('EINVAL', `eventfd flags 0x${flags.toString(16)}`);
  const init = BigInt(initval);
  if (init < 0n || init > 0xffffffffn) throw new Errno('EINVAL', `eventfd initval ${initval} (an unsigned int)`);
  const f = new File(new Inode('anon', '[eventfd]', eventfdFops), O.RDWR | (flags & (EFD_NONBLOCK | EFD_CLOEXEC)), 'anon_inode:[eventfd]');
  f.privateData = new EventfdCtx(init, (flags & EFD_SEMAPHORE) !== 0);
  return f;
}

/** eventfd_ctx_fileget: the counter behind an eventfd file; EINVAL for any other file (as Linux). */
export function eventfdCtx(file: File): EventfdCtx {
  if (file.fops !== eventfdFops) throw new Errno('EINVAL', `${file.path} is not an eventfd`);
  return file.privateData as EventfdCtx;
}

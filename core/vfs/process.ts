// A process of the kernel: its file table, address space and CPU, and the system calls programs make
// (open/close/read/write/ioctl/poll/mmap/munmap/eventfd/dup). Failures throw Errno, the value a Linux
// syscall would return negated.
import type { Cpu } from '../arch/cpu';
import { Errno } from '../errno';
import { MAP, PROT, type UserMm } from '../mm/user-mm';
import { PAGE_SIZE } from '../mm/page-alloc';
import type { ClockImpl } from '../time/clock';
import { File, O, type IoContext } from './file';
import { FileTable } from './file-table';
import { eventfdFile } from './eventfd';
import { FIOCLEX, FIONBIO, FIONCLEX } from './ioctl';
import { POLL, PollTable } from './wait-queue';

/** Bytes one read or write moves at most (a short count asks the caller to loop, as pipes do). */
export const MAX_RW_CHUNK = 1 << 20;

export interface PollFd {
  fd: number;
  events: number;
}

/** What a process needs from the VFS. */
export interface ProcessHost {
  openPath(path: string, flags: number, ctx: IoContext): Promise<File>;
  readonly clock: ClockImpl;
  exited(p: Process): void;
}

export class Process {
  readonly files = new FileTable();
  private abort = new AbortController();
  private scratch: { addr: bigint; size: number } | undefined;
  alive = true;

  constructor(
    readonly pid: number,
    readonly name: string,
    readonly cpu: Cpu,
    readonly mm: UserMm,
    private readonly host: ProcessHost,
  ) {}

  /** The kernel's clock (virtual time, timers), as clock_gettime and timerfds give a process. */
  get clock(): ClockImpl {
    return this.host.clock;
  }

  /** The context file operations see for this process. */
  get ctx(): IoContext {
    return {
      cpu: this.cpu,
      pid: this.pid,
      signal: this.abort.signal,
      copyFromUser: (addr, len) => this.copyFromUser(addr, len),
      copyToUser: (addr, data) => this.copyToUser(addr, data),
      installFile: (file, flags = 0) => this.files.install(file, (flags & O.CLOEXEC) !== 0),
      fdget: (fd) => this.files.get(fd),
      accessOk: (addr, len, write) => this.mm.checkRange(addr, len, write),
    };
  }

  private live(): void {
    if (!this.alive) throw new Errno('ESRCH', `process ${this.pid} has exited`);
  }

  copyFromUser(addr: bigint, len: number): Uint8Array {
    this.mm.check(addr, len, false);
    const out = new Uint8Array(len);
    try {
      this.cpu.read(addr, out);
    } catch (e) {
      throw new Errno('EFAULT', e instanceof Error ? e.message : String(e));
    }
    return out;
  }

  copyToUser(addr: bigint, data: Uint8Array): void {
    this.mm.check(addr, data.length, true);
    try {
      this.cpu.write(addr, data);
    } catch (e) {
      throw new Errno('EFAULT', e instanceof Error ? e.message : String(e));
    }
  }

  /** Interrupt whatever the process is blocked in (a signal): it fails with EINTR. */
  interrupt(): void {
    this.abort.abort();
    this.abort = new AbortController();
  }

  // ---- file descriptors ----

  async open(path: string, flags: number = O.RDWR): Promise<number> {
    this.live();
    const file = await this.host.openPath(path, flags, this.ctx);
    try {
      return this.files.install(file, (flags & O.CLOEXEC) !== 0);
    } catch (e) {
      await file.put();
      throw e;
    }
  }

  /** Install an already open file (anon inodes). */
  installFile(file: File, cloexec = false): number {
    this.live();
    return this.files.install(file, cloexec);
  }

  async close(fd: number): Promise<void> {
    const f = this.files.remove(fd);
    await f.put();
  }

  dup(fd: number): number {
    this.live();
    const f = this.files.get(fd);
    return this.files.install(f.get());
  }

  async read(fd: number, buf: bigint, count: number): Promise<number> {
    this.live();
    const f = this.files.get(fd);
    if (!f.readable) throw new Errno('EBADF', `fd ${fd} is not open for reading`);
    if (!Number.isInteger(count) || count < 0) throw new Errno('EINVAL', `read count ${count}`);
    const n = Math.min(count, MAX_RW_CHUNK);
    this.mm.check(buf, n, true);
    if (!f.fops.read) throw new Errno('EINVAL', `${f.path} cannot be read`);
    const data = await f.fops.read(f, n, this.ctx);
    if (data.length > n) throw new Errno('EIO', `${f.path}: driver returned ${data.length} bytes for a ${n}-byte read`);
    this.copyToUser(buf, data);
    return data.length;
  }

  async write(fd: number, buf: bigint, count: number): Promise<number> {
    this.live();
    const f = this.files.get(fd);
    if (!f.writable) throw new Errno('EBADF', `fd ${fd} is not open for writing`);
    if (!Number.isInteger(count) || count < 0) throw new Errno('EINVAL', `write count ${count}`);
    if (!f.fops.write) throw new Errno('EINVAL', `${f.path} cannot be written`);
    const data = this.copyFromUser(buf, Math.min(count, MAX_RW_CHUNK));
    return f.fops.write(f, data, this.ctx);
  }

  /** ioctl(2): the VFS's own commands first (do_vfs_ioctl), then the driver's; ENOTTY when it has none. */
  async ioctl(fd: number, cmd: number, arg: bigint | number = 0n): Promise<number | bigint> {
    this.live();
    const f = this.files.get(fd);
    const a = BigInt(arg);
    switch (cmd >>> 0) {
      case FIOCLEX:
        this.files.setCloexec(fd, true);
        return 0;
      case FIONCLEX:
        this.files.setCloexec(fd, false);
        return 0;
      case FIONBIO: {
        const on = this.copyFromUser(a, 4);
        const v = new DataView(on.buffer).getInt32(0, true);
        f.flags = v ? f.flags | O.NONBLOCK : f.flags & ~O.NONBLOCK;
        return 0;
      }
    }
    if (!f.fops.ioctl) throw new Errno('ENOTTY', `${f.path} has no ioctls`);
    return f.fops.ioctl(f, cmd >>> 0, a, this.ctx);
  }

  /**
   * poll(2): revents per entry (POLLNVAL for a bad fd). Waits up to `timeoutMs` of virtual time
   * (negative: forever) for any event; EINTR when interrupted.
   */
  async poll(fds: readonly PollFd[], timeoutMs: number): Promise<number[]> {
    this.live();
    const always = POLL.ERR | POLL.HUP | POLL.NVAL;
    let expired = timeoutMs === 0;
    let timer: ReturnType<ClockImpl['after']> | undefined;
    let wakeTimeout: (() => void) | undefined;
    if (timeoutMs > 0) {
      timer = this.host.clock.after(timeoutMs * 1e6, () => {
        expired = true;
        wakeTimeout?.();
      });
    }
    try {
      for (;;) {
        const pt = new PollTable();
        const revents = fds.map(({ fd, events }) => {
          let f: File;
          try {
            f = this.files.get(fd);
          } catch {
            return POLL.NVAL;
          }
          const mask = f.fops.poll ? f.fops.poll(f, pt) : POLL.IN | POLL.OUT | POLL.RDNORM | POLL.WRNORM;
          return mask & (events | always);
        });
        if (revents.some((r) => r !== 0) || expired) return revents;
        await new Promise<void>((resolve, reject) => {
          const sig = this.abort.signal;
          const removers: (() => void)[] = [];
          const done = () => {
            for (const r of removers) r();
            sig.removeEventListener('abort', onAbort);
            wakeTimeout = undefined;
            resolve();
          };
          const onAbort = () => {
            for (const r of removers) r();
            reject(new Errno('EINTR'));
          };
          for (const q of pt.queues) removers.push(q.add(done));
          wakeTimeout = done;
          sig.addEventListener('abort', onAbort, { once: true });
        });
      }
    } finally {
      if (timer) this.host.clock.cancel(timer);
    }
  }

  // ---- memory ----

  /** mmap(2): anonymous memory, or a device's pages (its mmap op picks them). Returns the address. */
  async mmap(length: bigint | number, prot: number, flags: number, fd = -1, offset: bigint | number = 0n): Promise<bigint> {
    this.live();
    const len = BigInt(length);
    const off = BigInt(offset);
    if (!(flags & (MAP.SHARED | MAP.PRIVATE))) throw new Errno('EINVAL', 'mmap needs MAP_SHARED or MAP_PRIVATE');
    if (flags & MAP.FIXED) throw new Errno('EINVAL', 'MAP_FIXED is not supported in an identity-mapped address space');
    if (flags & MAP.ANONYMOUS) return this.mm.mmapAnon(len, prot);
    const f = this.files.get(fd);
    if (off % BigInt(PAGE_SIZE) !== 0n || off < 0n) throw new Errno('EINVAL', `mmap offset 0x${off.toString(16)} is not page aligned`);
    if (!f.fops.mmap) throw new Errno('ENODEV', `${f.path} cannot be mapped`);
    if (len <= 0n) throw new Errno('EINVAL', 'mmap of length 0');
    if (prot & PROT.WRITE && flags & MAP.SHARED && !f.writable) throw new Errno('EACCES', `${f.path} is not open for writing`);
    const rounded = ((len + BigInt(PAGE_SIZE) - 1n) / BigInt(PAGE_SIZE)) * BigInt(PAGE_SIZE);
    const addr = await f.fops.mmap(f, { length: rounded, pgoff: off / BigInt(PAGE_SIZE), prot, flags }, this.ctx);
    f.get();
    try {
      return this.mm.mapDevice(addr, rounded, prot, f.path, () => void f.put());
    } catch (e) {
      await f.put();
      throw e;
    }
  }

  munmap(addr: bigint, length: bigint | number): void {
    this.live();
    this.mm.munmap(addr, BigInt(length));
  }

  /** eventfd2(2). */
  eventfd(initval: number | bigint = 0, flags = 0): number {
    this.live();
    const f = eventfdFile(initval, flags);
    return this.files.install(f, (flags & O.CLOEXEC) !== 0);
  }

  // ---- conveniences for TypeScript programs ----

  /** A user buffer of at least `size` bytes, reused across calls. */
  private buffer(size: number): bigint {
    if (!this.scratch || this.scratch.size < size) {
      if (this.scratch) this.mm.munmap(this.scratch.addr, BigInt(this.scratch.size));
      const sz = Math.max(size, PAGE_SIZE);
      this.scratch = { addr: this.mm.mmapAnon(BigInt(sz), PROT.READ | PROT.WRITE), size: sz };
    }
    return this.scratch.addr;
  }

  /** read(2) into a fresh byte array. */
  async readBytes(fd: number, count: number): Promise<Uint8Array> {
    const n = Math.min(count, MAX_RW_CHUNK);
    const buf = this.buffer(n);
    const got = await this.read(fd, buf, n);
    return this.copyFromUser(buf, got);
  }

  /** write(2) of bytes (through a user buffer). */
  async writeBytes(fd: number, data: Uint8Array): Promise<number> {
    const n = Math.min(data.length, MAX_RW_CHUNK);
    const buf = this.buffer(n);
    this.copyToUser(buf, data.subarray(0, n));
    return this.write(fd, buf, n);
  }

  /** Close every file and unmap everything. */
  async exit(): Promise<void> {
    if (!this.alive) return;
    this.interrupt();
    for (const [fd] of this.files.entries()) await this.close(fd);
    this.mm.destroy();
    this.scratch = undefined;
    this.alive = false;
    this.host.exited(this);
  }
}

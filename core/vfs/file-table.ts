// A process's file descriptor table: lowest-free allocation, close-on-exec bits, a bound on open files.
import { Errno } from '../errno';
import type { File } from './file';

/** RLIMIT_NOFILE's usual soft limit. */
export const NR_OPEN_DEFAULT = 1024;

export class FileTable {
  private readonly fds: (File | undefined)[] = [];
  private readonly cloexec = new Set<number>();

  constructor(readonly limit = NR_OPEN_DEFAULT) {}

  /** Install `file` at the lowest free descriptor; EMFILE at the limit. */
  install(file: File, cloexec = false): number {
    let fd = this.fds.findIndex((f) => f === undefined);
    if (fd < 0) fd = this.fds.length;
    if (fd >= this.limit) throw new Errno('EMFILE', `${this.limit} files open`);
    this.fds[fd] = file;
    if (cloexec) this.cloexec.add(fd);
    else this.cloexec.delete(fd);
    return fd;
  }

  /** fdget: EBADF for a descriptor that is not open. */
  get(fd: number): File {
    const f = Number.isInteger(fd) && fd >= 0 ? this.fds[fd] : undefined;
    if (!f) throw new Errno('EBADF', `fd ${fd} is not open`);
    return f;
  }

  /** Remove `fd`, returning its file (whose reference the caller drops). */
  remove(fd: number): File {
    const f = this.get(fd);
    this.fds[fd] = undefined;
    this.cloexec.delete(fd);
    while (this.fds.length > 0 && this.fds[this.fds.length - 1] === undefined) this.fds.pop();
    return f;
  }

  setCloexec(fd: number, on: boolean): void {
    this.get(fd);
    if (on) this.cloexec.add(fd);
    else this.cloexec.delete(fd);
  }

  isCloexec(fd: number): boolean {
    return this.cloexec.has(fd);
  }

  /** Open descriptors in order. */
  entries(): [number, File][] {
    const out: [number, File][] = [];
    this.fds.forEach((f, fd) => f && out.push([fd, f]));
    return out;
  }
}

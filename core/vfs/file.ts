// Open files: the operations a driver provides (struct file_operations), the file object, inodes, and
// the context every operation receives (the calling process's CPU, user-memory copies, blocking mode).
import type { Cpu } from '../arch/cpu';
import type { PollTable } from './wait-queue';

/** open(2) flags (asm-generic/fcntl.h, which arm64 uses). */
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  ACCMODE: 3,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
} as const;

/** What a file operation can do for and with its caller. */
export interface IoContext {
  /** The CPU the calling task runs on (hypercalls made for it go through this vCPU). */
  readonly cpu: Cpu;
  readonly pid: number;
  /** Aborted when the task is interrupted (a signal): blocking ops reject with EINTR. */
  readonly signal: AbortSignal;
  /** copy_from_user: EFAULT unless the range is mapped readable in the task. */
  copyFromUser(addr: bigint, len: number): Uint8Array;
  /** copy_to_user: EFAULT unless the range is mapped writable. */
  copyToUser(addr: bigint, data: Uint8Array): void;
  /** Install a new file in the task's table (anon-inode fds); returns the fd. */
  installFile(file: File, flags?: number): number;
  /** fdget: the task's open file `fd` (EBADF when none); drivers that take fds as arguments use it. */
  fdget?(fd: number): File;
  /** access_ok plus the VMA walk (what pin_user_pages checks): EFAULT unless [addr, addr+len) is mapped for the access. */
  accessOk?(addr: bigint, len: bigint, write: boolean): void;
}

/** A mapping request handed to a driver's mmap (vma fields). */
export interface MmapRequest {
  /** Bytes requested (page multiple). */
  length: bigint;
  /** Offset into the device, in pages (vm_pgoff). */
  pgoff: bigint;
  prot: number;
  flags: number;
}

/** struct file_operations. Missing ops make the syscall fail as Linux does (EINVAL, ENOTTY, ENODEV). */
export interface FileOperations {
  readonly owner?: string;
  open?(inode: Inode, file: File, ctx: IoContext): Promise<void> | void;
  release?(file: File): Promise<void> | void;
  /** Up to `count` bytes; an empty result is end of file. */
  read?(file: File, count: number, ctx: IoContext): Promise<Uint8Array> | Uint8Array;
  /** Returns the number of bytes consumed. */
  write?(file: File, data: Uint8Array, ctx: IoContext): Promise<number> | number;
  /** `arg` is the raw argument (a value or a user pointer). Unknown commands: throw ENOTTY. */
  ioctl?(file: File, cmd: number, arg: bigint, ctx: IoContext): Promise<number | bigint> | number | bigint;
  /** The current event mask; register wait queues with `pt` so poll(2) learns of changes. */
  poll?(file: File, pt: PollTable | undefined): number;
  /** Return the guest address of the pages to map (identity mapping: that address is the mapping). */
  mmap?(file: File, req: MmapRequest, ctx: IoContext): Promise<bigint> | bigint;
}

export type InodeKind = 'chr' | 'anon';

export class Inode {
  constructor(
    readonly kind: InodeKind,
    readonly name: string,
    readonly fops: FileOperations,
    /** Driver data (i_private / the miscdevice). */
    readonly priv: unknown = undefined,
    readonly rdev: { major: number; minor: number } | undefined = undefined,
  ) {}
}

let nextFileId = 1;

export class File {
  readonly id = nextFileId++;
  pos = 0n;
  /** Driver data (private_data). */
  privateData: unknown;
  refs = 1;
  released = false;

  constructor(
    readonly inode: Inode,
    public flags: number,
    /** `/dev/kmsg`, or `anon_inode:gunyah-vm`. */
    readonly path: string,
  ) {}

  get fops(): FileOperations {
    return this.inode.fops;
  }

  get nonblock(): boolean {
    return (this.flags & O.NONBLOCK) !== 0;
  }

  get readable(): boolean {
    return (this.flags & O.ACCMODE) !== O.WRONLY;
  }

  get writable(): boolean {
    return (this.flags & O.ACCMODE) !== O.RDONLY;
  }

  get(): this {
    this.refs++;
    return this;
  }

  /** fput: the last reference runs release. */
  async put(): Promise<void> {
    if (--this.refs > 0 || this.released) return;
    this.released = true;
    await this.fops.release?.(this);
  }
}

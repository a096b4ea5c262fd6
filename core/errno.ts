// Linux errno values (asm-generic/errno-base.h, errno.h; arm64 uses the generic numbers) and the
// `Errno` error thrown at the ioctl/syscall boundary.

/** errno numbers, by their Linux names. */
export const E = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENODATA: 61,
  ETIME: 62,
  EPROTO: 71,
  EBADMSG: 74,
  EOVERFLOW: 75,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  ENOBUFS: 105,
  ETIMEDOUT: 110,
  EALREADY: 114,
  ECANCELED: 125,
  /** Kernel-internal (include/linux/errno.h): never returned to programs. */
  ERESTARTSYS: 512,
  EPROBE_DEFER: 517,
} as const;

export type ErrnoName = keyof typeof E;

const byNumber = new Map<number, ErrnoName>();
for (const [name, n] of Object.entries(E) as [ErrnoName, number][]) byNumber.set(n, name);

/** The Linux name of an errno number (`EINVAL`), or `E<n>` for one we do not name. */
export function errnoName(errno: number): string {
  return byNumber.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

/**
 * An errno-style failure. `errno` is positive (as userspace sees it in `errno`); `-errno` is what a
 * Linux syscall returns.
 */
export class Errno extends Error {
  readonly errno: number;
  readonly code: string;

  constructor(errno: number | ErrnoName, detail?: string) {
    const n = typeof errno === 'number' ? Math.abs(errno) : E[errno];
    const code = errnoName(n);
    super(detail ? `${code}: ${detail}` : code);
    this.name = 'Errno';
    this.errno = n;
    this.code = code;
  }

  /** True when `e` is an Errno with the given name or number. */
  static is(e: unknown, which?: number | ErrnoName): e is Errno {
    if (!(e instanceof Errno)) return false;
    if (which === undefined) return true;
    return e.errno === (typeof which === 'number' ? Math.abs(which) : E[which]);
  }
}

/** Turn anything thrown into an Errno (unknown faults become EIO, keeping the cause's message). */
export function toErrno(e: unknown): Errno {
  if (e instanceof Errno) return e;
  const err = new Errno('EIO', e instanceof Error ? e.message : String(e));
  return err;
}

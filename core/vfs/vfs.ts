// The VFS of one kernel: the /dev namespace (character devices, misc devices), anonymous inodes, and the
// process table. Programs reach drivers only through processes made here.
import { inject, injectable } from 'inversify';
import type { Cpu } from '../arch/cpu';
import { Errno } from '../errno';
import { Mm, type MmImpl } from '../mm/mm';
import { Printk, type PrintkImpl } from '../printk/printk';
import { Clock, type ClockImpl } from '../time/clock';
import { Cpus, type CpusImpl } from '../kernel/cpus';
import { File, Inode, O, type FileOperations, type IoContext } from './file';
import { DYNAMIC_MINORS, MISC_DYNAMIC_MINOR, MISC_MAJOR, type MiscDevice } from './misc';
import { Process, type ProcessHost } from './process';

/** Longest path accepted (PATH_MAX). */
export const PATH_MAX = 4096;

export const Vfs = Symbol('Vfs');
export type Vfs = VfsImpl;

@injectable()
export class VfsImpl implements ProcessHost {
  private readonly nodes = new Map<string, Inode>();
  private readonly miscMinors = new Map<number, MiscDevice>();
  private readonly procs = new Map<number, Process>();
  private nextPid = 1;

  constructor(
    @inject(Mm) private readonly mm: MmImpl,
    @inject(Printk) private readonly printk: PrintkImpl,
    @inject(Clock) readonly clock: ClockImpl,
    @inject(Cpus) private readonly cpus: CpusImpl,
  ) {}

  // ---- the /dev namespace ----

  /** Add a character device node. EEXIST when the path is taken. */
  registerChrdev(path: string, fops: FileOperations, priv?: unknown, rdev?: { major: number; minor: number }): Inode {
    if (!path.startsWith('/dev/') || path.length > PATH_MAX) throw new Errno('EINVAL', `device path ${path}`);
    if (this.nodes.has(path)) throw new Errno('EEXIST', path);
    const inode = new Inode('chr', path, fops, priv, rdev);
    this.nodes.set(path, inode);
    return inode;
  }

  unregisterChrdev(path: string): void {
    if (!this.nodes.delete(path)) throw new Errno('ENOENT', path);
  }

  /** misc_register: /dev/<nodename|name>, major 10; EBUSY for a taken minor, EEXIST for a taken name. */
  miscRegister(misc: MiscDevice): void {
    let minor = misc.minor ?? MISC_DYNAMIC_MINOR;
    if (minor === MISC_DYNAMIC_MINOR) {
      let m = DYNAMIC_MINORS - 1;
      while (m >= 0 && this.miscMinors.has(m)) m--;
      if (m < 0) throw new Errno('EBUSY', 'no dynamic misc minor left');
      minor = m;
    } else if (this.miscMinors.has(minor)) {
      throw new Errno('EBUSY', `misc minor ${minor} is taken by ${this.miscMinors.get(minor)!.name}`);
    }
    this.registerChrdev(`/dev/${misc.nodename ?? misc.name}`, misc.fops, misc, { major: MISC_MAJOR, minor });
    misc.minor = minor;
    this.miscMinors.set(minor, misc);
  }

  miscDeregister(misc: MiscDevice): void {
    if (misc.minor === undefined || this.miscMinors.get(misc.minor) !== misc) throw new Errno('EINVAL', `${misc.name} is not registered`);
    this.miscMinors.delete(misc.minor);
    this.unregisterChrdev(`/dev/${misc.nodename ?? misc.name}`);
    misc.minor = MISC_DYNAMIC_MINOR;
  }

  /** Paths under /dev, sorted. */
  listDev(): string[] {
    return [...this.nodes.keys()].sort();
  }

  lookup(path: string): Inode | undefined {
    return this.nodes.get(path);
  }

  /** open(2)'s path walk and the driver's open. ENOENT for an unknown node. */
  async openPath(path: string, flags: number, ctx: IoContext): Promise<File> {
    if (typeof path !== 'string' || path.length === 0 || path.length > PATH_MAX) throw new Errno(path.length > PATH_MAX ? 'ENAMETOOLONG' : 'ENOENT', path);
    const inode = this.nodes.get(path);
    if (!inode) throw new Errno('ENOENT', path);
    const file = new File(inode, flags & ~(O.CREAT | O.EXCL | O.TRUNC), path);
    // misc_open: private_data starts as the miscdevice.
    file.privateData = inode.priv;
    await inode.fops.open?.(inode, file, ctx);
    return file;
  }

  /** anon_inode_getfile: a file with no /dev node (name shows as anon_inode:<name>). */
  anonInodeGetFile(name: string, fops: FileOperations, priv: unknown, flags: number): File {
    const f = new File(new Inode('anon', name, fops), flags, `anon_inode:${name}`);
    f.privateData = priv;
    return f;
  }

  /** anon_inode_getfd: the file installed in `ctx`'s table. */
  anonInodeGetFd(ctx: IoContext, name: string, fops: FileOperations, priv: unknown, flags: number): number {
    const f = this.anonInodeGetFile(name, fops, priv, flags);
    return ctx.installFile(f, flags);
  }

  // ---- processes ----

  /** A new process on `cpu` (default the boot CPU) with an empty address space. */
  /** A new process; with `sharing`, one that shares that process's address space (CLONE_VM). */
  spawn(name = 'init', cpu?: Cpu, sharing?: Process): Process {
    const pid = this.nextPid++;
    const p = new Process(pid, name, cpu ?? this.cpus.boot.cpu, sharing?.mm ?? this.mm.newUserMm(), this);
    this.procs.set(pid, p);
    return p;
  }

  processes(): Process[] {
    return [...this.procs.values()];
  }

  exited(p: Process): void {
    this.procs.delete(p.pid);
  }

  /** Every process exits (shutdown). */
  async killAll(): Promise<void> {
    for (const p of this.processes()) {
      try {
        await p.exit();
      } catch (e) {
        this.printk.err(`process ${p.pid} (${p.name}): exit failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

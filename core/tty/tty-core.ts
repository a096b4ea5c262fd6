// The tty layer: drivers register, each port becomes a Tty with a /dev/<name><index> node whose file
// operations go through the line discipline; termios and window-size ioctls; hang-up on unregister.
import { inject, injectable } from 'inversify';
import { Errno } from '../errno';
import { Vfs, type VfsImpl } from '../vfs/vfs';
import type { File, FileOperations } from '../vfs/file';
import { Tty, type TtyDriver } from './tty';
import { TtyDuplex } from './tty-duplex';
import { TCFLSH, TCGETS, TCIFLUSH, TCIOFLUSH, TCSETS, TCSETSF, TCSETSW, TIOCGWINSZ, TIOCINQ, TIOCSWINSZ, termiosStruct, winsizeStruct } from './termios';

/** Major number of dynamically registered tty drivers' nodes (informational). */
const TTY_DYNAMIC_MAJOR = 204;

export const TtyCore = Symbol('TtyCore');
export type TtyCore = TtyCoreImpl;

@injectable()
export class TtyCoreImpl {
  private readonly drivers = new Map<string, TtyDriver>();
  private readonly ttys = new Map<string, Tty>();

  constructor(@inject(Vfs) private readonly vfs: VfsImpl) {}

  /** tty_register_driver. EEXIST for a name in use, EINVAL for no ports. */
  registerDriver(driver: TtyDriver): void {
    if (!/^[a-zA-Z][a-zA-Z0-9_]*$/.test(driver.name)) throw new Errno('EINVAL', `tty driver name ${JSON.stringify(driver.name)}`);
    if (!Number.isInteger(driver.numPorts) || driver.numPorts <= 0) throw new Errno('EINVAL', `tty driver ${driver.name}: ${driver.numPorts} ports`);
    if (this.drivers.has(driver.name)) throw new Errno('EEXIST', `tty driver ${driver.name}`);
    this.drivers.set(driver.name, driver);
  }

  /** tty_unregister_driver: every device of the driver is hung up and removed. */
  unregisterDriver(driver: TtyDriver): void {
    for (const t of [...this.ttys.values()]) if (t.driver === driver) this.unregisterDevice(t);
    this.drivers.delete(driver.name);
  }

  /** tty_port_register_device: a Tty for port `index` and its /dev node. */
  registerDevice(driver: TtyDriver, index: number): Tty {
    if (this.drivers.get(driver.name) !== driver) throw new Errno('EINVAL', `tty driver ${driver.name} is not registered`);
    if (!Number.isInteger(index) || index < 0 || index >= driver.numPorts) throw new Errno('EINVAL', `${driver.name}: port ${index} of ${driver.numPorts}`);
    const tty = new Tty(driver, index);
    if (this.ttys.has(tty.name)) throw new Errno('EEXIST', `/dev/${tty.name}`);
    this.vfs.registerChrdev(`/dev/${tty.name}`, ttyFops, tty, { major: driver.major ?? TTY_DYNAMIC_MAJOR, minor: index });
    this.ttys.set(tty.name, tty);
    return tty;
  }

  /** tty_unregister_device: hang up and remove the node. */
  unregisterDevice(tty: Tty): void {
    tty.hangup();
    if (this.ttys.get(tty.name) === tty) {
      this.ttys.delete(tty.name);
      this.vfs.unregisterChrdev(`/dev/${tty.name}`);
    }
  }

  get(name: string): Tty | undefined {
    return this.ttys.get(name);
  }

  list(): Tty[] {
    return [...this.ttys.values()];
  }

  /** A Node Duplex over a tty (reads its input, writes its output). */
  duplex(tty: Tty): TtyDuplex {
    return new TtyDuplex(tty);
  }
}

const ttyOf = (f: File): Tty => f.inode.priv as Tty;

export const ttyFops: FileOperations = {
  owner: 'tty',
  async open(_inode, file) {
    const tty = ttyOf(file);
    if (tty.hungUp) throw new Errno('EIO', `${tty.name} hung up`);
    if (tty.openCount === 0) await tty.driver.ops.open?.(tty);
    tty.openCount++;
    file.privateData = tty;
  },
  async release(file) {
    const tty = ttyOf(file);
    if (--tty.openCount === 0 && !tty.hungUp) await tty.driver.ops.close?.(tty);
  },
  read(file, count, ctx) {
    return ttyOf(file).read(count, { nonblock: file.nonblock, signal: ctx.signal });
  },
  write(file, data, ctx) {
    return ttyOf(file).write(data, { nonblock: file.nonblock, signal: ctx.signal });
  },
  poll(file, pt) {
    const tty = ttyOf(file);
    pt?.wait(tty.readWait);
    pt?.wait(tty.writeWait);
    return tty.pollMask();
  },
  ioctl(file, cmd, arg, ctx) {
    const tty = ttyOf(file);
    switch (cmd) {
      case TCGETS:
        ctx.copyToUser(arg, termiosStruct.encode(tty.termios));
        return 0;
      case TCSETS:
      case TCSETSW:
      case TCSETSF: {
        const t = termiosStruct.decode(ctx.copyFromUser(arg, termiosStruct.size));
        if (cmd === TCSETSF) tty.flushInput();
        tty.setTermios(t);
        return 0;
      }
      case TIOCGWINSZ:
        ctx.copyToUser(arg, winsizeStruct.encode(tty.winsize));
        return 0;
      case TIOCSWINSZ:
        tty.winsize = winsizeStruct.decode(ctx.copyFromUser(arg, winsizeStruct.size));
        return 0;
      case TIOCINQ: {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setInt32(0, tty.inq, true);
        ctx.copyToUser(arg, b);
        return 0;
      }
      case TCFLSH:
        if (arg !== BigInt(TCIFLUSH) && arg !== BigInt(TCIOFLUSH) && arg !== 1n) throw new Errno('EINVAL', `TCFLSH ${arg}`);
        if (arg !== 1n) tty.flushInput();
        return 0;
      default:
        throw new Errno('ENOTTY', `${tty.name}: ioctl 0x${cmd.toString(16)}`);
    }
  },
};


// A tty (struct tty_struct + tty_port): output through the driver honouring its write room, input from the
// driver through the line discipline into a bounded read buffer and a read stream, and hang-up when the
// backend goes away.
import { Observable, Subject } from 'rxjs';
import { Errno } from '../errno';
import { NTty, N_TTY_BUF_SIZE } from './n-tty';
import { OFLAG, rawTermios, type Termios } from './termios';
import { POLL, WaitQueue } from '../vfs/wait-queue';

/** struct tty_operations (the subset a backend provides). */
export interface TtyOperations {
  /** Bytes the backend accepts right now (tty_write_room). */
  writeRoom(tty: Tty): number;
  /** Write at most writeRoom bytes; returns how many were taken. */
  write(tty: Tty, data: Uint8Array): Promise<number> | number;
  /** First open (tty_port activate). A thrown error fails the open. */
  open?(tty: Tty): Promise<void> | void;
  /** Last close (tty_port shutdown). */
  close?(tty: Tty): Promise<void> | void;
  flushChars?(tty: Tty): Promise<void> | void;
}

/** struct tty_driver. */
export interface TtyDriver {
  /** Device name prefix (`ttyGH`). */
  readonly name: string;
  readonly numPorts: number;
  readonly ops: TtyOperations;
  /** Termios of new ttys (default raw). */
  readonly initTermios?: Termios;
  readonly major?: number;
}

export class Tty {
  termios: Termios;
  readonly ldisc: NTty;
  winsize = { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 };
  hungUp = false;
  openCount = 0;
  /** Driver data (driver_data). */
  driverData: unknown;
  private readonly chunks: Uint8Array[] = [];
  private readBytes = 0;
  private eofPending = 0;
  private readonly input = new Subject<Uint8Array>();
  readonly readWait = new WaitQueue();
  readonly writeWait = new WaitQueue();
  private writeLock: Promise<unknown> = Promise.resolve();

  constructor(
    readonly driver: TtyDriver,
    readonly index: number,
  ) {
    this.termios = driver.initTermios ?? rawTermios();
    this.ldisc = new NTty(this.termios);
  }

  get name(): string {
    return `${this.driver.name}${this.index}`;
  }

  /** Bytes a read can take now (TIOCINQ). */
  get inq(): number {
    return this.readBytes;
  }

  /** Characters dropped because nobody read them in time. */
  get overruns(): number {
    return this.ldisc.overruns;
  }

  setTermios(t: Termios): void {
    const wasCanon = this.ldisc.canonical;
    this.termios = t;
    this.ldisc.termios = t;
    if (wasCanon && !this.ldisc.canonical) this.ldisc.flush();
  }

  /** Everything the line discipline releases to readers, as it happens. Completes on hang-up. */
  get read$(): Observable<Uint8Array> {
    return this.input.asObservable();
  }

  // ---- input from the backend ----

  /** tty_insert_flip_string + tty_flip_buffer_push. Dropped after hang-up. */
  receive(bytes: Uint8Array): void {
    if (this.hungUp || bytes.length === 0) return;
    const outs = this.ldisc.receive(bytes, N_TTY_BUF_SIZE - this.readBytes);
    for (const o of outs) {
      if (o.echo.length) void this.echo(o.echo);
      if (o.data.length) {
        this.chunks.push(o.data);
        this.readBytes += o.data.length;
        this.input.next(o.data);
      }
      if (o.eof) this.eofPending++;
    }
    this.readWait.wake(POLL.IN);
  }

  private async echo(bytes: Uint8Array): Promise<void> {
    try {
      await this.write(bytes, { nonblock: true });
    } catch {
      // Echo is best effort (n_tty drops echoes it cannot queue).
    }
  }

  /** Read up to `count` bytes; in canonical mode at most one line. Resolves empty at EOF or hang-up. */
  async read(count: number, opts: { nonblock?: boolean; signal?: AbortSignal } = {}): Promise<Uint8Array> {
    for (;;) {
      if (this.readBytes > 0) return this.take(count);
      if (this.eofPending > 0) {
        this.eofPending--;
        return new Uint8Array(0);
      }
      if (this.hungUp) return new Uint8Array(0);
      if (opts.nonblock) throw new Errno('EAGAIN');
      await this.readWait.wait(opts.signal);
    }
  }

  private take(count: number): Uint8Array {
    const canon = this.ldisc.canonical;
    const out: number[] = [];
    while (this.chunks.length > 0 && out.length < count) {
      const c = this.chunks[0]!;
      const n = Math.min(c.length, count - out.length);
      for (let i = 0; i < n; i++) out.push(c[i]!);
      if (n === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(n);
      if (canon && n === c.length) break; // a canonical read returns one line
    }
    this.readBytes -= out.length;
    this.writeWait.wake(POLL.OUT);
    return Uint8Array.from(out);
  }

  /** Drop unread input (TCIFLUSH). */
  flushInput(): void {
    this.chunks.length = 0;
    this.readBytes = 0;
    this.ldisc.flush();
  }

  // ---- output to the backend ----

  /** tty_wakeup: the backend has room again. */
  wakeup(): void {
    this.writeWait.wake(POLL.OUT);
  }

  /**
   * Write all of `data` (OPOST/ONLCR applied), in pieces no larger than the write room, waiting for
   * room (or EAGAIN when nonblocking and nothing could be written). EIO after hang-up. Writers are
   * serialized, so concurrent writes do not interleave.
   */
  write(data: Uint8Array, opts: { nonblock?: boolean; signal?: AbortSignal } = {}): Promise<number> {
    const run = this.writeLock.then(() => this.doWrite(data, opts));
    this.writeLock = run.catch(() => undefined);
    return run;
  }

  private async doWrite(data: Uint8Array, opts: { nonblock?: boolean; signal?: AbortSignal }): Promise<number> {
    if (this.hungUp) throw new Errno('EIO', `${this.name} hung up`);
    const t = this.termios;
    const out = t.c_oflag & OFLAG.OPOST && t.c_oflag & OFLAG.ONLCR ? onlcr(data) : data;
    let done = 0;
    while (done < out.length) {
      if (this.hungUp) break;
      const room = this.driver.ops.writeRoom(this);
      if (room <= 0) {
        if (opts.nonblock) {
          if (done === 0) throw new Errno('EAGAIN');
          break;
        }
        await this.writeWait.wait(opts.signal);
        continue;
      }
      const n = await this.driver.ops.write(this, out.subarray(done, done + Math.min(room, out.length - done)));
      if (n < 0) throw new Errno(-n, `${this.name}: write`);
      if (n === 0 && opts.nonblock) break;
      if (n === 0) {
        await this.writeWait.wait(opts.signal);
        continue;
      }
      done += n;
    }
    await this.driver.ops.flushChars?.(this);
    // Report the caller's bytes consumed, not the expanded count.
    return out === data ? done : countSource(data, done);
  }

  // ---- hang-up ----

  /** tty_vhangup: the backend is gone. Readers see EOF, writers EIO, the read stream completes. */
  hangup(): void {
    if (this.hungUp) return;
    this.hungUp = true;
    this.input.complete();
    this.readWait.wake(POLL.HUP);
    this.writeWait.wake(POLL.HUP);
  }

  pollMask(): number {
    let m = 0;
    if (this.readBytes > 0 || this.eofPending > 0) m |= POLL.IN | POLL.RDNORM;
    if (this.hungUp) m |= POLL.HUP | POLL.IN | POLL.RDNORM;
    else if (this.driver.ops.writeRoom(this) > 0) m |= POLL.OUT | POLL.WRNORM;
    return m;
  }
}

/** ONLCR: NL -> CR NL. */
function onlcr(data: Uint8Array): Uint8Array {
  let nl = 0;
  for (const b of data) if (b === 0x0a) nl++;
  if (nl === 0) return data;
  const out = new Uint8Array(data.length + nl);
  let j = 0;
  for (const b of data) {
    if (b === 0x0a) out[j++] = 0x0d;
    out[j++] = b;
  }
  return out;
}

/** How many source bytes produced the first `expanded` bytes of onlcr(data). */
function countSource(data: Uint8Array, expanded: number): number {
  let e = 0;
  let i = 0;
  for (; i < data.length && e < expanded; i++) e += data[i] === 0x0a ? 2 : 1;
  return e > expanded ? i - 1 : i;
}
